"""Importing runs on a real database: credit, duplicates, overlap, review, outbox."""

from __future__ import annotations

import asyncio
import zlib

import pytest

from tests.integration.factory import START, run_file, upload, world
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform import campaigns, runs, settlement
from warmrun.platform.models import (
    CampaignState,
    Contribution,
    Outbox,
    PointsEntry,
    Resident,
    Run,
    RunFile,
)

pytestmark = pytest.mark.usefixtures("database")


async def test_accepted_run_is_credited_with_money_points_and_outbox() -> None:
    w = await world()
    (result,) = await upload(w.alice.id, run_file())
    assert result.outcome is not None and result.outcome.run.verdict == "accepted"
    c = await Contribution.get(run_id=result.outcome.run.id)
    assert c.metres == result.outcome.run.credited_m
    assert c.value_fen == c.metres * 50 // 1000 == c.funded_fen
    alice = await Resident.get(id=w.alice.id)
    assert alice.points_balance == c.metres * 10 // 1000 + 5
    assert await Outbox.filter(topic="contribution").count() == 1


async def test_second_upload_of_same_file_is_not_credited_twice() -> None:
    w = await world()
    data = run_file()
    (first,) = await upload(w.alice.id, data)
    (second,) = await upload(w.alice.id, data)
    assert second.outcome is not None and second.outcome.existing
    assert second.outcome.run.id == first.outcome.run.id  # type: ignore[union-attr]
    assert await Contribution.all().count() == 1


async def test_same_points_from_another_export_is_a_duplicate() -> None:
    w = await world()
    data = run_file()
    await upload(w.alice.id, data)
    other = data.replace(b'creator="warmrun-synthetic"', b'creator="another-tool"')
    (result,) = await upload(w.alice.id, other, "export2.gpx")
    assert result.error is not None and result.error.code == "duplicate_run"
    assert await Run.all().count() == 1


async def test_overlapping_run_of_same_resident_is_not_credited() -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    (result,) = await upload(w.alice.id, run_file(seed=2, minutes_after=5))
    assert result.outcome is not None
    assert result.outcome.run.verdict == "rejected"
    assert "overlap" in result.outcome.run.reasons
    assert await Contribution.all().count() == 1


async def test_a_run_is_placed_in_the_city_it_starts_in() -> None:
    w = await world()
    (here,) = await upload(w.alice.id, run_file())
    far = synthetic_run_gpx(points=1200, start=START, seed=3, lat=39.9042, lon=116.4074)
    (away,) = await upload(w.bob.id, far)
    assert here.outcome is not None and here.outcome.run.start_city_id == w.city_id
    assert away.outcome is not None and away.outcome.run.start_city_id is None


async def test_same_track_from_two_residents_flags_both() -> None:
    w = await world()
    data = run_file()
    await upload(w.alice.id, data)
    (result,) = await upload(w.bob.id, data)
    assert result.outcome is not None and result.outcome.run.verdict == "flagged"
    verdicts = sorted(r.verdict for r in await Run.all())
    assert verdicts == ["flagged", "flagged"]
    total = await campaigns.totals(campaign_id=w.campaign.id)
    assert total[None].metres == 0  # the first credit was reversed


async def test_ten_concurrent_uploads_of_one_file_credit_one_run() -> None:
    w = await world()
    data = run_file()
    results = await asyncio.gather(*(upload(w.alice.id, data) for _ in range(10)))
    ids = {r[0].outcome.run.id for r in results if r[0].outcome is not None}
    assert len(ids) == 1
    assert await Run.all().count() == 1
    assert await Contribution.all().count() == 1
    assert await PointsEntry.all().count() == 1


async def test_organizer_accepting_a_flagged_run_credits_it() -> None:
    w = await world()
    data = run_file()
    await upload(w.alice.id, data)
    (flagged,) = await upload(w.bob.id, data)
    run_id = flagged.outcome.run.id  # type: ignore[union-attr]
    await runs.review(run_id=run_id, accept=True, note="checked with the resident")
    run = await Run.get(id=run_id)
    assert run.verdict == "accepted"
    assert await Contribution.filter(run_id=run_id, kind="run").count() == 1


async def test_rejecting_a_credited_run_reverses_credit_and_points() -> None:
    w = await world()
    (result,) = await upload(w.alice.id, run_file())
    run_id = result.outcome.run.id  # type: ignore[union-attr]
    await runs.review(run_id=run_id, accept=False, note="car")
    total = await campaigns.totals(campaign_id=w.campaign.id)
    assert total[None].metres == 0 and total[None].funded_fen == 0
    assert (await Resident.get(id=w.alice.id)).points_balance == 0
    assert await Contribution.filter(kind="reversal").count() == 1


