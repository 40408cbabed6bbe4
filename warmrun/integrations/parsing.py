"""The Parser the platform imports through: every read of outside bytes as a sandboxed job.

The ``job_*`` functions run inside the sandbox's worker processes (this module is what their
forkserver preloads). :class:`SandboxedParser` sends uploads, stored originals and route files
to them: a plain file is one job (sniffed, read, analysed, fingerprinted); an archive is one job
that unpacks it within the request's budget, then one job per member, as many at once as there
are workers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np

from warmrun.config import Limits, Sandbox
from warmrun.integrations.readers.registry import (
    Member,
    bounds_of,
    expand,
    read_track,
    sniff,
)
from warmrun.integrations.readers.route import parse_route_gpx
from warmrun.integrations.readers.strava import track_from_record
from warmrun.integrations.sandbox import WorkerPool
from warmrun.platform.coordinates import Datum, Reading, reading_of, stored_datum
from warmrun.platform.errors import InvalidTrack, NotATrack
from warmrun.platform.plausibility import analyse
from warmrun.platform.tracks import Track, points_fingerprint, simplified_line
from warmrun.platform.uploads import Budget, ParseOptions, Prepared, Upload, UploadBounds

STRAVA = "strava"


def _read(data: bytes, file_format: str | None, limits: Limits) -> Track:
    if file_format == STRAVA:
        return track_from_record(data)
    return read_track(data, limits)


def job_prepare(
    data: bytes, name: str, file_format: str | None, limits: Limits, options: ParseOptions
) -> Prepared:
    """One activity file read, converted to WGS-84 when it was in GCJ-02, analysed and
    fingerprinted, or the typed error refusing it."""
    try:
        track = _read(data, file_format, limits)
        reading = _reading(track, file_format, options)
        if reading.converted:
            track = track.converted_from_gcj02()
        summary = analyse(track, now=options.now)
    except InvalidTrack as exc:
        return Prepared(name=name, format=file_format, data=None, error=exc)
    return Prepared(
        name=name,
        format=file_format or track.source_format,
        data=None,
        summary=summary,
        fingerprint=points_fingerprint(track),
        # Otherwise drawn on first view (a long track costs more to simplify than to read, and
        # most maps are never opened): the stored format says how to convert it then.
        line=simplified_line(track) if options.line and len(track) else "",
        reading=reading,
    )


def _reading(track: Track, file_format: str | None, options: ParseOptions) -> Reading:
    """The system the file is in. Strava hands out WGS-84 whatever recorded the activity."""
    if file_format == STRAVA or not len(track):
        return Reading()
    started = float(np.nanmin(track.t)) if np.isfinite(track.t).any() else None
    return reading_of(options.coords, track.writers, track.hints, started)


def job_open(
    upload: Upload, limits: Limits, budget: Budget, options: ParseOptions
) -> tuple[Budget, Prepared | list[Member]]:
    """A plain file: read and analysed. An archive: its members, unread, counted."""
    if upload.format is not None:
        budget.take(activities=1, inflated=len(upload.data))
        return budget, job_prepare(upload.data, upload.name, upload.format, limits, options)
    members = expand(upload.data, upload.name, limits, budget)
    if len(members) == 1 and members[0].data is upload.data:
        return budget, job_prepare(upload.data, upload.name, sniff(upload.data), limits, options)
    return budget, members


def job_track(data: bytes, file_format: str, limits: Limits) -> Track | None:
    """A stored original's track in WGS-84 (``file_format`` as stored: converted when it says
    the file was GCJ-02)."""
    reader, datum = stored_datum(file_format)
    try:
        track = _read(data, None if reader != STRAVA else STRAVA, limits)
    except InvalidTrack:
        return None
    if not len(track):
        return None
    return track.converted_from_gcj02() if datum is Datum.GCJ02 else track


def job_line(data: bytes, file_format: str, limits: Limits) -> str:
    track = job_track(data, file_format, limits)
    return simplified_line(track) if track is not None else ""


def job_route(data: bytes) -> tuple[list[tuple[float, float]], float]:
    return parse_route_gpx(data)


class SandboxedParser:
    """:class:`warmrun.platform.uploads.Parser` on a :class:`WorkerPool`."""

    def __init__(self, sandbox: Sandbox, limits: Limits) -> None:
        self.pool = WorkerPool(sandbox)
        self.limits = limits
        # Told how long each upload's parsing took in the sandbox (seconds, end to end:
        # opening archives and reading every activity in them); the web app counts it.
        self.observe: Callable[[float], None] | None = None

    @property
    def bounds(self) -> UploadBounds:
        return bounds_of(self.limits)

    def warm(self) -> None:
        self.pool.warm()

    def close(self) -> None:
        self.pool.close()

    async def prepare(
        self, upload: Upload, *, options: ParseOptions, budget: Budget
    ) -> list[Prepared]:
        started = time.perf_counter()
        try:
            return await self._prepare(upload, options, budget)
        finally:
            if self.observe is not None:
                self.observe(time.perf_counter() - started)

    async def _prepare(
        self, upload: Upload, options: ParseOptions, budget: Budget
    ) -> list[Prepared]:
        try:
            left, opened = await self.pool.run(job_open, upload, self.limits, budget, options)
        except InvalidTrack as exc:
            return [Prepared(name=upload.name, format=upload.format, data=None, error=exc)]
        budget.activities, budget.inflated_bytes = left.activities, left.inflated_bytes
        if isinstance(opened, Prepared):
            return [opened]
        return list(await asyncio.gather(*(self._member(m, options) for m in opened)))

    async def _member(self, member: Member, options: ParseOptions) -> Prepared:
        if member.format is None:
            return Prepared(name=member.name, format=None, data=member.data, error=NotATrack())
        try:
            done = await self.pool.run(
                job_prepare, member.data, member.name, member.format, self.limits, options
            )
        except InvalidTrack as exc:
            done = Prepared(name=member.name, format=member.format, data=None, error=exc)
        done.data = member.data
        return done

    async def track(self, data: bytes, file_format: str) -> Track | None:
        try:
            return await self.pool.run(job_track, data, file_format, self.limits)
        except InvalidTrack:
            return None

    async def line(self, data: bytes, file_format: str) -> str:
        try:
            return await self.pool.run(job_line, data, file_format, self.limits)
        except InvalidTrack:
            return ""

    async def route(self, data: bytes) -> tuple[list[tuple[float, float]], float]:
        return await self.pool.run(job_route, data)
