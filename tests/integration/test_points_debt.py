"""One recording earns once: points taken back after they were spent are owed, and later
credits repay the debt before the balance grows. Balance minus debt is always the ledger's sum."""

from __future__ import annotations

import pytest

from tests.integration.factory import run_file, upload, world
from warmrun.platform import rewards, runs
from warmrun.platform.models import PointsEntry, Resident

pytestmark = pytest.mark.usefixtures("database")


async def _position(resident_id: int) -> tuple[int, int, int]:
    """(balance, debt, sum of the ledger)."""
    r = await Resident.get(id=resident_id)
    total = sum(e.delta for e in await PointsEntry.filter(resident_id=resident_id))
    return r.points_balance, r.points_debt, total


async def _spend_all(resident_id: int, compound_id: int, key: str) -> int:
    balance = (await Resident.get(id=resident_id)).points_balance
    reward = await rewards.create_reward(
        compound_id=compound_id, name_zh="热饮", name_en="Hot drink", points_price=balance, stock=5
    )
    await rewards.redeem(resident_id=resident_id, reward_id=reward.id, idempotency_key=key)
    return balance


async def test_a_run_withdrawn_after_its_points_were_spent_leaves_a_debt() -> None:
    w = await world()
    (first,) = await upload(w.alice.id, run_file(seed=1), source="strava")
    assert first.outcome is not None and first.outcome.points > 0
    earned = await _spend_all(w.alice.id, w.compound_id, "r1")
    await runs.withdraw(run_id=first.outcome.run.id, drop_track=True)
    balance, debt, total = await _position(w.alice.id)
    assert (balance, debt) == (0, earned)
    assert balance - debt == total


async def test_the_same_run_uploaded_again_repays_the_debt_instead_of_paying_twice() -> None:
    w = await world()
    data = run_file(seed=1)
    (first,) = await upload(w.alice.id, data, "strava.gpx", source="strava")
    assert first.outcome is not None
    spent = await _spend_all(w.alice.id, w.compound_id, "r1")
    await runs.withdraw(run_id=first.outcome.run.id, drop_track=True)
    # The watch file of the same recording arrives after the Strava copy was deleted.
    (again,) = await upload(w.alice.id, data.replace(b"\n", b"\r\n"), "watch.gpx")
    assert again.outcome is not None and again.outcome.points == spent
    balance, debt, total = await _position(w.alice.id)
    # One drink for one run: nothing left to spend, nothing owed.
    assert (balance, debt) == (0, 0)
    assert balance - debt == total


async def test_a_credit_larger_than_the_debt_repays_it_and_keeps_the_rest() -> None:
    w = await world()
    (first,) = await upload(w.alice.id, run_file(seed=1), source="strava")
    assert first.outcome is not None
    spent = await _spend_all(w.alice.id, w.compound_id, "r1")
    await runs.withdraw(run_id=first.outcome.run.id, drop_track=True)
    await rewards.grant(
        resident_id=w.alice.id, points=spent + 7, reason="volunteer", idempotency_key="v1"
    )
    assert await _position(w.alice.id) == (7, 0, 7)


async def test_points_not_yet_spent_are_simply_taken_back() -> None:
    w = await world()
    (first,) = await upload(w.alice.id, run_file(seed=1), source="strava")
    assert first.outcome is not None
    await runs.withdraw(run_id=first.outcome.run.id, drop_track=True)
    assert await _position(w.alice.id) == (0, 0, 0)
