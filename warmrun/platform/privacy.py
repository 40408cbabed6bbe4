"""Privacy zones: which parts of a recorded track anyone but its owner may see. Pure.

A track usually starts and ends at the runner's front door. Every point within ``radius_m`` of
the track's start or end is hidden (a radius, not a distance along the path, so GPS jitter at
the door cannot use the margin up), and every point inside one of the resident's home zones
(a parent's flat, the school gate). The path is first filled in every few metres, so that a
long straight edge of the simplified line cannot cross a hidden circle; what remains is drawn
as separate segments, never joined across a hidden stretch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from warmrun.platform.geo import EARTH_RADIUS_M

Point = tuple[float, float]
Array = npt.NDArray[np.float64]
DEFAULT_RADIUS_M = 200
MAX_RADIUS_M = 2000
MAX_ZONES = 5
MIN_ZONE_RADIUS_M = 100
MAX_ZONE_RADIUS_M = 1000
# Points are filled in along the path at most this far apart before hiding.
STEP_M = 10.0


@dataclass(frozen=True)
class Zone:
    lat: float
    lon: float
    radius_m: int


@dataclass(frozen=True)
class Policy:
    """A resident's privacy: the radius hidden around each track's start and end (at least
    the default), and their home zones."""

    radius_m: int = DEFAULT_RADIUS_M
    zones: tuple[Zone, ...] = field(default_factory=tuple)


def _metres(lat: Array, lon: Array, lat0: float, lon0: float) -> Array:
    """Haversine distances from (lat0, lon0), vectorised."""
    p1, p2 = np.radians(lat), math.radians(lat0)
    dp, dl = p2 - p1, np.radians(lon0 - lon)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dl / 2) ** 2
    dist: Array = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return dist


def _filled(points: Sequence[Point]) -> tuple[Array, Array]:
    """The path with points every STEP_M metres or closer (the original points kept)."""
    lat = np.array([p[0] for p in points], dtype=np.float64)
    lon = np.array([p[1] for p in points], dtype=np.float64)
    steps = np.maximum(1, np.ceil(_pairwise_m(lat, lon) / STEP_M)).astype(np.int64)
    seg = np.repeat(np.arange(len(steps)), steps)
    frac = np.concatenate([np.arange(n) / n for n in steps.tolist()])
    flat = np.concatenate([lat[seg] + (lat[seg + 1] - lat[seg]) * frac, lat[-1:]])
    flon = np.concatenate([lon[seg] + (lon[seg + 1] - lon[seg]) * frac, lon[-1:]])
    return flat, flon


def _pairwise_m(lat: Array, lon: Array) -> Array:
    p1, p2 = np.radians(lat[:-1]), np.radians(lat[1:])
    dl = np.radians(lon[1:] - lon[:-1])
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    dist: Array = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return dist


def visible(points: Sequence[Point], policy: Policy) -> list[list[Point]]:
    """The segments of ``points`` (a track, start first) that may be shown to others."""
    if len(points) < 2:
        return []
    start, end = points[0], points[-1]
    radius = max(policy.radius_m, DEFAULT_RADIUS_M)
    circles = [(start[0], start[1], radius), (end[0], end[1], radius)]
    circles += [(z.lat, z.lon, z.radius_m) for z in policy.zones]
    lat, lon = _filled(points)
    hidden = np.zeros(len(lat), dtype=bool)
    for la, lo, r in circles:
        hidden |= _metres(lat, lon, la, lo) <= r
    segments: list[list[Point]] = []
    # Runs of visible points between hidden ones.
    edges = np.flatnonzero(np.diff(np.concatenate([[True], hidden, [True]]).astype(np.int8)))
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if b - a >= 2:
            segments.append(list(zip(lat[a:b].tolist(), lon[a:b].tolist(), strict=True)))
    return segments


def check_zone(lat: float, lon: float, radius_m: int) -> str | None:
    """Why a home zone is not acceptable, or None."""
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return "coordinates out of range"
    if not MIN_ZONE_RADIUS_M <= radius_m <= MAX_ZONE_RADIUS_M:
        return f"radius must be {MIN_ZONE_RADIUS_M}-{MAX_ZONE_RADIUS_M} m"
    return None
