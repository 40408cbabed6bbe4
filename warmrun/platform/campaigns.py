"""Campaign set-up and totals: cities, compounds, residents, goods, rules, pledges."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from warmrun.platform import clock, rollups, transparency
from warmrun.platform.conversion import (
    GoodsProgress,
    ItemLine,
    goods_progress,
    split_largest_remainder,
)
from warmrun.platform.errors import CampaignStateError, InvalidInput, NotFound
from warmrun.platform.models import (
    Basis,
    BundleLine,
    Campaign,
    CampaignCity,
    CampaignState,
    CharityPartner,
    City,
    Compound,
    ConversionRule,
    Goods,
    PointsRule,
    Resident,
    SettlementMode,
    SponsorPledge,
)
from warmrun.platform.public_log import conversion_terms, points_terms
from warmrun.platform.signing import SiteKey
from warmrun.platform.tally import AreaSums


async def create_city(
    *,
    code: str,
    name_zh: str,
    name_en: str,
    timezone: str = "Asia/Shanghai",
    lat: float | None = None,
    lon: float | None = None,
) -> City:
    city, _ = await City.get_or_create(
        code=code,
        defaults={
            "name_zh": name_zh,
            "name_en": name_en,
            "timezone": timezone,
            "lat": lat,
            "lon": lon,
        },
    )
    return city


async def create_compound(*, city_id: int, name: str, households: int) -> Compound:
    if households < 0:
        raise InvalidInput("households", "must not be negative", "不能为负数")
    if not await City.exists(id=city_id):
        raise NotFound("city", "城市")
    compound, _ = await Compound.get_or_create(
        city_id=city_id, name=name, defaults={"households": households}
    )
    return compound


async def create_resident(
    *,
    compound_id: int,
    display_name: str,
    body_mass_kg: int | None = None,
    birth_year: int | None = None,
    guardian_id: int | None = None,
    public_board: bool = True,
) -> Resident:
    if not display_name.strip():
        raise InvalidInput("display_name", "must not be empty", "不能为空")
    if body_mass_kg is not None and not 10 <= body_mass_kg <= 300:
        raise InvalidInput("body_mass_kg", "must be between 10 and 300", "应在 10 到 300 之间")
    if not await Compound.exists(id=compound_id):
        raise NotFound("compound", "小区")
    return await Resident.create(
        compound_id=compound_id,
        display_name=display_name.strip()[:64],
        body_mass_kg=body_mass_kg,
        birth_year=birth_year,
        guardian_id=guardian_id,
        public_board=public_board,
    )


async def create_partner(*, name: str) -> CharityPartner:
    partner, _ = await CharityPartner.get_or_create(name=name)
    return partner


async def create_item(*, code: str, name_zh: str, name_en: str, unit_price_fen: int) -> Goods:
    if unit_price_fen <= 0:
        raise InvalidInput("unit_price_fen", "must be positive", "必须大于零")
    item, _ = await Goods.get_or_create(
        code=code,
        defaults={"name_zh": name_zh, "name_en": name_en, "unit_price_fen": unit_price_fen},
    )
    return item


async def create_bundle(
    *, code: str, name_zh: str, name_en: str, price_fen: int, lines: list[tuple[int, int]]
) -> Goods:
    """A bundle at its own price (the warm pack is 365 CNY whatever its items cost apart)."""
    if price_fen <= 0:
        raise InvalidInput("price_fen", "must be positive", "必须大于零")
    item_ids = [item_id for item_id, _ in lines]
    if len(set(item_ids)) != len(item_ids):
        raise InvalidInput("lines", "each item once", "每种物品只能列一次")
    if await Goods.filter(id__in=item_ids).count() != len(item_ids):
        raise NotFound("goods", "物品")
    async with in_transaction():
        bundle, created = await Goods.get_or_create(
            code=code,
            defaults={
                "name_zh": name_zh,
                "name_en": name_en,
                "is_bundle": True,
                "unit_price_fen": price_fen,
            },
        )
        if created:
            for item_id, qty in lines:
                await BundleLine.create(bundle_id=bundle.id, item_id=item_id, quantity=qty)
    return bundle


async def goods_lines(goods_id: int) -> list[ItemLine]:
    """The item lines of a bundle, in the order they were added (none for a single item)."""
    lines = await BundleLine.filter(bundle_id=goods_id).order_by("id").prefetch_related("item")
    return [ItemLine(ln.item.code, ln.item.name_zh, ln.item.name_en, ln.quantity) for ln in lines]


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
    async with in_transaction():
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
    return campaign


async def set_rule(
    *,
    campaign_id: int,
    sport: str,
    fen: int,
    per: int,
    basis: Basis = Basis.METRES,
    daily_cap_fen: int | None = None,
) -> ConversionRule:
    """The conversion rule of a sport: ``fen`` for every ``per`` metres (or kcal)."""
    if sport not in ("run", "walk"):
        raise InvalidInput("sport", "run or walk", "跑步或步行")
    if per <= 0 or fen < 0:
        raise InvalidInput("rate", "fen must be ≥ 0 and per > 0", "金额须 ≥ 0，单位须 > 0")
    async with in_transaction() as conn:
        # A versioned entry of the public log; refused once the campaign is closed.
        await transparency.record_rule(
            conn,
            campaign_id=campaign_id,
            rule="conversion",
            sport=sport,
            terms=conversion_terms(str(basis), fen, per, daily_cap_fen),
        )
        rule, _ = await ConversionRule.update_or_create(
            campaign_id=campaign_id,
            sport=sport,
            defaults={"fen": fen, "per": per, "basis": basis, "daily_cap_fen": daily_cap_fen},
            using_db=conn,
        )
    return rule


async def set_points_rule(
    *, campaign_id: int, points_per_km: int, points_per_run: int = 0, daily_cap: int | None = None
) -> PointsRule:
    async with in_transaction() as conn:
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
            },
            using_db=conn,
        )
    return rule


async def add_pledge(
    *, campaign_id: int, sponsor: str, cap_fen: int, priority: int = 0
) -> SponsorPledge:
    if cap_fen <= 0:
        raise InvalidInput("cap_fen", "must be positive", "必须大于零")
    pledge, _ = await SponsorPledge.get_or_create(
        campaign_id=campaign_id,
        sponsor=sponsor,
        defaults={"cap_fen": cap_fen, "priority": priority},
    )
    return pledge


_TRANSITIONS = {
    CampaignState.DRAFT: CampaignState.ACTIVE,
    CampaignState.ACTIVE: CampaignState.CLOSED,
    CampaignState.CLOSED: CampaignState.SETTLED,
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
