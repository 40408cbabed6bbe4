"""Badges and notifications on the real database: awarded once under concurrent refreshes,
revoked with their points when the run behind them is reversed, family runs, notices."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.factory import run_file, upload, world
from warmrun.platform import badges, notices, rewards, runs
from warmrun.platform.models import BadgeAward, PointsEntry, Resident

pytestmark = pytest.mark.usefixtures("database")


async def test_concurrent_refreshes_award_a_badge_once_and_its_points_once() -> None:
    w = await world()
    await badges.add_badge(
        campaign_id=w.campaign.id,
        code="first-run",
        name_zh="第一步",
        name_en="First run",
        kind="first_run",
        points=10,
    )
    (o,) = await upload(w.alice.id, run_file(seed=1))  # refreshes once itself
    assert o.outcome is not None
    await asyncio.gather(*(badges.refresh(resident_id=w.alice.id) for _ in range(10)))
    assert await BadgeAward.filter(resident_id=w.alice.id).count() == 1
    assert [e.delta for e in await PointsEntry.filter(resident_id=w.alice.id, reason="badge")] == [
        10
    ]


async def test_a_reversed_run_revokes_its_badge_and_the_badge_points() -> None:
    w = await world()
    await badges.add_badge(
        campaign_id=w.campaign.id,
        code="first-run",
        name_zh="第一步",
        name_en="First run",
        kind="first_run",
        points=10,
    )
    (o,) = await upload(w.alice.id, run_file(seed=2))
    assert o.outcome is not None
    before = (await Resident.get(id=w.alice.id)).points_balance
    await runs.review(run_id=o.outcome.run.id, accept=False, note="wrong person")
    award = await BadgeAward.get(resident_id=w.alice.id)
    assert award.revoked_at is not None
    after = (await Resident.get(id=w.alice.id)).points_balance
    assert after == 0 and before > after  # run points and badge points both taken back
    assert await badges.refresh(resident_id=w.alice.id) == []  # nothing more to revoke


async def test_a_guardian_and_child_running_the_same_day_both_get_the_family_badge() -> None:
    w = await world()
    await badges.add_badge(
        campaign_id=w.campaign.id,
        code="family",
        name_zh="亲子同跑",
        name_en="Family run",
        kind="family_run",
    )
    await Resident.filter(id=w.bob.id).update(guardian_id=w.alice.id)
    await upload(w.alice.id, run_file(seed=3))
    assert await BadgeAward.filter(resident_id=w.alice.id).count() == 0
    await upload(w.bob.id, run_file(seed=4, minutes_after=90))
    await badges.refresh(resident_id=w.alice.id)
    assert await BadgeAward.filter(resident_id=w.alice.id).count() == 1
    assert await BadgeAward.filter(resident_id=w.bob.id).count() == 1


async def test_notices_announce_badges_flagged_runs_and_pickup_codes() -> None:
    w = await world()
    await badges.install_defaults(campaign_id=w.campaign.id)
    shared = run_file(seed=5)
    await upload(w.alice.id, shared)
    await upload(w.bob.id, shared)  # the same track from two residents flags both
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Hot drink", points_price=1, stock=1
    )
    await rewards.grant(resident_id=w.alice.id, points=5, reason="volunteer", idempotency_key="g1")
    await rewards.redeem(resident_id=w.alice.id, reward_id=reward.id, idempotency_key="r1")
    items, total, unread = await notices.of_resident(resident_id=w.alice.id, lang="en")
    kinds = {i.kind for i in items}
    assert {"badge_earned", "run_flagged", "pickup_ready"} <= kinds
    assert unread == total
    assert any("Hot drink" in i.message for i in items)
    zh, _, _ = await notices.of_resident(resident_id=w.alice.id, lang="zh-CN")
    assert any("热饮" in i.message for i in zh)
    assert await notices.mark_read(resident_id=w.alice.id) == total
