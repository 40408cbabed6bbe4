"""GPX 1.0/1.1 reader on the hardened expat front end.

Every ``<trk>`` of the file counts (GPSBabel exports often begin with an empty track), each
``<trkseg>`` starts a segment, and heart rate is read from any extension element named ``hr``
(Garmin ``gpxtpx:hr``, OpenTracks, Strava ``ns3:hr``). Routes and waypoints are not activities.
"""

from __future__ import annotations

import math
import re
from array import array
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from warmrun.config import Limits
from warmrun.integrations.readers import xmlsafe
from warmrun.integrations.readers.timeparse import iso_to_posix
from warmrun.integrations.readers.timeparse import number as _num
from warmrun.platform.errors import DtdForbidden, NotAnActivity, NotATrack, TooLarge
from warmrun.platform.tracks import CYCLE, HIKE, OTHER, RUN, WALK, Track

NAN = math.nan
_OTHER, _TRKPT, _ELE, _TIME, _HR, _TRKSEG, _TRK, _TYPE, _RTEPT, _WPT, _GPX, _NAME = range(12)
_KINDS = {
    "trkpt": _TRKPT,
    "ele": _ELE,
    "time": _TIME,
    "hr": _HR,
    "trkseg": _TRKSEG,
    "trk": _TRK,
    "type": _TYPE,
    "rtept": _RTEPT,
    "wpt": _WPT,
    "gpx": _GPX,
    "name": _NAME,
}

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


def read_gpx(data: bytes, limits: Limits) -> Track:
    """Parse GPX bytes into a :class:`Track` (raises InvalidTrack subclasses).

    Files written the way watches and apps write them take the vectorised scanner; anything
    else (other encodings, prefixes, comments or CDATA in the track, attribute order, missing
    values on some points, a truncated file) takes the exact expat path.
    """
    # Declarations, comments and CDATA all begin "<!"; most files hold none, and one scan for
    # it spares the four below (each a pass over the whole file).
    markup = b"<!" in data
    if markup and (b"<!DOCTYPE" in data or b"<!ENTITY" in data):
        raise DtdForbidden()
    track = _scan_canonical(data, limits, markup=markup)
    return track if track is not None else read_gpx_exact(data, limits)


