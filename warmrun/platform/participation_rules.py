"""The participation figures a property company plans by, from plain rows. Pure.

- active residents per week (Monday to Sunday, campaign-local days), split into new (their
  first active week) and returning;
- the repeat rate: residents active in two or more weeks, of all who took part;
- participants per 100 registered households, per compound;
- age groups: children (under 18), adults (18 to 59), seniors (60 and over), unknown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

AGE_GROUPS = ("child", "adult", "senior", "unknown")


@dataclass(frozen=True)
class Activity:
    """One resident's credited running on one day (net metres, after any reversal)."""

    resident: str  # the ledger's resident reference
    day: date
    compound_id: int
    metres: int
    runs: int


@dataclass(frozen=True)
class Week:
    monday: date
    active: int
    new: int
    returning: int
    runs: int
    metres: int


@dataclass
class Figures:
    weeks: list[Week] = field(default_factory=list)
    participants: int = 0
    repeat_participants: int = 0  # active in two or more weeks
    by_compound: dict[int, int] = field(default_factory=dict)  # participants
    by_age: dict[str, int] = field(default_factory=dict)

    @property
    def repeat_permille(self) -> int:
        return self.repeat_participants * 1000 // self.participants if self.participants else 0


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def age_group(birth_year: int | None, year: int) -> str:
    if birth_year is None:
        return "unknown"
    age = year - birth_year
    return "child" if age < 18 else "senior" if age >= 60 else "adult"


def figures(
    rows: Iterable[Activity], *, birth_years: Mapping[str, int | None], year: int
) -> Figures:
    """Weekly activity, repeat rate, participants per compound and per age group. Only days
    with positive net metres count as taking part."""
    weeks_of: dict[str, set[date]] = defaultdict(set)
    week_runs: dict[date, int] = defaultdict(int)
    week_metres: dict[date, int] = defaultdict(int)
    compound_of: dict[str, int] = {}
    for a in rows:
        if a.metres <= 0:
            continue
        w = monday(a.day)
        weeks_of[a.resident].add(w)
        week_runs[w] += a.runs
        week_metres[w] += a.metres
        compound_of[a.resident] = a.compound_id
    first = {r: min(ws) for r, ws in weeks_of.items()}
    active: dict[date, set[str]] = defaultdict(set)
    for r, ws in weeks_of.items():
        for w in ws:
            active[w].add(r)
    out = Figures(participants=len(weeks_of))
    for w in sorted(active):
        new = sum(1 for r in active[w] if first[r] == w)
        out.weeks.append(Week(w, len(active[w]), new, len(active[w]) - new, week_runs[w],
                              week_metres[w]))  # fmt: skip
    out.repeat_participants = sum(1 for ws in weeks_of.values() if len(ws) >= 2)
    for c in compound_of.values():
        out.by_compound[c] = out.by_compound.get(c, 0) + 1
    for r in weeks_of:
        g = age_group(birth_years.get(r), year)
        out.by_age[g] = out.by_age.get(g, 0) + 1
    return out


def per_hundred_households(participants: int, households: int) -> int | None:
    """Participants per 100 registered households (None when none are registered)."""
    return participants * 100 // households if households > 0 else None
