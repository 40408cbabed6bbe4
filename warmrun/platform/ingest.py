"""Import: the one path from outside bytes to stored runs, whoever brings them.

The upload API, the pages, the CLI, the demo and Strava sync import through
:func:`import_uploads`; maps and event settlement re-read stored originals through
:func:`map_line` and :func:`stored_track`. Reading happens behind a :class:`Parser` (bounded
worker processes, provided by the composition root); this module applies the bounds of a
request and of an account, then stores each activity with :func:`runs.record_run`.

A request is parsed whole before anything is stored, so one over its bounds stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from warmrun.platform import clock, run_results, runs
from warmrun.platform.coordinates import Choice, Reading, stored_format
from warmrun.platform.errors import NotFound, WarmrunError
from warmrun.platform.outcomes import Outcome, of_refusal
from warmrun.platform.plausibility import TrackSummary
from warmrun.platform.runs import RunOutcome
from warmrun.platform.tracks import Track
from warmrun.platform.uploads import Budget, ParseOptions, Parser, Prepared, Upload


@dataclass
class FileOutcome:
    """Per activity file: a run outcome or the typed error that refused it, and what the
    resident is told of it (``told``)."""

    name: str
    outcome: RunOutcome | None = None
    error: WarmrunError | None = None
    format: str | None = None  # as the file was read (gpx, tcx, fit, strava); None: not known
    result: Outcome | None = None  # read back after the commit (see ``told``)
    reading: Reading | None = None  # the coordinate system the file was in (read files only)

    @property
    def told(self) -> Outcome:
        """What happened to the file and why: the stored run's outcome, or the refusal."""
        if self.result is not None:
            return self.result
        return refused(self.error or WarmrunError())


def refused(error: WarmrunError) -> Outcome:
    """The outcome of a file that stored no run, from the error that refused it."""
    return of_refusal(error.code, error.message("zh-CN"), error.message("en"), error.params)


async def import_uploads(
    *,
    parser: Parser,
    resident_id: int,
    uploads: Sequence[Upload],
    coords: Choice = Choice.AUTO,
    source: str = "file",
    draw_line: bool = False,
) -> list[FileOutcome]:
    """Import the files of one request for a resident; one outcome per activity file found.

    ``coords`` is the resident's word on the files' coordinates (warmrun.platform.coordinates):
    GCJ-02 files are converted to WGS-84 as they are read, before anything is checked or stored.
    Raises :class:`UploadTooLarge` (nothing stored) when the request holds more files or bytes
    than one request may; an activity past the resident's daily bound is refused on its own.
    """
    options = ParseOptions(now=clock.now(), coords=coords, line=draw_line)
    budget = Budget.of(parser.bounds)
    parsed = [await parser.prepare(u, options=options, budget=budget) for u in uploads]
    outcomes: list[FileOutcome] = []
    for upload, items in zip(uploads, parsed, strict=True):
        for item in items:
            if item.error is not None or item.summary is None:
                outcomes.append(FileOutcome(name=item.name, error=item.error, format=item.format))
                continue
            per_day = parser.bounds.per_day
            outcomes.append(await _store(resident_id, upload, item, item.summary, source, per_day))
    return outcomes


async def _store(
    resident_id: int,
    upload: Upload,
    item: Prepared,
    summary: TrackSummary,
    source: str,
    per_day: int,
) -> FileOutcome:
    try:
        outcome = await runs.record_run(
            resident_id=resident_id,
            summary=summary,
            data=upload.data if item.data is None else item.data,
            file_name=item.name,
            # The system the file was in goes with it: maps and event days re-read it.
            file_format=stored_format(item.format or "", item.reading.datum),
            fingerprint=item.fingerprint,
            line=item.line,
            source=source,
            per_day=per_day,
        )
    except WarmrunError as exc:
        return FileOutcome(name=item.name, error=exc, format=item.format, reading=item.reading)
    told = await run_results.of_upload(run_id=outcome.run.id, existing=outcome.existing)
    # The same file again keeps the run stored first, read as it was then (its page says how).
    reading = None if outcome.existing else item.reading
    return FileOutcome(
        name=item.name, outcome=outcome, format=item.format, result=told, reading=reading
    )


async def map_line(*, parser: Parser, run_id: int) -> str:
    """The run's simplified line for maps, drawn from the original file on first use."""
    line = await runs.stored_line(run_id=run_id)
    if line:
        return line
    try:
        file_format, data = await runs.original_file(run_id=run_id)
    except NotFound:
        return ""  # erased, or the file was never kept
    line = await parser.line(data, file_format)
    if line:
        await runs.store_line(run_id=run_id, line=line)
    return line


async def stored_track(*, parser: Parser, run_id: int) -> Track | None:
    """The track of a run's stored original, or None (erased, never kept, or unreadable)."""
    try:
        file_format, data = await runs.original_file(run_id=run_id)
    except NotFound:
        return None
    return await parser.track(data, file_format)
