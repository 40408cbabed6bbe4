"""What the stored runs say of a new one (pure): a twin of the same points or the same run
from another source is refused; a track someone else stored flags both; an accepted run
overlapping one of the resident's credited runs by more than a minute is rejected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from warmrun.platform.errors import DuplicateRun
from warmrun.platform.plausibility import Reason, TrackSummary, Verdict, worst

OVERLAP_S = 60
# The same run from two sources (a watch file and Strava): same resident, start within two
# minutes, distance within 3 %.
SAME_RUN_START = timedelta(minutes=2)
SAME_RUN_DISTANCE = 0.03


@dataclass(frozen=True)
class NewRun:
    """An analysed upload about to be stored: its file, where it came from, and the daily
    bound of its resident (None: unbounded)."""

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
class Seen:
    """A stored run that an upload must be checked against (see ``run_store.seen``)."""

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


@dataclass(frozen=True)
class Decision:
    """What the stored runs say of a new one: its verdict and reasons, and the other
    residents' runs of the same track (flagged with it)."""

    verdict: Verdict
    reasons: list[str]
    others: list[int]


FAMILY_RUN_PEOPLE = 3  # a guardian and two children on one track: a family run


def decide(up: NewRun, seen: list[Seen], family: frozenset[int] = frozenset()) -> Decision:
    """Judge an upload against the stored runs it was checked with (pure): a twin of the same
    points or the same run from another source is refused; a track someone else stored flags
    both, unless that someone is ``family`` (a guardian and the children in their care run
    together: a family run shares its track, up to FAMILY_RUN_PEOPLE people); an accepted
    run overlapping one of the resident's credited runs is rejected."""
    mine = [r for r in seen if r.resident_id == up.resident_id]
    # A copy whose source withdrew it counts no more (its credit was taken back whole,
    # spent points owed): the recording may earn through this copy, once.
    twin = next((r for r in mine if r.points_sha256 == up.fingerprint and not _withdrawn(r)), None)
    if twin is not None:
        raise DuplicateRun(run_id=twin.id, started_at=twin.started_at)
    same = _same_run_elsewhere(mine, up.source, up.summary)
    if same is not None:
        # The earlier run's start names it to the resident ("your run of 2 November").
        raise DuplicateRun(run_id=same.id, started_at=same.started_at)
    verdict, reasons = up.summary.verdict, list(up.summary.reasons)
    strangers = [r.id for r in seen if r.resident_id not in family | {up.resident_id}]
    kin = [r for r in seen if r.resident_id in family]
    # More copies in one family than a guardian and two children: one run credited many
    # times over, not a family run; they wait for an organizer like any shared track.
    crowd = len({r.resident_id for r in kin}) + 1 > FAMILY_RUN_PEOPLE
    others = strangers + ([r.id for r in kin] if crowd else [])
    if others:
        verdict = worst(verdict, Verdict.FLAGGED)
        reasons.append(Reason.SHARED_TRACK.value)
    start, end = up.summary.start_time, up.summary.end_time
    if verdict == Verdict.ACCEPTED and start and end and _overlaps(mine, start, end):
        verdict = Verdict.REJECTED
        reasons.append(Reason.OVERLAP.value)
    return Decision(verdict, sorted(set(reasons)), others)


def _withdrawn(run: Seen) -> bool:
    return Reason.SOURCE_WITHDRAWN.value in (run.reasons or [])


def _same_run_elsewhere(mine: list[Seen], source: str, summary: TrackSummary) -> Seen | None:
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
            return r
    return None


def _overlaps(mine: list[Seen], start: datetime, end: datetime) -> bool:
    """Whether a credited run of the resident overlaps this one by more than a minute."""
    for r in mine:
        if r.verdict != Verdict.ACCEPTED.value or r.started_at is None or r.ended_at is None:
            continue
        overlap = min(end, r.ended_at) - max(start, r.started_at)
        if overlap.total_seconds() > OVERLAP_S:
            return True
    return False
