"""Community points: balances, rewards with stock, redemptions with pickup codes.

Balances and stock change only through conditional UPDATEs (``WHERE balance >= price``,
``WHERE stock > 0``) inside one transaction, backed by CHECK constraints, so concurrent
redemptions can neither overdraw a balance nor oversell stock, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from warmrun.platform import audit, bookings, clock, notices, points_ledger, serial
from warmrun.platform.booking_rules import MAX_CANCEL_HOURS
from warmrun.platform.bookings import Plan
from warmrun.platform.errors import (
    FreeBookingWaiting,
    InvalidInput,
    NotFound,
    OutOfStock,
    RedemptionStateError,
    RewardNotAvailable,
)
from warmrun.platform.models import (
    Compound,
    PointsEntry,
    Redemption,
    RedemptionState,
    Resident,
    Reward,
    RewardKind,
)
from warmrun.platform.points import pickup_code

MAX_STOCK = 1_000_000  # per reward: a compound's desk never holds more


async def balance(*, resident_id: int) -> int:
    resident = await Resident.filter(id=resident_id).first()
    if resident is None:
        raise NotFound("resident", "居民")
    return resident.points_balance


async def grant(*, resident_id: int, points: int, reason: str, idempotency_key: str) -> bool:
    """Credit points once per key (volunteering, check-ins...). False if already granted."""
    if points <= 0:
        raise InvalidInput("points", "must be positive", "必须大于零")
    try:
        async with in_transaction() as conn:
            await points_ledger.post(
                conn, resident_id=resident_id, delta=points, reason=reason, key=idempotency_key
            )
    except IntegrityError:
        if await PointsEntry.filter(idempotency_key=idempotency_key).exists():
            return False
        raise
    return True


async def create_reward(
    *,
    compound_id: int,
    name_zh: str,
    name_en: str,
    points_price: int,
    stock: int,
    needs_slot: bool = False,
    kind: str = RewardKind.GOODS,
    cancel_hours: int = 0,
) -> Reward:
    """A reward in a compound's shop. Only a service (kind ``service``: knife sharpening, a
    haircut) may be free; goods always cost points."""
    if kind not in tuple(RewardKind):
        raise InvalidInput("reward", "kind: goods or service", "类型须为物品或便民服务")
    free = RewardKind(kind) is RewardKind.SERVICE and points_price == 0
    if (points_price <= 0 and not free) or stock < 0:
        raise InvalidInput(
            "reward", "price must be positive and stock not negative", "价格须大于零，库存不能为负"
        )
    if stock > MAX_STOCK:
        raise InvalidInput("stock", f"at most {MAX_STOCK}", f"最多 {MAX_STOCK}")
    if not 0 <= cancel_hours <= MAX_CANCEL_HOURS:
        raise InvalidInput(
            "cancel_hours", f"0 to {MAX_CANCEL_HOURS}", f"须为 0 至 {MAX_CANCEL_HOURS}"
        )
    compound = await Compound.get_or_none(id=compound_id)
    if compound is None:
        raise NotFound("compound", "小区")
    async with in_transaction() as conn:
        reward = await Reward.create(
            compound_id=compound_id,
            name_zh=name_zh,
            name_en=name_en,
            points_price=points_price,
            stock=stock,
            needs_slot=needs_slot,
            kind=RewardKind(kind),
            cancel_hours=cancel_hours,
            using_db=conn,
        )
        after = {
            "compound": compound.name,
            "points_price": points_price,
            "stock": stock,
            "kind": str(kind),
        }
        await audit.record(
            conn, "reward.create", city_id=compound.city_id, subject=name_zh, after=after
        )
    return reward


async def _reward_city(conn: BaseDBAsyncClient, reward_id: int) -> int | None:
    compound = await Compound.filter(rewards__id=reward_id).using_db(conn).first()
    return compound.city_id if compound else None


async def restock(*, reward_id: int, add: int) -> None:
    if add <= 0:
        raise InvalidInput("add", "must be positive", "必须大于零")
    async with in_transaction() as conn:
        # Conditional, so that repeated restocks can never run the stock column past its range.
        done = (
            await Reward.filter(id=reward_id, stock__lte=MAX_STOCK - add)
            .using_db(conn)
            .update(stock=F("stock") + add)
        )
        if not done:
            if not await Reward.exists(id=reward_id):
                raise NotFound("reward", "奖品")
            raise InvalidInput("add", f"stock at most {MAX_STOCK}", f"库存最多 {MAX_STOCK}")
        reward = await Reward.filter(id=reward_id).using_db(conn).get()
        await audit.record(
            conn,
            "reward.restock",
            city_id=await _reward_city(conn, reward_id),
            subject=reward.name_zh,
            before={"stock": reward.stock - add},
            after={"stock": reward.stock},
        )


async def redeem(
    *,
    resident_id: int,
    reward_id: int,
    idempotency_key: str,
    slot: str | None = None,
    slot_id: int | None = None,
    choices: list[int] | None = None,
) -> Redemption:
    """Spend points on a reward; returns the redemption with its pickup code.

    A reward with dated slots is booked into ``slot_id`` (one place of its capacity, taken
    with the points); one without may name a daily pickup time (``slot``). ``choices`` answer
    the reward's options. The same ``idempotency_key`` (a client's retry) returns the first
    redemption, also while the first is still being written: requests with one key are served
    one at a time, and each looks for an earlier redemption under the key before it spends.
    """
    key = f"redeem:{idempotency_key}"
    prior = await _redeemed(key)
    if prior is not None:
        return prior
    reward = await _available(resident_id, reward_id)
    booking = await bookings.plan(reward, slot=slot, slot_id=slot_id, choices=choices or [])
    # A free service: one booking waiting at a time per resident (nothing else stops one
    # resident from taking every place). Requests for it are served one at a time.
    free = [f"free:{resident_id}:{reward.id}"] if reward.points_price == 0 else []
    try:
        async with serial.held([key, *free]) as names, in_transaction() as conn:
            await serial.lock_in_database(conn, names)
            prior = await _redeemed(key, conn)
            if prior is not None:
                return prior
            if (
                free
                and await Redemption.filter(
                    resident_id=resident_id, reward_id=reward.id, state=RedemptionState.PENDING
                )
                .using_db(conn)
                .exists()
            ):
                raise FreeBookingWaiting()
            redemption = await _spend(conn, resident_id, reward, key, booking)
    except IntegrityError:
        # A concurrent retry with the same key won: return its redemption.
        prior = await _redeemed(key)
        if prior is not None:
            return prior
        raise
    return redemption


async def _available(resident_id: int, reward_id: int) -> Reward:
    """The active reward, if the resident's compound offers it."""
    resident = await Resident.filter(id=resident_id, erased_at=None).first()
    reward = await Reward.filter(id=reward_id, active=True).first()
    if resident is None:
        raise NotFound("resident", "居民")
    if reward is None:
        raise NotFound("reward", "奖品")
    if reward.compound_id != resident.compound_id:
        raise RewardNotAvailable()
    return reward


