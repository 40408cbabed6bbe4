"""Bookings' read side for pages and the API, as plain dataclasses: the shop with each
reward's open slots and options, a reward's slots for staff, a redemption's booking, the
desk's day by slot, and how many rewards each desk handed out per day."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from warmrun.platform import booking_rules, clock, views
from warmrun.platform.booking_rules import Group
from warmrun.platform.bookings import DEFAULT_TZ, groups_of, place_of
from warmrun.platform.errors import InvalidInput
from warmrun.platform.models import (
    Booking,
    Compound,
    PickupSlot,
    Redemption,
    RedemptionState,
    Resident,
    Reward,
)

SHOP_DAYS = 15  # how far ahead the shop offers slots
MAX_SLOTS = 300  # slots on one page (a reward's, or a desk's day)
MAX_RANGE_DAYS = 62  # handed-out counts: two months at a time


@dataclass(frozen=True)
class SlotView:
    id: int
    reward_id: int
    day: date  # local
    starts: str  # local, "07:00"
    ends: str
    label: str  # "2025-11-03 07:00-09:00"
    capacity: int
    booked: int
    remaining: int
    starts_at: datetime
    ends_at: datetime


def _slot_view(s: PickupSlot, tz: str) -> SlotView:
    label = booking_rules.label(s.starts_at, s.ends_at, tz)
    return SlotView(
        id=s.id,
        reward_id=s.reward_id,
        day=booking_rules.local_day(s.starts_at, tz),
        starts=label[11:16],
        ends=label[17:],
        label=label,
        capacity=s.capacity,
        booked=s.booked,
        remaining=s.capacity - s.booked,
        starts_at=s.starts_at,
        ends_at=s.ends_at,
    )


@dataclass(frozen=True)
class ShopItem(views.RewardView):
    """A reward as the shop offers it: ``dated`` ones are booked into one of ``slots`` (the
    next days' that are not over); ``groups`` are the questions to answer."""

    dated: bool = False
    groups: tuple[Group, ...] = ()
    slots: tuple[SlotView, ...] = ()


async def _places(compound_ids: set[int] | None) -> dict[int, tuple[str, str]]:
    """Compounds by id: their name and time zone."""
    query = Compound.all() if compound_ids is None else Compound.filter(id__in=compound_ids)
    rows = await query.values("id", "name", tz="city__timezone")
    return {int(r["id"]): (str(r["name"]), str(r["tz"] or DEFAULT_TZ)) for r in rows}


async def shop(*, resident_id: int) -> list[ShopItem]:
    """The resident's compound's rewards, with their open slots and options."""
    items = await views.rewards_for(resident_id=resident_id)
    if not items:
        return []
    tz = (await _places({items[0].compound_id}))[items[0].compound_id][1]
    ids = [r.id for r in items]
    now = clock.now()
    dated = {
        int(str(x))
        for x in await PickupSlot.filter(reward_id__in=ids)
        .distinct()
        .values_list("reward_id", flat=True)
    }
    open_slots = (
        await PickupSlot.filter(
            reward_id__in=ids, ends_at__gt=now, starts_at__lt=now + timedelta(days=SHOP_DAYS)
        )
        .order_by("starts_at", "id")
        .limit(MAX_SLOTS)
    )
    return [
        ShopItem(
            **vars(r),
            dated=r.id in dated,
            groups=tuple(await groups_of(r.id)),
            slots=tuple(_slot_view(s, tz) for s in open_slots if s.reward_id == r.id),
        )
        for r in items
    ]


@dataclass(frozen=True)
class RewardSetup:
    """A reward's bookings set-up for staff: its slots from today on, and its options."""

    reward: views.RewardView
    compound: str
    timezone: str
    slots: list[SlotView]
    groups: list[Group]


async def setup_of(*, reward_id: int) -> RewardSetup:
    reward, compound, tz = await place_of(reward_id)
    today, _ = booking_rules.day_bounds(booking_rules.local_day(clock.now(), tz), tz)
    rows = (
        await PickupSlot.filter(reward_id=reward.id, ends_at__gt=today)
        .order_by("starts_at", "id")
        .limit(MAX_SLOTS)
    )
    return RewardSetup(
        reward=await views.reward(reward_id=reward.id),
        compound=compound.name,
        timezone=tz,
        slots=[_slot_view(s, tz) for s in rows],
        groups=await groups_of(reward.id),
    )


@dataclass(frozen=True)
class BookingView:
    """What a redemption booked. ``cancel_until``: until when it may be cancelled (None: any
    time while pending); ``cancellable``: whether it still may, now."""

    slot: SlotView | None
    choices: list[list[str]]
    cancel_until: datetime | None
    cancel_until_text: str  # in the compound's local time
    cancellable: bool


async def booking_of(*, code: str) -> BookingView | None:
    redemption = await Redemption.filter(code=code).first()
    booking = (
        None if redemption is None else await Booking.filter(redemption_id=redemption.id).first()
    )
    if redemption is None or booking is None:
        return None
    pending = redemption.state == RedemptionState.PENDING
    if booking.slot_id is None:
        return BookingView(None, booking.choices, None, "", pending)
    slot = await PickupSlot.get(id=booking.slot_id)
    reward, _, tz = await place_of(slot.reward_id)
    until = booking_rules.cancel_until(slot.starts_at, reward.cancel_hours)
    return BookingView(
        slot=_slot_view(slot, tz),
        choices=booking.choices,
        cancel_until=until,
        cancel_until_text=booking_rules.local_text(until, tz),
        cancellable=pending and clock.now() < until,
    )


@dataclass(frozen=True)
class DeskBooking:
    name: str  # the resident's display name
    choices: list[list[str]]
    state: str


@dataclass(frozen=True)
class DeskSlot:
    compound: str
    reward_zh: str
    reward_en: str
    slot: SlotView
    bookings: list[DeskBooking]


async def desk_day(*, compound_ids: set[int] | None, day: date | None) -> list[DeskSlot]:
    """The day's slots in the caller's compounds (each compound's own today unless ``day``),
    with who booked, what they chose and where each booking stands."""
    places = await _places(compound_ids)
    rewards = {r.id: r for r in await Reward.filter(compound_id__in=list(places))}
    now = clock.now()
    middle = datetime.combine(day, datetime.min.time(), now.tzinfo) if day else now
    rows = (
        await PickupSlot.filter(
            reward_id__in=list(rewards),
            starts_at__gte=middle - timedelta(days=2),
            starts_at__lt=middle + timedelta(days=2),
        )
        .order_by("starts_at", "id")
        .limit(MAX_SLOTS * 3)
    )
    day_slots = []
    for s in rows:
        name, tz = places[rewards[s.reward_id].compound_id]
        view = _slot_view(s, tz)
        if view.day == (day or booking_rules.local_day(now, tz)):
            day_slots.append((name, rewards[s.reward_id], view))
    day_slots = day_slots[:MAX_SLOTS]
    booked = await _booked([v.id for _, _, v in day_slots])
    return [
        DeskSlot(name, r.name_zh, r.name_en, v, booked.get(v.id, [])) for name, r, v in day_slots
    ]


async def _booked(slot_ids: list[int]) -> dict[int, list[DeskBooking]]:
    """Each slot's bookings: who, what they chose, where each stands."""
    found = await Booking.filter(slot_id__in=slot_ids).order_by("id")
    reds = {r.id: r for r in await Redemption.filter(id__in=[b.redemption_id for b in found])}
    who = await Resident.filter(id__in=[r.resident_id for r in reds.values()]).values_list(
        "id", "display_name"
    )
    names = {int(i): str(n) for i, n in who}
    out: dict[int, list[DeskBooking]] = {}
    for b in found:
        red = reds[b.redemption_id]
        row = DeskBooking(names.get(red.resident_id, ""), b.choices, str(red.state))
        out.setdefault(int(b.slot_id or 0), []).append(row)
    return out


@dataclass(frozen=True)
class HandedOut:
    day: date  # the desk's local day
    compound_id: int
    compound: str
    reward_id: int
    reward_zh: str
    reward_en: str
    count: int


async def handed_out(
    *, compound_ids: set[int] | None, since: date | None = None, until: date | None = None
) -> list[HandedOut]:
    """Rewards handed over at each desk (compound) per local day, ``since`` to ``until``
    inclusive (by default the week to today), newest day first."""
    until = until or booking_rules.local_day(clock.now(), DEFAULT_TZ)
    since = since or until - timedelta(days=6)
    if until < since or (until - since).days >= MAX_RANGE_DAYS:
        raise InvalidInput("until", f"up to {MAX_RANGE_DAYS} days", f"最多 {MAX_RANGE_DAYS} 天")
    places = await _places(compound_ids)
    rewards = {r.id: r for r in await Reward.filter(compound_id__in=list(places))}
    lo = booking_rules.day_bounds(since, DEFAULT_TZ)[0] - timedelta(days=1)
    hi = booking_rules.day_bounds(until, DEFAULT_TZ)[1] + timedelta(days=1)
    rows = await Redemption.filter(
        reward_id__in=list(rewards),
        state=RedemptionState.FULFILLED,
        closed_at__gte=lo,
        closed_at__lt=hi,
    ).values_list("reward_id", "closed_at")
    counts: Counter[tuple[date, int]] = Counter()
    for reward_id, closed_at in rows:
        tz = places[rewards[int(reward_id)].compound_id][1]
        day = booking_rules.local_day(closed_at, tz)
        if since <= day <= until:
            counts[(day, int(reward_id))] += 1
    out = [
        HandedOut(
            day,
            (r := rewards[rid]).compound_id,
            places[r.compound_id][0],
            rid,
            r.name_zh,
            r.name_en,
            n,
        )
        for (day, rid), n in counts.items()
    ]
    return sorted(out, key=lambda h: (-h.day.toordinal(), h.compound, h.reward_zh))


_HEAD = {
    "zh": ["日期", "小区", "奖品", "发放数量"],
    "en": ["Day", "Compound", "Reward", "Handed out"],
}


def handed_out_rows(rows: list[HandedOut], lang: str) -> list[list[Any]]:
    """The counts as spreadsheet rows, headers in Chinese (``lang="en"``: English)."""
    en = lang == "en"
    return [_HEAD["en" if en else "zh"]] + [
        [h.day.isoformat(), h.compound, h.reward_en if en else h.reward_zh, h.count] for h in rows
    ]
