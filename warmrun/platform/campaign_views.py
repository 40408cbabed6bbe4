"""Read side of campaigns for pages and the API: summaries, the dashboard's totals (overall,
per city, compounds a page at a time), places, set-up and the catalogue. Plain dataclasses,
never ORM rows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from warmrun.platform import campaigns, clock, events, payments, rollups, rule_versions
from warmrun.platform.conversion import ItemLine, goods_progress, pledges_owed
from warmrun.platform.errors import NotFound
from warmrun.platform.models import (
    Campaign,
    CampaignCity,
    CharityPartner,
    City,
    Compound,
    ConversionRule,
    Goods,
    PaymentKind,
    PointsRule,
    RuleVersion,
    SettlementMode,
    SponsorPledge,
)
from warmrun.platform.tally import Area, AreaSums


@dataclass(frozen=True)
class CampaignSummary:
    id: int
    code: str
    name: str
    state: str
    starts_on: date
    ends_on: date
    partner_id: int
    # The internal ledger's length and head, for staff pages (repr=False: not in the API's JSON).
    entries: int = field(default=0, repr=False)
    head_hash: str = field(default="", repr=False)
    timezone: str = field(default="Asia/Shanghai", repr=False)


def _summary(c: Campaign) -> CampaignSummary:
    return CampaignSummary(
        id=c.id,
        code=c.code,
        name=c.name,
        state=str(c.state),
        starts_on=c.starts_on,
        ends_on=c.ends_on,
        partner_id=c.partner_id,
        entries=c.head_seq,
        head_hash=c.head_hash,
        timezone=c.timezone,
    )


async def campaign_list() -> list[CampaignSummary]:
    return [_summary(c) for c in await Campaign.all().order_by("-starts_on", "id")]


async def campaign_summary(*, code: str) -> CampaignSummary:
    return _summary(await campaigns.get_campaign(code=code))


async def campaign_summary_by_id(*, campaign_id: int) -> CampaignSummary:
    return _summary(await campaigns.get_campaign(campaign_id=campaign_id))


@dataclass(frozen=True)
class AreaTotals:
    id: int
    name_zh: str
    name_en: str
    goal_fen: int
    metres: int
    participants: int
    value_fen: int
    funded_fen: int
    bundles: int
    next_permille: int
    households: int = 0
    city_id: int = 0


@dataclass(frozen=True)
class Dashboard:
    campaign: CampaignSummary
    goods_zh: str
    goods_en: str
    goods_price_fen: int
    overall: AreaTotals
    cities: list[AreaTotals]
    compounds: list[AreaTotals]
    pledges: list[dict[str, Any]]
    days: list[dict[str, Any]]  # per local day: metres and funded fen, for the charts
    # Donations paid through checkout, net of refunds: they fund goods beside the kilometres.
    donations: int = 0
    donated_fen: int = 0
    bundles_with_donations: int = 0
    # Offline event-day participation credit, in the totals above and shown on its own.
    offline: dict[str, int] = field(default_factory=dict)
    compounds_total: int = 0  # compounds in the campaign's cities; ``compounds`` is one page
    # The goods' item lines (a bundle's coat, shoes…): an area funds bundles × quantity of each.
    items: list[ItemLine] = field(default_factory=list)


# Compounds on the dashboard's first page; the rest page by page (a campaign has thousands).
DASHBOARD_COMPOUNDS = 20


async def compound_page(*, code: str, offset: int, limit: int) -> tuple[int, list[AreaTotals]]:
    """A page of the campaign's compounds by kilometres, and how many there are."""
    return await compound_areas(await campaigns.get_campaign(code=code), offset=offset, limit=limit)


async def compound_area(*, code: str, compound_id: int) -> AreaTotals:
    """One compound of a campaign's cities with its totals."""
    c = await campaigns.get_campaign(code=code)
    _, rows = await compound_areas(c, offset=0, limit=1, compound_id=compound_id)
    if not rows:
        raise NotFound("compound", "小区")
    return rows[0]


