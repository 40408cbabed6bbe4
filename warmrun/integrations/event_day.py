"""Event day: organizers' route files, and which participants' tracks followed a route.

Route GPX files are the organizer's (a planned route, often a ``<rte>``, sometimes a drawn
``<trk>``): gpxpy reads them, on top of defusedxml's refusal of DTDs and entities. A track
follows a route when at least 80 % of the route's points lie within 50 m of it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import gpxpy
import gpxpy.gpx
from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException

from warmrun.config import Limits
from warmrun.integrations.readers.registry import read_any
from warmrun.integrations.strava_sync import track_from_record
from warmrun.platform import events, runs
from warmrun.platform.errors import InvalidInput, InvalidTrack, NotFound
from warmrun.platform.geo import decode_polyline, follows
from warmrun.platform.models import Contribution, Event, EventRoute, Run
from warmrun.platform.plausibility import Reason
from warmrun.platform.tracks import Track

MAX_ROUTE_BYTES = 2 * 1024 * 1024
MAX_ROUTE_POINTS = 20_000


def parse_route_gpx(data: bytes) -> tuple[list[tuple[float, float]], float]:
    """(points, length in metres) of a route file; InvalidInput when it holds no route."""
    if len(data) > MAX_ROUTE_BYTES:
        raise InvalidInput("gpx", "larger than 2 MiB", "超过 2 MiB")
    try:
        SafeTree.fromstring(data)  # refuses DTDs, entities and external references
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


async def _track_of(run_id: int, limits: Limits) -> Track | None:
    try:
        file_format, data = await runs.original_file(run_id=run_id)
    except NotFound:
        return None

    def read() -> Track | None:
        if file_format == "strava":
            try:
                return track_from_record(data)
            except InvalidTrack:
                return None
        for parsed in read_any(data, "", limits):
            if parsed.track is not None and len(parsed.track):
                return parsed.track
        return None

    return await asyncio.to_thread(read)


async def followers(*, event_id: int, limits: Limits) -> list[events.Followed]:
    """Participants whose recorded track of the event day follows one of its routes."""
    event = await Event.get(id=event_id)
    tz = ZoneInfo(await events.event_timezone(event))
    # In UTC: SQLite compares the stored text, which is UTC.
    start = datetime.combine(event.day, time.min, tz).astimezone(UTC)
    routes = [(r.id, decode_polyline(r.line)) for r in await EventRoute.filter(event_id=event_id)]
    if not routes:
        return []
    day_runs = await Run.filter(
        started_at__gte=start,
        started_at__lt=start + timedelta(days=1),
        resident__compound__city_id=event.city_id,
    ).values("id", "resident_id", "reasons")
    found: list[events.Followed] = []
    for r in day_runs:
        if Reason.SOURCE_WITHDRAWN.value in (r["reasons"] or []):
            continue
        track = await _track_of(r["id"], limits)
        if track is None:
            continue
        online = await Contribution.filter(run_id=r["id"], campaign_id=event.campaign_id).values(
            "metres", "value_fen"
        )
        for route_id, points in routes:
            if await asyncio.to_thread(follows, points, track.lat, track.lon):
                found.append(
                    events.Followed(
                        resident_id=r["resident_id"],
                        route_id=route_id,
                        online_m=sum(c["metres"] for c in online),
                        online_fen=sum(c["value_fen"] for c in online),
                    )
                )
    return found


async def settle_event(*, event_id: int, limits: Limits) -> int:
    return await events.settle(
        event_id=event_id, followed=await followers(event_id=event_id, limits=limits)
    )
