"""Bookings on the real database (SQLite, and PostgreSQL when configured): dated slots with a
capacity that holds under concurrency, options, the cancel window, free services."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import pytest
from tortoise.exceptions import IntegrityError

from tests.integration.factory import World, world
from warmrun.platform import (
    audit,
    booking_views,
    bookings,
    campaigns,
    clock,
    erasure,
    rewards,
)
from warmrun.platform.errors import (
    CancelClosed,
    FreeBookingWaiting,
    InsufficientPoints,
    InvalidInput,
    NotFound,
    RewardNotAvailable,
    SlotClosed,
    SlotFull,
)
from warmrun.platform.models import Booking, PickupSlot, PointsEntry, Resident, Reward

pytestmark = pytest.mark.usefixtures("database")

# 06:00 on 3 November 2025 in Suzhou; the first slot opens at 07:00 local.
NOW = datetime(2025, 11, 2, 22, 0, tzinfo=UTC)
DAY = date(2025, 11, 3)


@pytest.fixture(autouse=True)
def fixed_clock() -> None:
    clock.set_clock(lambda: NOW)


async def drink(w: World, *, capacity: int = 5, cancel_hours: int = 0) -> tuple[Reward, int]:
    """A hot drink with a week of 07:00-09:00 slots; its first slot's id."""
    reward = await rewards.create_reward(
        compound_id=w.compound_id,
        name_zh="大堂热饮",
        name_en="Hot drink",
        points_price=30,
        stock=100,
        cancel_hours=cancel_hours,
    )
    made = await bookings.create_slots(
        reward_id=reward.id, day=DAY, starts=time(7), ends=time(9), capacity=capacity, days=7
    )
    return reward, made[0].id


async def flavours(reward_id: int) -> dict[str, int]:
    group = await bookings.add_option_group(
        reward_id=reward_id,
        name_zh="口味",
        name_en="Flavour",
        choices=[("姜茶", "Ginger tea"), ("红枣茶", "Red date tea"), ("热可可", "Hot cocoa")],
    )
    return {c.name_en: c.id for c in group.choices}


async def seed(*residents: Resident, points: int = 300) -> None:
    for r in residents:
        await rewards.grant(
            resident_id=r.id, points=points, reason="seed", idempotency_key=f"s{r.id}"
        )


async def test_booking_takes_a_place_the_points_and_keeps_the_options_chosen() -> None:
    w = await world()
    await seed(w.alice)
    reward, slot_id = await drink(w)
    choice = await flavours(reward.id)
    red = await rewards.redeem(
        resident_id=w.alice.id,
        reward_id=reward.id,
        idempotency_key="b1",
        slot_id=slot_id,
        choices=[choice["Red date tea"]],
    )
    assert red.slot == "2025-11-03 07:00-09:00"
    assert (await PickupSlot.get(id=slot_id)).booked == 1
    assert await rewards.balance(resident_id=w.alice.id) == 270
    booking = await Booking.get(redemption_id=red.id)
    assert booking.choices == [["口味", "Flavour", "红枣茶", "Red date tea"]]


async def test_a_retried_booking_books_once() -> None:
    w = await world()
    await seed(w.alice)
    reward, slot_id = await drink(w)
    first, again = [
        await rewards.redeem(
            resident_id=w.alice.id, reward_id=reward.id, idempotency_key="tap", slot_id=slot_id
        )
        for _ in range(2)
    ]
    assert first.code == again.code
    assert (await PickupSlot.get(id=slot_id)).booked == 1


