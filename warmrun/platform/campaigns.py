"""Campaigns: set-up, rules, pledges, goals, the steps from draft to settled, and totals.

The catalogue they are built from (cities, compounds, residents, goods) is ``catalogue``'s,
re-exported here under the names callers have always used."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from warmrun.platform import audit, clock, rollups, transparency
from warmrun.platform.catalogue import create_bundle as create_bundle
from warmrun.platform.catalogue import create_city as create_city
from warmrun.platform.catalogue import create_compound as create_compound
from warmrun.platform.catalogue import create_item as create_item
from warmrun.platform.catalogue import create_partner as create_partner
from warmrun.platform.catalogue import create_resident as create_resident
from warmrun.platform.catalogue import goods_lines as goods_lines
from warmrun.platform.conversion import (
    GoodsProgress,
    goods_progress,
    split_largest_remainder,
)
from warmrun.platform.errors import CampaignStateError, InvalidInput, NotFound
from warmrun.platform.models import (
    Basis,
    Campaign,
    CampaignCity,
    CampaignState,
    CharityPartner,
    City,
    Compound,
    ConversionRule,
    Goods,
    PointsRule,
    SettlementMode,
    SponsorPledge,
)
from warmrun.platform.public_log import conversion_terms, points_terms
from warmrun.platform.signing import SiteKey
from warmrun.platform.tally import AreaSums


async def create_campaign(
    *,
    code: str,
    name: str,
    partner_id: int,
    goods_id: int,
    starts_on: date,
    ends_on: date,
    city_goals: dict[int, int],
    timezone: str = "Asia/Shanghai",
    settlement_mode: SettlementMode = SettlementMode.FIRST_COME,
    walking_factor_permille: int = 600,
    default_body_mass_kg: int = 60,
) -> Campaign:
    if ends_on < starts_on:
        raise InvalidInput("ends_on", "must not be before the start", "不能早于开始日期")
    if not await CharityPartner.exists(id=partner_id):
        raise NotFound("partner", "公益伙伴")
    if not await Goods.exists(id=goods_id):
        raise NotFound("goods", "物品")
    if await City.filter(id__in=list(city_goals)).count() != len(city_goals):
        raise NotFound("city", "城市")
    async with in_transaction() as conn:
        campaign, created = await Campaign.get_or_create(
            code=code,
            defaults={
                "name": name,
                "partner_id": partner_id,
                "goods_id": goods_id,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "timezone": timezone,
                "settlement_mode": settlement_mode,
                "walking_factor_permille": walking_factor_permille,
                "default_body_mass_kg": default_body_mass_kg,
            },
        )
        if created:
            for city_id, goal in city_goals.items():
                await CampaignCity.create(campaign_id=campaign.id, city_id=city_id, goal_fen=goal)
            after: dict[str, Any] = {"name": name, "starts_on": str(starts_on)}
            after |= {"ends_on": str(ends_on), "goals_fen": city_goals}
            after["settlement_mode"] = str(settlement_mode)
            await audit.record(
                conn, "campaign.create", campaign_id=campaign.id, subject=code, after=after
            )
    return campaign


async def set_city_goal(*, campaign_id: int, city_id: int, goal_fen: int) -> None:
    """A city's fundraising goal within a campaign (its organizers set it until the close)."""
    if goal_fen < 0:
        raise InvalidInput("goal_fen", "must not be negative", "不能为负数")
    campaign = await get_campaign(campaign_id=campaign_id)
    if campaign.state in (CampaignState.CLOSED, CampaignState.SETTLED):
        raise CampaignStateError(state=campaign.state, needed="draft or active")
    async with in_transaction() as conn:
        row = (
            await CampaignCity.filter(campaign_id=campaign_id, city_id=city_id)
            .using_db(conn)
            .first()
        )
        if row is None:
            raise NotFound("city", "城市")
        await CampaignCity.filter(id=row.id).using_db(conn).update(goal_fen=goal_fen)
        await audit.record(
            conn,
            "campaign.goal",
            campaign_id=campaign_id,
            city_id=city_id,
            subject=campaign.code,
            before={"goal_fen": row.goal_fen},
            after={"goal_fen": goal_fen},
        )


