"""Organizers' route files (an event day's planned routes): a GPX ``<rte>``, sometimes a drawn
``<trk>``. gpxpy reads them, on top of defusedxml's refusal of DTDs and entities."""

from __future__ import annotations

import gpxpy
import gpxpy.gpx
from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException

from warmrun.platform.errors import InvalidInput

MAX_ROUTE_BYTES = 2 * 1024 * 1024
MAX_ROUTE_POINTS = 20_000
# gpxpy looks for namespace declarations with a pattern that is quadratic in the number of
# " xmlns" without '="' after them (96 KB of them took 1.9 s); a route file needs a handful.
MAX_XMLNS = 64


def parse_route_gpx(data: bytes) -> tuple[list[tuple[float, float]], float]:
    """(points, length in metres) of a route file; InvalidInput when it holds no route."""
    if len(data) > MAX_ROUTE_BYTES:
        raise InvalidInput("gpx", "larger than 2 MiB", "超过 2 MiB")
    if data.count(b"xmlns") > MAX_XMLNS:
        raise InvalidInput("gpx", "too many namespace declarations", "命名空间声明过多")
    try:
        # No DOCTYPE at all (not only no entities): a route file never needs one.
        SafeTree.fromstring(data, forbid_dtd=True)
        gpx = gpxpy.parse(data.decode("utf-8-sig"))
    except (DefusedXmlException, SafeTree.ParseError, UnicodeDecodeError) as exc:
        raise InvalidInput("gpx", "not a GPX file", "不是 GPX 文件") from exc
    except gpxpy.gpx.GPXException as exc:
        raise InvalidInput("gpx", "not a GPX file", "不是 GPX 文件") from exc
    points: list[tuple[float, float]] = []
    length = 0.0
    for route in gpx.routes:
        points += [(p.latitude, p.longitude) for p in route.points]
        length += route.length()
    for track in gpx.tracks:
        for segment in track.segments:
            points += [(p.latitude, p.longitude) for p in segment.points]
        length += track.length_2d()
    if len(points) < 2 or length <= 0:
        raise InvalidInput("gpx", "holds no route", "没有路线")
    if len(points) > MAX_ROUTE_POINTS:
        raise InvalidInput("gpx", "too many points", "点数过多")
    return points, length
