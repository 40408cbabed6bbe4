"""What an upload is on its way in: the files, the bounds of one request, what a parser returns.

Pure types, no I/O. Parsing happens behind :class:`Parser` (the composition root provides one
that runs in bounded worker processes); :mod:`warmrun.platform.ingest` decides and stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from warmrun.platform.coordinates import Choice, Reading
from warmrun.platform.errors import InvalidTrack, UploadTooLarge
from warmrun.platform.plausibility import TrackSummary
from warmrun.platform.tracks import Track

MiB = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """One file as it arrived. ``format`` forces a reader (``strava`` records, which no
    content sniffing recognises); None lets the bytes say what they are."""

    name: str
    data: bytes
    format: str | None = None


@dataclass(frozen=True)
class UploadBounds:
    """What one request and one account may bring in."""

    activities: int  # files per request, counted across archives in archives
    inflated_bytes: int  # bytes per request once decompressed
    per_day: int  # runs stored per resident per rolling 24 hours


@dataclass
class Budget:
    """What is left of one request's bounds, shared by all its files and their archives.

    Every member of an archive counts (zero-byte files and READMEs too: each costs a look), so
    nesting archives cannot multiply the bound.
    """

    activities: int
    inflated_bytes: int
    max_activities: int
    max_inflated: int

    @classmethod
    def of(cls, bounds: UploadBounds) -> Budget:
        return cls(
            activities=bounds.activities,
            inflated_bytes=bounds.inflated_bytes,
            max_activities=bounds.activities,
            max_inflated=bounds.inflated_bytes,
        )

    def take(self, *, activities: int = 0, inflated: int = 0) -> None:
        """Count files and bytes; UploadTooLarge once either bound is passed."""
        self.activities -= activities
        self.inflated_bytes -= inflated
        if self.activities < 0:
            raise UploadTooLarge(what="files", limit=f"{self.max_activities:,}")
        if self.inflated_bytes < 0:
            raise UploadTooLarge(what="decompressed size", limit=f"{self.max_inflated // MiB} MiB")


@dataclass(frozen=True)
class ParseOptions:
    now: datetime  # plausibility judges times against this (no runs from the future)
    # The resident's word on the coordinates (see warmrun.platform.coordinates): auto lets the
    # app that wrote each file decide; GCJ-02 files are converted to WGS-84 as they are read.
    coords: Choice = Choice.AUTO
    line: bool = False  # draw the map line now rather than on first view


@dataclass
class Prepared:
    """One activity file of an upload, parsed and analysed, or the typed error refusing it."""

    name: str
    format: str | None
    # The file's own bytes when it came out of an archive; None when it is the upload itself
    # (the caller has those already: they are not sent back from the worker).
    data: bytes | None
    summary: TrackSummary | None = None
    fingerprint: str = ""
    line: str = ""
    error: InvalidTrack | None = None
    # The system the file was in (its points are WGS-84 now).
    reading: Reading = field(default_factory=Reading)


class Parser(Protocol):
    """Reads bytes from outside. Every method may raise :class:`InvalidTrack` subclasses
    (``too_complex`` when a file overruns its budget)."""

    @property
    def bounds(self) -> UploadBounds: ...

    async def prepare(
        self, upload: Upload, *, options: ParseOptions, budget: Budget
    ) -> list[Prepared]:
        """Every activity file in ``upload``, parsed and analysed; counts against ``budget``."""
        ...

    async def track(self, data: bytes, file_format: str) -> Track | None:
        """The track of a stored original, or None when it holds none."""
        ...

    async def line(self, data: bytes, file_format: str) -> str:
        """The encoded map line of a stored original ('' when it holds no points)."""
        ...

    async def route(self, data: bytes) -> tuple[list[tuple[float, float]], float]:
        """An organizer's route file: its points and length in metres."""
        ...
