"""Realistic synthetic run recordings (GPX 1.1 and FIT, 1 Hz) for the demo and the benchmarks.

A runner loops around a start point at a varying pace with correlated GPS noise, short stops
(traffic lights), elevation and a Garmin heart-rate extension, as a watch export looks.
The output is deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from warmrun.integrations.readers.fit_format import crc16

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


@dataclass(frozen=True)
class _Sample:
    t: datetime
    lat: float
    lon: float
    ele: float
    hr: int


def _samples(
    points: int,
    start: datetime,
    lat: float,
    lon: float,
    pace_mps: float,
    seed: int,
    every_s: int = 1,
) -> Iterator[_Sample]:
    rng = random.Random(seed)
    m_per_deg_lat = 111_195.0
    m_per_deg_lon = m_per_deg_lat * math.cos(math.radians(lat))
    x = y = 0.0
    heading = rng.uniform(0, 2 * math.pi)
    nx = ny = 0.0
    ele = 30.0 + rng.uniform(0, 20)
    hr = 120.0
    stop_left = 0
    for i in range(points):
        if stop_left > 0:
            stop_left -= 1
            speed = 0.0
        else:
            if rng.random() < every_s / 600:
                stop_left = rng.randint(10, 40) // every_s
            speed = max(0.5, pace_mps + rng.gauss(0, 0.25))
            heading += rng.gauss(0, 0.05 * math.sqrt(every_s))
            x += speed * every_s * math.cos(heading)
            y += speed * every_s * math.sin(heading)
            # Stay near home: turn back towards the start when far away.
            if math.hypot(x, y) > 1500:
                heading = math.atan2(-y, -x) + rng.gauss(0, 0.3)
        # GPS noise: a slowly wandering offset of a few metres.
        nx = 0.9 * nx + rng.gauss(0, 0.8)
        ny = 0.9 * ny + rng.gauss(0, 0.8)
        ele += rng.gauss(0, 0.15)
        hr += (150 - hr) * 0.01 + rng.gauss(0, 1.0)
        yield _Sample(
            t=start + timedelta(seconds=i * every_s),
            lat=lat + (y + ny) / m_per_deg_lat,
            lon=lon + (x + nx) / m_per_deg_lon,
            ele=ele,
            hr=round(hr),
        )


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
    every_s: int = 1,
) -> bytes:
    """A GPX file of ``points`` samples ``every_s`` seconds apart (one second, as a watch
    records by default; five, as many phone apps do) starting at ``start`` (UTC)."""
    start = start or datetime(2025, 11, 1, 0, 30, tzinfo=UTC)
    out = [_HEADER.format(name=name).replace("running", sport)]
    for p in _samples(points, start, lat, lon, pace_mps, seed, every_s):
        out.append(
            _POINT.format(
                lat=p.lat,
                lon=p.lon,
                ele=p.ele,
                time=p.t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                hr=p.hr,
            )
        )
    out.append(_FOOTER)
    return "".join(out).encode()


# --- FIT, as a watch writes an activity ------------------------------------------------------
FIT_EPOCH = 631_065_600  # 1989-12-31T00:00:00Z in POSIX seconds
SEMICIRCLES = 2**31 / 180.0


# (field number, base type) per message, all little-endian; sizes follow from the base type.
_FILE_ID = (0, [(0, 0x00), (1, 0x84), (2, 0x84), (3, 0x8C), (4, 0x86)])
_RECORD = (20, [(253, 0x86), (0, 0x85), (1, 0x85), (2, 0x84), (3, 0x02), (5, 0x86)])
_SESSION = (18, [(253, 0x86), (2, 0x86), (7, 0x86), (9, 0x86), (5, 0x00), (6, 0x00)])
_SIZES = {0x00: 1, 0x02: 1, 0x84: 2, 0x85: 4, 0x86: 4, 0x8C: 4}
_FORMATS = {0x00: "B", 0x02: "B", 0x84: "H", 0x85: "i", 0x86: "I", 0x8C: "I"}


def _definition(local: int, message: tuple[int, list[tuple[int, int]]]) -> bytes:
    number, fields = message
    head = struct.pack("<BBBHB", 0x40 | local, 0, 0, number, len(fields))
    return head + b"".join(struct.pack("<BBB", f, _SIZES[b], b) for f, b in fields)


def _data(local: int, message: tuple[int, list[tuple[int, int]]], *values: int) -> bytes:
    fmt = "<B" + "".join(_FORMATS[b] for _, b in message[1])
    return struct.pack(fmt, local, *values)


def synthetic_run_fit(
    *,
    points: int,
    start: datetime | None = None,
    lat: float = 31.2989,
    lon: float = 120.5853,
    pace_mps: float = 3.0,
    seed: int = 1,
) -> bytes:
    """A FIT activity of ``points`` one-second records (the same run synthetic_run_gpx draws
    for the same arguments), with a file_id and a session as watches write them."""
    start = start or datetime(2025, 11, 1, 0, 30, tzinfo=UTC)
    t0 = int(start.timestamp()) - FIT_EPOCH
    samples = list(_samples(points, start, lat, lon, pace_mps, seed))
    cols = np.array([(p.lat, p.lon, p.ele) for p in samples], dtype=np.float64).reshape(-1, 3)
    step = np.zeros(len(samples))
    if len(samples) > 1:
        dlat = np.radians(np.diff(cols[:, 0]))
        dlon = np.radians(np.diff(cols[:, 1])) * np.cos(np.radians(cols[1:, 0]))
        step[1:] = 6_371_008.8 * np.hypot(dlat, dlon)
    record = np.zeros(
        len(samples),
        dtype=[("h", "u1"), ("t", "<u4"), ("lat", "<i4"), ("lon", "<i4"), ("alt", "<u2"),
               ("hr", "u1"), ("dist", "<u4")],
    )  # fmt: skip
    record["h"] = 1
    record["t"] = t0 + np.arange(len(samples))
    record["lat"] = np.round(cols[:, 0] * SEMICIRCLES)
    record["lon"] = np.round(cols[:, 1] * SEMICIRCLES)
    record["alt"] = np.round((cols[:, 2] + 500) * 5)
    record["hr"] = [p.hr for p in samples]
    distance = np.cumsum(step)
    record["dist"] = np.round(distance * 100)
    body = b"".join(
        [
            _definition(0, _FILE_ID),
            _data(0, _FILE_ID, 4, 255, 1, seed & 0xFFFFFFFF or 1, t0),
            _definition(1, _RECORD),
            record.tobytes(),
            _definition(2, _SESSION),
            _data(
                2,
                _SESSION,
                t0 + len(samples),
                t0,
                len(samples) * 1000,
                round(float(distance[-1]) * 100) if len(samples) else 0,
                1,  # running
                0,
            ),
        ]
    )
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    header += struct.pack("<H", crc16(header, 0, len(header)))
    data = header + body
    return data + struct.pack("<H", crc16(data, 0, len(data)))
