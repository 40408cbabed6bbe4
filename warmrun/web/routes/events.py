"""Offline event days: organizers set up routes and stations and settle participation;
residents check in by scanning a station's code, for themselves or a child in their care."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from warmrun.integrations.event_day import settle_event
from warmrun.platform import accounts, campaign_views, events
from warmrun.platform.accounts import Identity
from warmrun.platform.errors import InvalidInput, NotFound
from warmrun.web import codes, forms
from warmrun.web.endpoints import Access, Ctx, site_url
from warmrun.web.presenters import qr_svg
from warmrun.web.routes import api


async def event_of(account: Identity, event_id: int) -> events.EventView:
    """The event if ``account`` organizes its city (or is an admin); otherwise not found."""
    event = await events.event(event_id=event_id)
    if not await accounts.covers_city(account, event.city_id):
        raise NotFound("event", "活动日")
    return event


async def organizer_event(ctx: Ctx, event_id: int) -> events.EventView:
    return await event_of(ctx.me(), event_id)


async def station_links(
    request: Request, event: events.EventView, station_ids: list[int]
) -> dict[int, str]:
    """Each station's check-in address (what its QR code holds)."""
    tz = await events.event_timezone(event)
    secret = str(request.app.state.settings.secret_key)
    base = site_url(request)
    return {
        sid: f"{base}/checkin/" + codes.station_token(secret, station_id=sid, event=event, tz=tz)
        for sid in station_ids
    }


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/events",
    access=Access.ORGANIZER,
    tag="events",
    body=forms.NewEvent,
    summary="Add an offline event day in one of the campaign's cities",
)
async def new_event(ctx: Ctx) -> dict[str, Any]:
    c = await campaign_views.campaign_summary(code=ctx.path["code"])
    await accounts.check_city(ctx.me(), ctx.body.city_id)
    e = await events.create_event(campaign_id=c.id, **ctx.body.model_dump())
    return {"event": {"id": e.id, "name": e.name, "day": e.day, "city_id": e.city_id}}


@api.route(
    "POST",
    "/api/v1/events/{event_id:int}/routes",
    access=Access.ORGANIZER,
    tag="events",
    body=forms.NewRoute,
    summary="Add an age-group route from its GPX file",
)
async def new_route(ctx: Ctx) -> dict[str, Any]:
    event = await organizer_event(ctx, ctx.path["event_id"])
    points, length = await ctx.parser.route(ctx.body.gpx.encode())
    r = await events.add_route(
        event_id=event.id,
        name=ctx.body.name,
        group=ctx.body.group,
        sport=ctx.body.sport,
        points=points,
        distance_m=length,
    )
    return {"route": {"id": r.id, "name": r.name, "group": r.group, "distance_m": r.distance_m}}


@api.route(
    "POST",
    "/api/v1/events/{event_id:int}/stations",
    access=Access.ORGANIZER,
    tag="events",
    body=forms.NewStation,
    summary="Add a station with the points a check-in earns",
)
async def new_station(ctx: Ctx) -> dict[str, Any]:
    event = await organizer_event(ctx, ctx.path["event_id"])
    s = await events.add_station(event_id=event.id, name=ctx.body.name, points=ctx.body.points)
    url = (await station_links(ctx.request, event, [s.id]))[s.id]
    return {"station": {"id": s.id, "name": s.name, "points": s.points, "url": url}}


@api.route(
    "GET",
    "/api/v1/events/{event_id:int}",
    access=Access.ORGANIZER,
    tag="events",
    summary="An event: routes, stations (with their check-in addresses) and participation",
)
async def event_detail(ctx: Ctx) -> dict[str, Any]:
    event = await organizer_event(ctx, ctx.path["event_id"])
    stations = await events.stations_of(event_id=event.id)
    routes = await events.routes_of(event_id=event.id)
    counts = await events.participation(event_id=event.id)
    links = await station_links(ctx.request, event, [s.id for s in stations])
    return {
        "event": event_dict(event),
        "routes": routes,
        "stations": [station_dict(s, links[s.id]) for s in stations],
        "participation": counts,
    }


