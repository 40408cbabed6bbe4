"""Bookings: a reward's dated pickup slots and options, set by desk staff and organizers, and
a redemption's booking of them (taken with the points, in the redemption's transaction).

A slot's ``booked`` count moves only by conditional UPDATEs (``WHERE booked < capacity`` to
take a place, ``WHERE booked > 0`` to give one back), backed by the CHECK constraint
``booked <= capacity``, so concurrent bookings cannot overbook a slot on SQLite or PostgreSQL.

A reward with any dated slot is booked into one; a reward without keeps the old way (a pickup
time named from the daily list, or none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from warmrun.platform import audit, booking_rules, clock, serial, sql
from warmrun.platform.booking_rules import Choice, Group
from warmrun.platform.errors import CancelClosed, InvalidInput, NotFound, SlotClosed, SlotFull
from warmrun.platform.models import (
    Booking,
    City,
    Compound,
    PickupSlot,
    Reward,
    RewardOption,
    RewardOptionGroup,
)

DEFAULT_TZ = "Asia/Shanghai"
_TAKE = "UPDATE pickup_slot SET booked = booked + 1 WHERE id = ? AND booked < capacity"
_GIVE_BACK = "UPDATE pickup_slot SET booked = booked - 1 WHERE id = ? AND booked > 0"


async def place_of(
    reward_id: int, conn: BaseDBAsyncClient | None = None
) -> tuple[Reward, Compound, str]:
    """A reward, its compound and the compound's time zone (its city's)."""
    reward = await Reward.filter(id=reward_id).using_db(conn).first()
    if reward is None:
        raise NotFound("reward", "奖品")
    compound = await Compound.filter(id=reward.compound_id).using_db(conn).get()
    city = await City.filter(id=compound.city_id).using_db(conn).get()
    return reward, compound, city.timezone or DEFAULT_TZ


async def create_slots(
    *, reward_id: int, day: date, starts: time, ends: time, capacity: int, days: int = 1
) -> list[PickupSlot]:
    """Daily pickup slots of a reward, ``starts``–``ends`` local time, for ``days`` days from
    ``day``. Refused whole if a slot of the reward already starts at one of those times
    (two staff opening the same week at once: one at a time, the second is refused)."""
    reward, compound, tz = await place_of(reward_id)
    wanted = booking_rules.windows(
        day=day, starts=starts, ends=ends, days=days, capacity=capacity, tz=tz, now=clock.now()
    )
    async with serial.held([f"slots:{reward.id}"]) as names, in_transaction() as conn:
        await serial.lock_in_database(conn, names)
        taken = await PickupSlot.filter(
            reward_id=reward.id, starts_at__in=[w.starts_at for w in wanted]
        ).using_db(conn)
        if taken:
            when = booking_rules.label(taken[0].starts_at, taken[0].ends_at, tz)
            raise InvalidInput("starts", f"{when} is already a slot", f"{when} 已有此时段")
        made = [
            await PickupSlot.create(
                reward_id=reward.id,
                starts_at=w.starts_at,
                ends_at=w.ends_at,
                capacity=capacity,
                created_at=clock.now(),
                using_db=conn,
            )
            for w in wanted
        ]
        after = {"slots": [booking_rules.label(w.starts_at, w.ends_at, tz) for w in wanted]}
        await audit.record(
            conn,
            "slot.create",
            city_id=compound.city_id,
            subject=reward.name_zh,
            after={**after, "capacity": capacity},
        )
    return made


async def groups_of(reward_id: int, conn: BaseDBAsyncClient | None = None) -> list[Group]:
    """A reward's questions with their answers, in order."""
    groups = (
        await RewardOptionGroup.filter(reward_id=reward_id)
        .using_db(conn)
        .order_by("position", "id")
    )
    choices = (
        await RewardOption.filter(group_id__in=[g.id for g in groups])
        .using_db(conn)
        .order_by("position", "id")
    )
    return [
        Group(
            g.id,
            g.name_zh,
            g.name_en,
            tuple(Choice(c.id, c.name_zh, c.name_en) for c in choices if c.group_id == g.id),
        )
        for g in groups
    ]


