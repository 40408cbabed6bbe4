"""Turn uploaded bytes into stored runs: parse and analyse off the event loop, then record.

Parsing is CPU work: it runs in a worker thread (numpy and expat release the GIL for much of
it) so the web app keeps serving while a file is read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from warmrun.config import Limits
from warmrun.integrations.readers import ParsedFile, read_any
from warmrun.platform import clock, runs
from warmrun.platform.errors import InvalidTrack, NotFound, WarmrunError
from warmrun.platform.plausibility import PlausibilityRules, TrackSummary, analyse
from warmrun.platform.runs import RunOutcome, record_run, simplified_line
from warmrun.platform.tracks import Track, points_fingerprint


@dataclass
class Prepared:
    parsed: ParsedFile
    track: Track | None = None
    summary: TrackSummary | None = None
    fingerprint: str = ""
    line: str = ""
    error: WarmrunError | None = None


@dataclass
class FileOutcome:
    """Per activity file: a run outcome or the typed error that rejected it."""

    name: str
    outcome: RunOutcome | None = None
    error: WarmrunError | None = None


def prepare(
    data: bytes,
    name: str,
    *,
    limits: Limits,
    gcj02: bool = False,
    rules: PlausibilityRules | None = None,
) -> list[Prepared]:
    """Parse and analyse every activity in ``data`` (CPU only, no database)."""
    now = clock.now()
    out: list[Prepared] = []
    for parsed in read_any(data, name, limits):
        item = Prepared(parsed=parsed)
        out.append(item)
        if parsed.error is not None or parsed.track is None:
            item.error = parsed.error
            continue
        track = parsed.track.converted_from_gcj02() if gcj02 else parsed.track
        try:
            item.summary = analyse(track, rules=rules, now=now)
        except InvalidTrack as exc:
            item.error = exc
            continue
        item.track = track
        item.fingerprint = points_fingerprint(track)
        # The map line is drawn on first view (see map_line), not here: simplifying a long
        # track costs more than parsing it, and most runs' maps are never opened. A GCJ-02
        # import draws it now, since the conversion is not recorded on the run.
        item.line = simplified_line(track) if gcj02 and len(track) else ""
    return out


async def map_line(*, run_id: int, limits: Limits) -> str:
    """The run's simplified line for maps, computed from the original file on first use."""
    line = await runs.stored_line(run_id=run_id)
    if line:
        return line
    try:
        data = await runs.original_bytes(run_id=run_id)
    except NotFound:
        return ""  # erased, or the file was never kept

    def draw() -> str:
        for parsed in read_any(data, "", limits):
            if parsed.track is not None and len(parsed.track):
                return simplified_line(parsed.track)
        return ""

    line = await asyncio.to_thread(draw)
    if line:
        await runs.store_line(run_id=run_id, line=line)
    return line


async def import_bytes(
    *,
    resident_id: int,
    data: bytes,
    name: str,
    limits: Limits,
    gcj02: bool = False,
    source: str = "file",
) -> list[FileOutcome]:
    """Import one upload (a file or an archive); one outcome per activity file found."""
    try:
        prepared = await asyncio.to_thread(prepare, data, name, limits=limits, gcj02=gcj02)
    except InvalidTrack as exc:
        return [FileOutcome(name=name, error=exc)]
    results: list[FileOutcome] = []
    for item in prepared:
        if item.error is not None or item.track is None or item.summary is None:
            results.append(FileOutcome(name=item.parsed.name, error=item.error))
            continue
        try:
            outcome = await record_run(
                resident_id=resident_id,
                track=item.track,
                summary=item.summary,
                data=item.parsed.data,
                file_name=item.parsed.name,
                file_format=item.parsed.format or "",
                fingerprint=item.fingerprint,
                line=item.line,
                source=source,
            )
        except WarmrunError as exc:
            results.append(FileOutcome(name=item.parsed.name, error=exc))
        else:
            results.append(FileOutcome(name=item.parsed.name, outcome=outcome))
    return results
