"""Read-side queries for pages and the API: plain dataclasses, never ORM rows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from warmrun.platform import campaigns, events, payments, rollups
from warmrun.platform.conversion import goods_progress
from warmrun.platform.errors import NotFound
from warmrun.platform.models import (
    Campaign,
    CampaignCity,
    CharityPartner,
    City,
    Compound,
    Contribution,
    ConversionRule,
    Goods,
    Payment,
    PaymentKind,
    PointsEntry,
    PointsRule,
    Redemption,
    Resident,
    Reward,
    Run,
    SettlementMode,
    SponsorPledge,
)
from warmrun.platform.plausibility import Verdict
from warmrun.platform.refs import resident_ref
from warmrun.platform.rewards import typed_code


@dataclass(frozen=True)
class RunView:
    id: int
    resident_id: int
    file_name: str
    source: str
    started_at: datetime | None
    sport: str
    distance_m: int
    credited_m: int
    moving_s: int
    elapsed_s: int
    kcal: int
    points: int
    verdict: str
    reasons: list[str]
    review_note: str
    line: str = field(repr=False, default="")


def _run_view(r: Run) -> RunView:
    return RunView(
        id=r.id,
        resident_id=r.resident_id,
        file_name=r.file_name,
        source=r.source,
        started_at=r.started_at,
        sport=r.sport,
        distance_m=r.distance_m,
        credited_m=r.credited_m,
        moving_s=r.moving_s,
        elapsed_s=r.elapsed_s,
        kcal=r.kcal,
        points=r.points,
        verdict=r.verdict,
        reasons=list(r.reasons),
        review_note=r.review_note,
        line=r.line,
    )


async def runs_of(*, resident_id: int, offset: int, limit: int) -> tuple[list[RunView], int]:
    query = Run.filter(resident_id=resident_id)
    rows = await query.order_by("-started_at", "-id").offset(offset).limit(limit)
    return [_run_view(r) for r in rows], await query.count()


async def run(*, run_id: int) -> RunView:
    r = await Run.filter(id=run_id).first()
    if r is None:
        raise NotFound("run", "跑步记录")
    return _run_view(r)


async def run_city(*, run_id: int) -> int:
    """The city of the compound of the run's resident (organizers are scoped by it)."""
    r = await Run.filter(id=run_id).first()
    if r is None:
        raise NotFound("run", "跑步记录")
    resident = await Resident.get(id=r.resident_id)
    compound = await Compound.get(id=resident.compound_id)
    return compound.city_id


@dataclass(frozen=True)
class ReviewItem:
    run: RunView
    resident_name: str
    compound: str
    city_id: int


async def review_queue(
    *, city_ids: set[int] | None, offset: int, limit: int
) -> tuple[list[ReviewItem], int]:
    """Flagged runs, oldest first, of residents in ``city_ids`` (None: every city)."""
    query = Run.filter(verdict=Verdict.FLAGGED.value)
    if city_ids is not None:
        query = query.filter(resident__compound__city_id__in=list(city_ids))
    rows = await query.order_by("created_at", "id").offset(offset).limit(limit)
    total = await query.count()
    residents = {r.id: r for r in await Resident.filter(id__in=[x.resident_id for x in rows])}
    compounds = {
        c.id: c for c in await Compound.filter(id__in=[r.compound_id for r in residents.values()])
    }
    items = []
    for r in rows:
        resident = residents[r.resident_id]
        compound = compounds[resident.compound_id]
        items.append(
            ReviewItem(
                run=_run_view(r),
                resident_name=resident.display_name,
                compound=compound.name,
                city_id=compound.city_id,
            )
        )
    return items, total


@dataclass(frozen=True)
class PointsView:
    balance: int
    entries: list[dict[str, Any]]
    total: int
    debt: int = 0  # owed for points taken back after they were spent


async def resident_name(*, resident_id: int) -> str:
    r = await Resident.filter(id=resident_id).first()
    if r is None:
        raise NotFound("resident", "居民")
    return r.display_name


async def points_of(*, resident_id: int, offset: int, limit: int) -> PointsView:
    resident = await Resident.get(id=resident_id)
    query = PointsEntry.filter(resident_id=resident_id)
    rows = (
        await query.order_by("-id")
        .offset(offset)
        .limit(limit)
        .values("id", "delta", "reason", "ref", "created_at")
    )
    return PointsView(
        balance=resident.points_balance,
        entries=rows,
        total=await query.count(),
        debt=resident.points_debt,
    )