def read_gpx_exact(data: bytes, limits: Limits) -> Track:
    """The reference reader: every element through the hardened expat front end."""
    lat, lon, ele, ts, hr = array("d"), array("d"), array("d"), array("d"), array("d")
    seg = array("q")
    guard = xmlsafe.Guard(limits)
    kinds: dict[str, int] = {}
    buf: list[str] = []
    # Mutable state in a list: cheaper for closures than attribute access on an object.
    st: dict[str, Any] = {
        "cap": 0,
        "in_pt": False,
        "ptlat": NAN,
        "ptlon": NAN,
        "e": NAN,
        "t": NAN,
        "h": NAN,
        "trk": 0,
        "in_trk": False,
        "new_seg": True,
        "other": 0,
        "root": False,
        "sport": "",
        "name": None,
    }
    max_points = limits.points
    max_depth = limits.xml_depth
    lat_a, lon_a, ele_a, ts_a, hr_a = lat.append, lon.append, ele.append, ts.append, hr.append

    def kind_of(name: str) -> int:
        k = _KINDS.get(xmlsafe.local(name), _OTHER)
        kinds[name] = k
        return k

    def start(name: str, attrs: dict[str, str]) -> None:
        guard.depth += 1
        if guard.depth > max_depth:
            guard.too_deep()
        k = kinds.get(name)
        if k is None:
            k = kind_of(name)
        if k == _TRKPT:
            try:
                la = float(attrs["lat"])
                lo = float(attrs["lon"])
            except (KeyError, ValueError):
                la = lo = NAN
            st["ptlat"], st["ptlon"] = la, lo
            st["e"] = st["t"] = st["h"] = NAN
            st["in_pt"] = True
            return
        if attrs:
            guard.attrs(attrs)
        if k == _OTHER:
            return  # most elements of a hostile file: nothing more to look at
        if st["in_pt"]:
            if k == _ELE or k == _TIME or k == _HR:
                st["cap"] = k
                buf.clear()
        elif k == _TRKSEG:
            st["new_seg"] = True
        elif k == _TRK:
            st["trk"] += 1
            st["in_trk"] = True
            st["new_seg"] = True
        elif (k == _TYPE or k == _NAME) and st["in_trk"] and guard.depth == 3:
            st["cap"] = k
            buf.clear()
        elif k == _RTEPT or k == _WPT:
            st["other"] += 1
        elif k == _GPX:
            st["root"] = True

    def chars(data: str) -> None:
        if st["cap"]:
            buf.append(data)

    def end(name: str) -> None:
        guard.depth -= 1
        k = kinds[name]
        cap = st["cap"]
        if cap:
            st["cap"] = 0
            text = "".join(buf)
            if cap == _TIME:
                st["t"] = iso_to_posix(text)
            elif cap == _ELE:
                st["e"] = _num(text)
            elif cap == _HR:
                st["h"] = _num(text)
            elif cap == _TYPE:
                st["sport"] = st["sport"] or sport_from_text(text)
            elif cap == _NAME and st["name"] is None:
                st["name"] = text.strip()[:200]
            return
        if k == _TRKPT:
            st["in_pt"] = False
            la, lo = st["ptlat"], st["ptlon"]
            # Drop impossible coordinates (NaN, inf, |lat| > 90: OpenTracks writes lat 100 as a
            # pause marker) rather than sum them; the next valid point starts a new segment.
            if not (-90.0 <= la <= 90.0 and -180.0 <= lo <= 180.0) or (la == 0.0 and lo == 0.0):
                st["new_seg"] = True
                return
            if st["new_seg"]:
                seg.append(len(lat))
                st["new_seg"] = False
            lat_a(la)
            lon_a(lo)
            ele_a(st["e"])
            ts_a(st["t"])
            hr_a(st["h"])
            if len(lat) > max_points:
                raise TooLarge(what="points", limit=f"{max_points:,}")
        elif k == _TRK:
            st["in_trk"] = False

    xmlsafe.parse(data, start=start, end=end, chars=chars, limits=limits)
    if not st["root"]:
        raise NotATrack()
    if not lat:
        raise NotAnActivity()
    sport = st["sport"]
    name = st["name"]
    return Track.from_columns(
        lat,
        lon,
        ele,
        ts,
        hr,
        seg,
        sport=str(sport) if sport else None,
        name=str(name) if name else None,
        source_format="gpx",
    )


# --- the vectorised scanner ---------------------------------------------------------------------
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


def _scan_canonical(data: bytes, limits: Limits, *, markup: bool = True) -> Track | None:
    """Read a GPX written in the common canonical form, or return None to use expat.

    Every count is checked against the number of ``<trkpt`` in each segment, so a file this
    scanner would misread falls back to the exact path instead of yielding a wrong track.
    """
    m = _DECL_ENC.match(data[:256])
    if m and m.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        return None
    first_trk = data.find(b"<trk>")
    if first_trk < 0 or not data.rstrip().endswith(b"</gpx>"):
        return None
    if (
        (markup and (data.find(b"<!--", first_trk) >= 0 or data.find(b"<![CDATA[", first_trk) >= 0))
        or b":trkpt" in data
        or b"<gpx" not in data[:first_trk]
    ):
        return None
    total = data.count(b"<trkpt")
    if total > limits.points:
        raise TooLarge(what="points", limit=f"{limits.points:,}")
    seg_pos = _segment_positions(data, first_trk)
    if not seg_pos or total == 0:
        return None
    seg_pos.append(len(data))
    # Each field of a long segment is converted to an array as soon as it is found and its list
    # dropped, so the peak holds one list of byte strings at a time, not five.
    cols: dict[str, list[npt.NDArray[np.float64]]] = {k: [] for k in ("lat", "lon", "t", "e", "h")}
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
    if counted != total:
        return None
    lat, lon, ts, ele, hr = (np.concatenate(cols[k]) for k in ("lat", "lon", "t", "e", "h"))
    del cols
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
