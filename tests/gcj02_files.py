"""Files as Chinese apps write them: a true WGS-84 run moved into GCJ-02 with the published
forward transform, under the app's name (GPX creator, TCX Creator and Author)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np

from warmrun.config import Limits
from warmrun.integrations.readers import read_any
from warmrun.platform.geo import haversine_m, wgs84_to_gcj02
from warmrun.platform.tracks import Track

_PT = re.compile(rb'<trkpt lat="([^"]+)" lon="([^"]+)"')


def to_gcj02(gpx: bytes) -> bytes:
    """The GPX with every track point moved from WGS-84 into GCJ-02."""

    def move(m: re.Match[bytes]) -> bytes:
        lat, lon = wgs84_to_gcj02(float(m[1]), float(m[2]))
        return f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"'.encode()

    return _PT.sub(move, gpx)


def written_by(gpx: bytes, creator: str) -> bytes:
    """A synthetic GPX (creator "warmrun-synthetic") under another creator."""
    return gpx.replace(b'creator="warmrun-synthetic"', f'creator="{creator}"'.encode())


def track_of(data: bytes) -> Track:
    (parsed,) = read_any(data, "run", Limits())
    assert parsed.track is not None, parsed.error
    return parsed.track


def tcx(track: Track, *, creator: str, author: str = "Connect Api") -> bytes:
    """The track as a TCX, as running_page writes Codoon's runs (Creator "Codoon", Author
    "Connect Api")."""
    points = []
    for lat, lon, t in zip(track.lat, track.lon, track.t, strict=True):
        when = datetime.fromtimestamp(float(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        points.append(
            f"<Trackpoint><Time>{when}</Time><Position><LatitudeDegrees>{lat:.7f}"
            f"</LatitudeDegrees><LongitudeDegrees>{lon:.7f}</LongitudeDegrees></Position>"
            "</Trackpoint>"
        )
    start = datetime.fromtimestamp(float(track.t[0]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<Activities><Activity Sport="Running"><Id>{start}</Id>'
        f'<Creator xsi:type="Device_t"><Name>{creator}</Name><ProductID>3441</ProductID></Creator>'
        f'<Lap StartTime="{start}"><Track>{"".join(points)}</Track></Lap></Activity></Activities>'
        f'<Author xsi:type="Application_t"><Name>{author}</Name><LangID>en</LangID></Author>'
        "</TrainingCenterDatabase>"
    ).encode()


def farthest_m(track: Track, true: Track) -> float:
    """The farthest any point of ``track`` lies from the same point of ``true``."""
    assert len(track) == len(true)
    step = max(1, len(track) // 200)
    return max(
        haversine_m(float(a), float(b), float(c), float(d))
        for a, b, c, d in zip(
            track.lat[::step], track.lon[::step], true.lat[::step], true.lon[::step], strict=True
        )
    )


def nearest_m(points: list[tuple[float, float]], true: Track) -> float:
    """The farthest any of ``points`` lies from the nearest point of ``true`` (metres, by an
    equirectangular projection: exact enough at a few metres)."""
    lat0 = np.radians(float(true.lat.mean()))
    worst = 0.0
    for lat, lon in points:
        dy = np.radians(true.lat - lat) * 6_371_008.8
        dx = np.radians(true.lon - lon) * 6_371_008.8 * np.cos(lat0)
        worst = max(worst, float(np.sqrt(dx * dx + dy * dy).min()))
    return worst
