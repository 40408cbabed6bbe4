"""Pathological GPX and TCX files, for the readers' complexity tests and for benchmarks.

Every generator takes a target size in bytes and returns a file of about that size (a
truncated one: the part of it kept), so one attack can be timed at N and 4N bytes or made ~1 MB
for a benchmark; :func:`canonical_gpx` and :func:`canonical_tcx` are ordinary recordings of the
same size to compare with. ``GENERATORS`` names them all ("gpx/unclosed_links", ...).

The hostile part sits inside the first segment, between ordinary points (or before it: links,
the track's name, extra segments). A GPX file also ends its segment with one point whose
attributes come in the other order: the fast scanner does all its work on the file, then cannot
account for that point and hands the file to the exact reader, so both readers see every attack
(the costliest way through, as an attacker would pick).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from warmrun.config import Limits
from warmrun.integrations.synthetic import synthetic_run_gpx

Generator = Callable[[int], bytes]

_START = datetime(2025, 11, 1, 0, 30, tzinfo=UTC)
_TIME = b"2025-11-01T00:30:00Z"
_DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _stamp(i: int) -> bytes:
    return (_START + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ").encode()


def _gpx_point(i: int) -> bytes:
    return b'<trkpt lat="%.7f" lon="%.7f"><ele>%.1f</ele><time>%s</time></trkpt>\n' % (
        31.2989 + i * 2e-5,
        120.5853 + i * 2e-5,
        30.0 + (i % 7),
        _stamp(i),
    )


def _tcx_point(i: int) -> bytes:
    return (
        b"<Trackpoint><Time>%s</Time><Position><LatitudeDegrees>%.7f</LatitudeDegrees>"
        b"<LongitudeDegrees>%.7f</LongitudeDegrees></Position>"
        b"<AltitudeMeters>%.1f</AltitudeMeters><HeartRateBpm><Value>%d</Value></HeartRateBpm>"
        b"</Trackpoint>\n"
        % (_stamp(i), 31.2989 + i * 2e-5, 120.5853 + i * 2e-5, 30.0 + (i % 7), 120 + i % 30)
    )


@dataclass(frozen=True)
class _Format:
    """Where the pieces of a document go, for one format."""

    name: str
    root: bytes  # the root start tag
    track: bytes  # opens the activity, up to where its segments begin
    track_extra: bytes  # the activity's name and sport (GPX), before the first segment
    segment: bytes
    segment_end: bytes
    track_end: bytes
    root_end: bytes
    point: Callable[[int], bytes]
    # Sent to the exact reader by the GPX scanner (attributes in the other order).
    last_point: bytes
    point_start: bytes  # a point's start tag (GPX carries the position in it)
    time: bytes  # a point's time element name
    ele: bytes  # a point's elevation element name
    body_depth: int  # the nesting depth of an element placed between points


GPX = _Format(
    name="gpx",
    root=b'<gpx version="1.1" creator="hostile" xmlns="http://www.topografix.com/GPX/1/1">\n',
    track=b"<trk>",
    track_extra=b"<name>hostile</name><type>running</type>\n",
    segment=b"<trkseg>\n",
    segment_end=b"</trkseg>\n",
    track_end=b"</trk>\n",
    root_end=b"</gpx>\n",
    point=_gpx_point,
    last_point=b'<trkpt lon="120.5863" lat="31.2999"><time>2025-11-01T01:30:00Z</time></trkpt>\n',
    point_start=b'<trkpt lat="31.2989" lon="120.5853">',
    time=b"time",
    ele=b"ele",
    body_depth=4,
)
TCX = _Format(
    name="tcx",
    root=(
        b"<TrainingCenterDatabase "
        b'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">\n'
    ),
    track=(
        b'<Activities><Activity Sport="Running"><Id>2025-11-01T00:30:00Z</Id>\n'
        b'<Lap StartTime="2025-11-01T00:30:00Z"><TotalTimeSeconds>3600</TotalTimeSeconds>'
        b"<DistanceMeters>10000</DistanceMeters>\n"
    ),
    track_extra=b"",
    segment=b"<Track>\n",
    segment_end=b"</Track>\n",
    track_end=b"</Lap></Activity></Activities>\n",
    root_end=b"</TrainingCenterDatabase>\n",
    point=_tcx_point,
    last_point=_tcx_point(3600),
    point_start=b"<Trackpoint>",
    time=b"Time",
    ele=b"AltitudeMeters",
    body_depth=6,
)
_EDGE_POINTS = 4


def _document(
    fmt: _Format,
    body: bytes = b"",
    *,
    decl: bytes = _DECL,
    track_extra: bytes | None = None,
    segments: bytes = b"",
    last_point: bytes | None = None,
) -> bytes:
    """A complete file: ``segments`` before the first segment, ``body`` inside it."""
    return b"".join(
        [
            decl,
            fmt.root,
            fmt.track,
            fmt.track_extra if track_extra is None else track_extra,
            segments,
            fmt.segment,
            *(fmt.point(i) for i in range(_EDGE_POINTS)),
            body,
            *(fmt.point(i) for i in range(_EDGE_POINTS, 2 * _EDGE_POINTS)),
            fmt.last_point if last_point is None else last_point,
            fmt.segment_end,
            fmt.track_end,
            fmt.root_end,
        ]
    )


_OVERHEAD = {f.name: len(_document(f)) for f in (GPX, TCX)}


def _room(fmt: _Format, size: int, used: int = 0) -> int:
    """Bytes left for the hostile part of a ``size``-byte file (at least one unit's worth)."""
    return max(size - _OVERHEAD[fmt.name] - used, 64)


def _repeat(unit: bytes, room: int) -> bytes:
    return unit * max(room // len(unit), 1)


# --- ordinary files of a given size ----------------------------------------------------------


@functools.cache
def _gpx_point_bytes() -> tuple[int, float]:
    one = len(synthetic_run_gpx(points=1))
    return one, (len(synthetic_run_gpx(points=201)) - one) / 200


def canonical_gpx(size: int) -> bytes:
    """A watch-style GPX recording (1 Hz, elevation, heart rate) of about ``size`` bytes."""
    one, per_point = _gpx_point_bytes()
    return synthetic_run_gpx(points=max(2, round((size - one) / per_point) + 1))


def canonical_tcx(size: int) -> bytes:
    """A Garmin-style TCX recording of about ``size`` bytes."""
    per_point = len(_tcx_point(0))
    head = _DECL + TCX.root + TCX.track + TCX.segment
    tail = TCX.segment_end + TCX.track_end + TCX.root_end
    n = max(2, (size - len(head) - len(tail)) // per_point)
    return b"".join([head, *(_tcx_point(i) for i in range(n)), tail])


# --- the attacks -------------------------------------------------------------------------------


def unclosed_links(size: int, fmt: _Format = GPX) -> bytes:
    """``<link>`` start tags never closed, before the first segment (a 302 KB upload with
    50,000 of them took 54 s in the GPX scanner's ``<link\\b.*?</link>`` pattern). Every point
    is one the scanner reads, so it goes on to the track's name and type after the links."""
    extra = fmt.track_extra + _repeat(b"<link>", _room(fmt, size))
    return _document(fmt, track_extra=extra, last_point=fmt.point(2 * _EDGE_POINTS))


def tiny_elements(size: int, fmt: _Format) -> bytes:
    """As many empty elements as fit (250,000 per MB): one handler call each."""
    return _document(fmt, _repeat(b"<a/>", _room(fmt, size)))


def deep_nesting(size: int, fmt: _Format) -> bytes:
    """Elements opened and never closed, far past ``Limits.xml_depth``."""
    return _document(fmt, _repeat(b"<a>", _room(fmt, size)))


def nesting_at_limit(size: int, fmt: _Format) -> bytes:
    """Nests exactly ``Limits.xml_depth`` deep, again and again: accepted, every level read."""
    levels = Limits().xml_depth - fmt.body_depth + 1
    return _document(fmt, _repeat(b"<a>" * levels + b"</a>" * levels, _room(fmt, size)))


def huge_attribute(size: int, fmt: _Format) -> bytes:
    """One attribute value as long as the file (20 MB at a 20 MB size)."""
    return _document(fmt, b'<a v="' + b"x" * _room(fmt, size, 9) + b'"/>')


def many_attributes(size: int, fmt: _Format) -> bytes:
    """One start tag holding as many distinct attributes as fit (a single XML token)."""
    room = _room(fmt, size, 6)
    attrs = []
    used = 0
    while used < room:
        attr = b' a%d="1"' % len(attrs)
        attrs.append(attr)
        used += len(attr)
    return _document(fmt, b"<a" + b"".join(attrs) + b"/>")


def long_attribute_names(size: int, fmt: _Format) -> bytes:
    """Elements each carrying one attribute with a distinct 4 KiB name."""
    stem = b"n" * 4096
    unit = len(b'<a n00000000="1"/>') + len(stem)
    count = max(_room(fmt, size) // unit, 1)
    return _document(fmt, b"".join(b'<a n%08d%s="1"/>' % (i, stem) for i in range(count)))


def one_line(size: int, fmt: _Format) -> bytes:
    """An ordinary recording of ``size`` bytes written as one line, no newline anywhere."""
    data = canonical_gpx(size) if fmt is GPX else canonical_tcx(size)
    close = fmt.segment_end.strip()
    return data.replace(close, fmt.last_point + close).replace(b"\n", b"")


def huge_text(size: int, fmt: _Format) -> bytes:
    """One text node as long as the file, in an element no reader keeps (GPX ``<desc>``)."""
    return _document(fmt, b"<desc>" + b"x" * _room(fmt, size, 13) + b"</desc>")


def huge_name(size: int, fmt: _Format = GPX) -> bytes:
    """The track's ``<name>`` is one text node as long as the file (read, then cut to 200)."""
    name = b"<name>" + b"x" * _room(fmt, size, 13) + b"</name>"
    return _document(fmt, track_extra=name)


def huge_time(size: int, fmt: _Format) -> bytes:
    """A point whose time has a fraction of seconds as long as the file."""
    stamp = _TIME[:-1] + b"." + b"1" * _room(fmt, size, 80) + b"Z"
    return _document(fmt, _point_with(fmt, b"<%s>%s</%s>" % (fmt.time, stamp, fmt.time)))


def huge_number(size: int, fmt: _Format) -> bytes:
    """A point whose elevation has as many digits as the file has bytes."""
    digits = b"1" * _room(fmt, size, 80)
    return _document(fmt, _point_with(fmt, b"<%s>%s</%s>" % (fmt.ele, digits, fmt.ele)))


def _point_with(fmt: _Format, inner: bytes) -> bytes:
    if fmt is TCX:
        position = (
            b"<Position><LatitudeDegrees>31.3</LatitudeDegrees>"
            b"<LongitudeDegrees>120.6</LongitudeDegrees></Position>"
        )
        return b"<Trackpoint>" + position + inner + b"</Trackpoint>\n"
    return fmt.point_start + inner + b"</trkpt>\n"


def many_times_in_a_point(size: int, fmt: _Format) -> bytes:
    """One point holding as many time elements as fit: every one is parsed as a time."""
    unit = b"<%s>%s</%s>" % (fmt.time, _TIME, fmt.time)
    return _document(fmt, _point_with(fmt, _repeat(unit, _room(fmt, size, 120))))


def entity_references(size: int, fmt: _Format = GPX) -> bytes:
    """The track's name made of character and entity references (``&amp;&#65;...``)."""
    name = b"<name>" + _repeat(b"&amp;&#65;", _room(fmt, size, 13)) + b"</name>"
    return _document(fmt, track_extra=name)


def truncated(size: int, fmt: _Format, *, at: float = 0.5) -> bytes:
    """An ordinary recording of ``size`` bytes cut at fraction ``at`` of its length."""
    data = canonical_gpx(size) if fmt is GPX else canonical_tcx(size)
    return data[: int(len(data) * at)]


def many_namespaces(size: int, fmt: _Format) -> bytes:
    """A namespace declaration on every element (counted across the document)."""
    return _document(fmt, _repeat(b'<a xmlns:n="urn:n"/>', _room(fmt, size)))


def namespaces_on_one_tag(size: int, fmt: _Format) -> bytes:
    """One start tag declaring as many distinct namespace prefixes as fit."""
    room = _room(fmt, size, 6)
    unit = len(b' xmlns:n00000000="urn:n"')
    decls = b"".join(b' xmlns:n%08d="urn:n"' % i for i in range(max(room // unit, 1)))
    return _document(fmt, b"<a" + decls + b"/>")


def unclosed_points(size: int, fmt: _Format) -> bytes:
    """Point start tags, none of them closed."""
    return _document(fmt, _repeat(fmt.point_start, _room(fmt, size)))


def unclosed_times(size: int, fmt: _Format) -> bytes:
    """One point, then time start tags each followed by a time, none closed."""
    unit = b"<%s>%s" % (fmt.time, _TIME)
    return _document(fmt, fmt.point_start + _repeat(unit, _room(fmt, size, 40)))


def unclosed_elevations(size: int, fmt: _Format) -> bytes:
    """Point and elevation start tags, alternating, none closed."""
    unit = fmt.point_start + b"<%s>12.5" % fmt.ele
    return _document(fmt, _repeat(unit, _room(fmt, size)))


def unclosed_declaration(size: int, fmt: _Format) -> bytes:
    """An XML declaration in a transcoded encoding (GBK) that never reaches its ``?>``: the
    rest of the document follows inside it."""
    decl = b'<?xml version="1.0" encoding="GBK" '
    rest = fmt.point(0)
    return _document(fmt, _repeat(rest, _room(fmt, size)), decl=decl)


def repeated_encoding(size: int, fmt: _Format) -> bytes:
    """A declaration repeating ``encoding="GBK"`` across the whole file before its ``?>``."""
    root = b"<%s" % (b"gpx" if fmt is GPX else b"TrainingCenterDatabase")
    # The root's name must come within the first 4 KiB for the format to be recognised.
    decl = (
        b'<?xml version="1.0" encoding="GBK" '
        + root
        + _repeat(b' encoding="GBK"', _room(fmt, size))
    )
    return _document(fmt, decl=decl + b"?>\n")


def unclosed_cdata(size: int, fmt: _Format) -> bytes:
    """A CDATA section opened and never closed."""
    return _document(fmt, b"<![CDATA[" + b"x" * _room(fmt, size, 9))


def unclosed_comment(size: int, fmt: _Format) -> bytes:
    """A comment opened and never closed (a single unfinished XML token)."""
    return _document(fmt, b"<!--" + b"x" * _room(fmt, size, 4))


def unclosed_instruction(size: int, fmt: _Format) -> bytes:
    """A processing instruction opened and never closed."""
    return _document(fmt, b"<?pi " + b"x" * _room(fmt, size, 5))


def empty_segments(size: int, fmt: _Format) -> bytes:
    """As many segments without points as fit, before the real one."""
    return _document(fmt, segments=_repeat(fmt.segment + fmt.segment_end, _room(fmt, size)))


def one_point_segments(size: int, fmt: _Format) -> bytes:
    """As many segments holding a single point each as fit, before the real one."""
    unit = fmt.segment + fmt.point(0) + fmt.segment_end
    return _document(fmt, segments=_repeat(unit, _room(fmt, size)))


_ATTACKS: dict[str, Callable[[int, _Format], bytes]] = {
    "tiny_elements": tiny_elements,
    "deep_nesting": deep_nesting,
    "nesting_at_limit": nesting_at_limit,
    "huge_attribute": huge_attribute,
    "many_attributes": many_attributes,
    "long_attribute_names": long_attribute_names,
    "one_line": one_line,
    "huge_text": huge_text,
    "huge_time": huge_time,
    "huge_number": huge_number,
    "many_times_in_a_point": many_times_in_a_point,
    "truncated": truncated,
    "many_namespaces": many_namespaces,
    "namespaces_on_one_tag": namespaces_on_one_tag,
    "unclosed_points": unclosed_points,
    "unclosed_times": unclosed_times,
    "unclosed_elevations": unclosed_elevations,
    "unclosed_declaration": unclosed_declaration,
    "repeated_encoding": repeated_encoding,
    "unclosed_cdata": unclosed_cdata,
    "unclosed_comment": unclosed_comment,
    "unclosed_instruction": unclosed_instruction,
    "empty_segments": empty_segments,
    "one_point_segments": one_point_segments,
}


def _generators() -> dict[str, Generator]:
    out: dict[str, Generator] = {
        "gpx/unclosed_links": unclosed_links,
        "gpx/huge_name": huge_name,
        "gpx/entity_references": entity_references,
    }
    for fmt in (GPX, TCX):
        for name, attack in _ATTACKS.items():
            out[f"{fmt.name}/{name}"] = functools.partial(attack, fmt=fmt)
    return out


GENERATORS: dict[str, Generator] = _generators()
CANONICAL: dict[str, Generator] = {"gpx": canonical_gpx, "tcx": canonical_tcx}
# One format's attacks by bare name ("tiny_elements"), as bench/import_tracks.py reads them.
GPX_CATALOGUE: dict[str, Generator] = {
    k.removeprefix("gpx/"): g for k, g in GENERATORS.items() if k.startswith("gpx/")
}
TCX_CATALOGUE: dict[str, Generator] = {
    k.removeprefix("tcx/"): g for k, g in GENERATORS.items() if k.startswith("tcx/")
}