async def add_option_group(
    *, reward_id: int, name_zh: str, name_en: str, choices: list[tuple[str, str]]
) -> Group:
    """A question residents answer when they book (口味 flavour: 姜茶, 红枣茶 ...)."""
    reward, compound, _ = await place_of(reward_id)
    async with in_transaction() as conn:
        count = await RewardOptionGroup.filter(reward_id=reward.id).using_db(conn).count()
        answers = booking_rules.option_group(name_zh, name_en, choices, groups_now=count)
        group = await RewardOptionGroup.create(
            reward_id=reward.id,
            name_zh=name_zh.strip(),
            name_en=name_en.strip(),
            position=count,
            using_db=conn,
        )
        for n, (zh, en) in enumerate(answers):
            await RewardOption.create(
                group_id=group.id, name_zh=zh, name_en=en, position=n, using_db=conn
            )
        await audit.record(
            conn,
            "option.add",
            city_id=compound.city_id,
            subject=reward.name_zh,
            after={"group": group.name_zh, "choices": [zh for zh, _ in answers]},
        )
        (made,) = [g for g in await groups_of(reward.id, conn) if g.id == group.id]
    return made


async def remove_option_group(*, reward_id: int, group_id: int) -> None:
    """Stop asking a question. Bookings made keep the answers they chose."""
    reward, compound, _ = await place_of(reward_id)
    async with in_transaction() as conn:
        found = [g for g in await groups_of(reward.id, conn) if g.id == group_id]
        if not found:
            raise NotFound("option", "选项")
        await RewardOptionGroup.filter(id=group_id).using_db(conn).delete()
        before = {"group": found[0].name_zh, "choices": [c.name_zh for c in found[0].choices]}
        await audit.record(
            conn, "option.remove", city_id=compound.city_id, subject=reward.name_zh, before=before
        )


@dataclass(frozen=True)
class Plan:
    """What a redemption books: a slot (with its words for the redemption's ``slot`` text)
    and the chosen options' words."""

    slot_id: int | None = None
    label: str | None = None
    choices: list[list[str]] = field(default_factory=list)


async def plan(
    reward: Reward, *, slot: str | None, slot_id: int | None, choices: list[int]
) -> Plan:
    """Check a resident's booking of ``reward`` before anything is spent: the slot must be
    the reward's, not over and not full (the conditional update in :func:`hold` decides the
    last place); every question answered with an answer on offer."""
    words = booking_rules.chosen(await groups_of(reward.id), list(choices))
    if not await PickupSlot.exists(reward_id=reward.id):
        if slot_id is not None:
            raise NotFound("pickup time", "领取时段")
        return Plan(None, booking_rules.legacy_slot(slot, needs_slot=reward.needs_slot), words)
    if slot_id is None:
        raise InvalidInput("slot_id", "please choose a pickup time", "请选择领取时段")
    found = await PickupSlot.filter(id=slot_id, reward_id=reward.id).first()
    if found is None:
        raise NotFound("pickup time", "领取时段")
    _, _, tz = await place_of(reward.id)
    when = booking_rules.label(found.starts_at, found.ends_at, tz)
    if found.ends_at <= clock.now():
        raise SlotClosed(when=when)
    if found.booked >= found.capacity:
        raise SlotFull(when=when)
    return Plan(found.id, when, words)


async def hold(conn: BaseDBAsyncClient, booking: Plan) -> None:
    """In the redemption's transaction: take one place of the slot, if there is one left."""
    if booking.slot_id is not None and not await sql.execute(conn, _TAKE, booking.slot_id):
        raise SlotFull(when=booking.label)


async def attach(conn: BaseDBAsyncClient, redemption_id: int, booking: Plan) -> None:
    """In the redemption's transaction: what it booked, if anything."""
    if booking.slot_id is not None or booking.choices:
        await Booking.create(
            redemption_id=redemption_id,
            slot_id=booking.slot_id,
            choices=booking.choices,
            using_db=conn,
        )


async def release(conn: BaseDBAsyncClient, redemption_id: int, *, anytime: bool) -> None:
    """In a cancellation's transaction: give the slot's place back. CancelClosed once the
    reward's cancel window has passed (unless ``anytime``: erasing an account)."""
    booking = await Booking.filter(redemption_id=redemption_id).using_db(conn).first()
    if booking is None or booking.slot_id is None:
        return
    slot = await PickupSlot.filter(id=booking.slot_id).using_db(conn).get()
    reward, _, tz = await place_of(slot.reward_id, conn)
    until = booking_rules.cancel_until(slot.starts_at, reward.cancel_hours)
    if not anytime and clock.now() >= until:
        raise CancelClosed(until=booking_rules.local_text(until, tz))
    await sql.execute(conn, _GIVE_BACK, slot.id)