async def set_rule(
    *,
    campaign_id: int,
    sport: str,
    fen: int,
    per: int,
    basis: Basis = Basis.METRES,
    daily_cap_fen: int | None = None,
    effective_from: datetime | None = None,
) -> ConversionRule:
    """The conversion rule of a sport: ``fen`` for every ``per`` metres (or kcal), for runs
    that start from ``effective_from`` on (now, or a later time; never an earlier one). Each
    change is a version of the public log; ``ConversionRule`` holds the latest one set, and
    crediting uses the version in force when a run started (``rule_versions``)."""
    if sport not in ("run", "walk"):
        raise InvalidInput("sport", "run or walk", "跑步或步行")
    if per <= 0 or fen < 0:
        raise InvalidInput("rate", "fen must be ≥ 0 and per > 0", "金额须 ≥ 0，单位须 > 0")
    now = clock.now()
    if effective_from is not None and effective_from < now - timedelta(minutes=5):
        raise InvalidInput("effective_from", "now or later", "须为现在或以后的时间")
    start = max(effective_from or now, now)
    async with in_transaction() as conn:
        old = (
            await ConversionRule.filter(campaign_id=campaign_id, sport=sport).using_db(conn).first()
        )
        # A versioned entry of the public log; refused once the campaign is closed.
        await transparency.record_rule(
            conn,
            campaign_id=campaign_id,
            rule="conversion",
            sport=sport,
            terms=conversion_terms(str(basis), fen, per, daily_cap_fen),
            effective_from=start,
        )
        rule, _ = await ConversionRule.update_or_create(
            campaign_id=campaign_id,
            sport=sport,
            defaults={"fen": fen, "per": per, "basis": basis, "daily_cap_fen": daily_cap_fen},
            using_db=conn,
        )
        await audit.record(
            conn,
            "rule.conversion",
            campaign_id=campaign_id,
            subject=sport,
            before=old and conversion_terms(str(old.basis), old.fen, old.per, old.daily_cap_fen),
            after={
                **conversion_terms(str(basis), fen, per, daily_cap_fen),
                "effective_from": start.isoformat(timespec="seconds"),
            },
        )
    return rule


async def set_points_rule(
    *,
    campaign_id: int,
    points_per_km: int,
    points_per_run: int = 0,
    daily_cap: int | None = None,
    expire_after_days: int | None = None,
    expiry_notice_days: int = 14,
) -> PointsRule:
    """How a campaign's runs earn points, and whether (and how long after) they lapse."""
    if expire_after_days is not None and not 1 <= expire_after_days <= 3650:
        raise InvalidInput("expire_after_days", "1 to 3650 days", "1 到 3650 天")
    async with in_transaction() as conn:
        old = await PointsRule.filter(campaign_id=campaign_id).using_db(conn).first()
        await transparency.record_rule(
            conn,
            campaign_id=campaign_id,
            rule="points",
            sport="",
            terms=points_terms(points_per_km, points_per_run, daily_cap),
        )
        rule, _ = await PointsRule.update_or_create(
            campaign_id=campaign_id,
            defaults={
                "points_per_km": points_per_km,
                "points_per_run": points_per_run,
                "daily_cap": daily_cap,
                "expire_after_days": expire_after_days,
                "expiry_notice_days": expiry_notice_days,
            },
            using_db=conn,
        )
        before = old and {
            **points_terms(old.points_per_km, old.points_per_run, old.daily_cap),
            "expire_after_days": old.expire_after_days,
        }
        after = points_terms(points_per_km, points_per_run, daily_cap)
        await audit.record(
            conn,
            "rule.points",
            campaign_id=campaign_id,
            before=before,
            after={**after, "expire_after_days": expire_after_days},
        )
    return rule


async def add_pledge(
    *, campaign_id: int, sponsor: str, cap_fen: int, priority: int = 0
) -> SponsorPledge:
    if cap_fen <= 0:
        raise InvalidInput("cap_fen", "must be positive", "必须大于零")
    campaign = await get_campaign(campaign_id=campaign_id)
    if campaign.state in (CampaignState.CLOSED, CampaignState.SETTLED):
        raise CampaignStateError(state=campaign.state, needed="draft or active")
    async with in_transaction() as conn:
        pledge, created = await SponsorPledge.get_or_create(
            campaign_id=campaign_id,
            sponsor=sponsor,
            defaults={"cap_fen": cap_fen, "priority": priority},
            using_db=conn,
        )
        if created:
            after = {"cap_fen": cap_fen, "priority": priority}
            await audit.record(
                conn, "pledge.add", campaign_id=campaign_id, subject=sponsor, after=after
            )
    return pledge


_TRANSITIONS = {
    CampaignState.DRAFT: CampaignState.ACTIVE,
    CampaignState.ACTIVE: CampaignState.CLOSED,
    CampaignState.CLOSED: CampaignState.SETTLED,
}


_ACTION = {
    CampaignState.ACTIVE: "activate",
    CampaignState.CLOSED: "close",
    CampaignState.SETTLED: "settle",
}


