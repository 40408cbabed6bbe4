"""Read-side queries for pages and the API: plain dataclasses, never ORM rows.

Campaigns' read side (summaries, dashboards, set-up) is in ``campaign_views``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warmrun.platform import accounts
from warmrun.platform.accounts import Identity
from warmrun.platform.errors import NotFound
from warmrun.platform.kinds import Role
from warmrun.platform.models import (
    Campaign,
    Compound,
    Contribution,
    Goods,
    Payment,
    PointsEntry,
    Redemption,
    Resident,
    Reward,
    Run,
    StravaAccount,
    StravaActivity,
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


async def readable_run(account: Identity, *, run_id: int) -> RunView:
    """The run if ``account`` may see it: its resident, an organizer of its city, an admin;
    a run synced from Strava its resident only (Strava's terms: an athlete's Strava data is
    shown to that athlete alone). Anyone else: not found, never a hint that it exists."""
    found = await run(run_id=run_id)
    if account.role is Role.RESIDENT and found.resident_id == account.resident_id:
        return found
    if account.role in (Role.ORGANIZER, Role.ADMIN) and found.source != "strava":
        scope = await accounts.organizer_city_ids(account)
        if scope is None or await run_city(run_id=run_id) in scope:
            return found
    raise NotFound("run", "跑步记录")


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
    kind: str  # goods, or a (possibly free) service
    cancel_hours: int  # a booking is cancellable until this many hours before its slot


def _reward_view(r: Reward) -> RewardView:
    return RewardView(
        id=r.id,
        compound_id=r.compound_id,
        name_zh=r.name_zh,
        name_en=r.name_en,
        points_price=r.points_price,
        stock=r.stock,
        needs_slot=r.needs_slot,
        kind=str(r.kind),
        cancel_hours=r.cancel_hours,
    )


async def rewards_for(*, resident_id: int) -> list[RewardView]:
    resident = await Resident.get(id=resident_id)
    rows = await Reward.filter(compound_id=resident.compound_id, active=True).order_by(
        "points_price", "id"
    )
    return [_reward_view(r) for r in rows]


async def rewards_in(*, compound_ids: set[int] | None) -> list[tuple[str, RewardView]]:
    """Every reward, with its compound's name, in the given compounds (None: all)."""
    query = Reward.all()
    if compound_ids is not None:
        query = query.filter(compound_id__in=list(compound_ids))
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


@dataclass(frozen=True)
class StravaActivityView:
    id: int  # Strava's activity id
    run_id: int | None
    status: str  # imported | duplicate | ineligible | deleted | invalid
    reason: str
    updated_at: datetime


@dataclass(frozen=True)
class StravaLink:
    """A resident's Strava connection and what became of their latest activities."""

    athlete_id: int
    scope: str
    connected_at: datetime
    activities: list[StravaActivityView]


async def strava_link(*, resident_id: int, limit: int) -> StravaLink | None:
    """The resident's connection, if any, with the ``limit`` latest activities."""
    account = await StravaAccount.get_or_none(resident_id=resident_id)
    if account is None:
        return None
    rows = await StravaActivity.filter(resident_id=resident_id).order_by("-updated_at").limit(limit)
    return StravaLink(
        athlete_id=account.athlete_id,
        scope=account.scope,
        connected_at=account.connected_at,
        activities=[
            StravaActivityView(a.id, a.run_id, a.status, a.reason, a.updated_at) for a in rows
        ],
    )


async def strava_athlete_known(athlete_id: int) -> bool:
    """Whether a resident connected this Strava athlete."""
    return await StravaAccount.exists(athlete_id=athlete_id)
