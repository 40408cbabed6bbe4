"""Event day: which participants' tracks followed one of the day's routes.

A track follows a route when at least 80 % of the route's points lie within 50 m of it. Tracks
are re-read from the stored originals through the sandboxed parser; route files are read by
:mod:`warmrun.integrations.readers.route`, in the sandbox too (``Parser.route``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from warmrun.integrations.readers.route import MAX_ROUTE_BYTES, parse_route_gpx
from warmrun.platform import events, ingest
from warmrun.platform.geo import decode_polyline, follows
from warmrun.platform.models import Contribution, Event, EventRoute, Run
from warmrun.platform.plausibility import Reason
from warmrun.platform.uploads import Parser

__all__ = ["MAX_ROUTE_BYTES", "followers", "parse_route_gpx", "settle_event"]


async def followers(*, event_id: int, parser: Parser) -> list[events.Followed]:
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
        track = await ingest.stored_track(parser=parser, run_id=r["id"])
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


async def settle_event(*, event_id: int, parser: Parser) -> int:
    return await events.settle(
        event_id=event_id, followed=await followers(event_id=event_id, parser=parser)
    )
