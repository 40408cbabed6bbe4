"""Runs: store an analysed track, credit it to campaigns, review and reverse it.

A run is stored once per resident and file (SHA-256 of the bytes); the same points exported by
another tool are a duplicate; a run overlapping a credited run of the same resident by more
than a minute is not credited; the same track from two residents flags both.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from warmrun.platform import clock, outbox
from warmrun.platform.conversion import allocate_first_come, cap_daily, value_fen
from warmrun.platform.errors import DuplicateRun, NotFound, ReviewNotAllowed
from warmrun.platform.geo import encode_polyline, haversine_m, simplify
from warmrun.platform.ledger import entry_hash
from warmrun.platform.models import (
    Basis,
    Campaign,
    CampaignCity,
    CampaignState,
    City,
    Compound,
    Contribution,
    ConversionRule,
    PledgeAllocation,
    PointsEntry,
    PointsRule,
    Resident,
    Run,
    RunFile,
    SettlementMode,
    SponsorPledge,
)
from warmrun.platform.points import EarningRule, run_points
from warmrun.platform.tracks import HIKE, WALK, Reason, Track, TrackSummary, Verdict, kcal

OVERLAP_S = 60
LINE_TOLERANCE_M = 8.0


@dataclass
class RunOutcome:
    """What happened to one activity file: a stored run (new or existing) with its credit."""

    run: Run
    existing: bool = False
    credited_m: int = 0
    value_fen: int = 0
    points: int = 0
    campaigns: list[int] = field(default_factory=list)


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def simplified_line(track: Track) -> str:
    """An encoded polyline of the track simplified to ~8 m, for maps (not every point)."""
    pts = list(zip(track.lat.tolist(), track.lon.tolist(), strict=True))
    return encode_polyline(simplify(pts, LINE_TOLERANCE_M)) if pts else ""


async def record_run(
    *,
    resident_id: int,
    track: Track,
    summary: TrackSummary,
    data: bytes,
    file_name: str,
    file_format: str,
    fingerprint: str,
    line: str,
    source: str = "file",
) -> RunOutcome:
    """Store a parsed run and credit it if plausible; idempotent per (resident, file bytes)."""
    digest = file_digest(data)
    existing = await Run.filter(resident_id=resident_id, file_sha256=digest).first()
    if existing is not None:
        return RunOutcome(run=existing, existing=True)
    resident = await Resident.filter(id=resident_id, erased_at=None).first()
    if resident is None:
        raise NotFound("resident", "居民")
    twin = await Run.filter(resident_id=resident_id, points_sha256=fingerprint).first()
    if twin is not None:
        raise DuplicateRun(run_id=twin.id)

    verdict = summary.verdict
    reasons = list(summary.reasons)
    shared = await Run.filter(points_sha256=fingerprint).exclude(resident_id=resident_id)
    if shared:
        verdict = _worst(verdict, Verdict.FLAGGED)
        reasons.append(Reason.SHARED_TRACK.value)
    if verdict == Verdict.ACCEPTED and summary.start_time and summary.end_time:
        if await _overlaps(resident_id, summary.start_time, summary.end_time):
            verdict = Verdict.REJECTED
            reasons.append(Reason.OVERLAP.value)
    start_city = await _start_city(summary.start)
    compressed = zlib.compress(data, 1)

    try:
        async with in_transaction() as conn:
            run = await Run.create(
                resident_id=resident_id,
                source=source,
                file_name=file_name[:255],
                file_sha256=digest,
                points_sha256=fingerprint,
                started_at=summary.start_time,
                ended_at=summary.end_time,
                sport=summary.sport,
                distance_m=round(summary.distance_m),
                credited_m=round(summary.credited_distance_m),
                moving_s=round(summary.moving_time_s),
                elapsed_s=round(summary.elapsed_time_s),
                elevation_gain_m=round(summary.elevation_gain_m),
                points=summary.points,
                device_distance_m=(
                    None if summary.device_distance_m is None else round(summary.device_distance_m)
                ),
                verdict=verdict.value,
                reasons=sorted(set(reasons)),
                start_city_id=start_city.id if start_city else None,
                line=line,
                using_db=conn,
            )
            await RunFile.create(
                run_id=run.id, format=file_format, size=len(data), data=compressed, using_db=conn
            )
            outcome = RunOutcome(run=run)
            if verdict == Verdict.ACCEPTED:
                await _credit(conn, run, resident, outcome)
            for other in shared:
                await _flag_shared(conn, other)
    except IntegrityError:
        # A concurrent upload of the same file won the race: return its run.
        won = await Run.filter(resident_id=resident_id, file_sha256=digest).first()
        if won is None:
            raise
        return RunOutcome(run=won, existing=True)
    return outcome


def _worst(a: Verdict, b: Verdict) -> Verdict:
    order = [Verdict.ACCEPTED, Verdict.FLAGGED, Verdict.REJECTED]
    return a if order.index(a) >= order.index(b) else b


async def _overlaps(resident_id: int, start: datetime, end: datetime) -> bool:
    window = timedelta(seconds=OVERLAP_S)
    candidates = await Run.filter(
        resident_id=resident_id,
        verdict=Verdict.ACCEPTED.value,
        started_at__lt=end - window,
        ended_at__gt=start + window,
    ).values("started_at", "ended_at")
    for c in candidates:
        overlap = min(end, c["ended_at"]) - max(start, c["started_at"])
        if overlap.total_seconds() > OVERLAP_S:
            return True
    return False


async def _start_city(start: tuple[float, float] | None) -> City | None:
    if start is None:
        return None
    best: tuple[float, City] | None = None
    for city in await City.exclude(lat=None).exclude(lon=None):
        if city.lat is None or city.lon is None:  # pragma: no cover - filtered above
            continue
        d = haversine_m(start[0], start[1], city.lat, city.lon)
        if d <= city.radius_m and (best is None or d < best[0]):
            best = (d, city)
    return best[1] if best else None


async def _flag_shared(conn: BaseDBAsyncClient, other: Run) -> None:
    reasons = sorted({*other.reasons, Reason.SHARED_TRACK.value})
    if other.verdict == Verdict.ACCEPTED.value:
        await _reverse(conn, other, reason="shared_track")
    if other.verdict != Verdict.REJECTED.value:
        await (
            Run.filter(id=other.id)
            .using_db(conn)
            .update(verdict=Verdict.FLAGGED.value, reasons=reasons)
        )


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


async def _credit(conn: BaseDBAsyncClient, run: Run, resident: Resident, out: RunOutcome) -> None:
    """Append a contribution (and points) for every active campaign this run counts in."""
    if run.started_at is None or run.credited_m <= 0:
        return
    compound = await Compound.filter(id=resident.compound_id).using_db(conn).get()
    links = (
        await CampaignCity.filter(
            city_id=compound.city_id,
            campaign__state=CampaignState.ACTIVE,
        )
        .using_db(conn)
        .values_list("campaign_id", flat=True)
    )
    for campaign_id in sorted({int(cast(Any, x)) for x in links}):
        # Lock the campaign row first: it holds the chain head, so appenders queue here.
        campaign = await Campaign.filter(id=campaign_id).using_db(conn).select_for_update().get()
        day = local_day(run.started_at, campaign.timezone)
        if not campaign.starts_on <= day <= campaign.ends_on:
            continue
        sport = WALK if run.sport == HIKE else run.sport
        mass = resident.body_mass_kg or campaign.default_body_mass_kg
        kc = round(
            kcal(
                metres=run.credited_m,
                sport=sport,
                body_mass_kg=mass,
                walking_factor=campaign.walking_factor_permille / 1000,
            )
        )
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
        key = f"run:{run.id}:campaign:{campaign_id}"
        contribution = await _append(
            conn,
            campaign,
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
        if capped:
            await (
                Run.filter(id=run.id)
                .using_db(conn)
                .update(reasons=sorted({*run.reasons, Reason.DAILY_CAP.value}))
            )
        pts = await _award_points(conn, campaign_id, resident.id, run, day)
        await outbox.emit(
            conn,
            "contribution",
            {
                "campaign_id": campaign_id,
                "run_id": run.id,
                "resident_id": resident.id,
                "compound_id": compound.id,
                "city_id": compound.city_id,
                "metres": run.credited_m,
                "local_day": day.isoformat(),
                "contribution_id": contribution.id,
                "source": run.source,
                "at": contribution.created_at.timestamp(),
                "sign": 1,
            },
        )
        out.credited_m = run.credited_m
        out.value_fen += value
        out.points += pts
        out.campaigns.append(campaign_id)


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
    conn: BaseDBAsyncClient, campaign_id: int, resident_id: int, run: Run, day: date
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
    await PointsEntry.create(
        resident_id=resident_id,
        delta=pts,
        reason="run",
        idempotency_key=f"run:{run.id}:campaign:{campaign_id}:points",
        ref=f"c{campaign_id}:{day.isoformat()}:run{run.id}",
        created_at=clock.now(),
        using_db=conn,
    )
    await (
        Resident.filter(id=resident_id)
        .using_db(conn)
        .update(points_balance=F("points_balance") + pts)
    )
    return pts


async def _reverse(conn: BaseDBAsyncClient, run: Run, *, reason: str) -> None:
    """Append reversal entries for every credited contribution and points award of ``run``."""
    originals = await Contribution.filter(run_id=run.id, kind="run").using_db(conn).order_by("id")
    for c in originals:
        key = f"reverse:{c.id}"
        if await Contribution.filter(idempotency_key=key).using_db(conn).exists():
            continue
        campaign = await Campaign.filter(id=c.campaign_id).using_db(conn).select_for_update().get()
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
        await outbox.emit(
            conn,
            "contribution",
            {
                "campaign_id": c.campaign_id,
                "run_id": run.id,
                "resident_id": int(c.resident_ref.split(":")[1])
                if c.resident_ref.startswith("resident:")
                else None,
                "compound_id": c.compound_id,
                "city_id": c.city_id,
                "metres": -c.metres,
                "local_day": c.local_day.isoformat(),
                "sign": -1,
                "contribution_id": reversal.id,
                "reverses": c.id,
                "source": run.source,
                "at": reversal.created_at.timestamp(),
                "reason": reason,
            },
        )
    awards = await PointsEntry.filter(
        idempotency_key__startswith=f"run:{run.id}:campaign:", reason="run"
    ).using_db(conn)
    for award in awards:
        key = f"reverse:{award.idempotency_key}"
        if await PointsEntry.filter(idempotency_key=key).using_db(conn).exists():
            continue
        resident = await Resident.filter(id=award.resident_id).using_db(conn).get()
        # Points already spent cannot be clawed back below zero: take what is there.
        take = min(award.delta, resident.points_balance)
        if take > 0:
            ok = (
                await Resident.filter(id=resident.id, points_balance__gte=take)
                .using_db(conn)
                .update(points_balance=F("points_balance") - take)
            )
            if not ok:
                take = 0
        await PointsEntry.create(
            resident_id=resident.id,
            delta=-take,
            reason="reversal",
            idempotency_key=key,
            ref=award.ref,
            created_at=clock.now(),
            using_db=conn,
        )


async def review(*, run_id: int, accept: bool, note: str = "") -> Run:
    """An organizer's decision on a run: accept credits it, reject reverses any credit."""
    async with in_transaction() as conn:
        run = await Run.filter(id=run_id).using_db(conn).select_for_update().first()
        if run is None:
            raise NotFound("run", "跑步记录")
        if accept:
            if run.verdict != Verdict.FLAGGED.value:
                raise ReviewNotAllowed(run_id=run.id, verdict=run.verdict)
            resident = await Resident.filter(id=run.resident_id).using_db(conn).get()
            await (
                Run.filter(id=run.id)
                .using_db(conn)
                .update(
                    verdict=Verdict.ACCEPTED.value,
                    review_note=note,
                    reasons=sorted({*run.reasons, Reason.REVIEWED.value}),
                )
            )
            run.verdict = Verdict.ACCEPTED.value
            await _credit(conn, run, resident, RunOutcome(run=run))
        else:
            if run.verdict == Verdict.REJECTED.value:
                raise ReviewNotAllowed(run_id=run.id, verdict=run.verdict)
            if run.verdict == Verdict.ACCEPTED.value:
                await _reverse(conn, run, reason="review")
            await (
                Run.filter(id=run.id)
                .using_db(conn)
                .update(
                    verdict=Verdict.REJECTED.value,
                    review_note=note,
                    reasons=sorted({*run.reasons, Reason.REVIEWED.value}),
                )
            )
    return await Run.get(id=run_id)


async def original_bytes(*, run_id: int) -> bytes:
    f = await RunFile.filter(run_id=run_id).first()
    if f is None:
        raise NotFound("run file", "原始文件")
    return zlib.decompress(f.data)
