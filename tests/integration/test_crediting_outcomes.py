"""What crediting tells a resident, on a real database: a run that counts nowhere says why
(its dates, a closed or unopened campaign, no campaign at all), caps say what they held back,
duplicates name the earlier run, and a stored run reads back as its upload said."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.integration.factory import START, run_file, upload, world
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform import campaigns, run_results, runs, views
from warmrun.platform.models import CampaignState, Contribution, Resident, Run
from warmrun.platform.outcome_texts import sentence
from warmrun.platform.outcomes import Kind, Status

pytestmark = pytest.mark.usefixtures("database")


async def told_again(run_id: int) -> Kind:
    """The outcome a later page reads from the stored run."""
    return (await run_results.outcome_of(await views.run(run_id=run_id))).kind


async def test_a_credited_upload_names_its_campaign_km_kcal_and_points() -> None:
    w = await world()
    (item,) = await upload(w.alice.id, run_file())
    o = item.told
    assert o.kind is Kind.CREDITED and o.status is Status.CREDITED
    c = await Contribution.get(run_id=item.outcome.run.id)  # type: ignore[union-attr]
    alice = await Resident.get(id=w.alice.id)
    assert (o.credited_m, o.kcal, o.points) == (c.metres, c.kcal, alice.points_balance)
    assert o.credits[0].name == "Warm run" and o.value_fen == c.value_fen
    assert sentence(o, "zh-CN").startswith("已计入“Warm run”：")
    assert f"+{alice.points_balance} points" in sentence(o, "en")


async def test_a_run_before_the_campaign_says_so_and_credits_nothing() -> None:
    w = await world()  # the campaign runs from 1 November 2025
    early = synthetic_run_gpx(points=1200, start=START - timedelta(days=10), seed=4)
    (item,) = await upload(w.alice.id, early)
    o = item.told
    assert o.kind is Kind.OUTSIDE_DATES and o.status is Status.NOT_COUNTED
    assert o.campaign is not None and o.campaign.name == "Warm run"
    assert o.day == date(2025, 10, 23)
    assert "1 Nov 2025 to 31 Dec 2025" in sentence(o, "en")
    assert "0.0" not in sentence(o, "zh-CN")
    assert await Contribution.all().count() == 0
    assert item.outcome is not None
    assert item.outcome.run.reasons == [f"outside_dates:{w.campaign.id}"]  # as stored
    run = await Run.get(id=item.outcome.run.id)
    assert run.verdict == "accepted" and f"outside_dates:{w.campaign.id}" in run.reasons
    assert await told_again(run.id) is Kind.OUTSIDE_DATES


async def test_a_run_uploaded_after_the_campaign_closed_says_it_closed() -> None:
    w = await world()
    await campaigns.advance(campaign_id=w.campaign.id, to=CampaignState.CLOSED)
    (item,) = await upload(w.alice.id, run_file())
    assert item.told.kind is Kind.CAMPAIGN_CLOSED
    assert "已经结束" in sentence(item.told, "zh-CN")
    assert await Contribution.all().count() == 0


async def new_compound(*, campaign_dates: tuple[date, date] | None) -> int:
    """A resident in a city of their own, with a campaign still in draft (or none)."""
    city = await campaigns.create_city(code="CQ", name_zh="重庆", name_en="Chongqing")
    compound = await campaigns.create_compound(city_id=city.id, name="湖畔雅苑", households=10)
    if campaign_dates is not None:
        partner = await campaigns.create_partner(name="Another")
        goods = await campaigns.create_item(
            code="hat", name_zh="帽子", name_en="Hat", unit_price_fen=1000
        )
        await campaigns.create_campaign(
            code="c2",
            name="Spring run",
            partner_id=partner.id,
            goods_id=goods.id,
            starts_on=campaign_dates[0],
            ends_on=campaign_dates[1],
            city_goals={city.id: 10_000},
        )
    resident = await campaigns.create_resident(compound_id=compound.id, display_name="Chen")
    return resident.id


async def test_a_campaign_not_yet_open_and_no_campaign_at_all_are_told_apart() -> None:
    await world()
    waiting = await new_compound(campaign_dates=(date(2025, 11, 1), date(2025, 11, 30)))
    (item,) = await upload(waiting, run_file(seed=5))
    assert item.told.kind is Kind.CAMPAIGN_NOT_OPEN
    assert "has not opened yet" in sentence(item.told, "en")
    city = await campaigns.create_city(code="XA", name_zh="西安", name_en="Xi'an")
    compound = await campaigns.create_compound(city_id=city.id, name="无活动", households=1)
    alone = await campaigns.create_resident(compound_id=compound.id, display_name="Wu")
    (item,) = await upload(alone.id, run_file(seed=6, minutes_after=90))
    assert item.told.kind is Kind.NO_CAMPAIGN
    assert await told_again(item.outcome.run.id) is Kind.NO_CAMPAIGN  # type: ignore[union-attr]


async def test_daily_caps_say_what_they_held_back() -> None:
    w = await world(daily_cap_fen=300)
    await campaigns.set_points_rule(
        campaign_id=w.campaign.id, points_per_km=10, points_per_run=5, daily_cap=40
    )
    await upload(w.alice.id, run_file(seed=1))
    (item,) = await upload(w.alice.id, run_file(seed=2, minutes_after=60))
    o = item.told
    assert o.kind is Kind.CREDITED
    kinds = {x.kind: x for x in o.limits}
    assert set(kinds) == {Kind.DAILY_MONEY_CAP, Kind.DAILY_POINTS_CAP}
    assert kinds[Kind.DAILY_MONEY_CAP].cap == 300 and kinds[Kind.DAILY_POINTS_CAP].cap == 40
    assert kinds[Kind.DAILY_POINTS_CAP].got == o.points
    assert "¥3.00" in sentence(o, "zh-CN") and "40 points" in sentence(o, "en")
    assert (await told_again(item.outcome.run.id)) is Kind.CREDITED  # type: ignore[union-attr]


async def test_a_duplicate_names_the_earlier_run_and_the_same_file_its_run() -> None:
    w = await world()
    data = run_file()
    (first,) = await upload(w.alice.id, data)
    first_id = first.outcome.run.id  # type: ignore[union-attr]
    other = data.replace(b'creator="warmrun-synthetic"', b'creator="another-tool"')
    (dup,) = await upload(w.alice.id, other, "export2.gpx")
    assert dup.told.kind is Kind.DUPLICATE and dup.told.run_id == first_id
    assert dup.told.day == date(2025, 11, 2)
    assert f"#{first_id}" in sentence(dup.told, "zh-CN")
    (again,) = await upload(w.alice.id, data)
    assert again.told.kind is Kind.ALREADY_UPLOADED and again.told.run_id == first_id
    assert again.told.status is Status.CREDITED and again.told.after is not None


async def test_review_outcomes_keep_the_review_and_the_organizers_note() -> None:
    w = await world()
    data = run_file()
    (first,) = await upload(w.alice.id, data)
    (second,) = await upload(w.bob.id, data)
    assert second.told.kind is Kind.IN_REVIEW and second.told.rules == ("shared_track",)
    assert "另一位居民上传了同一条轨迹" in sentence(second.told, "zh-CN")
    alice_run = first.outcome.run.id  # type: ignore[union-attr]
    bob_run = second.outcome.run.id  # type: ignore[union-attr]
    assert await told_again(alice_run) is Kind.IN_REVIEW  # flagged with Bob's upload
    await runs.review(run_id=alice_run, accept=True, note="her own run")
    accepted = await run_results.outcome_of(await views.run(run_id=alice_run))
    assert accepted.kind is Kind.REVIEW_ACCEPTED and accepted.status is Status.CREDITED
    assert accepted.points > 0 and "her own run" in sentence(accepted, "en")
    # Crediting after the review kept the review among the reasons.
    assert "reviewed" in (await Run.get(id=alice_run)).reasons
    await runs.review(run_id=bob_run, accept=False, note="copied")
    rejected = await run_results.outcome_of(await views.run(run_id=bob_run))
    assert rejected.kind is Kind.REVIEW_REJECTED and "“copied”" in sentence(rejected, "en")
