"""The demo's everyday life, four weeks into the campaign: families with children, runs
waiting in review, an event day today with its check-ins, volunteers' points, drinks
redeemed and handed out, and residents' ratings. Idempotent, like the rest of the demo."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from tortoise.exceptions import IntegrityError

from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform import bookings, clock, events, families, grants, ingest, ratings, rewards
from warmrun.platform.errors import WarmrunError
from warmrun.platform.models import (
    CheckIn,
    City,
    Compound,
    Event,
    PickupSlot,
    Rating,
    Redemption,
    Resident,
    Reward,
)
from warmrun.platform.uploads import Parser, Upload

CHILDREN = ["小宝", "朵朵", "乐乐", "豆豆"]
STATIONS = [("签到处", 10), ("亲子接力点", 15), ("爱心补给站", 10)]


async def everyday_life(parser: Parser, campaign_id: int, cities: list[City], today: date) -> None:
    homes = await Compound.filter(city_id__in=[c.id for c in cities]).order_by("id")
    for n, compound in enumerate(homes[:: max(len(homes) // 4, 1)][:4]):
        await _family(parser, compound.id, CHILDREN[n % len(CHILDREN)], today)
    await _waiting_for_review(parser, homes[0].id, today)
    await _event_day(campaign_id, cities[1], today)
    await _volunteers(campaign_id, homes[0].id)
    await _drinks_and_ratings(homes[0].id, today)


async def _adults(compound_id: int, n: int) -> list[Resident]:
    return list(
        await Resident.filter(compound_id=compound_id, guardian_id=None, erased_at=None)
        .order_by("id")
        .limit(n)
    )


async def _family(parser: Parser, compound_id: int, child_name: str, today: date) -> None:
    """A guardian registers a child (with consent) and they run together yesterday."""
    (guardian,) = await _adults(compound_id, 1)
    kids = await families.children(guardian_id=guardian.id)
    child = kids[0].id if kids else (
        await families.add_child(guardian_id=guardian.id, display_name=child_name,
                                 birth_year=today.year - 9, consent=True)
    ).id  # fmt: skip
    # Each family on its own morning hour (the same hour and place would be one shared track).
    start = datetime(today.year, today.month, today.day, 0, 30, tzinfo=UTC) - timedelta(
        days=1, hours=compound_id % 12
    )
    for who, seed in ((guardian.id, 7000 + compound_id), (child, 8000 + compound_id)):
        data = synthetic_run_gpx(points=900, start=start, seed=seed, pace_mps=2.2,
                                 name="亲子跑 family run")  # fmt: skip
        await ingest.import_uploads(
            parser=parser, resident_id=who, uploads=[Upload(name=f"family-{seed}.gpx", data=data)]
        )


async def _waiting_for_review(parser: Parser, compound_id: int, today: date) -> None:
    """Two neighbours upload the same track: both wait for an organizer's review."""
    start = datetime(today.year, today.month, today.day, 1, 0, tzinfo=UTC) - timedelta(days=2)
    shared = synthetic_run_gpx(points=1500, start=start, seed=424242, name="shared")
    for r in (await _adults(compound_id, 3))[1:]:  # not the first: they run with a child
        await ingest.import_uploads(
            parser=parser, resident_id=r.id, uploads=[Upload(name="shared.gpx", data=shared)]
        )


async def _event_day(campaign_id: int, city: City, today: date) -> None:
    """A parent-and-child event day today with its stations, residents and children checked in."""
    event = await Event.filter(campaign_id=campaign_id, city_id=city.id, day=today).first()
    if event is None:
        event = await events.create_event(
            campaign_id=campaign_id,
            city_id=city.id,
            name="亲子公益跑 · Family charity run",
            day=today,
            place="金鸡湖畔",
            participant_fen=300,
        )
        for name, points in STATIONS:
            await events.add_station(event_id=event.id, name=name, points=points)
    stations = await events.stations_of(event_id=event.id)
    people = await Resident.filter(compound__city_id=city.id, erased_at=None).order_by("id")
    for n, r in enumerate(people[:30]):
        for s in stations[: 1 + n % len(stations)]:
            if await CheckIn.exists(station_id=s.id, resident_id=r.id):
                continue
            via = "guardian" if r.guardian_id is not None else "scan"
            await events.check_in(station_id=s.id, resident_id=r.id, via=via)
    for r in people[:2]:
        if r.guardian_id is None:
            comment = "孩子很开心" if r.id % 2 else ""
            await ratings.rate(resident_id=r.id, subject="event", subject_id=event.id,
                               score=5 - r.id % 2, comment=comment)  # fmt: skip


