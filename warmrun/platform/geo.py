"""Pure geodesy: haversine distance, GCJ-02 → WGS-84, the city a point lies in, line
simplification and encoding."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[np.float64]

# WGS-84 mean radius (IUGG R1); the same radius the reference figures in tests use.
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points given in degrees."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# --- GCJ-02 -------------------------------------------------------------------------------------
# The published "Mars coordinates" transform (Krasovsky ellipsoid constants). GCJ-02 applies only
# inside mainland China; points outside are returned unchanged.
_A = 6378245.0
_EE = 0.00669342162296594323


def _outside_china(lat: float, lon: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """The forward transform, as Chinese map apps apply it."""
    if _outside_china(lat, lon):
        return lat, lon
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """Inverse of :func:`wgs84_to_gcj02` by fixed-point iteration (error well under 1 mm)."""
    if _outside_china(lat, lon):
        return lat, lon
    wlat, wlon = lat, lon
    for _ in range(10):
        glat, glon = wgs84_to_gcj02(wlat, wlon)
        dlat, dlon = glat - lat, glon - lon
        wlat -= dlat
        wlon -= dlon
        if abs(dlat) < 1e-10 and abs(dlon) < 1e-10:
            break
    return wlat, wlon


def _offsets(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> tuple[Arr, Arr]:
    """:func:`wgs84_to_gcj02`'s shift of each point, in degrees (inside China or not)."""
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlat, dlon


def gcj02_to_wgs84_arrays(
    lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
) -> tuple[Arr, Arr]:
    """:func:`gcj02_to_wgs84` over whole columns at once (each of the few iterations one numpy
    pass, not a Python call per point); points outside China are kept."""
    inside = (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)
    wlat, wlon = lat.astype(np.float64), lon.astype(np.float64)
    for _ in range(10):
        dlat, dlon = _offsets(wlat, wlon)
        elat, elon = wlat + dlat - lat, wlon + dlon - lon
        wlat, wlon = wlat - elat, wlon - elon
        if not elat.size or max(np.abs(elat).max(), np.abs(elon).max()) < 1e-9:  # 0.1 mm
            break
    return np.where(inside, wlat, lat), np.where(inside, wlon, lon)


# --- the city a run starts in ------------------------------------------------------------------
# A city's area is a circle around its centre (City.lat/lon) of City.radius_m (60 km unless an
# organizer sets another). A point in several areas lies in the city of the nearest centre; a
# point in none lies in no city. A run is "run in" the city its first timed point lies in (after
# any GCJ-02 conversion): what the all-cities badge and the run page use. Money is credited to
# the resident's compound and its city whatever the start city.


@dataclass(frozen=True)
class CityArea:
    id: int
    lat: float
    lon: float
    radius_m: float


def city_at(lat: float, lon: float, cities: Iterable[CityArea]) -> int | None:
    """The city whose area holds the point: the nearest centre within its radius (ties: the
    lower id); None when no area holds it."""
    best: tuple[float, int] | None = None
    for c in cities:
        d = haversine_m(lat, lon, c.lat, c.lon)
        if d <= c.radius_m and (best is None or (d, c.id) < best):
            best = (d, c.id)
    return best[1] if best else None


# --- simplification and encoding --------------------------------------------------------------


def simplify(
    points: Sequence[tuple[float, float]], tolerance_m: float
) -> list[tuple[float, float]]:
    """Douglas-Peucker simplification on a local equirectangular projection.

    Iterative, and each step measures all points of its stretch at once with numpy.
    """
    n = len(points)
    if n <= 2:
        return list(points)
    arr = np.asarray(points, dtype=np.float64)
    lat0 = math.radians(float(arr[:, 0].mean()))
    x = arr[:, 1] * (math.cos(lat0) * math.pi / 180 * EARTH_RADIUS_M)
    y = arr[:, 0] * (math.pi / 180 * EARTH_RADIUS_M)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    tol2 = tolerance_m * tolerance_m
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        ax, ay = x[first], y[first]
        dx, dy = x[last] - ax, y[last] - ay
        seg2 = dx * dx + dy * dy
        px = x[first + 1 : last] - ax
        py = y[first + 1 : last] - ay
        if seg2 == 0:
            d2 = px * px + py * py
        else:
            t = np.clip((px * dx + py * dy) / seg2, 0.0, 1.0)
            ex, ey = px - t * dx, py - t * dy
            d2 = ex * ex + ey * ey
        i = int(np.argmax(d2))
        if d2[i] > tol2:
            mid = first + 1 + i
            keep[mid] = True
            stack.append((first, mid))
            stack.append((mid, last))
    return [(float(a), float(b)) for a, b in arr[keep]]


