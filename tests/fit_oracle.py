"""The FIT activity reader as it was on fitdecode: the test oracle for our own reader.

Kept unchanged in behaviour so tests/unit/test_fit_reader.py can require the same Track, or the
same error, from warmrun.integrations.readers.fit on every file.

The file CRC is checked. Positions are semicircles; the session's ``total_distance`` is the
device's own total. For a multisport file the sport is that of the longest session.
"""

from __future__ import annotations

import io
import math
import struct
from array import array
from datetime import datetime
from typing import Any

import fitdecode

from warmrun.config import Limits
from warmrun.platform.errors import CorruptFile, NotAnActivity, TooLarge
from warmrun.platform.tracks import CYCLE, HIKE, OTHER, RUN, WALK, Track

NAN = math.nan
SEMICIRCLE = 180.0 / 2**31
_SPORTS = {
    "running": RUN,
    "walking": WALK,
    "hiking": HIKE,
    "cycling": CYCLE,
    "e_biking": CYCLE,
    "training": OTHER,
}
# fitdecode raises its own FitError family for framing and CRC problems, but a damaged payload
# can surface as one of these from its field decoding (its structure checks are asserts);
# all mean "this file is corrupt".
_DECODE_ERRORS = (
    fitdecode.FitError,
    struct.error,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    OverflowError,
    UnicodeDecodeError,
    ZeroDivisionError,
    AttributeError,
    EOFError,
    AssertionError,
)


def read_fit_fitdecode(data: bytes, limits: Limits) -> Track:
    lat, lon, ele, ts, hr = array("d"), array("d"), array("d"), array("d"), array("d")
    seg = array("q", [0])
    sessions: list[tuple[float, str, float]] = []
    file_type: Any = None
    gps_records = 0
    try:
        with fitdecode.FitReader(
            io.BytesIO(data),
            check_crc=fitdecode.CrcCheck.RAISE,
            error_handling=fitdecode.ErrorHandling.IGNORE,
        ) as reader:
            for frame in reader:
                if frame.frame_type != fitdecode.FIT_FRAME_DATA:
                    continue
                name = frame.name
                if name == "record":
                    values = _values(frame)
                    t = values.get("timestamp")
                    tsec = t.timestamp() if isinstance(t, datetime) else NAN
                    la, lo = values.get("position_lat"), values.get("position_long")
                    if not isinstance(la, int) or not isinstance(lo, int):
                        continue
                    la_d, lo_d = la * SEMICIRCLE, lo * SEMICIRCLE
                    if not (-90.0 <= la_d <= 90.0 and -180.0 <= lo_d <= 180.0):
                        continue
                    gps_records += 1
                    lat.append(la_d)
                    lon.append(lo_d)
                    alt = values.get("enhanced_altitude", values.get("altitude"))
                    ele.append(float(alt) if isinstance(alt, (int, float)) else NAN)
                    ts.append(tsec)
                    h = values.get("heart_rate")
                    hr.append(float(h) if isinstance(h, (int, float)) else NAN)
                    if len(lat) > limits.points:
                        raise TooLarge(what="points", limit=f"{limits.points:,}")
                elif name == "session":
                    values = _values(frame)
                    dist = values.get("total_distance")
                    elapsed = values.get("total_elapsed_time")
                    sessions.append(
                        (
                            float(dist) if isinstance(dist, (int, float)) else 0.0,
                            str(values.get("sport") or ""),
                            float(elapsed) if isinstance(elapsed, (int, float)) else 0.0,
                        )
                    )
                elif name == "file_id":
                    file_type = _values(frame).get("type")
    except TooLarge:
        raise
    except _DECODE_ERRORS as exc:
        raise CorruptFile(str(exc)) from exc
    if file_type is not None and file_type != "activity":
        raise NotAnActivity()
    if not lat and not sessions:
        raise NotAnActivity()
    device = sum(s[0] for s in sessions) if sessions else None
    elapsed_total = sum(s[2] for s in sessions) if sessions else None
    sport = None
    if sessions:
        longest = max(sessions, key=lambda s: s[0])
        sport = _SPORTS.get(longest[1], OTHER) if longest[1] else None
    return Track.from_columns(
        lat,
        lon,
        ele,
        ts,
        hr,
        seg if lat else [],
        sport=sport,
        source_format="fit",
        device_distance_m=device or None,
        device_elapsed_s=elapsed_total or None,
        has_gps=gps_records > 0,
    )


def _values(frame: Any) -> dict[str, Any]:
    return {f.name: f.value for f in frame.fields if f.value is not None}
