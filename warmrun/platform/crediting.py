"""Crediting: a run's contributions to campaigns, their points, and their reversal.

Contributions are appended to each campaign's hash chain while its row is locked; every
contribution and reversal writes its outbox row in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.functions import Sum

from warmrun.platform import clock, outbox, points_ledger
from warmrun.platform.conversion import allocate_first_come, cap_daily, value_fen
from warmrun.platform.ledger import entry_hash
from warmrun.platform.models import (
    Basis,
    Campaign,
    CampaignCity,
    CampaignState,
    Compound,
    Contribution,
    ConversionRule,
    PledgeAllocation,
    PointsEntry,
    PointsRule,
    Resident,
    Run,
    SettlementMode,
    SponsorPledge,
)
from warmrun.platform.plausibility import Reason
from warmrun.platform.points import EarningRule, run_points
from warmrun.platform.tracks import HIKE, WALK, kcal


@dataclass
class Credit:
    """What crediting one run produced across campaigns."""

    credited_m: int = 0
    value_fen: int = 0
    points: int = 0
    campaigns: list[int] = field(default_factory=list)


def _kcal(campaign: Campaign, resident: Resident, sport: str, metres: int) -> int:
    mass = resident.body_mass_kg or campaign.default_body_mass_kg
    return round(
        kcal(
            metres=metres,
            sport=sport,
            body_mass_kg=mass,
            walking_factor=campaign.walking_factor_permille / 1000,
        )
    )


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


class CampaignChanged(Exception):
    """A campaign left the active state between the credit's checks and its chain append.

    Raised inside the caller's transaction so that everything it wrote rolls back; the caller
    runs the whole transaction again, which then sees the campaign as it is now."""


async def lock_resident(conn: BaseDBAsyncClient, resident_id: int) -> None:
    """Hold the resident's row until the transaction ends.

    Daily caps (money and points) are read and then written: this lock serializes one
    resident's concurrent credits and reversals, so the campaign lock is needed only for the
    chain append itself. Order: a resident's row before any campaign row, everywhere.
    """
    # NO KEY: rows this transaction or another already inserted (runs, points entries) hold a
    # KEY SHARE lock on the resident through their foreign key; FOR UPDATE would deadlock on it.
    await (
        Resident.filter(id=resident_id)
        .using_db(conn)
        .select_for_update(no_key=True)
        .only("id")
        .first()
    )


async def credit(conn: BaseDBAsyncClient, run: Run, resident: Resident) -> Credit:
    """Append a contribution (and points) for every active campaign this run counts in.

    Everything that needs no chain position (the conversion, the daily caps, the points) is
    decided first, under the resident's lock; the campaign row, which every resident's credit
    queues on, is locked last and held only for the append, the outbox row and the commit.
    """
    out = Credit()
    if run.started_at is None or run.credited_m <= 0:
        return out
    compound = await Compound.filter(id=resident.compound_id).using_db(conn).get()
    links = (
        await CampaignCity.filter(
            city_id=compound.city_id,
            campaign__state=CampaignState.ACTIVE,
        )
        .using_db(conn)
        .values_list("campaign_id", flat=True)
    )
    if not links:
        return out
    await lock_resident(conn, resident.id)
    for campaign_id in sorted({int(cast(Any, x)) for x in links}):
        campaign = await Campaign.filter(id=campaign_id).using_db(conn).get()
        day = local_day(run.started_at, campaign.timezone)
        if not campaign.starts_on <= day <= campaign.ends_on:
            continue
        sport = WALK if run.sport == HIKE else run.sport
        kc = _kcal(campaign, resident, sport, run.credited_m)
        rule = (
            await ConversionRule.filter(campaign_id=campaign_id, sport=sport).using_db(conn).first()
        )
        value = 0
        capped = False
        if rule is not None:
            amount = run.credited_m if rule.basis == Basis.METRES else kc
            raw = value_fen(amount, fen=rule.fen, per=rule.per)
            used = await _sum(
                conn,
                Contribution.filter(
                    campaign_id=campaign_id, resident_ref=f"resident:{resident.id}", local_day=day
                ),
                "value_fen",
            )
            value = cap_daily(raw, used_today=used, cap=rule.daily_cap_fen)
            capped = value < raw
        # A run credited, reversed (say, flagged as a shared track) and then accepted on review
        # is credited again: each round has its own idempotency keys.
        rounds = (
            await Contribution.filter(run_id=run.id, campaign_id=campaign_id, kind="run")
            .using_db(conn)
            .count()
        )
        key = f"run:{run.id}:campaign:{campaign_id}" + (f":r{rounds}" if rounds else "")
        if capped:
            await (
                Run.filter(id=run.id)
                .using_db(conn)
                .update(reasons=sorted({*run.reasons, Reason.DAILY_CAP.value}))
            )
        pts = await _award_points(conn, campaign_id, resident.id, run, day, key)
        locked = await lock_campaign(conn, campaign_id)
        if locked.state != CampaignState.ACTIVE:
            raise CampaignChanged(campaign_id)
        contribution = await _append(
            conn,
            locked,
            kind="run",
            run_id=run.id,
            resident_ref=f"resident:{resident.id}",
            city_id=compound.city_id,
            compound_id=compound.id,
            day=day,
            sport=sport,
            metres=run.credited_m,
            kcal=kc,
            value=value,
            key=key,
        )
        await _emit(conn, contribution, source=run.source)
        out.credited_m = run.credited_m
        out.value_fen += value
        out.points += pts
        out.campaigns.append(campaign_id)
    return out


async def lock_campaign(conn: BaseDBAsyncClient, campaign_id: int) -> Campaign:
    """The campaign row, locked until the transaction ends: it holds the chain head, so
    appenders queue here."""
    query = Campaign.filter(id=campaign_id).using_db(conn)
    return await query.select_for_update(no_key=True).get()


async def _sum(conn: BaseDBAsyncClient, query: Any, column: str) -> int:
    rows = await query.using_db(conn).annotate(s=Sum(column)).values("s")
    return int(rows[0]["s"] or 0) if rows else 0


async def _append(
    conn: BaseDBAsyncClient,
    campaign: Campaign,
    *,
    kind: str,
    run_id: int | None,
    resident_ref: str,
    city_id: int,
    compound_id: int,
    day: date,
    sport: str,
    metres: int,
    kcal: int,
    value: int,
    key: str,
    funded: int | None = None,
    allocations: list[tuple[int, int]] | None = None,
) -> Contribution:
    """Append one chained contribution; the caller holds the campaign row lock."""
    if allocations is None:
        allocations = []
        if funded is None and campaign.settlement_mode == SettlementMode.FIRST_COME and value > 0:
            pledges = (
                await SponsorPledge.filter(campaign_id=campaign.id)
                .using_db(conn)
                .order_by("priority", "id")
            )
            plan = allocate_first_come(
                value, [(p.id, p.cap_fen - p.allocated_fen) for p in pledges]
            )
            for pledge_id, fen in plan:
                # Conditional update: the CHECK constraint and this WHERE both refuse over-cap.
                ok = (
                    await SponsorPledge.filter(id=pledge_id, allocated_fen__lte=F("cap_fen") - fen)
                    .using_db(conn)
                    .update(allocated_fen=F("allocated_fen") + fen)
                )
                if ok:
                    allocations.append((pledge_id, fen))
    else:
        for pledge_id, fen in allocations:
            await (
                SponsorPledge.filter(id=pledge_id)
                .using_db(conn)
                .update(allocated_fen=F("allocated_fen") + fen)
            )
    if funded is None:
        funded = sum(f for _, f in allocations)
    seq = campaign.head_seq + 1
    now = clock.now()
    fields = {
        "campaign_id": campaign.id,
        "seq": seq,
        "kind": kind,
        "run_id": run_id,
        "resident_ref": resident_ref,
        "city_id": city_id,
        "compound_id": compound_id,
        "local_day": day,
        "sport": sport,
        "metres": metres,
        "kcal": kcal,
        "value_fen": value,
        "funded_fen": funded,
        "idempotency_key": key,
    }
    digest = entry_hash(campaign.head_hash, fields)
    contribution = await Contribution.create(
        **fields, prev_hash=campaign.head_hash, hash=digest, created_at=now, using_db=conn
    )
    for pledge_id, fen in allocations:
        await PledgeAllocation.create(
            pledge_id=pledge_id, contribution_id=contribution.id, fen=fen, using_db=conn
        )
    await Campaign.filter(id=campaign.id).using_db(conn).update(head_seq=seq, head_hash=digest)
    campaign.head_seq, campaign.head_hash = seq, digest
    return contribution


async def _award_points(
    conn: BaseDBAsyncClient, campaign_id: int, resident_id: int, run: Run, day: date, key: str
) -> int:
    rule_row = await PointsRule.filter(campaign_id=campaign_id).using_db(conn).first()
    if rule_row is None:
        return 0
    rule = EarningRule(rule_row.points_per_km, rule_row.points_per_run, rule_row.daily_cap)
    earned = await _sum(
        conn,
        PointsEntry.filter(
            resident_id=resident_id,
            reason="run",
            ref__startswith=f"c{campaign_id}:{day.isoformat()}",
        ),
        "delta",
    )
    pts = run_points(metres=run.credited_m, rule=rule, earned_today=earned)
    if pts <= 0:
        return 0
    await points_ledger.post(
        conn,
        resident_id=resident_id,
        delta=pts,
        reason="run",
        key=f"{key}:points",
        ref=f"c{campaign_id}:{day.isoformat()}:run{run.id}",
    )
    return pts


async def reverse(conn: BaseDBAsyncClient, run: Run, *, reason: str) -> None:
    """Append reversal entries for every credited contribution and points award of ``run``."""
    await lock_resident(conn, run.resident_id)
    originals = await Contribution.filter(run_id=run.id, kind="run").using_db(conn).order_by("id")
    for c in originals:
        key = f"reverse:{c.id}"
        if await Contribution.filter(idempotency_key=key).using_db(conn).exists():
            continue
        campaign = await lock_campaign(conn, c.campaign_id)
        allocs = await PledgeAllocation.filter(contribution_id=c.id).using_db(conn)
        released = [(a.pledge_id, -a.fen) for a in allocs]
        reversal = await _append(
            conn,
            campaign,
            kind="reversal",
            run_id=run.id,
            resident_ref=c.resident_ref,
            city_id=c.city_id,
            compound_id=c.compound_id,
            day=c.local_day,
            sport=c.sport,
            metres=-c.metres,
            kcal=-c.kcal,
            value=-c.value_fen,
            key=key,
            funded=-c.funded_fen,
            allocations=released,
        )
        await _emit(conn, reversal, source=run.source, reverses=c.id, reason=reason)
    awards = await PointsEntry.filter(
        idempotency_key__startswith=f"run:{run.id}:campaign:", reason="run"
    ).using_db(conn)
    for award in awards:
        key = f"reverse:{award.idempotency_key}"
        if await points_ledger.posted(conn, key):
            continue
        resident = await Resident.filter(id=award.resident_id).using_db(conn).get()
        # Points already spent cannot be clawed back below zero: take what is there.
        take = min(award.delta, resident.points_balance)
        await points_ledger.post(
            conn, resident_id=resident.id, delta=-take, reason="reversal", key=key, ref=award.ref
        )


async def _emit(
    conn: BaseDBAsyncClient, contribution: Contribution, *, source: str, **extra: Any
) -> None:
    """The outbox row for the leaderboards, derived from the contribution it describes."""
    ref = contribution.resident_ref
    await outbox.emit(
        conn,
        "contribution",
        {
            "campaign_id": contribution.campaign_id,
            "run_id": contribution.run_id,
            "resident_id": int(ref.split(":")[1]) if ref.startswith("resident:") else None,
            "compound_id": contribution.compound_id,
            "city_id": contribution.city_id,
            "metres": contribution.metres,
            "local_day": contribution.local_day.isoformat(),
            "contribution_id": contribution.id,
            "source": source,
            "at": contribution.created_at.timestamp(),
            **extra,
        },
    )


async def credit_offline(
    conn: BaseDBAsyncClient,
    *,
    campaign_id: int,
    resident: Resident,
    day: date,
    sport: str,
    metres: int,
    value: int,
    key: str,
) -> Contribution | None:
    """An offline participation credit (an event day), appended to the same chain as runs
    under ``key``; None if that key was credited before."""
    if await Contribution.filter(idempotency_key=key).using_db(conn).exists():
        return None
    campaign = await lock_campaign(conn, campaign_id)
    if await Contribution.filter(idempotency_key=key).using_db(conn).exists():
        return None  # credited while we waited for the lock
    compound = await Compound.filter(id=resident.compound_id).using_db(conn).get()
    kc = _kcal(campaign, resident, sport, metres)
    contribution = await _append(
        conn,
        campaign,
        kind="offline",
        run_id=None,
        resident_ref=f"resident:{resident.id}",
        city_id=compound.city_id,
        compound_id=compound.id,
        day=day,
        sport=sport,
        metres=metres,
        kcal=kc,
        value=value,
        key=key,
    )
    await _emit(conn, contribution, source="offline")
    return contribution


async def offline_value(conn: BaseDBAsyncClient, campaign_id: int, sport: str, metres: int) -> int:
    """The fen a distance is worth under the campaign's conversion rule for ``sport``."""
    rule = await ConversionRule.filter(campaign_id=campaign_id, sport=sport).using_db(conn).first()
    if rule is None or rule.basis != Basis.METRES:
        return 0
    return value_fen(metres, fen=rule.fen, per=rule.per)
