"""Runs: store an analysed track, credit it to campaigns, review and reverse it.

A run is stored once per resident and file (SHA-256 of the bytes); the same points exported by
another tool are a duplicate; a run overlapping a credited run of the same resident by more
than a minute is not credited; the same track from two residents flags both.
"""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import zstandard
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from warmrun.platform import badges, clock, notices, serial, sql
from warmrun.platform.crediting import CampaignChanged, credit, reverse
from warmrun.platform.errors import DailyUploadLimit, DuplicateRun, NotFound, ReviewNotAllowed
from warmrun.platform.geo import haversine_m
from warmrun.platform.models import Resident, Run, RunFile
from warmrun.platform.plausibility import Reason, TrackSummary, Verdict, worst
from warmrun.platform.tracks import kcal

OVERLAP_S = 60
# Attempts of a crediting transaction that a campaign closing mid-way rolled back.
ATTEMPTS = 3
_T = TypeVar("_T")
# The same run from two sources (a watch file and Strava): same resident, start within two
# minutes, distance within 3 %.
SAME_RUN_START = timedelta(minutes=2)
SAME_RUN_DISTANCE = 0.03


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


# Originals are stored as zstd frames; files stored before are zlib streams. A zstd frame
# starts with this magic number, a zlib stream with 0x78.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def pack(data: bytes) -> bytes:
    return zstandard.compress(data, 1)


def unpack(blob: bytes) -> bytes:
    return zstandard.decompress(blob) if blob[:4] == _ZSTD_MAGIC else zlib.decompress(blob)


def _digest_and_compress(data: bytes) -> tuple[str, bytes]:
    return file_digest(data), pack(data)


async def record_run(
    *,
    resident_id: int,
    summary: TrackSummary,
    data: bytes,
    file_name: str,
    file_format: str,
    fingerprint: str,
    line: str,
    source: str = "file",
    per_day: int | None = None,
) -> RunOutcome:
    """Store a parsed run and credit it if plausible; idempotent per (resident, file bytes).

    With ``per_day``, a new run is refused (DailyUploadLimit) once the resident stored that
    many in the last 24 hours; counted under the resident's lock, so concurrent uploads
    cannot pass it together.
    """
    # Both release the GIL on large buffers: a worker thread lets other requests run meanwhile.
    digest, compressed = await asyncio.to_thread(_digest_and_compress, data)

    # The decisions below (same file, same points, the same run from elsewhere, overlap, a
    # track someone else uploaded) read what competing uploads write: they are taken while
    # holding the resident and the recording, so concurrent re-exports of one activity, or
    # one track from two residents, are judged one after the other as if sent in sequence.
    names = [f"resident:{resident_id}", f"recording:{fingerprint}"]
    up = _Upload(
        resident_id, summary, data, digest, compressed, file_name, file_format, fingerprint,
        line, source, per_day,
    )  # fmt: skip

    async def attempt() -> RunOutcome:
        # Checks and writes share one connection and transaction: outside a transaction every
        # query would take a pooled connection and reset it afterwards.
        async with serial.held(names) as ordered, in_transaction() as conn:
            await serial.lock_in_database(conn, ordered)
            return await _record(conn, up)

    try:
        outcome = await _retrying(attempt)
    except IntegrityError:
        # A concurrent upload of the same file won the race: return its run.
        won = await Run.filter(resident_id=resident_id, file_sha256=digest).first()
        if won is None:
            raise
        return RunOutcome(run=won, existing=True)
    if outcome.campaigns:
        await badges.refresh(resident_id=resident_id)
    return outcome


@dataclass(frozen=True)
class _Upload:
    resident_id: int
    summary: TrackSummary
    data: bytes
    digest: str
    compressed: bytes
    file_name: str
    file_format: str
    fingerprint: str
    line: str
    source: str
    per_day: int | None


@dataclass(frozen=True)
class _Decision:
    """What the stored runs say of a new one: its verdict and reasons, and the other
    residents' runs of the same track (flagged with it)."""

    verdict: Verdict
    reasons: list[str]
    others: list[int]


