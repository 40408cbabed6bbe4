"""Realistic synthetic run recordings (GPX 1.1, 1 Hz) for the demo and the benchmarks.

A runner loops around a start point at a varying pace with correlated GPS noise, short stops
(traffic lights), elevation and a Garmin heart-rate extension, as a watch export looks.
The output is deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="warmrun-synthetic" xmlns="http://www.topografix.com/GPX/1/1" '
    'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
    " <trk>\n  <name>{name}</name>\n  <type>running</type>\n  <trkseg>\n"
)
_POINT = (
    '   <trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>{ele:.1f}</ele><time>{time}</time>'
    "<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr}</gpxtpx:hr>"
    "</gpxtpx:TrackPointExtension></extensions></trkpt>\n"
)
_FOOTER = "  </trkseg>\n </trk>\n</gpx>\n"


def synthetic_run_gpx(
    *,
    points: int,
    start: datetime | None = None,
    lat: float = 31.2989,
    lon: float = 120.5853,
    pace_mps: float = 3.0,
    seed: int = 1,
    name: str = "Morning run",
    sport: str = "running",
) -> bytes:
    """A GPX file of ``points`` one-second samples starting at ``start`` (UTC)."""
    rng = random.Random(seed)
    start = start or datetime(2025, 11, 1, 0, 30, tzinfo=UTC)
    m_per_deg_lat = 111_195.0
    m_per_deg_lon = m_per_deg_lat * math.cos(math.radians(lat))
    x = y = 0.0
    heading = rng.uniform(0, 2 * math.pi)
    nx = ny = 0.0
    ele = 30.0 + rng.uniform(0, 20)
    hr = 120.0
    stop_left = 0
    out = [_HEADER.format(name=name).replace("running", sport)]
    for i in range(points):
        if stop_left > 0:
            stop_left -= 1
            speed = 0.0
        else:
            if rng.random() < 1 / 600:
                stop_left = rng.randint(10, 40)
            speed = max(0.5, pace_mps + rng.gauss(0, 0.25))
            heading += rng.gauss(0, 0.05)
            x += speed * math.cos(heading)
            y += speed * math.sin(heading)
            # Stay near home: turn back towards the start when far away.
            if math.hypot(x, y) > 1500:
                heading = math.atan2(-y, -x) + rng.gauss(0, 0.3)
        # GPS noise: a slowly wandering offset of a few metres.
        nx = 0.9 * nx + rng.gauss(0, 0.8)
        ny = 0.9 * ny + rng.gauss(0, 0.8)
        ele += rng.gauss(0, 0.15)
        hr += (150 - hr) * 0.01 + rng.gauss(0, 1.0)
        t = start + timedelta(seconds=i)
        out.append(
            _POINT.format(
                lat=lat + (y + ny) / m_per_deg_lat,
                lon=lon + (x + nx) / m_per_deg_lon,
                ele=ele,
                time=t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                hr=round(hr),
            )
        )
    out.append(_FOOTER)
    return "".join(out).encode()
