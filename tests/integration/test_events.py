"""Event day on the real database: check-ins once under concurrent scans, route following on a
real and a synthetic track, and the participation settlement in the contribution ledger."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.conftest import DATA, PARSER
from tests.integration.factory import START, World, run_file, upload, world
from warmrun.config import Limits
from warmrun.integrations.event_day import followers, parse_route_gpx, settle_event
from warmrun.integrations.readers.registry import read_any
from warmrun.platform import clock, events, settlement
from warmrun.platform.errors import EventClosed
from warmrun.platform.geo import follows, route_coverage
from warmrun.platform.models import CheckIn, Contribution, Event, EventFinish, PointsEntry
from warmrun.platform.tracks import Track

pytestmark = pytest.mark.usefixtures("database")
RUN_GPX = DATA / "gpx" / "togeojson__run.gpx"


def route_gpx(points: list[tuple[float, float]]) -> bytes:
    pts = "".join(f'<rtept lat="{lat:.6f}" lon="{lon:.6f}"/>' for lat, lon in points)
    return (
        '<?xml version="1.0"?><gpx version="1.1" creator="organizer" '
        f'xmlns="http://www.topografix.com/GPX/1/1"><rte><name>6 km</name>{pts}</rte></gpx>'
    ).encode()


def track_of(data: bytes) -> Track:
    (parsed,) = read_any(data, "run.gpx", Limits())
    assert parsed.track is not None
    return parsed.track


async def event_on_start_day(
    w: World, *, credit_mode: str = "flat", participant_fen: int = 0
) -> Event:
    clock.set_clock(lambda: START + timedelta(hours=3))
    return await events.create_event(
        campaign_id=w.campaign.id,
        city_id=w.city_id,
        name="Wetland run",
        day=START.date(),
        credit_mode=credit_mode,
        participant_fen=participant_fen,
    )


async def test_concurrent_scans_check_a_resident_in_once_and_award_points_once() -> None:
    w = await world()
    event = await event_on_start_day(w)
    station = await events.add_station(event_id=event.id, name="First aid", points=20)
    outcomes = await asyncio.gather(
        *(
            events.check_in(station_id=station.id, resident_id=w.alice.id, via="scan")
            for _ in range(20)
        )
    )
    assert sum(o.new for o in outcomes) == 1
    assert await CheckIn.filter(station_id=station.id).count() == 1
    entries = await PointsEntry.filter(resident_id=w.alice.id, reason="check_in")
    assert [e.delta for e in entries] == [20]


async def test_check_in_is_open_on_the_event_day_only() -> None:
    w = await world()
    event = await event_on_start_day(w)
    station = await events.add_station(event_id=event.id, name="Quiz", points=5)
    clock.set_clock(lambda: START + timedelta(days=1, hours=3))
    with pytest.raises(EventClosed):
        await events.check_in(station_id=station.id, resident_id=w.alice.id, via="scan")


def test_a_real_track_follows_a_route_drawn_along_it_and_not_one_beside_it() -> None:
    track = track_of(RUN_GPX.read_bytes())
    route = list(zip(track.lat[::10].tolist(), track.lon[::10].tolist(), strict=True))
    points, length = parse_route_gpx(route_gpx(route))
    assert length > 1000 and len(points) == len(route)
    assert follows(points, track.lat, track.lon)
    beside = [(lat + 0.003, lon + 0.003) for lat, lon in points]  # ~420 m away
    assert not follows(beside, track.lat, track.lon)
    assert route_coverage(beside, track.lat, track.lon) < 0.5
    half = slice(0, len(track) // 2)
    assert not follows(points, track.lat[half], track.lon[half])


def test_a_synthetic_track_with_gps_noise_still_follows_its_route() -> None:
    track = track_of(run_file(seed=3))
    rng = np.random.default_rng(7)
    noisy_lat = track.lat + rng.normal(0, 0.0001, len(track))  # ~11 m of noise
    route = list(zip(track.lat[::20].tolist(), track.lon[::20].tolist(), strict=True))
    assert follows(route, noisy_lat, track.lon)


def test_a_real_route_file_parses_and_a_hostile_one_is_refused() -> None:
    points, length = parse_route_gpx((DATA / "gpx" / "gpxpy__route.gpx").read_bytes())
    assert len(points) >= 2 and length > 0
    from warmrun.platform.errors import InvalidInput

    with pytest.raises(InvalidInput):
        parse_route_gpx(b'<!DOCTYPE x [<!ENTITY a "b">]><gpx>&a;</gpx>')


def test_a_route_file_with_a_doctype_is_refused() -> None:
    from warmrun.platform.errors import InvalidInput

    route = (DATA / "gpx" / "gpxpy__route.gpx").read_bytes()
    head, _, rest = route.partition(b"<gpx")
    with pytest.raises(InvalidInput):
        parse_route_gpx(head + b"<!DOCTYPE gpx>" + b"<gpx" + rest)


def test_a_route_file_full_of_namespace_words_is_refused_before_gpxpy() -> None:
    from warmrun.platform.errors import InvalidInput

    route = (DATA / "gpx" / "gpxpy__route.gpx").read_bytes()
    head, _, rest = route.partition(b"<rte>")
    stuffed = head + b"<desc>" + b" xmlns" * 20_000 + b"</desc><rte>" + rest
    with pytest.raises(InvalidInput) as info:
        parse_route_gpx(stuffed)
    assert "namespace" in info.value.message("en")


async def test_flat_settlement_credits_each_participant_once_and_shows_it_separately() -> None:
    w = await world()
    event = await event_on_start_day(w, participant_fen=500)
    a = await events.add_station(event_id=event.id, name="Anti-fraud booth", points=5)
    b = await events.add_station(event_id=event.id, name="Pet ring-toss", points=5)
    for s in (a, b):
        await events.check_in(station_id=s.id, resident_id=w.alice.id, via="scan")
    await events.check_in(station_id=a.id, resident_id=w.bob.id, via="staff")
    assert await settle_event(event_id=event.id, parser=PARSER) == 2
    assert await settle_event(event_id=event.id, parser=PARSER) == 0  # a repeat: nothing
    offline = await events.offline_totals(campaign_id=w.campaign.id)
    assert offline["participants"] == 2 and offline["value_fen"] == 1_000
    report = await settlement.report(campaign_id=w.campaign.id)
    assert report["offline"]["value_fen"] == 1_000
    await settlement.verify(campaign_id=w.campaign.id)  # the chain still holds
    counts = await events.participation(event_id=event.id)
    assert counts.participants == 2
    assert [s["check_ins"] for s in counts.stations] == [2, 1]


async def test_route_settlement_tops_a_followed_track_up_to_the_route_distance() -> None:
    w = await world()
    data = run_file(seed=4)
    (outcome,) = await upload(w.alice.id, data)
    assert outcome.outcome is not None and outcome.outcome.credited_m > 0
    online = outcome.outcome.credited_m
    event = await event_on_start_day(w, credit_mode="route")
    track = track_of(data)
    route_points = list(zip(track.lat[::20].tolist(), track.lon[::20].tolist(), strict=True))
    route = await events.add_route(
        event_id=event.id,
        name="Adults 6 km",
        group="adult",
        sport="run",
        points=route_points,
        distance_m=online + 700,  # the official distance is longer than the GPS measured
    )
    found = await followers(event_id=event.id, parser=PARSER)
    assert [(f.resident_id, f.route_id) for f in found] == [(w.alice.id, route.id)]
    assert await settle_event(event_id=event.id, parser=PARSER) == 1
    rows = await Contribution.filter(kind="offline")
    assert [r.metres for r in rows] == [700]  # the route's distance counts once in all
    finish = await EventFinish.get(resident_id=w.alice.id)
    assert finish.route_id == route.id
    counts = await events.participation(event_id=event.id)
    assert counts.routes[0]["finishers"] == 1


async def test_a_resident_who_only_ran_elsewhere_that_day_is_not_a_route_finisher() -> None:
    w = await world()
    (outcome,) = await upload(w.alice.id, run_file(seed=6))
    assert outcome.outcome is not None
    event = await event_on_start_day(w, credit_mode="route")
    far = [(31.0 + i * 0.0005, 121.0) for i in range(50)]
    await events.add_route(
        event_id=event.id, name="Seniors", group="senior", sport="walk", points=far, distance_m=2500
    )
    assert await followers(event_id=event.id, parser=PARSER) == []
    assert datetime.now(UTC) > START  # the run is in the past; the event day is START's
