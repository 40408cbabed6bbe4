"""Badge rules: which badges a resident's record earns. Pure: no I/O.

A badge is configuration, not code: a ``kind`` from the table below and a ``threshold``. The
engine evaluates every badge against a resident's facts (credited runs, check-ins) and the
service awards what is earned and revokes what no longer is (a reversed run).

| kind | earned when |
|---|---|
| ``first_run`` | at least ``threshold`` (default 1) credited runs |
| ``distance_km`` | credited distance of at least ``threshold`` km |
| ``first_check_in`` | at least one station check-in |
| ``all_stations`` | checked in at every station of some event |
| ``all_cities`` | credited runs started in every city of the campaign (RunFact.city_id) |
| ``family_run`` | a credited run on a day a child in one's care (or one's guardian) also ran |
| ``early_bird`` | a credited run started before ``threshold`` o'clock local time |
| ``streak_weeks`` | credited runs in ``threshold`` consecutive ISO weeks |
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

KINDS = (
    "first_run",
    "distance_km",
    "first_check_in",
    "all_stations",
    "all_cities",
    "family_run",
    "early_bird",
    "streak_weeks",
)


@dataclass(frozen=True)
class RunFact:
    run_id: int
    day: date  # campaign-local day
    hour: int  # campaign-local hour the run started
    # The city the run started in (geo.city_at: the nearest centre within its radius); None
    # outside every city or without GPS. Not the city it was credited to: that is always the
    # resident's own.
    city_id: int | None
    metres: int


@dataclass(frozen=True)
class Facts:
    runs: tuple[RunFact, ...] = ()
    check_ins: frozenset[int] = frozenset()  # station ids
    events: dict[int, frozenset[int]] = field(default_factory=dict)  # event → its station ids
    campaign_cities: frozenset[int] = frozenset()
    family_days: frozenset[date] = frozenset()  # days a linked family member ran


@dataclass(frozen=True)
class Rule:
    kind: str
    threshold: int = 1


def longest_week_streak(days: Iterable[date]) -> int:
    """The most consecutive ISO weeks with at least one of ``days``."""
    weeks = sorted({d - timedelta(days=d.weekday()) for d in days})
    best = run = 0
    previous: date | None = None
    for monday in weeks:
        run = run + 1 if previous is not None and monday - previous == timedelta(days=7) else 1
        best = max(best, run)
        previous = monday
    return best


def earned(rule: Rule, facts: Facts) -> bool:
    runs = [r for r in facts.runs if r.metres > 0]
    k, n = rule.kind, rule.threshold
    if k == "first_run":
        return len(runs) >= max(n, 1)
    if k == "distance_km":
        return sum(r.metres for r in runs) >= n * 1000
    if k == "first_check_in":
        return len(facts.check_ins) >= max(n, 1)
    if k == "all_stations":
        return any(st and st <= facts.check_ins for st in facts.events.values())
    if k == "all_cities":
        return bool(facts.campaign_cities) and facts.campaign_cities <= {r.city_id for r in runs}
    if k == "family_run":
        return any(r.day in facts.family_days for r in runs)
    if k == "early_bird":
        return any(r.hour < n for r in runs)
    if k == "streak_weeks":
        return longest_week_streak(r.day for r in runs) >= n
    raise ValueError(f"unknown badge kind {k!r}")
