"""FIT activity reader (Garmin, Wahoo, COROS, Huawei and Zepp exports).

The file CRC is checked. Positions are semicircles; the session's ``total_distance`` is the
device's own total. For a multisport file the sport is that of the longest session.

It gives the track, or the refusal, that fitdecode gave (our reader before this one, kept as the
test oracle in ``tests/fit_oracle.py``) at a small part of its cost: one walk notes where each
layout's records are (:mod:`fit_walk`), then every field needed is decoded for all records of a
layout at once (:mod:`fit_values`); what fitdecode carried from record to record is replayed
over those columns (:mod:`fit_sequence`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from warmrun.config import Limits
from warmrun.integrations.readers import fit_profile as prof
from warmrun.integrations.readers.fit_format import Layout, raw_value
from warmrun.integrations.readers.fit_sequence import (
    CompressedTimes,
    compressed_times,
    heart_rate_failure,
)
from warmrun.integrations.readers.fit_values import (
    SCALAR,
    Column,
    Latest,
    altitude_component,
    date_times,
    numbers,
    read_column,
    value_errors,
)
from warmrun.integrations.readers.fit_walk import Walk, WalkLimits, walk
from warmrun.platform.errors import CorruptFile, NotAnActivity, TooLarge
from warmrun.platform.tracks import CYCLE, HIKE, OTHER, RUN, WALK, Track

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Offsets = npt.NDArray[np.int64]

SEMICIRCLE = 180.0 / 2**31
_SPORTS = {
    "running": RUN,
    "walking": WALK,
    "hiking": HIKE,
    "cycling": CYCLE,
    "e_biking": CYCLE,
    "training": OTHER,
}
# Records, definitions and headers a file may hold per GPS point allowed: real files have one
# or two messages per point; a stream of tiny messages is refused before it costs much.
MESSAGES_PER_POINT = 8
# Some exporters write a definition before every record.
DEFINITIONS_PER_POINT = 2
_RECORD_FIELDS = frozenset((prof.TIMESTAMP, 0, 1, 2, 3, 78))
_SESSION_FIELDS = frozenset((7, 9))


def is_fit(head: bytes) -> bool:
    """A FIT file begins with a 12- or 14-byte header that holds ".FIT" at bytes 8-11."""
    return len(head) >= 12 and head[0] in (12, 14) and head[8:12] == b".FIT"


def read_fit(data: bytes, limits: Limits) -> Track:
    """The activity in a FIT stream (chained FIT files read as one activity).

    Raises CorruptFile where fitdecode raised (damage, a CRC that does not match, a value it
    could not decode), NotAnActivity for another kind of FIT file or one with neither GPS
    records nor sessions, TooLarge past ``limits.points`` GPS records (or past the messages
    those allow).
    """
    stream = walk(
        data,
        WalkLimits(
            messages=MESSAGES_PER_POINT * limits.points + 100_000,
            definitions=DEFINITIONS_PER_POINT * limits.points + 10_000,
        ),
    )
    reading = _Reading(data, limits, stream)
    if stream.stop is not None:
        reading.fail_at(stream.stop)
    with np.errstate(all="ignore"):
        return reading.track(stream.layouts)


@dataclass
class _Records:
    """The record messages of one layout, as the track's columns."""

    starts: Offsets
    t: Floats
    lat: Floats
    lon: Floats
    ele: Floats
    hr: Floats


