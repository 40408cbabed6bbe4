"""Event day pages: the page a station's QR code opens on a resident's phone, and the
organizer's printable sheet of station codes."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.platform import accounts, events
from warmrun.platform.errors import InvalidStationCode, NotFound, WarmrunError
from warmrun.platform.models import Event, EventStation, Resident
from warmrun.web import codes
from warmrun.web.errors import status_of
from warmrun.web.pages.base import Page, form_int
from warmrun.web.presenters import qr_svg
from warmrun.web.routes.events import check_in_with_token


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
    event = await Event.get_or_none(id=p.request.path_params["event_id"])
    if event is None or not await accounts.covers_city(p.me(), event.city_id):
        raise NotFound("event", "活动日")
    tz = await events.event_timezone(event)
    base = (p.settings.public_url or str(p.request.base_url)).rstrip("/")
    sheets = []
    for s in await EventStation.filter(event_id=event.id).order_by("id"):
        token = codes.station_token(str(p.settings.secret_key), station_id=s.id, event=event, tz=tz)
        sheets.append({"station": s, "qr": qr_svg(f"{base}/checkin/{token}").decode()})
    return p.render("stations_print.html", event=event, sheets=sheets)