def _decide(up: _Upload, seen: list[_Seen]) -> _Decision:
    """Judge an upload against the stored runs it was checked with (pure): a twin of the same
    points or the same run from another source is refused; a track someone else stored flags
    both; an accepted run overlapping one of the resident's credited runs is rejected."""
    mine = [r for r in seen if r.resident_id == up.resident_id]
    # A copy whose source withdrew it counts no more (its credit was taken back whole,
    # spent points owed): the recording may earn through this copy, once.
    twin = next((r for r in mine if r.points_sha256 == up.fingerprint and not _withdrawn(r)), None)
    if twin is not None:
        raise DuplicateRun(run_id=twin.id)
    same = _same_run_elsewhere(mine, up.source, up.summary)
    if same is not None:
        raise DuplicateRun(run_id=same)
    verdict, reasons = up.summary.verdict, list(up.summary.reasons)
    others = [r.id for r in seen if r.resident_id != up.resident_id]
    if others:
        verdict = worst(verdict, Verdict.FLAGGED)
        reasons.append(Reason.SHARED_TRACK.value)
    start, end = up.summary.start_time, up.summary.end_time
    if verdict == Verdict.ACCEPTED and start and end and _overlaps(mine, start, end):
        verdict = Verdict.REJECTED
        reasons.append(Reason.OVERLAP.value)
    return _Decision(verdict, sorted(set(reasons)), others)


async def _record(conn: BaseDBAsyncClient, up: _Upload) -> RunOutcome:
    """One attempt, in the transaction: the same file again, the daily bound, the decision,
    the stored run, and its credit."""
    seen = await _seen(conn, up.resident_id, up.digest, up.fingerprint, up.summary)
    existing = next(
        (r for r in seen if r.resident_id == up.resident_id and r.file_sha256 == up.digest), None
    )
    if existing is not None:
        return RunOutcome(run=await Run.filter(id=existing.id).using_db(conn).get(), existing=True)
    if up.per_day is not None:
        recent = Run.filter(
            resident_id=up.resident_id, created_at__gte=clock.now() - timedelta(days=1)
        )
        if await recent.using_db(conn).count() >= up.per_day:
            raise DailyUploadLimit(limit=up.per_day)
    found = await sql.one(
        conn, "SELECT * FROM resident WHERE id = ? AND erased_at IS NULL", up.resident_id
    )
    if found is None:
        raise NotFound("resident", "居民")
    resident = sql.instance(Resident, found)
    decision = _decide(up, seen)
    shared = (
        await Run.filter(id__in=decision.others).using_db(conn).order_by("id")
        if decision.others
        else []
    )
    run = await _insert(conn, up, decision, resident)
    outcome = RunOutcome(run=run)
    if decision.verdict == Verdict.FLAGGED:
        await notices.notify(conn, up.resident_id, "run_flagged", run_id=run.id)
    for other in shared:
        await _flag_shared(conn, other)
    if decision.verdict == Verdict.ACCEPTED:
        # Last: the campaign row it locks is held until the commit just below.
        done = await credit(conn, run, resident)
        outcome.credited_m, outcome.value_fen = done.credited_m, done.value_fen
        outcome.points, outcome.campaigns = done.points, done.campaigns
    return outcome


async def _insert(
    conn: BaseDBAsyncClient, up: _Upload, decision: _Decision, resident: Resident
) -> Run:
    """The run row and its original file."""
    s = up.summary
    row = await sql.row(
        conn,
        _INSERT_RUN,
        up.resident_id,
        up.source,
        up.file_name[:255],
        up.digest,
        up.fingerprint,
        s.start_time,
        s.end_time,
        s.sport,
        round(s.distance_m),
        round(s.credited_distance_m),
        round(s.moving_time_s),
        round(s.elapsed_time_s),
        round(s.elevation_gain_m),
        s.points,
        None if s.device_distance_m is None else round(s.device_distance_m),
        decision.verdict.value,
        sql.db_value(Run, "reasons", decision.reasons),
        await _start_city(conn, s.start),
        up.line,
        clock.now(),
        _run_kcal(resident, s),
    )
    run = sql.instance(Run, row)
    await sql.execute(
        conn,
        "INSERT INTO run_file (run_id, format, size, data) VALUES (?, ?, ?, ?)",
        run.id,
        up.file_format,
        len(up.data),
        up.compressed,
    )
    return run


async def _retrying(attempt: Callable[[], Awaitable[_T]]) -> _T:
    """Run a crediting transaction again when a campaign closed while it ran (its writes were
    rolled back); the next attempt no longer counts that campaign."""
    for _ in range(ATTEMPTS - 1):
        try:
            return await attempt()
        except CampaignChanged:
            continue
    return await attempt()


