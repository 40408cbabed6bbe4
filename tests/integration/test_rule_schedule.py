"""Conversion rules that take effect from a chosen time: runs are credited under the version
in force when they started, and the public log still verifies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.factory import START, run_file, upload, world
from tests.integration.test_transparency import KEY, check, exported
from warmrun.platform import campaigns, clock, transparency
from warmrun.platform.errors import InvalidInput
from warmrun.platform.models import Contribution, Run
from warmrun.platform.rule_versions import Version, in_force, scheduled

T0 = datetime(2025, 11, 1, tzinfo=UTC)


def v(n: int, hours: int, fen: int) -> Version:
    return Version(n, T0 + timedelta(hours=hours), {"fen": fen})


def test_the_version_in_force_is_the_latest_to_have_started() -> None:
    versions = [v(1, 0, 50), v(2, 48, 100), v(3, 24, 70)]
    assert in_force(versions, T0 + timedelta(hours=30)).terms["fen"] == 70  # type: ignore[union-attr]
    assert in_force(versions, T0 + timedelta(hours=50)).terms["fen"] == 100  # type: ignore[union-attr]


def test_a_run_before_every_version_is_governed_by_the_earliest() -> None:
    found = in_force([v(1, 10, 50), v(2, 20, 60)], T0)
    assert found is not None and found.terms["fen"] == 50


def test_changes_to_come_are_listed_soonest_first() -> None:
    later = scheduled([v(1, 0, 50), v(2, 48, 100), v(3, 24, 70)], T0 + timedelta(hours=1))
    assert [x.version for x in later] == [3, 2]


@pytest.fixture
def clock_at(database: None) -> Iterator[list[datetime]]:
    now = [START - timedelta(days=2)]
    clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(None)


async def value_of(run_id: int) -> tuple[int, int]:
    run = await Run.get(id=run_id)
    c = await Contribution.get(run_id=run_id, kind="run")
    return run.credited_m, c.value_fen


async def test_a_scheduled_rule_credits_only_runs_that_start_after_its_time(
    clock_at: list[datetime], tmp_path: Path
) -> None:
    w = await world()  # 50 fen a km, from now (two days before the runs)
    await campaigns.set_rule(
        campaign_id=w.campaign.id,
        sport="run",
        fen=100,
        per=1000,
        effective_from=START + timedelta(hours=12),
    )
    clock_at[0] = START + timedelta(days=2)
    before = (await upload(w.alice.id, run_file(seed=1)))[0]
    after = (await upload(w.bob.id, run_file(seed=2, minutes_after=13 * 60)))[0]
    assert before.outcome is not None and after.outcome is not None
    metres, fen = await value_of(before.outcome.run.id)
    assert fen == metres * 50 // 1000
    metres, fen = await value_of(after.outcome.run.id)
    assert fen == metres * 100 // 1000
    cp = await transparency.checkpoint_now(campaign_id=w.campaign.id, key=KEY)
    status, out = check(await exported(w.campaign.id), tmp_path, cp.note)
    assert status == 0, out


async def test_a_rule_cannot_take_effect_in_the_past(clock_at: list[datetime]) -> None:
    w = await world()
    with pytest.raises(InvalidInput):
        await campaigns.set_rule(
            campaign_id=w.campaign.id,
            sport="run",
            fen=100,
            per=1000,
            effective_from=clock_at[0] - timedelta(days=1),
        )
