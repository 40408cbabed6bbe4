"""Setting up an event day: the day itself, its routes and its check-in stations (each
recorded in the audit log)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tortoise.transactions import in_transaction

from warmrun.platform import audit
from warmrun.platform.campaigns import get_campaign
from warmrun.platform.errors import InvalidInput, NotFound
from warmrun.platform.geo import encode_polyline
from warmrun.platform.models import CampaignCity, Event, EventRoute, EventStation

GROUPS = ("family", "senior", "adult")
VIA = ("scan", "staff", "guardian")
MODES = ("flat", "route")


async def create_event(
    *,
    campaign_id: int,
    city_id: int,
    name: str,
    day: date,
    place: str = "",
    credit_mode: str = "flat",
    participant_fen: int = 0,
) -> Event:
    campaign = await get_campaign(campaign_id=campaign_id)
    if not await CampaignCity.filter(campaign_id=campaign_id, city_id=city_id).exists():
        raise InvalidInput("city_id", "not a city of this campaign", "不是本活动的城市")
    if not campaign.starts_on <= day <= campaign.ends_on:
        raise InvalidInput("day", "outside the campaign's dates", "不在活动日期内")
    if credit_mode not in MODES:
        raise InvalidInput("credit_mode", "flat or route", "flat 或 route")
    if participant_fen < 0:
        raise InvalidInput("participant_fen", "must not be negative", "不能为负数")
    async with in_transaction() as conn:
        event = await Event.create(
            campaign_id=campaign_id,
            city_id=city_id,
            name=name.strip()[:128],
            day=day,
            place=place.strip()[:200],
            credit_mode=credit_mode,
            participant_fen=participant_fen,
            using_db=conn,
        )
        after = {"day": str(day), "credit_mode": credit_mode, "participant_fen": participant_fen}
        await audit.record(
            conn,
            "event.create",
            campaign_id=campaign_id,
            city_id=city_id,
            subject=event.name,
            after=after,
        )
    return event


async def add_route(
    *,
    event_id: int,
    name: str,
    group: str,
    sport: str,
    points: Sequence[tuple[float, float]],
    distance_m: float,
) -> EventRoute:
    """A route from its points (parsed from the organizer's GPX by the integration)."""
    if group not in GROUPS:
        raise InvalidInput("group", "family, senior or adult", "亲子、长者或成人")
    if sport not in ("run", "walk"):
        raise InvalidInput("sport", "run or walk", "跑步或步行")
    if len(points) < 2 or distance_m <= 0:
        raise InvalidInput("gpx", "the route has no length", "路线没有长度")
    await event_row(event_id)
    return await EventRoute.create(
        event_id=event_id,
        name=name.strip()[:128],
        group=group,
        sport=sport,
        distance_m=round(distance_m),
        line=encode_polyline(list(points)),
    )


async def add_station(*, event_id: int, name: str, points: int) -> EventStation:
    if points < 0:
        raise InvalidInput("points", "must not be negative", "不能为负数")
    event = await event_row(event_id)
    async with in_transaction() as conn:
        station = await EventStation.create(
            event_id=event_id, name=name.strip()[:128], points=points, using_db=conn
        )
        await audit.record(
            conn,
            "station.add",
            campaign_id=event.campaign_id,
            city_id=event.city_id,
            subject=f"{event.name} · {station.name}",
            after={"points": points},
        )
    return station


async def event_row(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound("event", "活动日")
    return event
