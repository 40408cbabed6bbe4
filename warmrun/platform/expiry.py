"""Points expiry: a campaign's points rule may let points lapse a number of days after they
were earned, oldest first, with an in-app notice some days before.

Spending and earlier expiries use the oldest points first, so what lapses at a cutoff is what
was earned before it and not yet used: ``max(0, earned before the cutoff + every debit so
far)`` (debits are negative), and never more than the balance. Each expiry is a ledger entry
keyed by resident and day, so running the round twice a day expires nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from warmrun.platform import clock, notices, points_ledger
from warmrun.platform.errors import InsufficientPoints
from warmrun.platform.models import (
    Campaign,
    CampaignCity,
    CampaignState,
    Notification,
    PointsEntry,
    PointsRule,
    Resident,
)


def lapsing(earned_before: int, debits: int, balance: int) -> int:
    """Points that lapse at a cutoff: earned before it and not yet used (FIFO). Pure."""
    return max(0, min(earned_before + debits, balance))


@dataclass(frozen=True)
class Round:
    expired_points: int = 0
    residents: int = 0
    notices: int = 0


async def _sums(resident_id: int, before: datetime) -> tuple[int, int]:
    """(points earned before ``before``, every debit so far as a negative number)."""
    earned = (
        await PointsEntry.filter(resident_id=resident_id, delta__gt=0, created_at__lt=before)
        .annotate(s=Sum("delta"))
        .first()
        .values_list("s", flat=True)
    )
    spent = (
        await PointsEntry.filter(resident_id=resident_id, delta__lt=0)
        .annotate(s=Sum("delta"))
        .first()
        .values_list("s", flat=True)
    )
    return int(str(earned or 0)), int(str(spent or 0))


async def _policies() -> list[tuple[int, PointsRule]]:
    """(city, rule) for every city of an active campaign whose points expire."""
    out = []
    for rule in await PointsRule.filter(expire_after_days__isnull=False):
        campaign = await Campaign.get(id=rule.campaign_id)
        if campaign.state != CampaignState.ACTIVE:
            continue
        for city in await CampaignCity.filter(campaign_id=campaign.id):
            out.append((city.city_id, rule))
    return out


async def run_round(now: datetime | None = None) -> Round:
    """Expire what is due and tell residents what will lapse within their notice days."""
    now = now or clock.now()
    expired = touched = told = 0
    for city_id, rule in await _policies():
        cutoff = now - timedelta(days=int(rule.expire_after_days or 0))
        soon = cutoff + timedelta(days=rule.expiry_notice_days)
        for r in await Resident.filter(
            compound__city_id=city_id, erased_at=None, points_balance__gt=0
        ):
            earned, spent = await _sums(r.id, cutoff)
            due = lapsing(earned, spent, r.points_balance)
            if due and await _expire(r.id, due, now):
                expired, touched = expired + due, touched + 1
            later, _ = await _sums(r.id, soon)
            coming = lapsing(later, spent - due, r.points_balance - due)
            if coming and await _tell(r.id, coming, soon, now):
                told += 1
    return Round(expired, touched, told)


async def _expire(resident_id: int, points: int, now: datetime) -> bool:
    key = f"expiry:{resident_id}:{now.date().isoformat()}"
    try:
        async with in_transaction() as conn:
            await points_ledger.post(
                conn, resident_id=resident_id, delta=-points, reason="expiry", key=key
            )
    except (IntegrityError, InsufficientPoints):
        return False  # expired already today, or spent meanwhile (the next round sees it)
    return True


async def _tell(resident_id: int, points: int, by: datetime, now: datetime) -> bool:
    """One notice per resident per week at most."""
    recent = await Notification.exists(
        resident_id=resident_id, kind="points_expiring", created_at__gte=now - timedelta(days=7)
    )
    if recent:
        return False
    await notices.notify(
        None, resident_id, "points_expiring", points=points, day=by.date().isoformat()
    )
    return True
