"""The vectorised GPX scanner: files written the way watches and apps write them, read with a
few linear regular-expression passes instead of an XML parser (see read_gpx for when it is
used; anything it cannot vouch for goes to the exact expat reader)."""

from __future__ import annotations

import math
import re
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from warmrun.config import Limits
from warmrun.platform.errors import NotAnActivity, TooLarge
from warmrun.platform.tracks import CYCLE, HIKE, OTHER, RUN, WALK, Track

NAN = math.nan

_SPORTS = {
    "running": RUN,
    "run": RUN,
    "trail running": RUN,
    "jogging": RUN,
    "9": RUN,
    "walking": WALK,
    "walk": WALK,
    "hiking": HIKE,
    "hike": HIKE,
    "10": WALK,
    "cycling": CYCLE,
    "biking": CYCLE,
    "ride": CYCLE,
    "mountain biking": CYCLE,
    "1": CYCLE,
}


def sport_from_text(text: str) -> str:
    key = text.strip().lower()
    return _SPORTS.get(key, OTHER if key not in ("", "unknown", "t") else "")


_RX_PT = re.compile(rb'<trkpt lat="([^"<>]*)" lon="([^"<>]*)"')
_RX_TIME = re.compile(rb"<time>([^<]*)</time>")
_RX_ELE = re.compile(rb"<ele>([^<]*)</ele>")
# Any extension element whose local name is hr, holding a number (Garmin, Strava, OpenTracks).
_RX_HR = re.compile(rb"hr>([0-9.]+)</")
_RX_TYPE = re.compile(rb"<type>([^<]*)</type>")
_RX_NAME = re.compile(rb"<name>([^<]*)</name>")
_DECL_ENC = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']*)[\"']")


def _floats(values: list[bytes]) -> npt.NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


def _times(values: list[bytes]) -> npt.NDArray[np.float64]:
    from warmrun.integrations.readers.timeparse import times_to_posix

    return times_to_posix(values)


_FIELDS = (("t", _RX_TIME, _times), ("e", _RX_ELE, _floats), ("h", _RX_HR, _floats))


# Segments shorter than this are converted together, this many points at a time: numpy's cost
# per call made a file of 9,000 one-point segments take 1.6 s per MB when each was converted
# alone. Longer segments are converted on their own, one field at a time.
_BATCH = 4096


class _Batch:
    """The values of short segments awaiting conversion, each field's count already checked."""

    __slots__ = ("lat", "lon", "points", "present", "sizes", "values")
    lat: list[bytes]
    lon: list[bytes]
    values: dict[str, list[bytes]]
    present: dict[str, list[bool]]
    sizes: list[int]
    points: int

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.lat, self.lon, self.sizes, self.points = [], [], [], 0
        self.values = {key: [] for key, _, _ in _FIELDS}
        self.present = {key: [] for key, _, _ in _FIELDS}

    def add(self, data: bytes, a: int, b: int, pts: list[tuple[bytes, bytes]]) -> bool:
        """Take the segment ``data[a:b]``; False when some of its points lack a field."""
        n = len(pts)
        for key, rx, _ in _FIELDS:
            found = rx.findall(data, a, b)
            if found and len(found) != n:
                return False
            self.values[key] += found
            self.present[key].append(bool(found))
        self.lat += [p[0] for p in pts]
        self.lon += [p[1] for p in pts]
        self.sizes.append(n)
        self.points += n
        return True

    def flush(self, cols: dict[str, list[npt.NDArray[np.float64]]]) -> None:
        if not self.sizes:
            return
        cols["lat"].append(_floats(self.lat))
        cols["lon"].append(_floats(self.lon))
        for key, _, convert in _FIELDS:
            values = self.values[key]
            if len(values) == self.points:
                cols[key].append(convert(values))
                continue
            column = np.full(self.points, NAN)
            if values:
                column[np.repeat(self.present[key], self.sizes)] = convert(values)
            cols[key].append(column)
        self.clear()


def _segment_positions(data: bytes, start: int) -> list[int]:
    out = []
    pos = data.find(b"<trkseg", start)
    while pos >= 0:
        if data[pos + 7 : pos + 8] in (b">", b"/", b" ", b"\n", b"\t", b"\r"):
            out.append(pos)
        pos = data.find(b"<trkseg", pos + 7)
    return out


def _without_links(head: bytes) -> bytes:
    """``head`` without its ``<link>...</link>`` elements, whose ``<type>`` is a MIME type.

    Removes what ``re.sub(rb"<link\\b.*?</link>", b"", head, flags=re.S)`` removes, in one
    pass: that pattern scans from every ``<link`` to the end when no ``</link>`` follows
    (50,000 unclosed ``<link`` in a 302 KB file took 54 s). Once a ``<link`` has no
    ``</link>`` after it, no later one has either, so the search stops there.
    """
    parts: list[bytes] = []
    kept = 0
    pos = head.find(b"<link")
    while pos >= 0:
        after = head[pos + 5 : pos + 6]
        if after and (after.isalnum() or after == b"_"):  # <linked>: not a link element
            pos = head.find(b"<link", pos + 5)
            continue
        close = head.find(b"</link>", pos + 5)
        if close < 0:
            break
        parts.append(head[kept:pos])
        kept = close + 7
        pos = head.find(b"<link", kept)
    if not parts:
        return head
    parts.append(head[kept:])
    return b"".join(parts)