async def _spend(
    conn: BaseDBAsyncClient, resident_id: int, reward: Reward, key: str, booking: Plan
) -> Redemption:
    """In the transaction under ``key``: one from stock and from the slot booked, the points,
    the redemption with its pickup code and booking, and the resident's notice."""
    price = reward.points_price
    took = (
        await Reward.filter(id=reward.id, stock__gt=0).using_db(conn).update(stock=F("stock") - 1)
    )
    if not took:
        raise OutOfStock(reward=reward.name_zh)
    await bookings.hold(conn, booking)
    code = await _unique_code(conn)
    await points_ledger.post(
        conn, resident_id=resident_id, delta=-price, reason="redeem", key=key, ref=code
    )
    redemption = await Redemption.create(
        resident_id=resident_id,
        reward_id=reward.id,
        code=code,
        points=price,
        slot=booking.label,
        created_at=clock.now(),
        using_db=conn,
    )
    await bookings.attach(conn, redemption.id, booking)
    await notices.notify(
        conn,
        resident_id,
        "pickup_ready",
        code=code,
        reward_zh=reward.name_zh,
        reward_en=reward.name_en,
    )
    return redemption


async def _redeemed(key: str, conn: BaseDBAsyncClient | None = None) -> Redemption | None:
    entry = await PointsEntry.filter(idempotency_key=key).using_db(conn).first()
    if entry is None:
        return None
    return await Redemption.filter(code=entry.ref).using_db(conn).get()


