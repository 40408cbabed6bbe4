"""Offline event days: routes per age group, stations with check-ins, and the participation
settlement that folds them into the campaign's contribution ledger.

A check-in is one row per (station, resident): concurrent scans of the same resident at the
same station insert once, the others find it there. Station points are posted under a key
naming the pair, so they are awarded once as well. Settlement credits every participant once
per event under ``event:{id}:resident:{rid}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from warmrun.platform import badges, clock, families, points_ledger, rollups, sql
from warmrun.platform.campaigns import get_campaign
from warmrun.platform.crediting import credit_offline, lock_campaign, offline_value
from warmrun.platform.earning import local_day
from warmrun.platform.errors import CampaignStateError, EventClosed, InvalidInput, NotFound
from warmrun.platform.event_setup import GROUPS as GROUPS
from warmrun.platform.event_setup import MODES as MODES
from warmrun.platform.event_setup import VIA as VIA
from warmrun.platform.event_setup import add_route as add_route
from warmrun.platform.event_setup import add_station as add_station
from warmrun.platform.event_setup import create_event as create_event
from warmrun.platform.event_setup import event_row as _event
from warmrun.platform.models import (
    CampaignCity,
    CampaignState,
    CheckIn,
    Compound,
    Event,
    EventFinish,
    EventRoute,
    EventStation,
    Resident,
)

# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventView:
    id: int
    campaign_id: int
    city_id: int
    name: str
    day: date
    place: str
    credit_mode: str
    participant_fen: int
    settled_at: datetime | None


@dataclass(frozen=True)
class StationView:
    id: int
    event_id: int
    name: str
    points: int


@dataclass(frozen=True)
class RouteView:
    id: int
    name: str
    group: str
    sport: str
    distance_m: int


def _view(e: Event) -> EventView:
    return EventView(
        e.id, e.campaign_id, e.city_id, e.name, e.day, e.place, e.credit_mode,
        e.participant_fen, e.settled_at,
    )  # fmt: skip


def _station(s: EventStation) -> StationView:
    return StationView(id=s.id, event_id=s.event_id, name=s.name, points=s.points)


async def event(*, event_id: int) -> EventView:
    return _view(await _event(event_id))


async def events_in(*, city_ids: set[int] | None, limit: int = 100) -> list[EventView]:
    """Event days in ``city_ids`` (None: every city), the latest first."""
    query = Event.all() if city_ids is None else Event.filter(city_id__in=list(city_ids))
    return [_view(e) for e in await query.order_by("-day", "-id").limit(limit)]


async def station(station_id: int) -> tuple[StationView, EventView]:
    s = await EventStation.get_or_none(id=station_id)
    if s is None:
        raise NotFound("station", "打卡点")
    return _station(s), _view(await _event(s.event_id))


async def station_of(*, event_id: int, station_id: int) -> StationView:
    """A station of the event (not found: another event's, or none)."""
    s = await EventStation.get_or_none(id=station_id, event_id=event_id)
    if s is None:
        raise NotFound("station", "打卡点")
    return _station(s)


async def stations_of(*, event_id: int) -> list[StationView]:
    return [_station(s) for s in await EventStation.filter(event_id=event_id).order_by("id")]


async def routes_of(*, event_id: int) -> list[RouteView]:
    rows = await EventRoute.filter(event_id=event_id).order_by("id")
    return [RouteView(r.id, r.name, r.group, r.sport, r.distance_m) for r in rows]


async def event_timezone(event: Event | EventView) -> str:
    return (await get_campaign(campaign_id=event.campaign_id)).timezone


@dataclass(frozen=True)
class Ward:
    id: int
    display_name: str


async def wards_of(*, resident_id: int) -> list[Ward]:
    """The children a resident checks in as their guardian."""
    kids = await families.children(guardian_id=resident_id)
    return [Ward(id=c.id, display_name=c.display_name) for c in kids]


async def who_checks_in(*, resident_id: int, for_resident: int | None) -> tuple[int, str]:
    """Whom a resident checks in, and how: themselves ("scan"), or a child whose guardian
    they are ("guardian")."""
    who = await families.acting_for(resident_id=resident_id, for_resident=for_resident)
    return who, "scan" if who == resident_id else "guardian"


@dataclass(frozen=True)
class CheckInOutcome:
    station_id: int
    station: str
    resident_id: int
    new: bool  # False: already checked in here (a repeat scan changes nothing)
    points: int


async def check_in(*, station_id: int, resident_id: int, via: str) -> CheckInOutcome:
    """Check a resident in at a station on the event's day; once per station."""
    if via not in VIA:
        raise ValueError(via)
    s, event = await station(station_id)
    campaign = await get_campaign(campaign_id=event.campaign_id)
    if campaign.state != CampaignState.ACTIVE:
        raise CampaignStateError(state=campaign.state, needed="active")
    if local_day(clock.now(), campaign.timezone) != event.day:
        raise EventClosed(day=event.day.isoformat())
    resident = await Resident.get_or_none(id=resident_id, erased_at=None)
    if resident is None:
        raise NotFound("resident", "居民")
    city_id = (await Compound.get(id=resident.compound_id)).city_id
    if not await CampaignCity.filter(campaign_id=campaign.id, city_id=city_id).exists():
        raise InvalidInput("resident", "not in this campaign's cities", "不在本活动的城市")
    try:
        async with in_transaction() as conn:
            await CheckIn.create(
                station_id=s.id,
                resident_id=resident_id,
                via=via,
                created_at=clock.now(),
                using_db=conn,
            )
            if s.points > 0:
                await points_ledger.post(
                    conn,
                    resident_id=resident_id,
                    delta=s.points,
                    reason="check_in",
                    key=f"checkin:{s.id}:{resident_id}",
                    ref=f"event{event.id}:station{s.id}",
                )
            # Counted in the campaign's totals under its chain head's lock (taken after the
            # resident's row, as everywhere).
            await lock_campaign(conn, campaign.id)
            await rollups.add_checkin(conn, campaign.id, city_id, resident.compound_id, event.day)
    except IntegrityError:
        if not await CheckIn.filter(station_id=s.id, resident_id=resident_id).exists():
            raise
        return CheckInOutcome(s.id, s.name, resident_id, new=False, points=0)
    await badges.refresh(resident_id=resident_id)
    return CheckInOutcome(s.id, s.name, resident_id, new=True, points=s.points)


@dataclass(frozen=True)
class Participation:
    stations: list[dict[str, object]]  # id, name, points, check_ins
    routes: list[dict[str, object]]  # id, name, group, distance_m, finishers
    participants: int


async def participation(*, event_id: int) -> Participation:
    """Counts per station and per route, for the organizer after the event."""
    await _event(event_id)
    stations = (
        await EventStation.filter(event_id=event_id)
        .annotate(check_ins=Count("check_ins"))
        .order_by("id")
        .values("id", "name", "points", "check_ins")
    )
    routes = (
        await EventRoute.filter(event_id=event_id)
        .annotate(finishers=Count("finishes"))
        .order_by("id")
        .values("id", "name", "group", "distance_m", "finishers")
    )
    people = set(
        await CheckIn.filter(station__event_id=event_id).values_list("resident_id", flat=True)
    )
    people |= set(await EventFinish.filter(event_id=event_id).values_list("resident_id", flat=True))
    return Participation(stations=list(stations), routes=list(routes), participants=len(people))


@dataclass(frozen=True)
class Followed:
    """A participant's track of the event day that follows a route (found by the integration,
    which reads the recordings)."""

    resident_id: int
    route_id: int
    online_m: int  # what the following runs already earned online that day
    online_fen: int


async def settle(*, event_id: int, followed: Sequence[Followed]) -> int:
    """Credit every participant once: flat, or the distance of the route they followed.
    Returns how many contributions were written (0 on a repeat)."""
    event = await _event(event_id)
    campaign = await get_campaign(campaign_id=event.campaign_id)
    if campaign.state not in (CampaignState.ACTIVE, CampaignState.CLOSED):
        raise CampaignStateError(state=campaign.state, needed="active")
    routes = {r.id: r for r in await EventRoute.filter(event_id=event_id)}
    by_resident: dict[int, Followed] = {}
    for f in followed:
        best = by_resident.get(f.resident_id)
        if f.route_id in routes and (
            best is None or routes[f.route_id].distance_m > routes[best.route_id].distance_m
        ):
            by_resident[f.resident_id] = f
    checked = set(
        await CheckIn.filter(station__event_id=event_id).values_list("resident_id", flat=True)
    )
    written = 0
    for rid in sorted({int(str(r)) for r in checked} | set(by_resident)):
        resident = await Resident.get(id=rid)
        done_route = by_resident.get(rid)
        metres, value, sport, route_id = 0, 0, "event", None
        if event.credit_mode == "route":
            if done_route is None:
                continue  # took part at the stations only: counted, not credited
            route = routes[done_route.route_id]
            route_id, sport = route.id, route.sport
            metres = max(route.distance_m - done_route.online_m, 0)
            async with in_transaction() as conn:
                full = await offline_value(conn, campaign.id, route.sport, route.distance_m)
            value = max(full - done_route.online_fen, 0)
        else:
            value = event.participant_fen
            route_id = done_route.route_id if done_route is not None else None
        async with in_transaction() as conn:
            done = await credit_offline(
                conn,
                campaign_id=campaign.id,
                resident=resident,
                day=event.day,
                sport=sport,
                metres=metres,
                value=value,
                key=f"event:{event_id}:resident:{rid}",
            )
            if done is not None:
                await EventFinish.create(
                    event_id=event_id,
                    resident_id=rid,
                    route_id=route_id,
                    metres=metres,
                    value_fen=value,
                    using_db=conn,
                )
                written += 1
    await Event.filter(id=event_id, settled_at=None).update(settled_at=clock.now())
    return written


async def offline_totals(*, campaign_id: int) -> dict[str, int]:
    """What offline participation added to a campaign (shown to partners beside the runs)."""
    row = await sql.row(
        sql.default(),
        "SELECT COUNT(*) AS entries, COUNT(DISTINCT resident_ref) AS participants,"
        " COALESCE(SUM(metres), 0) AS metres, COALESCE(SUM(value_fen), 0) AS value_fen,"
        " COALESCE(SUM(funded_fen), 0) AS funded_fen FROM contribution"
        " WHERE campaign_id = ? AND kind = 'offline'",
        campaign_id,
    )
    return {
        k: int(row[k]) for k in ("entries", "participants", "metres", "value_fen", "funded_fen")
    }