@dataclass(frozen=True)
class RewardView:
    id: int
    compound_id: int
    name_zh: str
    name_en: str
    points_price: int
    stock: int
    needs_slot: bool


def _reward_view(r: Reward) -> RewardView:
    return RewardView(
        id=r.id,
        compound_id=r.compound_id,
        name_zh=r.name_zh,
        name_en=r.name_en,
        points_price=r.points_price,
        stock=r.stock,
        needs_slot=r.needs_slot,
    )


async def rewards_for(*, resident_id: int) -> list[RewardView]:
    resident = await Resident.get(id=resident_id)
    rows = await Reward.filter(compound_id=resident.compound_id, active=True).order_by(
        "points_price", "id"
    )
    return [_reward_view(r) for r in rows]


async def rewards_in(*, city_ids: set[int] | None) -> list[tuple[str, RewardView]]:
    """Every reward, with its compound's name, in the given cities (None: all)."""
    query = Reward.all()
    if city_ids is not None:
        query = query.filter(compound__city_id__in=list(city_ids))
    rows = await query.order_by("compound_id", "points_price", "id")
    names = {c.id: c.name for c in await Compound.filter(id__in=[r.compound_id for r in rows])}
    return [(names[r.compound_id], _reward_view(r)) for r in rows]


async def reward(*, reward_id: int) -> RewardView:
    r = await Reward.filter(id=reward_id).first()
    if r is None:
        raise NotFound("reward", "奖品")
    return _reward_view(r)


@dataclass(frozen=True)
class RedemptionView:
    code: str
    reward_id: int
    reward_zh: str
    reward_en: str
    points: int
    state: str
    slot: str | None
    created_at: datetime
    resident_id: int
    compound_id: int


async def redemptions(
    *, resident_id: int | None = None, code: str | None = None
) -> list[RedemptionView]:
    query = Redemption.all()
    if resident_id is not None:
        query = query.filter(resident_id=resident_id)
    if code is not None:
        try:
            query = query.filter(code=typed_code(code))
        except NotFound:
            return []
    rows = await query.order_by("-id").limit(200)
    rewards = {r.id: r for r in await Reward.filter(id__in=[x.reward_id for x in rows])}
    return [
        RedemptionView(
            code=x.code,
            reward_id=x.reward_id,
            reward_zh=rewards[x.reward_id].name_zh,
            reward_en=rewards[x.reward_id].name_en,
            points=x.points,
            state=str(x.state),
            slot=x.slot,
            created_at=x.created_at,
            resident_id=x.resident_id,
            compound_id=rewards[x.reward_id].compound_id,
        )
        for x in rows
    ]


async def compound_city(*, compound_id: int) -> int:
    c = await Compound.filter(id=compound_id).first()
    if c is None:
        raise NotFound("compound", "小区")
    return c.city_id


@dataclass(frozen=True)
class ImpactView:
    campaign_code: str
    campaign_name: str
    metres: int
    kcal: int
    value_fen: int
    funded_fen: int
    goods_price_fen: int
    # Warm packs funded by this resident, in thousandths ("you warmed 0.3 children").
    goods_permille: int


async def impact(*, resident_id: int) -> list[ImpactView]:
    rows = await Contribution.filter(resident_ref=resident_ref(resident_id)).values(
        "campaign_id", "metres", "kcal", "value_fen", "funded_fen"
    )
    acc: dict[int, list[int]] = {}
    for row in rows:
        a = acc.setdefault(row["campaign_id"], [0, 0, 0, 0])
        a[0] += row["metres"]
        a[1] += row["kcal"]
        a[2] += row["value_fen"]
        a[3] += row["funded_fen"]
    out = []
    for campaign in await Campaign.filter(id__in=list(acc)).order_by("-starts_on"):
        goods = await Goods.get(id=campaign.goods_id)
        m, k, v, f = acc[campaign.id]
        out.append(
            ImpactView(
                campaign_code=campaign.code,
                campaign_name=campaign.name,
                metres=m,
                kcal=k,
                value_fen=v,
                funded_fen=f,
                goods_price_fen=goods.unit_price_fen,
                goods_permille=max(f, 0) * 1000 // goods.unit_price_fen,
            )
        )
    return out


