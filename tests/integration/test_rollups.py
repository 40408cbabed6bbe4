"""Campaign totals on the real database: written with every entry and check-in, equal to the
ledger's sums after credits, reversals and concurrent uploads, checked and rebuilt."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.integration.factory import START, run_file, upload, world
from warmrun.platform import campaigns, clock, events, rollups, runs, sql
from warmrun.platform.models import Contribution
from warmrun.platform.tally import OVERALL

pytestmark = pytest.mark.usefixtures("database")


async def ledger_sums(campaign_id: int) -> tuple[int, int, int, int]:
    rows = await Contribution.filter(campaign_id=campaign_id).values(
        "metres", "kcal", "value_fen", "funded_fen"
    )
    return (
        sum(r["metres"] for r in rows),
        sum(r["kcal"] for r in rows),
        sum(r["value_fen"] for r in rows),
        sum(r["funded_fen"] for r in rows),
    )


async def test_totals_equal_the_ledger_after_credits_and_a_reversal() -> None:
    w = await world()
    (a,) = await upload(w.alice.id, run_file(1))
    (b,) = await upload(w.bob.id, run_file(2, minutes_after=300))
    assert a.outcome is not None and b.outcome is not None
    await runs.review(run_id=b.outcome.run.id, accept=False, note="car")
    assert await rollups.check(w.campaign.id) == []
    overall = (await campaigns.totals(campaign_id=w.campaign.id))[None]
    assert (overall.metres, overall.kcal, overall.value_fen, overall.funded_fen) == (
        await ledger_sums(w.campaign.id)
    )
    assert overall.participants == 1  # Bob's only run was taken back
    assert overall.metres > 0


async def test_totals_per_city_and_compound_add_up_to_the_whole() -> None:
    w = await world()
    await upload(w.alice.id, run_file(1))
    await upload(w.bob.id, run_file(2, minutes_after=300))
    whole = (await campaigns.totals(campaign_id=w.campaign.id))[None]
    city = (await campaigns.totals(campaign_id=w.campaign.id, by="city"))[w.city_id]
    compound = (await campaigns.totals(campaign_id=w.campaign.id, by="compound"))[w.compound_id]
    assert whole == city == compound
    assert whole.participants == 2


async def test_uploads_at_once_leave_totals_equal_to_the_ledger() -> None:
    w = await world()
    files = [run_file(10 + i, minutes_after=200 * i) for i in range(6)]
    await asyncio.gather(
        *(upload(w.alice.id if i % 2 else w.bob.id, f) for i, f in enumerate(files))
    )
    assert await rollups.check(w.campaign.id) == []
    entries = (await rollups.area_totals(w.campaign.id))[OVERALL].sums.entries
    assert entries == await Contribution.filter(campaign_id=w.campaign.id).count()


async def test_a_check_in_is_counted_in_the_totals_of_its_day() -> None:
    w = await world()
    clock.set_clock(lambda: START + timedelta(hours=3))
    event = await events.create_event(
        campaign_id=w.campaign.id, city_id=w.city_id, name="Wetland run", day=START.date()
    )
    station = await events.add_station(event_id=event.id, name="Start", points=0)
    await events.check_in(station_id=station.id, resident_id=w.alice.id, via="scan")
    await events.check_in(station_id=station.id, resident_id=w.alice.id, via="scan")  # repeat
    assert (await rollups.area_totals(w.campaign.id))[OVERALL].checkins == 1
    assert await rollups.check(w.campaign.id) == []


async def test_check_names_a_changed_total_and_rebuild_restores_it() -> None:
    w = await world()
    await upload(w.alice.id, run_file(1))
    await sql.execute(
        sql.default(),
        "UPDATE area_total SET metres = metres + 1 WHERE campaign_id = ? AND compound_id <> 0",
        w.campaign.id,
    )
    wrong = await rollups.check(w.campaign.id)
    assert wrong and wrong[0].startswith(f"area ({w.city_id}, {w.compound_id})")
    await rollups.rebuild(w.campaign.id)
    assert await rollups.check(w.campaign.id) == []


async def test_heal_rebuilds_the_totals_of_a_campaign_that_has_none() -> None:
    w = await world()
    await upload(w.alice.id, run_file(1))
    before = await rollups.area_totals(w.campaign.id)
    for table in ("area_total", "day_total", "area_participant"):
        await sql.execute(sql.default(), f"DELETE FROM {table}")
    assert await rollups.heal() == [w.campaign.id]
    assert await rollups.area_totals(w.campaign.id) == before
    assert await rollups.heal() == []


async def test_dashboard_days_come_from_the_totals() -> None:
    w = await world()
    await upload(w.alice.id, run_file(1))
    days = await rollups.overall_days(w.campaign.id)
    assert [d for d, _ in days] == [START.date()]
    assert days[0][1].metres == (await ledger_sums(w.campaign.id))[0]
