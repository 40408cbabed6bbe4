"""GPX 1.0/1.1 reader on the hardened expat front end.

Every ``<trk>`` of the file counts (GPSBabel exports often begin with an empty track), each
``<trkseg>`` starts a segment, and heart rate is read from any extension element named ``hr``
(Garmin ``gpxtpx:hr``, OpenTracks, Strava ``ns3:hr``). Routes and waypoints are not activities.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from typing import Any

from warmrun.config import Limits
from warmrun.integrations.readers import xmlsafe
from warmrun.integrations.readers.gpx_scan import scan_canonical, sport_from_text
from warmrun.integrations.readers.origin import gpx_origin
from warmrun.integrations.readers.timeparse import iso_to_posix
from warmrun.integrations.readers.timeparse import number as _num
from warmrun.platform.errors import DtdForbidden, NotAnActivity, NotATrack, TooLarge
from warmrun.platform.tracks import Track

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
    track = scan_canonical(data, limits, markup=markup)
    if track is None:
        track = read_gpx_exact(data, limits)
    track.writers, track.hints = gpx_origin(data)
    return track


def read_gpx_exact(data: bytes, limits: Limits) -> Track:
    """The reference reader: every element through the hardened expat front end."""
    columns = array("d"), array("d"), array("d"), array("d"), array("d"), array("q")
    guard = xmlsafe.Guard(limits)
    kinds: dict[str, int] = {}
    buf: list[str] = []
    st = _state()

    def chars(data: str) -> None:
        if st["cap"]:
            buf.append(data)

    start = _on_start(st, guard, kinds, buf, limits.xml_depth)
    end = _on_end(st, guard, kinds, buf, columns, limits.points)
    xmlsafe.parse(data, start=start, end=end, chars=chars, limits=limits)
    return _track(st, *columns)


def _state() -> dict[str, Any]:
    """The reader's mutable state, in a dict: cheaper for its closures than attribute access
    on an object."""
    return {
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


def _on_start(
    st: dict[str, Any], guard: xmlsafe.Guard, kinds: dict[str, int], buf: list[str], max_depth: int
) -> Callable[[str, dict[str, str]], None]:
    """The start-element handler (a closure over the reader's state, called per element)."""

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

    return start


def _on_end(
    st: dict[str, Any],
    guard: xmlsafe.Guard,
    kinds: dict[str, int],
    buf: list[str],
    columns: tuple[
        array[float], array[float], array[float], array[float], array[float], array[int]
    ],
    max_points: int,
) -> Callable[[str], None]:
    """The end-element handler (a closure over the reader's state and columns, called per
    element)."""
    lat, lon, ele, ts, hr, seg = columns
    lat_a, lon_a, ele_a, ts_a, hr_a = lat.append, lon.append, ele.append, ts.append, hr.append

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

    return end


def _track(
    st: dict[str, Any],
    lat: array[float],
    lon: array[float],
    ele: array[float],
    ts: array[float],
    hr: array[float],
    seg: array[int],
) -> Track:
    """The track the handlers read, or the refusal of a file that is not one."""
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