def scan_canonical(data: bytes, limits: Limits, *, markup: bool = True) -> Track | None:
    """Read a GPX written in the common canonical form, or return None to use expat.

    Every count is checked against the number of ``<trkpt`` in each segment, so a file this
    scanner would misread falls back to the exact path instead of yielding a wrong track.
    """
    first_trk = _canonical_start(data, markup)
    if first_trk < 0:
        return None
    total = data.count(b"<trkpt")
    if total > limits.points:
        raise TooLarge(what="points", limit=f"{limits.points:,}")
    seg_pos = _segment_positions(data, first_trk)
    if not seg_pos or total == 0:
        return None
    seg_pos.append(len(data))
    scanned = _scan_segments(data, seg_pos)
    if scanned is None or scanned[2] != total:
        return None
    cols, starts, counted = scanned
    lat, lon, ts, ele, hr = (np.concatenate(cols[k]) for k in ("lat", "lon", "t", "e", "h"))
    del cols, scanned
    valid = (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0) & ~((lat == 0.0) & (lon == 0.0))
    ele[~np.isfinite(ele)] = NAN
    hr[~np.isfinite(hr)] = NAN
    seg_mark = np.zeros(counted, dtype=bool)
    seg_mark[starts] = True
    if not valid.all():
        # A dropped point splits its segment: no distance is counted across it.
        prev_invalid = np.concatenate([[False], ~valid[:-1]])
        seg_mark = (seg_mark | prev_invalid)[valid]
        lat, lon, ele, ts, hr = lat[valid], lon[valid], ele[valid], ts[valid], hr[valid]
        if lat.size == 0:
            raise NotAnActivity()
        seg_mark[0] = True
    head = _without_links(data[first_trk : seg_pos[0]])
    tm = _RX_TYPE.search(head)
    nm = _RX_NAME.search(head)
    sport = sport_from_text(tm.group(1).decode("utf-8", "replace")) if tm else ""
    name = nm.group(1).decode("utf-8", "replace").strip()[:200] if nm else None
    return Track(
        lat=lat,
        lon=lon,
        ele=ele,
        t=ts,
        hr=hr,
        segment_starts=np.flatnonzero(seg_mark).astype(np.int64),
        sport=sport or None,
        name=name or None,
        source_format="gpx",
    )


def _canonical_start(data: bytes, markup: bool) -> int:
    """Where the first ``<trk>`` of a file this scanner can vouch for begins, or -1 (another
    encoding, no track, not ending in ``</gpx>``, comments or CDATA in the track, prefixed
    track points, no ``<gpx`` before the track)."""
    m = _DECL_ENC.match(data[:256])
    if m and m.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        return -1
    first_trk = data.find(b"<trk>")
    if first_trk < 0 or not data.rstrip().endswith(b"</gpx>"):
        return -1
    if (
        (markup and (data.find(b"<!--", first_trk) >= 0 or data.find(b"<![CDATA[", first_trk) >= 0))
        or b":trkpt" in data
        or b"<gpx" not in data[:first_trk]
    ):
        return -1
    return first_trk


Columns = dict[str, list[npt.NDArray[np.float64]]]


def _scan_segments(data: bytes, seg_pos: list[int]) -> tuple[Columns, list[int], int] | None:
    """Each field of every segment as arrays, where each segment starts, and the points
    counted; None when some points lack a field or hold something other than a number (the
    exact reader decides)."""
    # Each field of a long segment is converted to an array as soon as it is found and its list
    # dropped, so the peak holds one list of byte strings at a time, not five.
    cols: Columns = {k: [] for k in ("lat", "lon", "t", "e", "h")}
    batch = _Batch()
    starts: list[int] = []
    counted = 0
    try:
        for a, b in pairwise(seg_pos):
            pts = _RX_PT.findall(data, a, b)
            n = len(pts)
            if n == 0:
                continue
            starts.append(counted)
            counted += n
            if n < _BATCH:
                if not batch.add(data, a, b, pts):
                    return None  # some points lack a field: the exact reader decides
                if batch.points >= _BATCH:
                    batch.flush(cols)
                continue
            batch.flush(cols)
            cols["lat"].append(np.array([p[0] for p in pts], dtype=np.float64))
            cols["lon"].append(np.array([p[1] for p in pts], dtype=np.float64))
            del pts
            for key, rx, convert in _FIELDS:
                found = rx.findall(data, a, b)
                if len(found) == n:
                    cols[key].append(convert(found))
                elif not found:
                    cols[key].append(np.full(n, NAN))
                else:
                    return None  # some points lack the field: the exact reader decides
                del found
        batch.flush(cols)
    except ValueError:
        return None  # a value that is not a number: let the exact reader judge the file
    return cols, starts, counted
