"""What one run earns in one campaign: the day it counts on, its kcal, its money (converted,
floored, within the resident's daily cap), its points (within theirs) and the key it is
credited under. Pure: the crediting service reads the terms and what the resident already has
today, asks :func:`earning`, and writes what it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from warmrun.platform.conversion import cap_daily, value_fen
from warmrun.platform.points import EarningRule, run_points
from warmrun.platform.tracks import kcal

METRES, KCAL = "metres", "kcal"


@dataclass(frozen=True)
class Terms:
    """A campaign's terms for the run's sport (no conversion rule: ``basis`` is None; no
    points rule: ``points_per_km`` is None)."""

    campaign_id: int
    timezone: str
    starts_on: date
    ends_on: date
    walking_factor_permille: int
    default_body_mass_kg: int
    city_id: int
    basis: str | None = None
    fen: int = 0
    per: int = 1
    daily_cap_fen: int | None = None
    points_per_km: int | None = None
    points_per_run: int = 0
    points_cap: int | None = None


@dataclass(frozen=True)
class Today:
    """What the resident already has in the campaign on the run's day."""

    used_fen: int = 0  # money credited today
    rounds: int = 0  # earlier crediting rounds of this run (credited, reversed, credited again)
    points_today: int = 0  # run points earned today


@dataclass(frozen=True)
class Earning:
    campaign_id: int
    day: date
    kcal: int
    value_fen: int
    capped: bool  # the daily cap took some of the value
    points: int
    key: str  # the contribution's idempotency key (the points' is key + ":points")
    points_capped: bool = False  # the daily points cap took some of the points


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def counts_on(terms: Terms, started_at: datetime) -> date | None:
    """The campaign-local day a run started on, if it falls within the campaign."""
    day = local_day(started_at, terms.timezone)
    return day if terms.starts_on <= day <= terms.ends_on else None


def earning(
    *,
    terms: Terms,
    day: date,
    run_id: int,
    credited_m: int,
    sport: str,
    body_mass_kg: int | None,
    today: Today,
) -> Earning:
    """What the run earns in the campaign on ``day``, given what the resident has today."""
    kc = round(
        kcal(
            metres=credited_m,
            sport=sport,
            body_mass_kg=body_mass_kg or terms.default_body_mass_kg,
            walking_factor=terms.walking_factor_permille / 1000,
        )
    )
    value, capped = 0, False
    if terms.basis is not None:
        amount = credited_m if terms.basis == METRES else kc
        raw = value_fen(amount, fen=terms.fen, per=terms.per)
        value = cap_daily(raw, used_today=today.used_fen, cap=terms.daily_cap_fen)
        capped = value < raw
    points, points_capped = 0, False
    if terms.points_per_km is not None:
        rule = EarningRule(terms.points_per_km, terms.points_per_run, terms.points_cap)
        points = max(run_points(metres=credited_m, rule=rule, earned_today=today.points_today), 0)
        whole = EarningRule(terms.points_per_km, terms.points_per_run)
        points_capped = points < run_points(metres=credited_m, rule=whole, earned_today=0)
    # A run credited, reversed (say, flagged as a shared track) and then accepted on review is
    # credited again: each round has its own idempotency keys.
    key = f"run:{run_id}:campaign:{terms.campaign_id}"
    if today.rounds:
        key += f":r{today.rounds}"
    return Earning(terms.campaign_id, day, kc, value, capped, points, key, points_capped)
