"""Garmin Training Center (TCX) reader.

Each ``<Track>`` is a segment; a trackpoint without ``<Position>`` (paused GPS, treadmill) adds no
point. The laps' ``DistanceMeters`` are the device's own total.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from typing import cast

from warmrun.config import Limits
from warmrun.integrations.readers import xmlsafe
from warmrun.integrations.readers.timeparse import iso_to_posix
from warmrun.integrations.readers.timeparse import number as _num
from warmrun.platform.errors import NotAnActivity, NotATrack, TooLarge
from warmrun.platform.tracks import CYCLE, OTHER, RUN, Track

NAN = math.nan
MAX_WRITERS = 8  # Creator and Author names kept (a file of 100,000 of them keeps 8)
_SPORTS = {"running": RUN, "biking": CYCLE, "other": OTHER}
_CAPTURE = {
    "Time",
    "LatitudeDegrees",
    "LongitudeDegrees",
    "AltitudeMeters",
    "Value",
    "DistanceMeters",
    "TotalTimeSeconds",
    "Name",
}
# Elements whose start the reader acts on; any other (most of a hostile file) only counts.
_NOTED = _CAPTURE | {"Trackpoint", "Activity", "TrainingCenterDatabase"}


def read_tcx(data: bytes, limits: Limits) -> Track:
    columns = array("d"), array("d"), array("d"), array("d"), array("d"), array("q")
    guard = xmlsafe.Guard(limits)
    stack: list[str] = []
    buf: list[str] = []
    pt: dict[str, float] = {}
    st: dict[str, object] = {
        "root": False,
        "sport": None,
        "activities": 0,
        "new_seg": True,
        "writers": [],  # <Creator> (device) and <Author> (application) names
    }
    laps: tuple[list[float], list[float]] = ([], [])  # distances, times

    def chars(data: str) -> None:
        buf.append(data)

    start = _on_start(st, guard, stack, buf, pt, limits.xml_depth)
    end = _on_end(st, guard, stack, buf, pt, columns, laps, limits)
    xmlsafe.parse(data, start=start, end=end, chars=chars, limits=limits)
    return _track(st, columns, laps)


def _on_start(
    st: dict[str, object],
    guard: xmlsafe.Guard,
    stack: list[str],
    buf: list[str],
    pt: dict[str, float],
    max_depth: int,
) -> Callable[[str, dict[str, str]], None]:
    """The start-element handler (a closure over the reader's state, called per element)."""
    # Local names by qualified name: a file of 250,000 tiny elements per MB calls this handler
    # for each of them.
    tags: dict[str, str] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        guard.depth += 1
        if guard.depth > max_depth:
            guard.too_deep()
        tag = tags.get(name)
        if tag is None:
            tag = tags[name] = xmlsafe.local(name)
        if attrs:
            guard.attrs(attrs)
        stack.append(tag)
        if tag not in _NOTED:
            return
        if tag == "Trackpoint":
            pt.clear()
        elif tag == "Activity":
            # Laps split one recording (each lap holds its own <Track>): points run on across
            # them, so only a new activity starts a new segment. Pauses show up as time gaps.
            st["new_seg"] = True
        if tag == "Activity":
            st["activities"] = int(str(st["activities"])) + 1
            if st["sport"] is None:
                st["sport"] = _SPORTS.get(attrs.get("Sport", "").lower(), OTHER)
        elif tag == "TrainingCenterDatabase":
            st["root"] = True
        if tag in _CAPTURE:
            buf.clear()

    return start


def _on_end(
    st: dict[str, object],
    guard: xmlsafe.Guard,
    stack: list[str],
    buf: list[str],
    pt: dict[str, float],
    columns: tuple[
        array[float], array[float], array[float], array[float], array[float], array[int]
    ],
    laps: tuple[list[float], list[float]],
    limits: Limits,
) -> Callable[[str], None]:
    """The end-element handler (a closure over the reader's state and columns, called per
    element)."""
    lat, lon, ele, ts, hr, seg = columns
    lap_distance, lap_time = laps
    notimed_positions = [0]

    def end(name: str) -> None:
        guard.depth -= 1
        tag = stack.pop()
        if tag in _CAPTURE:
            parent = stack[-1] if stack else ""
            text = "".join(buf)
            if parent == "Trackpoint" and tag == "Time":
                pt["t"] = iso_to_posix(text)
            elif parent == "Position":
                pt[tag] = _num(text)
            elif parent == "Trackpoint" and tag == "AltitudeMeters":
                pt["e"] = _num(text)
            elif parent == "HeartRateBpm" and tag == "Value":
                pt["h"] = _num(text)
            elif parent == "Lap" and tag == "DistanceMeters":
                lap_distance.append(_num(text))
            elif parent == "Lap" and tag == "TotalTimeSeconds":
                lap_time.append(_num(text))
            elif tag == "Name" and parent in ("Creator", "Author"):
                writers = cast("list[str]", st["writers"])
                if len(writers) < MAX_WRITERS:
                    writers.append(text.strip()[:200])
        elif tag == "Trackpoint":
            la = pt.get("LatitudeDegrees", NAN)
            lo = pt.get("LongitudeDegrees", NAN)
            if not (-90.0 <= la <= 90.0 and -180.0 <= lo <= 180.0) or (la == 0.0 and lo == 0.0):
                notimed_positions[0] += 1
                st["new_seg"] = True
                return
            if st["new_seg"]:
                seg.append(len(lat))
                st["new_seg"] = False
            lat.append(la)
            lon.append(lo)
            ele.append(pt.get("e", NAN))
            ts.append(pt.get("t", NAN))
            hr.append(pt.get("h", NAN))
            if len(lat) > limits.points:
                raise TooLarge(what="points", limit=f"{limits.points:,}")
        buf.clear()

    return end


def _track(
    st: dict[str, object],
    columns: tuple[
        array[float], array[float], array[float], array[float], array[float], array[int]
    ],
    laps: tuple[list[float], list[float]],
) -> Track:
    """The track the handlers read (with the laps' own totals), or the refusal of a file that
    is not one."""
    lat, lon, ele, ts, hr, seg = columns
    lap_distance, lap_time = laps
    if not st["root"]:
        raise NotATrack()
    device = sum(d for d in lap_distance if d == d) if lap_distance else None
    elapsed = sum(t for t in lap_time if t == t) if lap_time else None
    if not lat and not device:
        raise NotAnActivity()
    sport = st["sport"]
    return Track.from_columns(
        lat,
        lon,
        ele,
        ts,
        hr,
        seg,
        sport=str(sport) if sport else None,
        source_format="tcx",
        device_distance_m=device or None,
        device_elapsed_s=elapsed or None,
        has_gps=bool(lat),
        writers=tuple(w for w in cast("list[str]", st["writers"]) if w),
    )