async def advance(*, campaign_id: int, to: CampaignState, key: SiteKey | None = None) -> Campaign:
    """Move a campaign one step along draft → active → closed → settled (never backwards).

    Closing appends the closing to the public log and signs a checkpoint with ``key`` in the
    same transaction (settling is ``settlement.settle``'s)."""
    campaign = await get_campaign(campaign_id=campaign_id)
    if campaign.state == to:
        return campaign
    if _TRANSITIONS.get(CampaignState(campaign.state)) != to:
        raise CampaignStateError(state=campaign.state, needed=f"the step before {to}")
    if to == CampaignState.CLOSED:
        await transparency.catch_up(campaign_id=campaign_id)  # most of it, outside the close
    async with in_transaction() as conn:
        updated = (
            await Campaign.filter(id=campaign_id, state=campaign.state)
            .using_db(conn)
            .update(state=to, settled_at=clock.now() if to == CampaignState.SETTLED else None)
        )
        if not updated:
            raise CampaignStateError(state="changed meanwhile", needed=str(to))
        await audit.record(
            conn,
            f"campaign.{_ACTION[to]}",
            campaign_id=campaign_id,
            subject=campaign.code,
            before={"state": str(campaign.state)},
            after={"state": str(to)},
        )
        if to == CampaignState.CLOSED:
            await transparency.seal(conn, campaign_id=campaign_id, key=key)
    return await get_campaign(campaign_id=campaign_id)


async def get_campaign(*, campaign_id: int | None = None, code: str | None = None) -> Campaign:
    query = (
        Campaign.filter(id=campaign_id) if campaign_id is not None else Campaign.filter(code=code)
    )
    campaign = await query.first()
    if campaign is None:
        raise NotFound("campaign", "活动")
    return campaign


@dataclass(frozen=True)
class Totals:
    metres: int
    kcal: int
    value_fen: int
    funded_fen: int
    participants: int
    goods: GoodsProgress


async def pro_rata_shares(campaign_id: int, values: dict[Any, int]) -> dict[Any, int]:
    """What a pro-rata campaign's pledges will cover of each group's value, before settlement
    allocates anything: the pool split in proportion to the values (largest remainder)."""
    caps: list[Any] = await SponsorPledge.filter(campaign_id=campaign_id).values_list(
        "cap_fen", flat=True
    )
    keys = sorted(values, key=lambda k: (k is None, k))
    shares = split_largest_remainder(
        min(sum(values[k] for k in keys), sum(int(c) for c in caps)),
        [max(values[k], 0) for k in keys],
    )
    return dict(zip(keys, shares, strict=True))


async def totals(
    *, campaign_id: int, by: str | None = None, campaign: Campaign | None = None
) -> dict[Any, Totals]:
    """The campaign's sums: overall (key None), per ``city`` or per ``compound`` (by id).

    Read from the totals kept beside the ledger (``platform/rollups.py``): a few rows, however
    many entries the campaign has. ``campaign``: the row, if the caller has it already."""
    if campaign is None:
        campaign = await get_campaign(campaign_id=campaign_id)
    goods, stored = await asyncio.gather(
        Goods.get(id=campaign.goods_id), rollups.area_totals(campaign_id, level=by)
    )
    return await totals_of(campaign, goods, stored, by=by)


async def totals_of(
    campaign: Campaign, goods: Goods, stored: dict[tuple[int, int], AreaSums], *, by: str | None
) -> dict[Any, Totals]:
    """:func:`totals` from stored area rows already read (of the level ``by`` only)."""
    index = {"city": 0, "compound": 1, None: None}[by]
    found = {(None if index is None else area[index]): t for area, t in stored.items()}
    if by is None:
        found.setdefault(None, AreaSums())
    funded = {k: t.sums.funded_fen for k, t in found.items()}
    if campaign.settlement_mode == SettlementMode.PRO_RATA:
        funded = await pro_rata_shares(campaign.id, {k: t.sums.value_fen for k, t in found.items()})
    return {
        key: Totals(
            metres=t.sums.metres,
            kcal=t.sums.kcal,
            value_fen=t.sums.value_fen,
            funded_fen=funded[key],
            participants=t.participants,
            goods=goods_progress(funded[key], goods.unit_price_fen),
        )
        for key, t in found.items()
    }


async def set_households(*, compound_id: int, households: int) -> Compound:
    """A compound's registered households: the denominator of its per-household scores
    (challenges, per-household boards), corrected when the register changes."""
    if households < 0:
        raise InvalidInput("households", "must not be negative", "不能为负数")
    async with in_transaction() as conn:
        before = await Compound.filter(id=compound_id).using_db(conn).first()
        if before is None:
            raise NotFound("compound", "小区")
        await Compound.filter(id=compound_id).using_db(conn).update(households=households)
        await audit.record(
            conn,
            "compound.households",
            city_id=before.city_id,
            subject=before.name,
            before={"households": before.households},
            after={"households": households},
        )
    return await Compound.get(id=compound_id)