class _Reading:
    def __init__(self, data: bytes, limits: Limits, stream: Walk) -> None:
        self.data = data
        self.limits = limits
        self.file_starts = np.array(stream.file_starts, dtype=np.int64)
        self.compressed = stream.compressed
        self.u8 = np.frombuffer(data, dtype=np.uint8)
        self.error_at: int | None = None

    def fail_at(self, at: int) -> None:
        """fitdecode raises at offset ``at`` (the earliest such offset decides)."""
        if self.error_at is None or at < self.error_at:
            self.error_at = at

    def fail_where(self, starts: Offsets, errors: Bools) -> None:
        if errors.any():
            self.fail_at(int(starts[errors].min()))

    def track(self, layouts: list[tuple[Layout, Offsets]]) -> Track:
        for layout, starts in layouts:
            errors = value_errors(self.data, layout, starts)
            if errors is not None:
                self.fail_where(starts, errors)
        compressed = None
        if self.compressed:
            compressed = compressed_times(self.data, layouts, self.file_starts)
            self.fail_where(compressed[0], compressed[3])
        failure = heart_rate_failure(self.data, layouts, self.file_starts)
        if failure is not None:
            self.fail_at(failure)
        rec = _merge(
            [
                records
                for layout, starts in layouts
                if layout.global_num == prof.RECORD
                and (records := self._records(layout, starts, compressed)) is not None
            ]
        )
        if len(rec.starts) > self.limits.points and (
            self.error_at is None or rec.starts[self.limits.points] < self.error_at
        ):
            raise TooLarge(what="points", limit=f"{self.limits.points:,}")
        if self.error_at is not None:
            raise CorruptFile(f"FIT data unreadable at byte {self.error_at}")
        sessions = [(lay, s) for lay, s in layouts if lay.global_num == prof.SESSION]
        file_ids = [(lay, s) for lay, s in layouts if lay.global_num == prof.FILE_ID]
        if file_ids and not self._is_activity(max(file_ids, key=lambda ls: ls[1][-1])):
            raise NotAnActivity()
        if not len(rec.starts) and not sessions:
            raise NotAnActivity()
        return self._track(rec, sessions)

    def _track(self, rec: _Records, sessions: list[tuple[Layout, Offsets]]) -> Track:
        device = elapsed = None
        sport = None
        if sessions:
            starts = np.concatenate([s for _, s in sessions])
            parts = [self._session_totals(lay, s) for lay, s in sessions]
            order = np.argsort(starts, kind="stable")
            dist = np.concatenate([p[0] for p in parts])[order]
            time = np.concatenate([p[1] for p in parts])[order]
            device, elapsed = sum(dist.tolist()), sum(time.tolist())
            longest = int(order[int(np.argmax(dist))])
            owner = np.repeat(np.arange(len(sessions)), [len(s) for _, s in sessions])[longest]
            lay = sessions[owner][0]
            sport = self._sport(lay, int(starts[longest]))
        return Track(
            lat=rec.lat,
            lon=rec.lon,
            ele=rec.ele,
            t=rec.t,
            hr=rec.hr,
            segment_starts=np.zeros(1 if len(rec.lat) else 0, dtype=np.int64),
            sport=sport,
            source_format="fit",
            device_distance_m=device or None,
            device_elapsed_s=elapsed or None,
            has_gps=len(rec.lat) > 0,
        )

    def _column(self, layout: Layout, starts: Offsets, spec: Any) -> Column:
        return read_column(self.data, starts, spec, layout.big_endian)

    def _records(
        self, layout: Layout, starts: Offsets, compressed: CompressedTimes | None
    ) -> _Records | None:
        """The layout's records that have a position, as track columns (None: there are none).

        Each column is what fitdecode's ``{name: value}`` of the record ends with: the last
        field of that name whose value is not None (developer fields come after native ones).
        """
        specs = layout.fields(_RECORD_FIELDS)
        named = {spec.num if not spec.dev else spec.name: spec for spec in specs}
        if not ({0, "position_lat"} & named.keys() and {1, "position_long"} & named.keys()):
            return None
        lat, lon = Latest(len(starts)), Latest(len(starts))
        for spec in specs:
            target = {0: lat, 1: lon}.get(spec.num) if not spec.dev else None
            if spec.dev and spec.name in ("position_lat", "position_long"):
                target = lat if spec.name == "position_lat" else lon
            if target is not None:
                present, integer, value = numbers(self._column(layout, starts, spec))
                target.put(present, integer, value)
        la, lo = lat.result() * SEMICIRCLE, lon.result() * SEMICIRCLE
        gps = (np.abs(la) <= 90.0) & (np.abs(lo) <= 180.0)
        if not gps.any():
            return None
        starts = starts[gps]
        n = len(starts)
        ts, enh, alt, hr = Latest(n), Latest(n), Latest(n), Latest(n)
        by_name = {"altitude": alt, "enhanced_altitude": enh, "heart_rate": hr}
        for spec in specs:
            if spec.dev:
                if spec.name == "timestamp":
                    ts.put(self._column(layout, starts, spec).present, False, np.nan)
                elif isinstance(spec.name, str) and spec.name in by_name:
                    col = self._column(layout, starts, spec)
                    present, _, value = numbers(col)
                    by_name[spec.name].put(present, col.kind == SCALAR, value)
                continue
            if spec.num in (0, 1):
                continue
            col = self._column(layout, starts, spec)
            if spec.num == prof.TIMESTAMP:
                present, datetime, posix, _ = date_times(col)
                ts.put(present, datetime, posix)
            elif spec.num == 2:
                enh.put(*altitude_component(col))
                present, _, value = numbers(col, 5, 500)
                alt.put(present, col.kind == SCALAR, value)
            else:
                present, _, value = numbers(col, 5, 500) if spec.num == 78 else numbers(col)
                (enh if spec.num == 78 else hr).put(present, col.kind == SCALAR, value)
        if compressed is not None:
            at = self.u8[starts] >= 0x80
            if at.any():
                where = np.searchsorted(compressed[0], starts[at])
                is_datetime, posix = np.zeros(n, dtype=np.bool_), np.full(n, np.nan)
                is_datetime[at], posix[at] = compressed[1][where], compressed[2][where]
                ts.put(at, is_datetime, posix)
        ele = np.where(enh.present, enh.result(), alt.result())
        return _Records(starts, ts.result(), la[gps], lo[gps], ele, hr.result())

    def _session_totals(self, layout: Layout, starts: Offsets) -> tuple[Floats, Floats]:
        """Each session's total_distance and total_elapsed_time (0 when absent or no number)."""
        dist, time = Latest(len(starts)), Latest(len(starts))
        for spec in layout.fields(_SESSION_FIELDS):
            if spec.dev:
                target = {"total_distance": dist, "total_elapsed_time": time}.get(
                    spec.name if isinstance(spec.name, str) else ""
                )
                scale = 0
            else:
                target = {9: dist, 7: time}.get(spec.num)
                scale = 100 if spec.num == 9 else 1000
            if target is not None:
                col = self._column(layout, starts, spec)
                present, _, value = numbers(col, scale)
                target.put(present, col.kind == SCALAR, value)
        return (
            np.where(dist.present & dist.ok, dist.value, 0.0),
            np.where(time.present & time.ok, time.value, 0.0),
        )

    def _last_value(self, layout: Layout, at: int, name: str, num: int) -> tuple[Any, bool]:
        """The value fitdecode's ``{name: value}`` ends with for one record, and whether it
        came from the native field (to be named by the profile) rather than a developer's."""
        value: Any = None
        native = False
        for spec in layout.fields((num,)):
            if not spec.dev or spec.name == name:
                raw = raw_value(
                    self.data, at + spec.offset, spec.base, spec.length, layout.big_endian
                )
                if raw is not None:
                    value, native = raw, not spec.dev
        return value, native

    def _sport(self, layout: Layout, at: int) -> str | None:
        value, native = self._last_value(layout, at, "sport", 5)
        if value is None or not (native or value):
            return None
        if native and not isinstance(value, str):
            return _SPORTS.get(prof.SPORT_NAMES.get(value, ""), OTHER)
        return _SPORTS.get(str(value), OTHER)

    def _is_activity(self, layout_starts: tuple[Layout, Offsets]) -> bool:
        layout, starts = layout_starts
        value, native = self._last_value(layout, int(starts[-1]), "type", 0)
        if value is None or value == "activity":
            return True
        return native and not isinstance(value, str) and value == prof.FILE_ACTIVITY


def _merge(parts: list[_Records]) -> _Records:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        empty = np.empty(0)
        return _Records(np.empty(0, dtype=np.int64), empty, empty, empty, empty, empty)
    starts = np.concatenate([p.starts for p in parts])
    order = np.argsort(starts, kind="stable")

    def cat(name: str) -> Floats:
        column: Floats = np.concatenate([getattr(p, name) for p in parts])[order]
        return column

    return _Records(starts[order], cat("t"), cat("lat"), cat("lon"), cat("ele"), cat("hr"))