async def test_original_file_is_kept_compressed() -> None:
    w = await world()
    data = run_file()
    (result,) = await upload(w.alice.id, data)
    run_id = result.outcome.run.id  # type: ignore[union-attr]
    stored = await RunFile.get(run_id=run_id)
    assert len(stored.data) < len(data)
    assert await runs.original_bytes(run_id=run_id) == data


async def test_a_file_stored_zlib_compressed_before_reads_back() -> None:
    w = await world()
    data = run_file()
    (result,) = await upload(w.alice.id, data)
    run_id = result.outcome.run.id  # type: ignore[union-attr]
    await RunFile.filter(run_id=run_id).update(data=zlib.compress(data, 1))
    assert await runs.original_bytes(run_id=run_id) == data


async def test_rejected_file_stores_nothing() -> None:
    w = await world()
    (result,) = await upload(w.alice.id, b"<gpx><trk><trkseg><trkpt lat='1'")
    assert result.error is not None and result.error.code == "corrupt_file"
    assert await Run.all().count() == 0


async def test_daily_cap_limits_value_per_resident_and_day() -> None:
    w = await world(daily_cap_fen=300)
    await upload(w.alice.id, run_file(seed=1))
    await upload(w.alice.id, run_file(seed=2, minutes_after=60))
    values = [c.value_fen for c in await Contribution.all().order_by("id")]
    assert sum(values) == 300


async def test_pledge_cap_is_never_exceeded() -> None:
    w = await world(cap_fen=250)
    await upload(w.alice.id, run_file(seed=1))
    await upload(w.bob.id, run_file(seed=2, minutes_after=3))
    total = await campaigns.totals(campaign_id=w.campaign.id)
    assert total[None].funded_fen == 250
    assert total[None].value_fen > 250


async def test_accepting_a_run_whose_credit_was_reversed_credits_it_again() -> None:
    # Alice's run is credited; Bob uploads the same track, which flags both and reverses
    # Alice's credit. An organizer then accepts Alice's run: it is credited a second time,
    # with its own keys, and every total adds up.
    w = await world()
    data = run_file()
    (first,) = await upload(w.alice.id, data)
    await upload(w.bob.id, data)
    run_id = first.outcome.run.id  # type: ignore[union-attr]
    points_before = (await Resident.get(id=w.alice.id)).points_balance
    await runs.review(run_id=run_id, accept=True, note="her own run")
    rows = await Contribution.filter(run_id=run_id).order_by("id")
    assert [r.kind for r in rows] == ["run", "reversal", "run"]
    total = await campaigns.totals(campaign_id=w.campaign.id)
    assert total[None].metres == rows[0].metres
    assert (await Resident.get(id=w.alice.id)).points_balance > points_before
    await settlement.verify(campaign_id=w.campaign.id)


async def test_concurrent_uploads_of_one_resident_never_pass_the_daily_cap() -> None:
    # The cap is read and then written: the resident's row lock orders these six credits.
    w = await world(daily_cap_fen=500)
    files = [run_file(seed=i + 1, minutes_after=30 * i) for i in range(6)]
    results = await asyncio.gather(*(upload(w.alice.id, f) for f in files))
    assert all(r[0].outcome is not None for r in results)
    values = await Contribution.filter(resident_ref=f"resident:{w.alice.id}").values_list(
        "value_fen", flat=True
    )
    assert len(values) == 6
    assert sum(values) == 500


async def test_uploads_racing_a_campaign_close_are_all_stored_and_the_chain_verifies() -> None:
    w = await world()
    files = [run_file(seed=i + 1, minutes_after=30 * i) for i in range(8)]

    async def close_midway() -> None:
        await asyncio.sleep(0)
        await campaigns.advance(campaign_id=w.campaign.id, to=CampaignState.CLOSED)

    results = await asyncio.gather(*(upload(w.alice.id, f) for f in files), close_midway())
    assert all(r[0].outcome is not None for r in results[:-1])
    assert await Run.all().count() == 8
    credited = await Contribution.filter(kind="run").count()
    assert credited == await Outbox.filter(topic="contribution").count()
    assert (await settlement.verify(campaign_id=w.campaign.id)).entries == credited


async def test_a_run_knows_its_energy_from_the_residents_body_mass() -> None:
    w = await world()  # Alice weighs 60 kg
    (o,) = await upload(w.alice.id, run_file(seed=1))
    assert o.outcome is not None
    run = o.outcome.run
    assert run.kcal == round(1.036 * 60 * run.credited_m / 1000) > 0