async def compound_areas(
    c: Campaign,
    *,
    offset: int,
    limit: int,
    compound_id: int | None = None,
) -> tuple[int, list[AreaTotals]]:
    """How many compounds the campaign's cities hold, and a page of them by kilometres."""
    if limit <= 0 and compound_id is None:
        return 0, []
    (count, found), price = await asyncio.gather(
        rollups.compounds(c.id, offset=offset, limit=limit, compound_id=compound_id),
        Goods.get(id=c.goods_id),
    )
    shares: dict[Any, int] | None = None
    if c.settlement_mode == SettlementMode.PRO_RATA and found:
        shares = await campaigns.pro_rata_shares(c.id, await rollups.compound_values(c.id))
    rows = []
    for x in found:
        funded = shares.get(x.id, 0) if shares is not None else x.totals.sums.funded_fen
        progress = goods_progress(funded, price.unit_price_fen)
        rows.append(
            AreaTotals(
                id=x.id,
                name_zh=x.name,
                name_en=x.name,
                goal_fen=0,
                metres=x.totals.sums.metres,
                participants=x.totals.participants,
                value_fen=x.totals.sums.value_fen,
                funded_fen=funded,
                bundles=progress.bundles,
                next_permille=progress.next_permille,
                households=x.households,
                city_id=x.city_id,
            )
        )
    return count, rows


async def dashboard(
    *, code: str, compounds_offset: int = 0, compounds_limit: int = DASHBOARD_COMPOUNDS
) -> Dashboard:
    """A campaign's progress from its kept totals: overall, per city, one page of compounds
    (most kilometres first), pledges and the daily series."""
    c = await campaigns.get_campaign(code=code)
    # Independent reads, a few rows each: sent at once (on PostgreSQL, over several
    # connections of the pool), so that the page waits for the slowest rather than the sum.
    (
        (goods, stored, city_rows, (compounds_total, compound_rows), pledges),
        (donated, days, offline, lines),
    ) = await asyncio.gather(
        asyncio.gather(
            Goods.get(id=c.goods_id),
            rollups.area_totals(c.id, level="city_and_whole"),
            rollups.city_goals(c.id),
            compound_areas(c, offset=compounds_offset, limit=compounds_limit),
            payments.pledges_paid(c.id),
        ),
        asyncio.gather(
            payments.received(campaign_id=c.id, kind=PaymentKind.DONATION),
            rollups.overall_days(c.id),
            events.offline_totals(campaign_id=c.id),
            campaigns.goods_lines(c.goods_id),
        ),
    )
    overall, cities = await _city_areas(c, goods, stored, city_rows)
    owed = pledges_owed(
        total_value_fen=overall.value_fen,
        caps=[p["cap_fen"] for p in pledges],
        allocated=[p["allocated_fen"] for p in pledges],
        pro_rata=c.settlement_mode == SettlementMode.PRO_RATA,
    )
    for p, fen in zip(pledges, owed, strict=True):
        p["owed_fen"] = fen  # what each pledge would owe if the campaign settled now
    return Dashboard(
        campaign=_summary(c),
        goods_zh=goods.name_zh,
        goods_en=goods.name_en,
        goods_price_fen=goods.unit_price_fen,
        overall=overall,
        cities=cities,
        compounds=compound_rows,
        compounds_total=compounds_total,
        pledges=pledges,
        days=[
            {"day": d.isoformat(), "metres": v.metres, "funded_fen": v.funded_fen} for d, v in days
        ],
        offline=offline,
        donations=donated.payments,
        donated_fen=donated.net_fen,
        bundles_with_donations=goods_progress(
            overall.funded_fen + donated.net_fen, goods.unit_price_fen
        ).bundles,
        items=list(lines),
    )


async def _city_areas(
    c: Campaign, goods: Goods, stored: dict[Area, AreaSums], city_rows: list[dict[str, Any]]
) -> tuple[AreaTotals, list[AreaTotals]]:
    """The whole campaign (its goal the sum of its cities') and each city, in id order."""
    by_city = await campaigns.totals_of(
        c, goods, {a: t for a, t in stored.items() if a[0]}, by="city"
    )
    overall = (
        await campaigns.totals_of(c, goods, {a: t for a, t in stored.items() if not a[0]}, by=None)
    )[None]
    goals = {int(r["id"]): int(r["goal_fen"]) for r in city_rows}
    names = {int(r["id"]): r for r in city_rows}
    cities = [
        _area(i, names[i]["name_zh"], names[i]["name_en"], goals[i], by_city.get(i))
        for i in sorted(goals)
    ]
    return _area(0, c.name, c.name, sum(goals.values()), overall), cities


