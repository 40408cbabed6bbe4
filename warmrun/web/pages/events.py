"""Event day pages: the page a station's QR code opens on a resident's phone, and the
organizer's printable sheet of station codes."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response

from warmrun.integrations.event_day import MAX_ROUTE_BYTES, settle_event
from warmrun.platform import accounts, events, views
from warmrun.platform.errors import (
    Forbidden,
    InvalidInput,
    InvalidStationCode,
    WarmrunError,
)
from warmrun.platform.models import Event, EventStation, Resident
from warmrun.web import codes, forms
from warmrun.web.errors import status_of
from warmrun.web.pages.base import Page, form_int, form_model, yuan_fields
from warmrun.web.presenters import qr_svg
from warmrun.web.routes.events import check_in_with_token, event_of, station_links


async def checkin_page(p: Page, data: dict[str, Any]) -> Response:
    """Opened by scanning a station's code: one tap checks in (the resident, or a child)."""
    token = p.request.path_params["token"]
    secret = str(p.settings.secret_key)
    resident_id = p.resident_id()
    station_id, _ = codes.read_station_token(secret, token)
    station, event = await events.station(station_id)
    wards = await Resident.filter(guardian_id=resident_id, erased_at=None).order_by("id")
    done = None
    error = None
    if p.request.method == "POST":
        try:
            done = await check_in_with_token(
                secret,
                token=token,
                resident_id=resident_id,
                for_resident=form_int(data, "for_resident_id", required=False),
            )
        except InvalidStationCode:
            raise
        except WarmrunError as exc:
            error = exc.message(p.lang)
            return p.render(
                "checkin.html",
                status=status_of(exc),
                station=station,
                event=event,
                wards=wards,
                done=None,
                error=error,
            )
    return p.render(
        "checkin.html", station=station, event=event, wards=wards, done=done, error=error
    )


async def print_page(p: Page, _: dict[str, Any]) -> Response:
    """Every station's code of an event on one printable page, one station per sheet."""
    event = await event_of(p.me(), p.request.path_params["event_id"])
    stations = await EventStation.filter(event_id=event.id).order_by("id")
    links = await station_links(p.request, event, [s.id for s in stations])
    sheets = [{"station": s, "qr": qr_svg(links[s.id]).decode()} for s in stations]
    return p.render("stations_print.html", event=event, sheets=sheets)


async def events_page(p: Page, data: dict[str, Any]) -> Response:
    """The organizer's event days: the list, and a new event in one of their cities."""
    account = p.me()
    scope = await accounts.organizer_city_ids(account)
    error, status = None, 200
    if p.request.method == "POST":
        try:
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
            if scope is not None and new.city_id not in scope:
                raise Forbidden()
            campaign = await views.campaign_summary(code=str(data.get("campaign", "")))
            event = await events.create_event(campaign_id=campaign.id, **new.model_dump())
            return p.redirect(f"/events/{event.id}")
        except WarmrunError as exc:
            error, status = exc.message(p.lang), status_of(exc)
    query = Event.all() if scope is None else Event.filter(city_id__in=list(scope))
    listed = await query.order_by("-day", "-id").limit(100)
    places = await views.places(city_ids=scope)
    cities = {(x.city_id, x.city_zh, x.city_en) for x in places}
    return p.render(
        "events.html",
        status=status,
        error=error,
        events=listed,
        campaigns=await views.campaign_list(),
        cities=sorted(cities),
    )


async def event_page(p: Page, data: dict[str, Any]) -> Response:
    """One event: its routes and stations with participation; add either; settle."""
    event = await event_of(p.me(), p.request.path_params["event_id"])
    error, status, notice = None, 200, None
    if p.request.method == "POST":
        action = data.get("action")
        try:
            if action == "station":
                station = form_model(
                    forms.NewStation, data, name=str(data.get("name", "")).strip() or "—"
                )
                await events.add_station(event_id=event.id, **station.model_dump())
            elif action == "route":
                upload = data.get("gpx")
                raw = (
                    await upload.read(MAX_ROUTE_BYTES + 1)
                    if isinstance(upload, UploadFile)
                    else b""
                )
                points, length = await p.parser.route(raw)
                await events.add_route(
                    event_id=event.id,
                    name=str(data.get("name", "")).strip() or "—",
                    group=str(data.get("group", "adult")),
                    sport="walk" if data.get("sport") == "walk" else "run",
                    points=points,
                    distance_m=length,
                )
            elif action == "settle":
                n = await settle_event(event_id=event.id, parser=p.parser)
                notice = n
            else:
                raise InvalidInput("action", "unknown", "未知操作")
            if notice is None:
                return p.redirect(f"/events/{event.id}")
        except WarmrunError as exc:
            error, status = exc.message(p.lang), status_of(exc)
    counts = await events.participation(event_id=event.id)
    return p.render(
        "event.html",
        status=status,
        error=error,
        settled=notice,
        event=await Event.get(id=event.id),
        counts=counts,
    )