async def test_many_concurrent_bookings_never_overbook_a_slot() -> None:
    w = await world()
    bob = w.bob
    await seed(w.alice, bob, points=3000)
    reward, slot_id = await drink(w, capacity=7)

    async def attempt(i: int) -> str:
        try:
            await rewards.redeem(
                resident_id=(w.alice, bob)[i % 2].id,
                reward_id=reward.id,
                idempotency_key=f"c{i}",
                slot_id=slot_id,
            )
            return "ok"
        except SlotFull as exc:
            return exc.code

    results = await asyncio.gather(*(attempt(i) for i in range(60)))
    assert results.count("ok") == 7 and results.count("slot_full") == 53
    assert (await PickupSlot.get(id=slot_id)).booked == 7
    assert (await Reward.get(id=reward.id)).stock == 93  # stock taken only by the seven
    spent = -sum(e.delta for e in await PointsEntry.filter(reason="redeem"))
    assert spent == 7 * 30


async def test_the_database_refuses_a_booked_count_over_capacity() -> None:
    w = await world()
    _, slot_id = await drink(w, capacity=1)
    with pytest.raises(IntegrityError):
        await PickupSlot.filter(id=slot_id).update(booked=2)


async def test_a_full_slot_is_refused_and_nothing_is_spent() -> None:
    w = await world()
    await seed(w.alice, w.bob)
    reward, slot_id = await drink(w, capacity=1)
    await rewards.redeem(
        resident_id=w.alice.id, reward_id=reward.id, idempotency_key="a", slot_id=slot_id
    )
    with pytest.raises(SlotFull) as refused:
        await rewards.redeem(
            resident_id=w.bob.id, reward_id=reward.id, idempotency_key="b", slot_id=slot_id
        )
    assert "2025-11-03 07:00-09:00" in refused.value.message("en")
    assert "已约满" in refused.value.message("zh-CN")
    assert await rewards.balance(resident_id=w.bob.id) == 300


async def test_a_slot_that_is_over_cannot_be_booked() -> None:
    w = await world()
    await seed(w.alice)
    reward, slot_id = await drink(w)
    clock.set_clock(lambda: NOW + timedelta(hours=3, minutes=1))  # 09:01 local
    with pytest.raises(SlotClosed):
        await rewards.redeem(
            resident_id=w.alice.id, reward_id=reward.id, idempotency_key="late", slot_id=slot_id
        )
    assert (await PickupSlot.get(id=slot_id)).booked == 0


async def test_a_slot_of_another_compounds_reward_cannot_be_booked() -> None:
    w = await world()
    await seed(w.alice)
    reward, _ = await drink(w)
    away = await campaigns.create_compound(city_id=w.city_id, name="湖畔雅苑", households=10)
    theirs = await rewards.create_reward(
        compound_id=away.id, name_zh="热饮", name_en="Drink", points_price=10, stock=5
    )
    (their_slot,) = await bookings.create_slots(
        reward_id=theirs.id, day=DAY, starts=time(7), ends=time(9), capacity=5
    )
    with pytest.raises(NotFound):
        await rewards.redeem(
            resident_id=w.alice.id, reward_id=reward.id, idempotency_key="x", slot_id=their_slot.id
        )
    with pytest.raises(RewardNotAvailable):
        await rewards.redeem(
            resident_id=w.alice.id, reward_id=theirs.id, idempotency_key="y", slot_id=their_slot.id
        )
    assert (await PickupSlot.get(id=their_slot.id)).booked == 0


async def test_a_reward_with_slots_needs_one_chosen() -> None:
    w = await world()
    await seed(w.alice)
    reward, _ = await drink(w)
    with pytest.raises(InvalidInput, match="pickup time"):
        await rewards.redeem(resident_id=w.alice.id, reward_id=reward.id, idempotency_key="n")


async def test_an_option_not_offered_is_refused_and_nothing_is_spent() -> None:
    w = await world()
    await seed(w.alice)
    reward, slot_id = await drink(w)
    await flavours(reward.id)
    other, _ = await drink(w)
    foreign = await flavours(other.id)
    with pytest.raises(InvalidInput, match="not offered"):
        await rewards.redeem(
            resident_id=w.alice.id,
            reward_id=reward.id,
            idempotency_key="o",
            slot_id=slot_id,
            choices=[foreign["Hot cocoa"]],
        )
    assert await rewards.balance(resident_id=w.alice.id) == 300
    assert (await PickupSlot.get(id=slot_id)).booked == 0


