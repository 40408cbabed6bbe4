"""Participation figures of a campaign (whole, one city or one compound) for organizers:
weekly active residents (new and returning), repeat rate, participants per 100 registered
households, age groups, runs and km, check-ins per station, redemptions per day, and
residents' satisfaction.

Read from the ledger (one grouped statement), the check-ins, the redemptions and the ratings.
At a million ledger entries the grouped read takes seconds: this is a report, not a page
that sits on every request.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from warmrun.platform import clock, sql
from warmrun.platform.campaigns import get_campaign
from warmrun.platform.earning import local_day
from warmrun.platform.models import CampaignCity, Compound, Redemption, Resident, Reward
from warmrun.platform.participation_rules import (
    Activity,
    Figures,
    figures,
    per_hundred_households,
)
from warmrun.platform.ratings import Satisfaction, satisfaction


@dataclass(frozen=True)
class Scope:
    campaign_id: int
    city_id: int | None = None
    compound_id: int | None = None


@dataclass(frozen=True)
class CompoundShare:
    compound_id: int
    name: str
    households: int
    participants: int
    per_hundred: int | None


@dataclass(frozen=True)
class Participation:
    figures: Figures
    compounds: list[CompoundShare]
    stations: list[dict[str, Any]]  # event, day, station, check-ins
    redemptions: list[dict[str, Any]]  # day, booked, handed over
    satisfaction: list[Satisfaction]


_ACTIVITY = (
    "SELECT resident_ref, local_day, compound_id, SUM(metres) AS metres,"
    " SUM(CASE WHEN kind = 'run' THEN 1 WHEN kind = 'reversal' THEN -1 ELSE 0 END) AS runs"
    " FROM contribution WHERE campaign_id = ? AND kind IN ('run', 'reversal')"
    " AND (? = 0 OR city_id = ?) AND (? = 0 OR compound_id = ?)"
    " GROUP BY resident_ref, local_day, compound_id"
)
_STATIONS = (
    "SELECT e.name AS event, e.day AS day, s.name AS station, COUNT(c.id) AS checkins"
    " FROM event_station s JOIN event e ON e.id = s.event_id"
    " LEFT JOIN check_in c ON c.station_id = s.id"
    " WHERE e.campaign_id = ? AND (? = 0 OR e.city_id = ?)"
    " GROUP BY e.id, e.name, e.day, s.id, s.name ORDER BY e.day, e.id, s.id"
)


async def _compounds(scope: Scope) -> list[Compound]:
    cities = await CampaignCity.filter(campaign_id=scope.campaign_id).values_list(
        "city_id", flat=True
    )
    query = Compound.filter(city_id__in=list(cities))
    if scope.city_id:
        query = query.filter(city_id=scope.city_id)
    if scope.compound_id:
        query = query.filter(id=scope.compound_id)
    return list(await query.order_by("city_id", "name"))


async def _birth_years(refs: set[str]) -> dict[str, int | None]:
    ids = [int(r.split(":", 1)[1]) for r in refs if r.startswith("resident:")]
    rows = await Resident.filter(id__in=ids).values_list("id", "birth_year")
    return {f"resident:{rid}": year for rid, year in rows}


async def _redemptions(compound_ids: list[int], tz: str) -> list[dict[str, Any]]:
    rewards = await Reward.filter(compound_id__in=compound_ids).values_list("id", flat=True)
    booked: dict[date, int] = defaultdict(int)
    handed: dict[date, int] = defaultdict(int)
    for created, closed, state in await Redemption.filter(reward_id__in=list(rewards)).values_list(
        "created_at", "closed_at", "state"
    ):
        booked[local_day(created, tz)] += 1
        if state == "fulfilled" and closed is not None:
            handed[local_day(closed, tz)] += 1
    days = sorted(set(booked) | set(handed))
    return [{"day": d, "booked": booked[d], "handed_over": handed[d]} for d in days]


async def campaign_participation(scope: Scope) -> Participation:
    campaign = await get_campaign(campaign_id=scope.campaign_id)
    conn = sql.default()
    city, compound = scope.city_id or 0, scope.compound_id or 0
    rows = await sql.rows(conn, _ACTIVITY, scope.campaign_id, city, city, compound, compound)
    acts = [
        Activity(r["resident_ref"], _day(r["local_day"]), int(r["compound_id"]),
                 int(r["metres"]), int(r["runs"]))
        for r in rows
    ]  # fmt: skip
    ages = await _birth_years({a.resident for a in acts})
    f = figures(acts, birth_years=ages, year=clock.now().year)
    places = await _compounds(scope)
    shares = [
        CompoundShare(c.id, c.name, c.households, f.by_compound.get(c.id, 0),
                      per_hundred_households(f.by_compound.get(c.id, 0), c.households))
        for c in places
    ]  # fmt: skip
    stations = await sql.rows(conn, _STATIONS, scope.campaign_id, city, city)
    return Participation(
        figures=f,
        compounds=shares,
        stations=[{**s, "day": _day(s["day"]), "checkins": int(s["checkins"])} for s in stations],
        redemptions=await _redemptions([c.id for c in places], campaign.timezone),
        satisfaction=await satisfaction(
            campaign_id=scope.campaign_id, compound_ids=[c.id for c in places]
        ),
    )


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
