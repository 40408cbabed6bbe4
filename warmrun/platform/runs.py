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
from datetime import timedelta
from typing import TypeVar

import zstandard
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from warmrun.platform import audit, badges, clock, notices, run_store, serial, sql
from warmrun.platform.crediting import CampaignChanged, credit, reverse
from warmrun.platform.errors import DailyUploadLimit, NotFound, ReviewNotAllowed
from warmrun.platform.models import Compound, Resident, Run, RunFile
from warmrun.platform.plausibility import Reason, TrackSummary, Verdict
from warmrun.platform.run_checks import NewRun, decide

# Attempts of a crediting transaction that a campaign closing mid-way rolled back.
ATTEMPTS = 3
_T = TypeVar("_T")


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
    up = NewRun(
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


async def _record(conn: BaseDBAsyncClient, up: NewRun) -> RunOutcome:
    """One attempt, in the transaction: the same file again, the daily bound, the decision,
    the stored run, and its credit."""
    seen = await run_store.seen(conn, up.resident_id, up.digest, up.fingerprint, up.summary)
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
    decision = decide(up, seen, await _family(conn, resident))
    shared = (
        await Run.filter(id__in=decision.others).using_db(conn).order_by("id")
        if decision.others
        else []
    )
    run = await run_store.insert(conn, up, decision, resident)
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


async def _family(conn: BaseDBAsyncClient, resident: Resident) -> frozenset[int]:
    """The resident's guardian, the children in their care and their siblings: the people
    whose shared tracks are family runs, not copies."""
    head = resident.guardian_id or resident.id
    kids = await Resident.filter(guardian_id=head).using_db(conn).values_list("id", flat=True)
    return frozenset({head, *(int(str(k)) for k in kids)} - {resident.id})


async def _retrying(attempt: Callable[[], Awaitable[_T]]) -> _T:
    """Run a crediting transaction again when a campaign closed while it ran (its writes were
    rolled back); the next attempt no longer counts that campaign."""
    for _ in range(ATTEMPTS - 1):
        try:
            return await attempt()
        except CampaignChanged:
            continue
    return await attempt()


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
        city = await Compound.filter(residents__id=run.resident_id).using_db(conn).first()
        await audit.record(
            conn,
            "run.review",
            city_id=city.city_id if city else None,
            subject=f"run {run.id}",
            before={"verdict": run.verdict},
            after={"verdict": verdict.value, "note": note},
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
