"""Residents' satisfaction: a resident rates a redemption they picked up (the hot drink, a
service) or an event day they (or a child in their care) checked in at, 1 to 5 with an
optional comment. Rating again replaces the earlier rating."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tortoise.transactions import in_transaction

from warmrun.platform import clock
from warmrun.platform.errors import InvalidInput, NotFound
from warmrun.platform.models import (
    CheckIn,
    Event,
    Rating,
    Redemption,
    RedemptionState,
    Resident,
    Reward,
)

SUBJECTS = ("redemption", "event")


@dataclass(frozen=True)
class Rateable:
    subject: str
    subject_id: int
    title_zh: str
    title_en: str
    day: date | None
    score: int | None  # the resident's rating so far
    comment: str


@dataclass(frozen=True)
class Satisfaction:
    subject: str
    ratings: int
    average_tenths: int  # 43 for an average of 4.3
    counts: list[int]  # how many gave 1, 2, 3, 4, 5
    comments: list[str] = field(default_factory=list)  # the latest few, newest first


async def _family(resident_id: int) -> list[int]:
    wards = await Resident.filter(guardian_id=resident_id).values_list("id", flat=True)
    return [resident_id, *[int(str(w)) for w in wards]]


async def rate(
    *, resident_id: int, subject: str, subject_id: int, score: int, comment: str
) -> None:
    if subject not in SUBJECTS:
        raise InvalidInput("subject", "redemption or event", "兑换或活动日")
    if not 1 <= score <= 5:
        raise InvalidInput("score", "1 to 5", "1 到 5 分")
    resident = await Resident.get_or_none(id=resident_id, erased_at=None)
    if resident is None:
        raise NotFound("resident", "居民")
    if subject == "redemption":
        found = await Redemption.exists(
            id=subject_id, resident_id=resident_id, state=RedemptionState.FULFILLED
        )
    else:
        found = await CheckIn.exists(
            station__event_id=subject_id, resident_id__in=await _family(resident_id)
        )
    if not found:
        raise NotFound(subject, "兑换" if subject == "redemption" else "活动日")
    async with in_transaction() as conn:
        await (
            Rating.filter(resident_id=resident_id, subject=subject, subject_id=subject_id)
            .using_db(conn)
            .delete()
        )
        await Rating.create(
            resident_id=resident_id,
            subject=subject,
            subject_id=subject_id,
            compound_id=resident.compound_id,
            score=score,
            comment=comment.strip()[:500],
            created_at=clock.now(),
            using_db=conn,
        )


async def rateable(*, resident_id: int) -> list[Rateable]:
    """What the resident may rate: redemptions handed over and event days checked in at."""
    mine = {(r.subject, r.subject_id): r for r in await Rating.filter(resident_id=resident_id)}
    out = []
    picked = (
        await Redemption.filter(resident_id=resident_id, state=RedemptionState.FULFILLED)
        .order_by("-id")
        .limit(20)
    )
    rewards = {r.id: r for r in await Reward.filter(id__in={x.reward_id for x in picked})}
    for x in picked:
        reward = rewards[x.reward_id]
        r = mine.get(("redemption", x.id))
        day = x.closed_at.date() if x.closed_at else None
        out.append(Rateable("redemption", x.id, reward.name_zh, reward.name_en, day,
                            r.score if r else None, r.comment if r else ""))  # fmt: skip
    events = await CheckIn.filter(resident_id__in=await _family(resident_id)).values_list(
        "station__event_id", flat=True
    )
    for e in await Event.filter(id__in=list(set(events))).order_by("-day"):
        r = mine.get(("event", e.id))
        out.append(Rateable("event", e.id, e.name, e.name, e.day,
                            r.score if r else None, r.comment if r else ""))  # fmt: skip
    return out


async def satisfaction(*, campaign_id: int, compound_ids: list[int]) -> list[Satisfaction]:
    """Ratings of the campaign's event days and of redemptions in ``compound_ids``."""
    events = await Event.filter(campaign_id=campaign_id).values_list("id", flat=True)
    rewards = await Reward.filter(compound_id__in=compound_ids).values_list("id", flat=True)
    redemptions = await Redemption.filter(reward_id__in=list(rewards)).values_list("id", flat=True)
    out = []
    for subject, ids in (("redemption", redemptions), ("event", events)):
        rows = await Rating.filter(
            subject=subject, subject_id__in=list(ids), compound_id__in=compound_ids
        ).order_by("-id")
        counts = [sum(1 for r in rows if r.score == s) for s in range(1, 6)]
        total = sum(r.score for r in rows)
        avg = (total * 10 + len(rows) // 2) // len(rows) if rows else 0
        comments = [r.comment for r in rows if r.comment][:10]
        out.append(Satisfaction(subject, len(rows), avg, counts, comments))
    return out
