"""Event day pages: the page a station's QR code opens on a resident's phone, and the
organizer's printable sheet of station codes."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response

from warmrun.integrations.event_day import MAX_ROUTE_BYTES, settle_event
from warmrun.platform import accounts, campaign_views, events
from warmrun.platform.errors import InvalidInput, InvalidStationCode
from warmrun.web import codes, forms
from warmrun.web.pages.base import Page, form_model, yuan_fields
from warmrun.web.presenters import qr_svg
from warmrun.web.routes.events import check_in_with_token, event_of, station_links


async def checkin_page(p: Page, data: dict[str, Any]) -> Response:
    """Opened by scanning a station's code: one tap checks in (the resident, or a child)."""
    token = p.request.path_params["token"]
    resident_id = p.resident_id()
    station_id, _ = codes.read_station_token(str(p.settings.secret_key), token)
    station, event = await events.station(station_id)
    wards = await events.wards_of(resident_id=resident_id)
    done = None
    if p.posted:
        done = await p.attempt(_check_in(p, token, data), keep=(InvalidStationCode,))
    return p.render("checkin.html", station=station, event=event, wards=wards, done=done)


async def _check_in(p: Page, token: str, data: dict[str, Any]) -> events.CheckInOutcome:
    """The check-in form, read by the API's own request model."""
    form = form_model(forms.ScanCheckIn, data, token=token)
    return await check_in_with_token(
        str(p.settings.secret_key),
        token=token,
        resident_id=p.resident_id(),
        for_resident=form.for_resident_id,
    )


async def print_page(p: Page, _: dict[str, Any]) -> Response:
    """Every station's code of an event on one printable page, one station per sheet."""
    event = await event_of(p.me(), p.request.path_params["event_id"])
    stations = await events.stations_of(event_id=event.id)
    links = await station_links(p.request, event, [s.id for s in stations])
    sheets = [{"station": s, "qr": qr_svg(links[s.id]).decode()} for s in stations]
    return p.render("stations_print.html", event=event, sheets=sheets)


async def events_page(p: Page, data: dict[str, Any]) -> Response:
    """The organizer's event days: the list, and a new event in one of their cities."""
    scope = await accounts.organizer_city_ids(p.me())
    if p.posted:
        event_id = await p.attempt(_new_event(p, data))
        if event_id is not None:
            return p.redirect(f"/events/{event_id}")
    places = await campaign_views.places(city_ids=scope)
    return p.render(
        "events.html",
        events=await events.events_in(city_ids=scope),
        campaigns=await campaign_views.campaign_list(),
        cities=sorted({(x.city_id, x.city_zh, x.city_en) for x in places}),
    )


async def _new_event(p: Page, data: dict[str, Any]) -> int:
    try:
        day = date.fromisoformat(str(data.get("day", "")))
    except ValueError:
        raise InvalidInput("day", "a date (YYYY-MM-DD)", "日期格式为 年-月-日") from None
    new = form_model(
        forms.NewEvent,
        yuan_fields(data, "participant"),
        name=str(data.get("name", "")).strip() or "—",
        day=day,
        credit_mode="route" if data.get("credit_mode") == "route" else "flat",
    )
    await accounts.check_city(p.me(), new.city_id)
    campaign = await campaign_views.campaign_summary(code=str(data.get("campaign", "")))
    return (await events.create_event(campaign_id=campaign.id, **new.model_dump())).id


async def event_page(p: Page, data: dict[str, Any]) -> Response:
    """One event: its routes and stations with participation; add either; settle."""
    event = await event_of(p.me(), p.request.path_params["event_id"])
    settled = None
    if p.posted:
        settled = await p.attempt(_event_action(p, event.id, data))
        if settled is None and p.error is None:
            return p.redirect(f"/events/{event.id}")
    return p.render(
        "event.html",
        settled=settled,
        counts=await events.participation(event_id=event.id),
        event=await events.event(event_id=event.id),
    )


async def _event_action(p: Page, event_id: int, data: dict[str, Any]) -> int | None:
    """Add a station or a route (None), or settle: how many participants were credited."""
    action = data.get("action")
    if action == "station":
        name = str(data.get("name", "")).strip() or "—"
        station = form_model(forms.NewStation, data, name=name)
        await events.add_station(event_id=event_id, **station.model_dump())
    elif action == "route":
        await _add_route(p, event_id, data)
    elif action == "settle":
        return await settle_event(event_id=event_id, parser=p.parser)
    else:
        raise InvalidInput("action", "unknown", "未知操作")
    return None


async def _add_route(p: Page, event_id: int, data: dict[str, Any]) -> None:
    """A route from its uploaded GPX file; the other fields as the API's route model reads
    them."""
    route = form_model(
        forms.RouteFields,
        data,
        name=str(data.get("name", "")).strip() or "—",
        group=str(data.get("group", "adult")),
        sport="walk" if data.get("sport") == "walk" else "run",
    )
    upload = data.get("gpx")
    raw = await upload.read(MAX_ROUTE_BYTES + 1) if isinstance(upload, UploadFile) else b""
    points, length = await p.parser.route(raw)
    await events.add_route(
        event_id=event_id, points=points, distance_m=length, **route.model_dump()
    )