_INSERT_RUN = """
INSERT INTO run (resident_id, source, file_name, file_sha256, points_sha256, started_at, ended_at,
                 sport, distance_m, credited_m, moving_s, elapsed_s, elevation_gain_m, points,
                 device_distance_m, verdict, reasons, start_city_id, line, created_at,
                 kcal, review_note)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')
RETURNING *
"""


@dataclass(frozen=True)
class _Seen:
    """A stored run that an upload must be checked against (see :func:`_seen`)."""

    id: int
    resident_id: int
    file_sha256: str
    points_sha256: str
    source: str
    started_at: datetime | None
    ended_at: datetime | None
    distance_m: int
    verdict: str
    reasons: list[str]


# Every stored run an upload is checked against: any run with the same points (anyone's), and
# the resident's runs with the same file, starting near the same time (the same run from
# another source) or overlapping it while credited. A NULL bound matches nothing.
_SEEN = """
SELECT id, resident_id, file_sha256, points_sha256, source, started_at, ended_at, distance_m,
       verdict, reasons
FROM run
WHERE points_sha256 = ?
   OR (resident_id = ? AND (file_sha256 = ?
       OR (started_at >= ? AND started_at <= ?)
       OR (verdict = ? AND started_at < ? AND ended_at > ?)))
ORDER BY id
"""


async def _seen(
    conn: BaseDBAsyncClient,
    resident_id: int,
    digest: str,
    fingerprint: str,
    summary: TrackSummary,
) -> list[_Seen]:
    start, end = summary.start_time, summary.end_time
    near = (start - SAME_RUN_START, start + SAME_RUN_START) if start else (None, None)
    window = timedelta(seconds=OVERLAP_S)
    overlap = (end - window, start + window) if start and end else (None, None)
    rows = await sql.rows(
        conn,
        _SEEN,
        fingerprint,
        resident_id,
        digest,
        *near,
        Verdict.ACCEPTED.value,
        *overlap,
    )
    typed = ("started_at", "ended_at", "reasons")  # text on SQLite
    return [_Seen(**r | {k: sql.field_value(Run, k, r[k]) for k in typed}) for r in rows]


# The run's own energy, shown on its page: the resident's body mass, or this default. What a
# campaign credits uses that campaign's defaults and is on its contributions.
DEFAULT_BODY_MASS_KG = 60


def _run_kcal(resident: Resident, summary: TrackSummary) -> int:
    mass = resident.body_mass_kg or DEFAULT_BODY_MASS_KG
    return round(
        kcal(metres=summary.credited_distance_m, sport=summary.sport or "", body_mass_kg=mass)
    )


def _withdrawn(run: _Seen) -> bool:
    return Reason.SOURCE_WITHDRAWN.value in (run.reasons or [])


def _same_run_elsewhere(mine: list[_Seen], source: str, summary: TrackSummary) -> int | None:
    """A run of this resident from another source that is this very run, if any."""
    start = summary.start_time
    if start is None:
        return None
    distance = summary.distance_m
    for r in mine:
        if r.source == source or r.started_at is None:
            continue
        if abs(r.started_at - start) > SAME_RUN_START:
            continue
        if _withdrawn(r):
            continue
        if abs(r.distance_m - distance) <= SAME_RUN_DISTANCE * max(r.distance_m, distance):
            return r.id
    return None


async def withdraw(*, run_id: int, drop_track: bool) -> Run:
    """The run's source took it back (deleted on Strava, or no longer eligible there): its
    credit is reversed and it stays as a rejected run; with ``drop_track`` its recording and
    map line are deleted too. Ledger rows keep naming the run, so the chain still verifies."""
    async with in_transaction() as conn:
        run = await Run.filter(id=run_id).using_db(conn).select_for_update().first()
        if run is None:
            raise NotFound("run", "跑步记录")
        if run.verdict == Verdict.ACCEPTED.value:
            await reverse(conn, run, reason=Reason.SOURCE_WITHDRAWN.value)
        updates: dict[str, object] = {
            "verdict": Verdict.REJECTED.value,
            "reasons": sorted({*run.reasons, Reason.SOURCE_WITHDRAWN.value}),
        }
        if drop_track:
            updates["line"] = ""
            await RunFile.filter(run_id=run_id).using_db(conn).delete()
        await Run.filter(id=run_id).using_db(conn).update(**updates)
    await badges.refresh(resident_id=run.resident_id)
    return await Run.get(id=run_id)