async def _unique_code(conn: object) -> str:
    for _ in range(10):
        code = pickup_code()
        if not await Redemption.filter(code=code).using_db(conn).exists():  # type: ignore[arg-type]
            return code
    raise RuntimeError("could not draw a unique pickup code")  # pragma: no cover


def typed_code(text: str) -> str:
    """A pickup code as typed or scanned, normalised; NotFound if it cannot be one."""
    code = text.strip().upper()
    if not (code.isascii() and code.isalnum() and 4 <= len(code) <= 16):
        raise NotFound("pickup code", "取货码")
    return code


async def fulfil(*, code: str) -> Redemption:
    """Staff at the desk hand over the reward for a pending pickup code."""
    code = typed_code(code)
    redemption = await Redemption.filter(code=code).first()
    if redemption is None:
        raise NotFound("pickup code", "取货码")
    async with in_transaction() as conn:
        done = (
            await Redemption.filter(id=redemption.id, state=RedemptionState.PENDING)
            .using_db(conn)
            .update(state=RedemptionState.FULFILLED, closed_at=clock.now())
        )
        if not done:
            current = await Redemption.filter(id=redemption.id).using_db(conn).get()
            raise RedemptionStateError(state=current.state, state_zh=_ZH[current.state])
        await audit.record(
            conn,
            "reward.handout",
            city_id=await _reward_city(conn, redemption.reward_id),
            subject=code,
            before={"state": "pending"},
            after={"state": "fulfilled"},
        )
    return await Redemption.get(id=redemption.id)


_ZH = {"pending": "待领取", "fulfilled": "领取", "cancelled": "取消"}


async def cancel(*, code: str, resident_id: int | None = None, anytime: bool = False) -> Redemption:
    """Cancel a pending redemption: points refunded and stock restored, as new ledger rows,
    and a booked slot's place given back. A booking is cancellable until its reward's cancel
    window closes (CancelClosed after; ``anytime``: erasing the resident's account)."""
    code = typed_code(code)
    async with in_transaction() as conn:
        redemption = await Redemption.filter(code=code).using_db(conn).first()
        if redemption is None or (
            resident_id is not None and redemption.resident_id != resident_id
        ):
            raise NotFound("pickup code", "取货码")
        done = (
            await Redemption.filter(id=redemption.id, state=RedemptionState.PENDING)
            .using_db(conn)
            .update(state=RedemptionState.CANCELLED, closed_at=clock.now())
        )
        if not done:
            current = await Redemption.filter(id=redemption.id).using_db(conn).get()
            raise RedemptionStateError(state=current.state, state_zh=_ZH[current.state])
        await bookings.release(conn, redemption.id, anytime=anytime)
        if redemption.points:  # a free service refunds nothing
            await points_ledger.post(
                conn,
                resident_id=redemption.resident_id,
                delta=redemption.points,
                reason="refund",
                key=f"refund:{redemption.code}",
                ref=redemption.code,
            )
        await Reward.filter(id=redemption.reward_id).using_db(conn).update(stock=F("stock") + 1)
    return await Redemption.get(id=redemption.id)
