"""Tracks and their measures: pure functions, no I/O.

A :class:`Track` is columnar (one float64 array per field) so a 100,000-point file costs
tens of bytes per point, not the hundreds a list of point objects would. Missing values are
NaN. Times are POSIX seconds (UTC). Segment starts mark where a recording was split: no
distance is counted across a segment break. What is credited is decided in
:mod:`warmrun.platform.plausibility`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from warmrun.platform.geo import EARTH_RADIUS_M, encode_polyline, gcj02_to_wgs84_arrays, simplify

NAN = math.nan

# Sports we know; readers map their vocabularies onto these.
RUN, WALK, HIKE, CYCLE, OTHER = "run", "walk", "hike", "cycle", "other"
ELIGIBLE_SPORTS = frozenset({RUN, WALK, HIKE})


@dataclass(frozen=True)
class TrackPoint:
    """One point, for callers that want objects (tests, small tracks); storage is columnar."""

    time: datetime | None
    lat: float
    lon: float
    ele: float | None = None
    hr: float | None = None


Array = npt.NDArray[np.float64]


def _empty() -> Array:
    return np.empty(0, dtype=np.float64)


@dataclass
class Track:
    """A recorded activity in neutral form, whatever file it came from.

    Columns are float64 arrays of equal length; ``segment_starts`` holds the index where each
    segment begins (the first is 0 whenever there are points).
    """

    lat: Array = field(default_factory=_empty)
    lon: Array = field(default_factory=_empty)
    ele: Array = field(default_factory=_empty)
    t: Array = field(default_factory=_empty)
    hr: Array = field(default_factory=_empty)
    segment_starts: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.empty(0, dtype=np.int64)
    )
    sport: str | None = None
    name: str | None = None
    source_format: str = ""
    device_distance_m: float | None = None
    device_elapsed_s: float | None = None
    has_gps: bool = True
    # What the file says wrote it (GPX creator, TCX Creator and Author names), and, from a file
    # naming no writer, names that may (GPX metadata): see warmrun.platform.coordinates.
    writers: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.lat)

    def points(self) -> Iterator[TrackPoint]:
        for i in range(len(self.lat)):
            ts = float(self.t[i])
            ele, hr = float(self.ele[i]), float(self.hr[i])
            yield TrackPoint(
                time=None if ts != ts else datetime.fromtimestamp(ts, UTC),
                lat=float(self.lat[i]),
                lon=float(self.lon[i]),
                ele=None if ele != ele else ele,
                hr=None if hr != hr else hr,
            )

    @classmethod
    def from_columns(
        cls,
        lat: Sequence[float],
        lon: Sequence[float],
        ele: Sequence[float],
        t: Sequence[float],
        hr: Sequence[float],
        segment_starts: Sequence[int],
        **meta: Any,
    ) -> Track:
        """Build from array-likes (``array('d')`` buffers are wrapped without copying)."""
        return cls(
            lat=np.asarray(lat, dtype=np.float64),
            lon=np.asarray(lon, dtype=np.float64),
            ele=np.asarray(ele, dtype=np.float64),
            t=np.asarray(t, dtype=np.float64),
            hr=np.asarray(hr, dtype=np.float64),
            segment_starts=np.asarray(segment_starts, dtype=np.int64),
            **meta,
        )

    @classmethod
    def from_points(
        cls, points: list[TrackPoint], *, sport: str | None = None, source_format: str = "test"
    ) -> Track:
        return cls.from_columns(
            [p.lat for p in points],
            [p.lon for p in points],
            [NAN if p.ele is None else p.ele for p in points],
            [NAN if p.time is None else p.time.timestamp() for p in points],
            [NAN if p.hr is None else p.hr for p in points],
            [0] if points else [],
            sport=sport,
            source_format=source_format,
        )

    def merge(self, other: Track) -> None:
        """Append ``other`` as new segments (several tracks in one file all count)."""
        offset = len(self.lat)
        self.lat = np.concatenate([self.lat, other.lat])
        self.lon = np.concatenate([self.lon, other.lon])
        self.ele = np.concatenate([self.ele, other.ele])
        self.t = np.concatenate([self.t, other.t])
        self.hr = np.concatenate([self.hr, other.hr])
        self.segment_starts = np.concatenate([self.segment_starts, other.segment_starts + offset])
        if self.sport is None:
            self.sport = other.sport
        if other.device_distance_m is not None:
            self.device_distance_m = (self.device_distance_m or 0.0) + other.device_distance_m
        if other.device_elapsed_s is not None:
            self.device_elapsed_s = (self.device_elapsed_s or 0.0) + other.device_elapsed_s

    def converted_from_gcj02(self) -> Track:
        """A copy with GCJ-02 coordinates (Keep, Joyrun, old Codoon) converted to WGS-84."""
        lat, lon = gcj02_to_wgs84_arrays(self.lat, self.lon)
        return replace(self, lat=lat, lon=lon)


def hop_distances(lat: Array, lon: Array) -> Array:
    """Haversine length of each hop between consecutive points (n-1 values)."""
    if len(lat) < 2:
        return _empty()
    la = np.radians(lat)
    lo = np.radians(lon)
    s1 = np.sin(np.diff(la) * 0.5)
    s2 = np.sin(np.diff(lo) * 0.5)
    c = np.cos(la)
    a = s1 * s1 + c[:-1] * c[1:] * s2 * s2
    out: Array = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    return out


def moving_average(x: Array, width: int) -> Array:
    """Centred moving average; the window shrinks at the ends so endpoints stay in place."""
    n = len(x)
    if n < 3:
        return x
    half = min(width // 2, (n - 1) // 2)
    c = np.concatenate([[0.0], np.cumsum(x)])
    idx = np.arange(n)
    lo = np.maximum(idx - half, 0)
    hi = np.minimum(idx + half + 1, n)
    # Symmetric windows near the ends, so a straight line is not bent.
    k = np.minimum(idx - lo, hi - 1 - idx)
    lo, hi = idx - k, idx + k + 1
    out: Array = (c[hi] - c[lo]) / (hi - lo)
    return out


def elevation_gain(ele: Array, smoothing: int = 5) -> float:
    """Total climb, ignoring absent and zero elevations (exporters write 0 for "unknown");
    a short moving average keeps barometer and GPS noise from adding up."""
    e = ele[np.isfinite(ele) & (ele != 0.0)]
    if e.size < 2:
        return 0.0
    e = moving_average(e, smoothing)
    rise = np.diff(e)
    return float(rise[rise > 0].sum())


def points_fingerprint(track: Track) -> str:
    """SHA-256 identifying a recording whatever tool exported it.

    A watch's sequence of whole-second timestamps is unique to one recording; with the start
    rounded to 0.01° (about 1 km, so re-rounded or re-projected coordinates do not change it) it
    identifies the same run exported as GPX, TCX or FIT, at any coordinate precision.
    """
    timed = np.isfinite(track.t)
    times = np.round(track.t[timed]).astype(np.int64)
    h = hashlib.sha256(times.tobytes())
    if times.size:
        first = int(np.argmax(timed))
        h.update(f"|{track.lat[first]:.2f}|{track.lon[first]:.2f}".encode())
    return h.hexdigest()


def kcal(*, metres: float, sport: str, body_mass_kg: float, walking_factor: float = 0.6) -> float:
    """Energy cost: running ≈ 1.036 kcal per kg per km; walking a configurable share of it."""
    per_km = 1.036 * body_mass_kg
    if sport in (WALK, HIKE):
        per_km *= walking_factor
    elif sport != RUN:
        return 0.0
    return per_km * metres / 1000.0


LINE_TOLERANCE_M = 8.0


def simplified_line(track: Track) -> str:
    """An encoded polyline of the track simplified to ~8 m, for maps (not every point)."""
    pts = list(zip(track.lat.tolist(), track.lon.tolist(), strict=True))
    return encode_polyline(simplify(pts, LINE_TOLERANCE_M)) if pts else ""