def event_dict(event: events.EventView) -> dict[str, Any]:
    return {
        "id": event.id,
        "name": event.name,
        "day": event.day,
        "place": event.place,
        "city_id": event.city_id,
        "credit_mode": event.credit_mode,
        "participant_fen": event.participant_fen,
        "settled_at": event.settled_at,
    }


def station_dict(s: events.StationView, url: str) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "points": s.points, "url": url}


@api.route(
    "GET",
    "/api/v1/events/{event_id:int}/stations/{station_id:int}/qr.svg",
    access=Access.ORGANIZER,
    tag="events",
    produces="image/svg+xml",
    summary="A station's check-in QR code, to print",
)
async def station_qr(ctx: Ctx) -> Response:
    event = await organizer_event(ctx, ctx.path["event_id"])
    s = await events.station_of(event_id=event.id, station_id=ctx.path["station_id"])
    url = (await station_links(ctx.request, event, [s.id]))[s.id]
    return Response(qr_svg(url), media_type="image/svg+xml")


async def check_in_with_token(
    secret: str, *, token: str, resident_id: int, for_resident: int | None
) -> events.CheckInOutcome:
    station_id, event_id = codes.read_station_token(secret, token)
    s, event = await events.station(station_id)
    if event.id != event_id:
        raise InvalidInput("token", "not this event's", "不属于本活动")
    who, via = await events.who_checks_in(resident_id=resident_id, for_resident=for_resident)
    return await events.check_in(station_id=s.id, resident_id=who, via=via)


def outcome_view(o: events.CheckInOutcome) -> dict[str, Any]:
    return {
        "station": o.station,
        "resident_id": o.resident_id,
        "new": o.new,
        "points": o.points,
    }


@api.route(
    "POST",
    "/api/v1/checkins",
    access=Access.RESIDENT,
    tag="events",
    body=forms.ScanCheckIn,
    summary="Check in at a station with its scanned code (for myself or a child I look after)",
)
async def scan_check_in(ctx: Ctx) -> dict[str, Any]:
    o = await check_in_with_token(
        str(ctx.settings.secret_key),
        token=ctx.body.token,
        resident_id=ctx.resident_id(),
        for_resident=ctx.body.for_resident_id,
    )
    return {"check_in": outcome_view(o)}


@api.route(
    "POST",
    "/api/v1/events/{event_id:int}/checkins",
    access=Access.ORGANIZER,
    tag="events",
    body=forms.StaffCheckIn,
    summary="Staff check a resident in by their member code (for residents without a phone)",
)
async def staff_check_in(ctx: Ctx) -> dict[str, Any]:
    event = await organizer_event(ctx, ctx.path["event_id"])
    s = await events.station_of(event_id=event.id, station_id=ctx.body.station_id)
    rid = codes.read_member_code(str(ctx.settings.secret_key), ctx.body.member_code)
    o = await events.check_in(station_id=s.id, resident_id=rid, via="staff")
    return {"check_in": outcome_view(o)}


@api.route(
    "POST",
    "/api/v1/events/{event_id:int}/settle",
    access=Access.ORGANIZER,
    tag="events",
    summary="Credit the event's participants into the campaign ledger (once each)",
)
async def settle(ctx: Ctx) -> dict[str, Any]:
    event = await organizer_event(ctx, ctx.path["event_id"])
    written = await settle_event(event_id=event.id, parser=ctx.parser)
    return {"credited": written, "participation": await events.participation(event_id=event.id)}


@api.route(
    "GET",
    "/api/v1/me/member-code",
    access=Access.RESIDENT,
    tag="events",
    summary="My member code, for staff to check me in at a station",
)
async def my_member_code(ctx: Ctx) -> dict[str, Any]:
    return {"member_code": codes.member_code(str(ctx.settings.secret_key), ctx.resident_id())}