@dataclass(frozen=True)
class CampaignSummary:
    id: int
    code: str
    name: str
    state: str
    starts_on: date
    ends_on: date
    partner_id: int


def _summary(c: Campaign) -> CampaignSummary:
    return CampaignSummary(
        id=c.id,
        code=c.code,
        name=c.name,
        state=str(c.state),
        starts_on=c.starts_on,
        ends_on=c.ends_on,
        partner_id=c.partner_id,
    )


async def campaign_list() -> list[CampaignSummary]:
    return [_summary(c) for c in await Campaign.all().order_by("-starts_on", "id")]


async def campaign_summary(*, code: str) -> CampaignSummary:
    return _summary(await campaigns.get_campaign(code=code))


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


# Compounds on the dashboard's first page; the rest page by page (a campaign has thousands).
DASHBOARD_COMPOUNDS = 20


async def compound_page(*, code: str, offset: int, limit: int) -> tuple[int, list[AreaTotals]]:
    """A page of the campaign's compounds by kilometres, and how many there are."""
    return await compound_areas(await campaigns.get_campaign(code=code), offset=offset, limit=limit)


async def _given(goods: Goods) -> Goods:
    return goods


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
    goods: Goods | None = None,
) -> tuple[int, list[AreaTotals]]:
    """How many compounds the campaign's cities hold, and a page of them by kilometres."""
    if limit <= 0 and compound_id is None:
        return 0, []
    (count, found), price = await asyncio.gather(
        rollups.compounds(c.id, offset=offset, limit=limit, compound_id=compound_id),
        _given(goods) if goods is not None else Goods.get(id=c.goods_id),
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
        (goods, stored, city_rows_, (compounds_total, compound_rows), pledges),
        (
            donated,
            days,
            offline,
        ),
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
        ),
    )
    by_city = await campaigns.totals_of(
        c, goods, {a: t for a, t in stored.items() if a[0]}, by="city"
    )
    overall = (
        await campaigns.totals_of(c, goods, {a: t for a, t in stored.items() if not a[0]}, by=None)
    )[None]
    goals = {int(r["id"]): int(r["goal_fen"]) for r in city_rows_}
    cities = {int(r["id"]): r for r in city_rows_}

    def area(
        key: int, zh: str, en: str, goal: int, t: campaigns.Totals | None, **kw: int
    ) -> AreaTotals:
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
            **kw,
        )

    city_rows = [
        area(i, cities[i]["name_zh"], cities[i]["name_en"], goals[i], by_city.get(i))
        for i in sorted(goals)
    ]
    return Dashboard(
        campaign=_summary(c),
        goods_zh=goods.name_zh,
        goods_en=goods.name_en,
        goods_price_fen=goods.unit_price_fen,
        overall=area(0, c.name, c.name, sum(goals.values()), overall),
        cities=city_rows,
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
            (overall.funded_fen if overall else 0) + donated.net_fen, goods.unit_price_fen
        ).bundles,
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


async def campaign_setup(*, code: str) -> CampaignSetup:
    c = await campaigns.get_campaign(code=code)
    rules = {
        r["sport"]: r
        for r in await ConversionRule.filter(campaign_id=c.id).values(
            "sport", "fen", "per", "basis", "daily_cap_fen"
        )
    }
    points = (
        await PointsRule.filter(campaign_id=c.id)
        .first()
        .values("points_per_km", "points_per_run", "daily_cap")
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
    return CampaignSetup(_summary(c), rules, points, pledges, cities)


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


@dataclass(frozen=True)
class PaymentRow:
    id: int
    kind: str
    state: str
    amount_fen: int
    refunded_fen: int
    payer: str  # the sponsor, or the donor's name if they gave one
    created_at: datetime
    flag_reason: str


async def payments_of(*, campaign_id: int, offset: int, limit: int) -> tuple[int, list[PaymentRow]]:
    q = Payment.filter(campaign_id=campaign_id)
    total = await q.count()
    rows = await q.order_by("-id").offset(offset).limit(limit)
    return total, [
        PaymentRow(
            id=p.id,
            kind=str(p.kind),
            state=str(p.state),
            amount_fen=p.amount_fen,
            refunded_fen=p.refunded_fen,
            payer=p.donor_name,
            created_at=p.created_at,
            flag_reason=p.flag_reason,
        )
        for p in rows
    ]
