"""Challenges on the real database: standings from the ledger and points posted once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.integration.factory import START, run_file, upload, world
from warmrun.platform import campaigns, challenges, clock
from warmrun.platform.errors import InvalidInput
from warmrun.platform.models import PointsEntry

pytestmark = pytest.mark.usefixtures("database")


async def test_standings_rank_per_household_and_points_are_posted_once() -> None:
    w = await world()
    small = await campaigns.create_compound(city_id=w.city_id, name="小院", households=10)
    carol = await campaigns.create_resident(compound_id=small.id, display_name="Carol")
    for who, data in ((w.alice.id, run_file(seed=1)), (carol.id, run_file(seed=2, points=600))):
        (o,) = await upload(who, data)
        assert o.outcome is not None and o.outcome.credited_m > 0, (
            o.outcome.run.verdict,
            o.outcome.run.reasons,
        )
    c = await challenges.create_challenge(
        campaign_id=w.campaign.id,
        name="十一月挑战",
        compound_ids=[w.compound_id, small.id],
        starts_on=START.date(),
        ends_on=START.date() + timedelta(days=6),
        target_m_per_household=100,
        person_cap_m=50_000,
        points_per_km=2,
    )
    s = await challenges.standings(challenge_id=c.id)
    assert [t.compound_id for t in s.teams] == [small.id, w.compound_id]  # 10 homes beat 800
    clock.set_clock(lambda: START + timedelta(days=3))
    with pytest.raises(InvalidInput):
        await challenges.settle(challenge_id=c.id)  # not over yet
    clock.set_clock(lambda: START + timedelta(days=10))
    first = await asyncio.gather(*(challenges.settle(challenge_id=c.id) for _ in range(3)))
    assert sum(first) > 0
    assert await challenges.settle(challenge_id=c.id) == 0
    entries = await PointsEntry.filter(reason="challenge")
    assert sorted(e.resident_id for e in entries) == sorted([w.alice.id, carol.id])
