"""GCJ-02 files on the real database: converted once as they are imported, so what is stored
(the start city, the original's system), maps and event days all see WGS-84; and the city a
run starts in, which the all-cities badge counts while the money stays with the home city."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.conftest import PARSER
from tests.gcj02_files import farthest_m, nearest_m, to_gcj02, track_of, written_by
from tests.integration.factory import START, run_file, world
from warmrun.integrations.event_day import followers
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform import badges, campaigns, clock, events, ingest
from warmrun.platform.coordinates import Choice
from warmrun.platform.geo import decode_polyline
from warmrun.platform.models import BadgeAward, CampaignState, Contribution, Resident, RunFile
from warmrun.platform.uploads import Upload

pytestmark = pytest.mark.usefixtures("database")


async def upload_as(
    resident_id: int, data: bytes, coords: Choice = Choice.AUTO
) -> ingest.FileOutcome:
    (item,) = await ingest.import_uploads(
        parser=PARSER,
        resident_id=resident_id,
        uploads=[Upload(name="run.gpx", data=data)],
        coords=coords,
    )
    assert item.outcome is not None, item.error
    return item


async def test_a_keep_file_is_stored_converted_and_maps_and_event_days_read_it_so() -> None:
    w = await world()
    true = track_of(run_file(seed=21))
    item = await upload_as(w.alice.id, to_gcj02(written_by(run_file(seed=21), "Keep")))
    assert item.reading is not None and item.reading.app == "keep" and item.reading.converted
    run = item.outcome.run  # type: ignore[union-attr]
    assert run.start_city_id == w.city_id and run.verdict == "accepted"
    assert (await RunFile.get(run_id=run.id)).format == "gpx+gcj"
    stored = await ingest.stored_track(parser=PARSER, run_id=run.id)
    assert stored is not None and farthest_m(stored, true) < 0.01
    line = decode_polyline(await ingest.map_line(parser=PARSER, run_id=run.id))
    assert len(line) > 10 and nearest_m(line, true) < 2.0  # 1e-5° rounding of the line
    clock.set_clock(lambda: START + timedelta(hours=3))
    event = await events.create_event(
        campaign_id=w.campaign.id, city_id=w.city_id, name="Wetland run", day=START.date()
    )
    route = list(zip(true.lat[::20].tolist(), true.lon[::20].tolist(), strict=True))
    await events.add_route(
        event_id=event.id, name="6 km", group="adult", sport="run", points=route, distance_m=900
    )
    found = await followers(event_id=event.id, parser=PARSER)
    assert [f.resident_id for f in found] == [w.alice.id]


async def test_the_same_keep_file_with_the_wgs84_choice_is_stored_as_is() -> None:
    w = await world()
    shifted = to_gcj02(written_by(run_file(seed=22), "Keep"))
    item = await upload_as(w.alice.id, shifted, Choice.WGS84)
    assert item.reading is not None and not item.reading.converted
    run_id = item.outcome.run.id  # type: ignore[union-attr]
    assert (await RunFile.get(run_id=run_id)).format == "gpx"
    stored = await ingest.stored_track(parser=PARSER, run_id=run_id)
    assert stored is not None and farthest_m(stored, track_of(shifted)) == 0
    assert farthest_m(stored, track_of(run_file(seed=22))) > 300


async def test_a_file_from_an_unknown_app_is_stored_as_is_by_default() -> None:
    w = await world()
    shifted = to_gcj02(written_by(run_file(seed=23), "SomeTracker"))
    item = await upload_as(w.alice.id, shifted)
    assert item.reading is not None and item.reading.app is None and not item.reading.converted
    run_id = item.outcome.run.id  # type: ignore[union-attr]
    assert (await RunFile.get(run_id=run_id)).format == "gpx"


# The demo's four cities: Wuxi's area overlaps Suzhou's (their centres 33 km apart).
CITIES = [
    ("SZ", "苏州", "Suzhou", 31.2989, 120.5853),
    ("WX", "无锡", "Wuxi", 31.4912, 120.3119),
    ("CQ", "重庆", "Chongqing", 29.5630, 106.5516),
    ("CD", "成都", "Chengdu", 30.5728, 104.0668),
]


async def four_city_campaign() -> tuple[int, list[int], Resident]:
    """A four-city campaign with its default badges and a resident of a Suzhou compound."""
    partner = await campaigns.create_partner(name="One Foundation")
    coat = await campaigns.create_item(
        code="coat", name_zh="棉服", name_en="Coat", unit_price_fen=12_000
    )
    cities = [
        await campaigns.create_city(code=c, name_zh=zh, name_en=en, lat=la, lon=lo)
        for c, zh, en, la, lo in CITIES
    ]
    c = await campaigns.create_campaign(
        code="four",
        name="Four-city warm run",
        partner_id=partner.id,
        goods_id=coat.id,
        starts_on=date(2025, 11, 1),
        ends_on=date(2025, 12, 31),
        city_goals={city.id: 365_000 for city in cities},
    )
    await campaigns.set_rule(campaign_id=c.id, sport="run", fen=50, per=1000)
    await campaigns.add_pledge(campaign_id=c.id, sponsor="Sponsor A", cap_fen=1_000_000)
    await campaigns.advance(campaign_id=c.id, to=CampaignState.ACTIVE)
    await badges.install_defaults(campaign_id=c.id)
    compound = await campaigns.create_compound(
        city_id=cities[0].id, name="天骄花园", households=800
    )
    resident = await campaigns.create_resident(compound_id=compound.id, display_name="Alice")
    return c.id, [city.id for city in cities], resident


async def run_in(resident: Resident, cities: list[tuple[float, float]]) -> None:
    """One run starting at each of ``cities``' centres, a day apart."""
    for day, (lat, lon) in enumerate(cities):
        data = synthetic_run_gpx(
            points=1200, start=START + timedelta(days=day), lat=lat, lon=lon, seed=30 + day
        )
        item = await upload_as(resident.id, data)
        assert item.outcome is not None and item.outcome.run.verdict == "accepted"


async def four_cities_held(resident: Resident) -> bool:
    await badges.refresh(resident_id=resident.id)
    return await BadgeAward.filter(
        resident_id=resident.id, badge__code="four-cities", revoked_at=None
    ).exists()


async def test_a_suzhou_resident_who_ran_in_all_four_cities_earns_the_badge() -> None:
    campaign_id, city_ids, alice = await four_city_campaign()
    await run_in(alice, [(la, lo) for *_, la, lo in CITIES])
    assert await four_cities_held(alice)
    # The money stays with her compound's city: every contribution, and the totals, are Suzhou's.
    assert {c.city_id for c in await Contribution.filter(campaign_id=campaign_id)} == {city_ids[0]}
    by_city = await campaigns.totals(campaign_id=campaign_id, by="city")
    assert set(by_city) == {city_ids[0]} and by_city[city_ids[0]].value_fen > 0


async def test_runs_in_three_of_the_four_cities_do_not_earn_it() -> None:
    _, _, alice = await four_city_campaign()
    await run_in(alice, [(la, lo) for *_, la, lo in CITIES[:3]])
    assert not await four_cities_held(alice)
