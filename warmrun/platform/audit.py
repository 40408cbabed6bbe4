"""The audit log: every staff action, with who, when, what and the values before and after.

The web layer says who is acting for the length of a request (:func:`acting`); the services
record their changes with :func:`record` inside the transaction that makes them, so an entry
exists exactly when its change does. Commands run as the operating-system user.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from warmrun.platform import clock
from warmrun.platform.models import AuditEntry, Campaign, CampaignCity, City

# What staff can do, as recorded. The pages translate each into a sentence.
ACTIONS = (
    "city.create",
    "compound.create",
    "compound.households",
    "partner.create",
    "goods.create",
    "bundle.create",
    "campaign.create",
    "campaign.goal",
    "campaign.activate",
    "campaign.close",
    "campaign.settle",
    "rule.conversion",
    "rule.points",
    "pledge.add",
    "pledge.refund",
    "run.review",
    "reward.create",
    "reward.restock",
    "reward.handout",
    "slot.create",
    "option.add",
    "option.remove",
    "points.grant",
    "points.adjust",
    "event.create",
    "station.add",
    "badge.create",
    "challenge.create",
    "challenge.settle",
    "staff.invite",
    "staff.join",
    "staff.revoke",
)


@dataclass(frozen=True)
class Actor:
    account_id: int | None
    label: str  # the account's address, or "command line (user)"


_actor: ContextVar[Actor | None] = ContextVar("warmrun_audit_actor", default=None)


@contextmanager
def acting(account_id: int | None, label: str) -> Iterator[None]:
    """Record what is done inside the block as ``label``'s (the web: a request's account)."""
    token = _actor.set(Actor(account_id, label))
    try:
        yield
    finally:
        _actor.reset(token)


def current() -> Actor:
    """Who is acting: the request's account, or the operating-system user of a command."""
    found = _actor.get()
    if found is not None:
        return found
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return Actor(None, f"command line ({user})")


async def record(
    conn: BaseDBAsyncClient | None,
    action: str,
    *,
    campaign_id: int | None = None,
    city_id: int | None = None,
    subject: str = "",
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry, in ``conn``'s transaction when the change has one."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    who = current()
    await AuditEntry.create(
        at=clock.now(),
        actor_id=who.account_id,
        actor=who.label[:254],
        action=action,
        campaign_id=campaign_id,
        city_id=city_id,
        subject=subject[:200],
        before=before,
        after=after,
        using_db=conn,
    )


@dataclass(frozen=True)
class EntryView:
    id: int
    at: datetime
    actor: str
    action: str
    campaign_id: int | None
    city_id: int | None
    subject: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Filter:
    campaign_id: int | None = None
    action: str | None = None  # an action, or its family ("rule", "campaign", …)
    actor: str | None = None  # part of the actor's address
    since: datetime | None = None
    until: datetime | None = None


async def _visible(city_ids: set[int] | None) -> Q:
    """Entries an organizer of ``city_ids`` may read (None: an admin, everything): those in
    their cities, and those of the campaigns running in them."""
    if city_ids is None:
        return Q()
    campaigns = await CampaignCity.filter(city_id__in=city_ids).values_list(
        "campaign_id", flat=True
    )
    return Q(city_id__in=city_ids) | Q(campaign_id__in=list(campaigns), city_id=None)


async def entries(
    *, city_ids: set[int] | None, where: Filter, offset: int = 0, limit: int = 50
) -> tuple[list[EntryView], int]:
    """A page of entries (newest first) and how many match."""
    query = AuditEntry.filter(await _visible(city_ids))
    if where.campaign_id is not None:
        query = query.filter(campaign_id=where.campaign_id)
    if where.action:
        family = Q(action=where.action) | Q(action__startswith=f"{where.action}.")
        query = query.filter(family)
    if where.actor:
        query = query.filter(actor__icontains=where.actor)
    if where.since is not None:
        query = query.filter(at__gte=where.since)
    if where.until is not None:
        query = query.filter(at__lt=where.until)
    total = await query.count()
    rows = await query.order_by("-id").offset(offset).limit(limit)
    return [
        EntryView(
            r.id, r.at, r.actor, r.action, r.campaign_id, r.city_id, r.subject, r.before, r.after
        )
        for r in rows
    ], total


@dataclass(frozen=True)
class Names:
    """What the entries' ids name: campaigns by id, cities by id in both languages."""

    campaigns: dict[int, str]
    cities: dict[int, tuple[str, str]]

    def city(self, city_id: int, lang: str) -> str:
        en_zh = self.cities.get(city_id)
        if en_zh is None:
            return ""
        return en_zh[0] if lang.startswith("en") else en_zh[1]


async def names() -> Names:
    campaigns = {c.id: c.name for c in await Campaign.all().only("id", "name")}
    cities = {c.id: (c.name_en, c.name_zh) for c in await City.all()}
    return Names(campaigns, cities)