async def test_cancelling_in_time_refunds_and_frees_the_place() -> None:
    w = await world()
    await seed(w.alice, w.bob)
    reward, slot_id = await drink(w, capacity=1, cancel_hours=0)
    red = await rewards.redeem(
        resident_id=w.alice.id, reward_id=reward.id, idempotency_key="c", slot_id=slot_id
    )
    await rewards.cancel(code=red.code, resident_id=w.alice.id)
    assert (await PickupSlot.get(id=slot_id)).booked == 0
    assert await rewards.balance(resident_id=w.alice.id) == 300
    # The place given back is Bob's to take.
    await rewards.redeem(
        resident_id=w.bob.id, reward_id=reward.id, idempotency_key="c2", slot_id=slot_id
    )
    assert (await PickupSlot.get(id=slot_id)).booked == 1


async def test_cancelling_after_the_window_is_refused_and_nothing_changes() -> None:
    w = await world()
    await seed(w.alice)
    reward, slot_id = await drink(w, cancel_hours=2)  # until 05:00 local; it is 06:00
    red = await rewards.redeem(
        resident_id=w.alice.id, reward_id=reward.id, idempotency_key="l", slot_id=slot_id
    )
    with pytest.raises(CancelClosed) as refused:
        await rewards.cancel(code=red.code, resident_id=w.alice.id)
    assert "2025-11-03 05:00" in refused.value.message("en")
    assert (await PickupSlot.get(id=slot_id)).booked == 1
    assert await rewards.balance(resident_id=w.alice.id) == 270


async def test_no_one_cancels_someone_elses_booking() -> None:
    w = await world()
    await seed(w.alice)
    reward, slot_id = await drink(w)
    red = await rewards.redeem(
        resident_id=w.alice.id, reward_id=reward.id, idempotency_key="m", slot_id=slot_id
    )
    with pytest.raises(NotFound):
        await rewards.cancel(code=red.code, resident_id=w.bob.id)
    assert (await PickupSlot.get(id=slot_id)).booked == 1


async def test_erasing_an_account_cancels_its_bookings_whatever_the_window() -> None:
    from warmrun.platform import accounts

    w = await world()
    account = await accounts.sign_up_resident(
        email="leaving@example.org", password="x" * 10, display_name="L", compound_id=w.compound_id
    )
    assert account.resident_id is not None
    await seed(await Resident.get(id=account.resident_id))
    reward, slot_id = await drink(w, cancel_hours=24)
    await rewards.redeem(
        resident_id=account.resident_id, reward_id=reward.id, idempotency_key="e", slot_id=slot_id
    )
    await erasure.erase_resident(account_id=account.id)
    assert (await PickupSlot.get(id=slot_id)).booked == 0


async def test_a_service_may_be_free_and_goods_may_not() -> None:
    w = await world()
    haircut = await rewards.create_reward(
        compound_id=w.compound_id,
        name_zh="长者理发",
        name_en="Haircut for elders",
        points_price=0,
        stock=10,
        kind="service",
    )
    (slot,) = await bookings.create_slots(
        reward_id=haircut.id, day=DAY, starts=time(14), ends=time(16), capacity=4
    )
    red = await rewards.redeem(
        resident_id=w.alice.id, reward_id=haircut.id, idempotency_key="h", slot_id=slot.id
    )
    assert red.points == 0 and await rewards.balance(resident_id=w.alice.id) == 0
    await rewards.cancel(code=red.code, resident_id=w.alice.id)
    assert await rewards.balance(resident_id=w.alice.id) == 0
    with pytest.raises(InvalidInput):
        await rewards.create_reward(
            compound_id=w.compound_id, name_zh="水", name_en="Water", points_price=0, stock=1
        )
    with pytest.raises(IntegrityError):
        await Reward.filter(id=haircut.id).update(kind="goods")


