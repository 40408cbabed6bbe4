"""Points and rewards under concurrency on the real database."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.factory import world
from warmrun.platform import rewards
from warmrun.platform.errors import InsufficientPoints, OutOfStock, WarmrunError
from warmrun.platform.models import PointsEntry, Resident, Reward

pytestmark = pytest.mark.usefixtures("database")


async def _ledger_sum(resident_id: int) -> int:
    return sum(e.delta for e in await PointsEntry.filter(resident_id=resident_id))


async def test_redeem_spends_points_and_returns_a_pickup_code() -> None:
    w = await world()
    await rewards.grant(
        resident_id=w.alice.id, points=100, reason="volunteer", idempotency_key="v1"
    )
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Hot drink", points_price=30, stock=5
    )
    red = await rewards.redeem(resident_id=w.alice.id, reward_id=reward.id, idempotency_key="r1")
    assert len(red.code) == 8
    assert await rewards.balance(resident_id=w.alice.id) == 70
    assert (await Reward.get(id=reward.id)).stock == 4
    done = await rewards.fulfil(code=red.code.lower())
    assert done.state == "fulfilled"


async def test_redeem_without_enough_points_is_refused_and_stock_kept() -> None:
    w = await world()
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Hot drink", points_price=30, stock=5
    )
    with pytest.raises(InsufficientPoints):
        await rewards.redeem(resident_id=w.alice.id, reward_id=reward.id, idempotency_key="x")
    assert (await Reward.get(id=reward.id)).stock == 5


async def test_cancel_refunds_points_and_restocks_as_new_rows() -> None:
    w = await world()
    await rewards.grant(resident_id=w.alice.id, points=30, reason="volunteer", idempotency_key="v1")
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Hot drink", points_price=30, stock=1
    )
    red = await rewards.redeem(resident_id=w.alice.id, reward_id=reward.id, idempotency_key="r")
    await rewards.cancel(code=red.code)
    assert await rewards.balance(resident_id=w.alice.id) == 30
    assert (await Reward.get(id=reward.id)).stock == 1
    assert await PointsEntry.filter(resident_id=w.alice.id).count() == 3
    with pytest.raises(WarmrunError):
        await rewards.fulfil(code=red.code)


async def test_grant_is_idempotent_per_key() -> None:
    w = await world()
    assert await rewards.grant(
        resident_id=w.alice.id, points=10, reason="checkin", idempotency_key="k"
    )
    assert not await rewards.grant(
        resident_id=w.alice.id, points=10, reason="checkin", idempotency_key="k"
    )
    assert await rewards.balance(resident_id=w.alice.id) == 10


async def test_200_concurrent_redemptions_for_stock_25_never_oversell() -> None:
    w = await world()
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Hot drink", points_price=10, stock=25
    )
    residents = [w.alice, w.bob]
    for r in residents:
        await rewards.grant(resident_id=r.id, points=150, reason="seed", idempotency_key=f"s{r.id}")

    async def attempt(i: int) -> str:
        try:
            await rewards.redeem(
                resident_id=residents[i % 2].id, reward_id=reward.id, idempotency_key=f"c{i}"
            )
            return "ok"
        except (OutOfStock, InsufficientPoints) as exc:
            return exc.code

    results = await asyncio.gather(*(attempt(i) for i in range(200)))
    stock = (await Reward.get(id=reward.id)).stock
    ok = results.count("ok")
    assert stock >= 0 and ok + stock == 25
    for r in residents:
        bal = (await Resident.get(id=r.id)).points_balance
        assert bal >= 0 and bal == await _ledger_sum(r.id)


async def test_balance_cannot_go_negative_under_concurrent_spending() -> None:
    w = await world()
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Hot drink", points_price=40, stock=100
    )
    await rewards.grant(resident_id=w.alice.id, points=100, reason="seed", idempotency_key="s")
    results = await asyncio.gather(
        *(
            rewards.redeem(resident_id=w.alice.id, reward_id=reward.id, idempotency_key=f"k{i}")
            for i in range(20)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 2
    assert (await Resident.get(id=w.alice.id)).points_balance == 20


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["grant", "redeem", "cancel"]), st.integers(1, 60)),
        min_size=1,
        max_size=12,
    )
)
async def test_balance_always_equals_ledger_sum(ops: list[tuple[str, int]]) -> None:
    from tortoise.connection import get_connection

    from tests.conftest import TABLES
    from warmrun.platform.models import Redemption

    conn = get_connection("default")
    for table in TABLES:
        await conn.execute_script(f'DELETE FROM "{table}"')
    w = await world()
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Hot drink", points_price=25, stock=3
    )
    for i, (op, n) in enumerate(ops):
        try:
            if op == "grant":
                await rewards.grant(
                    resident_id=w.alice.id, points=n, reason="x", idempotency_key=f"g{i}"
                )
            elif op == "redeem":
                await rewards.redeem(
                    resident_id=w.alice.id, reward_id=reward.id, idempotency_key=f"r{i}"
                )
            else:
                pending = await Redemption.filter(state="pending").first()
                if pending:
                    await rewards.cancel(code=pending.code)
        except WarmrunError:
            pass
        bal = (await Resident.get(id=w.alice.id)).points_balance
        assert bal >= 0 and bal == await _ledger_sum(w.alice.id)
        assert (await Reward.get(id=reward.id)).stock >= 0


async def test_restock_adds_stock_and_refuses_non_positive_amounts() -> None:
    w = await world()
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Hot drink", points_price=10, stock=0
    )
    await rewards.restock(reward_id=reward.id, add=5)
    assert (await Reward.get(id=reward.id)).stock == 5
    with pytest.raises(WarmrunError) as info:
        await rewards.restock(reward_id=reward.id, add=0)
    assert info.value.code == "invalid_input"


async def test_one_key_sent_at_once_redeems_once_when_only_one_is_affordable() -> None:
    w = await world()
    await rewards.grant(resident_id=w.alice.id, points=30, reason="volunteer", idempotency_key="v")
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Hot drink", points_price=30, stock=5
    )
    for trial in range(3):
        if trial:  # afford one more
            await rewards.grant(
                resident_id=w.alice.id, points=30, reason="volunteer", idempotency_key=f"v{trial}"
            )
        results = await asyncio.gather(
            *(
                rewards.redeem(
                    resident_id=w.alice.id, reward_id=reward.id, idempotency_key=f"tap-{trial}"
                )
                for _ in range(20)
            ),
            return_exceptions=True,
        )
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert len({r.code for r in results if not isinstance(r, BaseException)}) == 1
    assert await rewards.balance(resident_id=w.alice.id) == 0
    assert (await Reward.get(id=reward.id)).stock == 2


async def test_one_key_sent_at_once_for_the_last_item_returns_the_same_redemption() -> None:
    w = await world()
    await rewards.grant(resident_id=w.alice.id, points=300, reason="volunteer", idempotency_key="v")
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Hot drink", points_price=30, stock=1
    )
    results = await asyncio.gather(
        *(
            rewards.redeem(resident_id=w.alice.id, reward_id=reward.id, idempotency_key="last")
            for _ in range(20)
        ),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len({r.code for r in results if not isinstance(r, BaseException)}) == 1
    assert await rewards.balance(resident_id=w.alice.id) == 270
    assert (await Reward.get(id=reward.id)).stock == 0