async def drop_tracks(*, run_ids: list[int]) -> None:
    """Delete the recordings and map lines of runs (their figures and credit stay)."""
    async with in_transaction() as conn:
        await RunFile.filter(run_id__in=run_ids).using_db(conn).delete()
        await Run.filter(id__in=run_ids).using_db(conn).update(line="", file_name="")


def _overlaps(mine: list[_Seen], start: datetime, end: datetime) -> bool:
    """Whether a credited run of the resident overlaps this one by more than a minute."""
    for r in mine:
        if r.verdict != Verdict.ACCEPTED.value or r.started_at is None or r.ended_at is None:
            continue
        overlap = min(end, r.ended_at) - max(start, r.started_at)
        if overlap.total_seconds() > OVERLAP_S:
            return True
    return False


# Every city with a position: the upload's start is placed in the nearest one it lies in.
_CITIES = "SELECT id, lat, lon, radius_m FROM city WHERE lat IS NOT NULL AND lon IS NOT NULL"


async def _start_city(conn: BaseDBAsyncClient, start: tuple[float, float] | None) -> int | None:
    if start is None:
        return None
    best: tuple[float, int] | None = None
    for city in await sql.rows(conn, _CITIES):
        d = haversine_m(start[0], start[1], city["lat"], city["lon"])
        if d <= city["radius_m"] and (best is None or d < best[0]):
            best = (d, int(city["id"]))
    return best[1] if best else None


async def _flag_shared(conn: BaseDBAsyncClient, other: Run) -> None:
    reasons = sorted({*other.reasons, Reason.SHARED_TRACK.value})
    if other.verdict == Verdict.ACCEPTED.value:
        await reverse(conn, other, reason="shared_track")
    if other.verdict != Verdict.REJECTED.value:
        await (
            Run.filter(id=other.id)
            .using_db(conn)
            .update(verdict=Verdict.FLAGGED.value, reasons=reasons)
        )
        await notices.notify(conn, other.resident_id, "run_flagged", run_id=other.id)


async def review(*, run_id: int, accept: bool, note: str = "") -> Run:
    """An organizer's decision on a run: accept credits it, reject reverses any credit."""
    resident_id = await _retrying(lambda: _review(run_id, accept, note))
    await badges.refresh(resident_id=resident_id)
    return await Run.get(id=run_id)


async def _review(run_id: int, accept: bool, note: str) -> int:
    async with in_transaction() as conn:
        run = await Run.filter(id=run_id).using_db(conn).select_for_update().first()
        if run is None:
            raise NotFound("run", "跑步记录")
        allowed = (
            run.verdict == Verdict.FLAGGED.value
            if accept
            else (run.verdict != Verdict.REJECTED.value)
        )
        if not allowed:
            raise ReviewNotAllowed(run_id=run.id, verdict=run.verdict)
        if not accept and run.verdict == Verdict.ACCEPTED.value:
            await reverse(conn, run, reason="review")
        verdict = Verdict.ACCEPTED if accept else Verdict.REJECTED
        await (
            Run.filter(id=run.id)
            .using_db(conn)
            .update(
                verdict=verdict.value,
                review_note=note,
                reasons=sorted({*run.reasons, Reason.REVIEWED.value}),
            )
        )
        await notices.notify(
            conn,
            run.resident_id,
            "run_reviewed",
            run_id=run.id,
            verdict_zh="已计入" if accept else "未通过",
            verdict_en="accepted" if accept else "not accepted",
        )
        if accept:
            # Last: the campaign row it locks is held until the commit.
            run.verdict = verdict.value
            resident = await Resident.filter(id=run.resident_id).using_db(conn).get()
            await credit(conn, run, resident)
    return int(run.resident_id)


async def stored_line(*, run_id: int) -> str:
    r = await Run.filter(id=run_id).only("id", "line").first()
    if r is None:
        raise NotFound("run", "跑步记录")
    return r.line


async def store_line(*, run_id: int, line: str) -> None:
    await Run.filter(id=run_id, line="").update(line=line)


async def original_file(*, run_id: int) -> tuple[str, bytes]:
    """(format, bytes) of the run's original recording."""
    f = await RunFile.filter(run_id=run_id).first()
    if f is None:
        raise NotFound("run file", "原始文件")
    return f.format, unpack(f.data)


async def original_bytes(*, run_id: int) -> bytes:
    return (await original_file(run_id=run_id))[1]