def encode_polyline(points: Sequence[tuple[float, float]], precision: int = 5) -> str:
    """Google's encoded polyline format (the one Strava and most map libraries read)."""
    factor = 10**precision
    out: list[str] = []
    prev_lat = prev_lon = 0
    for lat, lon in points:
        ilat, ilon = round(lat * factor), round(lon * factor)
        for delta in (ilat - prev_lat, ilon - prev_lon):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        prev_lat, prev_lon = ilat, ilon
    return "".join(out)


def decode_polyline(text: str, precision: int = 5) -> list[tuple[float, float]]:
    factor = 10**precision
    points: list[tuple[float, float]] = []
    index = lat = lon = 0
    while index < len(text):
        deltas = []
        for _ in range(2):
            shift = result = 0
            while True:
                b = ord(text[index]) - 63
                index += 1
                result |= (b & 0x1F) << shift
                shift += 5
                if b < 0x20:
                    break
            deltas.append(~(result >> 1) if result & 1 else result >> 1)
        lat += deltas[0]
        lon += deltas[1]
        points.append((lat / factor, lon / factor))
    return points


def trim_ends(
    points: Sequence[tuple[float, float]], metres: float = 200.0
) -> list[tuple[float, float]]:
    """The path without its first and last ``metres``: a shared map must not point at the
    runner's front door. A path shorter than twice that is dropped entirely."""
    if len(points) < 2:
        return []
    along = [0.0]
    for (a, b), (c, d) in itertools.pairwise(points):
        along.append(along[-1] + haversine_m(a, b, c, d))
    total = along[-1]
    if total <= 2 * metres:
        return []
    return [p for p, s in zip(points, along, strict=True) if metres <= s <= total - metres]


# A route counts as followed when this share of its points lie within FOLLOW_RADIUS_M of the
# track (checks along the route, so a track that adds a loop still follows it).
FOLLOW_SHARE = 0.8
FOLLOW_RADIUS_M = 50.0


def route_coverage(
    route: Sequence[tuple[float, float]],
    track_lat: npt.NDArray[np.float64],
    track_lon: npt.NDArray[np.float64],
    *,
    radius_m: float = FOLLOW_RADIUS_M,
) -> float:
    """The share of route points within ``radius_m`` of some track point (0..1).

    Distances use an equirectangular projection around each route point: exact to well under a
    metre at 50 m. Work is done in blocks so memory stays bounded for long tracks."""
    if not route or len(track_lat) == 0:
        return 0.0
    r = np.radians(np.asarray(route, dtype=np.float64))
    tlat, tlon = np.radians(track_lat.astype(np.float64)), np.radians(track_lon.astype(np.float64))
    near = np.zeros(len(r), dtype=bool)
    earth = 6_371_008.8
    for start in range(0, len(r), 256):
        block = r[start : start + 256]
        dlat = tlat[None, :] - block[:, 0:1]
        dlon = (tlon[None, :] - block[:, 1:2]) * np.cos(block[:, 0:1])
        d2 = (dlat * dlat + dlon * dlon) * earth * earth
        near[start : start + 256] = (d2 <= radius_m * radius_m).any(axis=1)
    return float(near.mean())


def follows(
    route: Sequence[tuple[float, float]],
    track_lat: npt.NDArray[np.float64],
    track_lon: npt.NDArray[np.float64],
) -> bool:
    return route_coverage(route, track_lat, track_lon) >= FOLLOW_SHARE