async def _volunteers(campaign_id: int, compound_id: int) -> None:
    """Little volunteers and a winter visit to an elderly neighbour, granted once each."""
    for n, r in enumerate(await _adults(compound_id, 3)):
        reason = "winter_care" if n == 0 else "volunteer"
        await grants.grant(campaign_id=campaign_id, resident_id=r.id, points=20, reason=reason,
                           note="冬季探访独居老人" if n == 0 else "小小志愿者",
                           ref=f"demo-{r.id}")  # fmt: skip


async def _booked_drinks(compound_id: int, today: date) -> Reward | None:
    """The compound's hot drink with its flavours and temperatures, and pickup slots at the
    lobby desk every morning of the coming week; and a free knife-sharpening service."""
    reward = await Reward.filter(compound_id=compound_id, kind="goods").order_by("id").first()
    if reward is None:
        return None
    if not await bookings.groups_of(reward.id):
        await bookings.add_option_group(reward_id=reward.id, name_zh="口味", name_en="Flavour",
                                        choices=[("姜茶", "Ginger tea"), ("红枣茶", "Red date tea"),
                                                 ("热可可", "Hot cocoa")])  # fmt: skip
        await bookings.add_option_group(reward_id=reward.id, name_zh="温度", name_en="Temperature",
                                        choices=[("热", "Hot"), ("温", "Warm")])  # fmt: skip
    if not await PickupSlot.exists(reward_id=reward.id):
        await bookings.create_slots(reward_id=reward.id, day=today + timedelta(days=1),
                                    starts=time(7, 0),
                                    ends=time(9, 0), capacity=20, days=7)  # fmt: skip
    if not await Reward.exists(compound_id=compound_id, kind="service"):
        service = await rewards.create_reward(
            compound_id=compound_id, name_zh="便民磨刀", name_en="Knife sharpening",
            points_price=0, stock=30, kind="service", cancel_hours=2,
        )  # fmt: skip
        await bookings.create_slots(reward_id=service.id, day=today + timedelta(days=1),
                                    starts=time(14, 0), ends=time(16, 0), capacity=10)  # fmt: skip
    return reward


async def _drinks_and_ratings(compound_id: int, today: date) -> None:
    """A few hot drinks booked with points for a morning slot, with a flavour; some handed
    over (and rated), the rest waiting at the desk."""
    reward = await _booked_drinks(compound_id, today)
    if reward is None:
        return
    groups = await bookings.groups_of(reward.id)
    slots = (
        await PickupSlot.filter(reward_id=reward.id, starts_at__gt=clock.now())
        .order_by("starts_at")
        .limit(2)
    )
    if not slots:
        return
    for n, r in enumerate(await _adults(compound_id, 6)):
        done = await Redemption.filter(resident_id=r.id, reward_id=reward.id).first()
        choices = [g.choices[(n + i) % len(g.choices)].id for i, g in enumerate(groups)]
        try:
            done = done or await rewards.redeem(
                resident_id=r.id, reward_id=reward.id, idempotency_key=f"demo-drink-{r.id}",
                slot_id=slots[n % len(slots)].id, choices=choices,
            )  # fmt: skip
        except (WarmrunError, IntegrityError):
            continue  # not enough points: a resident whose runs wait for review
        if n % 2 == 0 and done.state == "pending":
            await rewards.fulfil(code=done.code)
        if n % 2 == 0 and not await Rating.exists(resident_id=r.id, subject="redemption"):
            await ratings.rate(resident_id=r.id, subject="redemption", subject_id=done.id,
                               score=4 + n % 2, comment="姜茶很暖和" if n == 0 else "")  # fmt: skip