def _area(key: int, zh: str, en: str, goal: int, t: campaigns.Totals | None) -> AreaTotals:
    return AreaTotals(
        id=key,
        name_zh=zh,
        name_en=en,
        goal_fen=goal,
        metres=t.metres if t else 0,
        participants=t.participants if t else 0,
        value_fen=t.value_fen if t else 0,
        funded_fen=t.funded_fen if t else 0,
        bundles=t.goods.bundles if t else 0,
        next_permille=t.goods.next_permille if t else 0,
    )


@dataclass(frozen=True)
class Place:
    city_id: int
    city_zh: str
    city_en: str
    compound_id: int
    compound: str


async def places(*, city_ids: set[int] | None = None) -> list[Place]:
    """Every compound with its city (in ``city_ids`` if given), for sign-up and set-up."""
    cities = {c.id: c for c in await City.all()}
    compounds = Compound.all()
    if city_ids is not None:
        compounds = compounds.filter(city_id__in=list(city_ids))
    return [
        Place(
            city_id=x.city_id,
            city_zh=cities[x.city_id].name_zh,
            city_en=cities[x.city_id].name_en,
            compound_id=x.id,
            compound=x.name,
        )
        for x in await compounds.order_by("city_id", "name")
    ]


@dataclass(frozen=True)
class CampaignSetup:
    campaign: CampaignSummary
    rules: dict[str, dict[str, Any]]  # sport -> fen, per, basis, daily_cap_fen
    points: dict[str, Any] | None
    pledges: list[dict[str, Any]]
    cities: list[dict[str, Any]]
    mode: str = "first_come"  # how pledges pay: first come or pro rata
    scheduled: list[dict[str, Any]] = field(default_factory=list)  # rule changes to come


async def campaign_setup(*, code: str) -> CampaignSetup:
    c = await campaigns.get_campaign(code=code)
    rules, scheduled = await _rules_now(c.id)
    points = (
        await PointsRule.filter(campaign_id=c.id)
        .first()
        .values(
            "points_per_km",
            "points_per_run",
            "daily_cap",
            "expire_after_days",
            "expiry_notice_days",
        )
    )
    pledges = (
        await SponsorPledge.filter(campaign_id=c.id)
        .order_by("priority", "id")
        .values("id", "sponsor", "cap_fen", "allocated_fen", "priority")
    )
    goals = await CampaignCity.filter(campaign_id=c.id).values("city_id", "goal_fen")
    names = {x.id: x for x in await City.filter(id__in=[g["city_id"] for g in goals])}
    cities = [
        {
            "id": g["city_id"],
            "name_zh": names[g["city_id"]].name_zh,
            "name_en": names[g["city_id"]].name_en,
            "goal_fen": g["goal_fen"],
        }
        for g in goals
    ]
    return CampaignSetup(
        _summary(c), rules, points, pledges, cities, str(c.settlement_mode), scheduled
    )


async def _rules_now(campaign_id: int) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Each sport's conversion rule in force now, and the changes scheduled for later."""
    latest = {
        r["sport"]: r
        for r in await ConversionRule.filter(campaign_id=campaign_id).values(
            "sport", "fen", "per", "basis", "daily_cap_fen"
        )
    }
    now = clock.now()
    rules, later = {}, []
    for sport, row in latest.items():
        versions = [
            rule_versions.Version(v.version, v.effective_from, dict(v.terms))
            for v in await RuleVersion.filter(
                campaign_id=campaign_id, rule="conversion", sport=sport
            )
        ]
        v = rule_versions.in_force(versions, now)
        rules[sport] = {**row, **v.terms, "sport": sport} if v else row
        later += [
            {"sport": sport, "effective_from": x.effective_from, **x.terms}
            for x in rule_versions.scheduled(versions, now)
        ]
    return rules, later


@dataclass(frozen=True)
class Catalogue:
    partners: list[dict[str, Any]]
    goods: list[dict[str, Any]]
    cities: list[dict[str, Any]]


async def catalogue() -> Catalogue:
    """Partners, goods and cities, for the set-up forms."""
    return Catalogue(
        partners=await CharityPartner.all().order_by("name").values("id", "name"),
        goods=await Goods.all()
        .order_by("code")
        .values("id", "code", "name_zh", "name_en", "unit_price_fen", "is_bundle"),
        cities=await City.all().order_by("code").values("id", "code", "name_zh", "name_en"),
    )