async def test_paid_bookings_still_need_the_points() -> None:
    w = await world()
    reward, slot_id = await drink(w)
    with pytest.raises(InsufficientPoints):
        await rewards.redeem(
            resident_id=w.alice.id, reward_id=reward.id, idempotency_key="p", slot_id=slot_id
        )
    assert (await PickupSlot.get(id=slot_id)).booked == 0


async def test_opening_the_same_slot_twice_is_refused_and_audited_once() -> None:
    w = await world()
    reward, _ = await drink(w)
    with pytest.raises(InvalidInput, match="already a slot"):
        await bookings.create_slots(
            reward_id=reward.id,
            day=DAY + timedelta(days=6),
            starts=time(7),
            ends=time(9),
            capacity=3,
        )
    assert await PickupSlot.filter(reward_id=reward.id).count() == 7
    entries, _ = await audit.entries(city_ids=None, where=audit.Filter(action="slot"))
    assert len(entries) == 1 and len(entries[0].after["slots"]) == 7


async def test_the_desk_sees_the_days_bookings_and_daily_handed_out_counts() -> None:
    w = await world()
    await seed(w.alice, w.bob)
    reward, slot_id = await drink(w)
    choice = await flavours(reward.id)
    codes = [
        (
            await rewards.redeem(
                resident_id=r.id,
                reward_id=reward.id,
                idempotency_key=f"d{r.id}",
                slot_id=slot_id,
                choices=[choice["Hot cocoa"]],
            )
        ).code
        for r in (w.alice, w.bob)
    ]
    await rewards.fulfil(code=codes[0])
    (day,) = await booking_views.desk_day(compound_ids={w.compound_id}, day=None)
    assert day.slot.label == "2025-11-03 07:00-09:00" and day.slot.booked == 2
    assert [(b.name, b.state) for b in day.bookings] == [("Alice", "fulfilled"), ("Bob", "pending")]
    assert day.bookings[0].choices[0][3] == "Hot cocoa"
    assert await booking_views.desk_day(compound_ids={w.compound_id}, day=DAY + timedelta(1)) != []
    (count,) = await booking_views.handed_out(compound_ids={w.compound_id})
    assert (count.day, count.compound, count.count) == (DAY, "天骄花园", 1)
    assert await booking_views.handed_out(compound_ids=set()) == []


async def test_two_staff_opening_the_same_week_at_once_open_it_once() -> None:
    w = await world()
    reward = await rewards.create_reward(
        compound_id=w.compound_id, name_zh="热饮", name_en="Drink", points_price=10, stock=5
    )
    results = await asyncio.gather(
        *(
            bookings.create_slots(
                reward_id=reward.id, day=DAY, starts=time(7), ends=time(9), capacity=3, days=7
            )
            for _ in range(2)
        ),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["InvalidInput", "list"]
    assert await PickupSlot.filter(reward_id=reward.id).count() == 7


async def test_one_resident_cannot_take_every_place_of_a_free_service() -> None:
    w = await world()
    sharpening = await rewards.create_reward(
        compound_id=w.compound_id,
        name_zh="便民磨刀",
        name_en="Knife sharpening",
        points_price=0,
        stock=10,
        kind="service",
    )
    (slot,) = await bookings.create_slots(
        reward_id=sharpening.id, day=DAY, starts=time(14), ends=time(16), capacity=5
    )

    async def attempt(n: int) -> str:
        try:
            await rewards.redeem(
                resident_id=w.alice.id, reward_id=sharpening.id, idempotency_key=f"k{n}",
                slot_id=slot.id,
            )  # fmt: skip
        except FreeBookingWaiting:
            return "refused"
        return "booked"

    results = await asyncio.gather(*(attempt(n) for n in range(5)))
    assert sorted(results) == ["booked"] + ["refused"] * 4
    assert await rewards.redeem(
        resident_id=w.bob.id, reward_id=sharpening.id, idempotency_key="bob", slot_id=slot.id
    )
