"""Compound-vs-compound challenges: scores and points. Pure: no I/O.

A compound's score is the credited metres of its residents over the challenge's period, each
resident counted up to ``person_cap_m``, divided by the compound's registered households: a few
heavy runners cannot carry a compound, and the largest compound does not win by size alone.
Challenge points are ``points_per_km`` for each kilometre of a week up to ``weekly_cap_m``, and
``decline_permille`` of that beyond it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TeamScore:
    compound_id: int
    counted_m: int  # residents' metres, each capped
    households: int
    per_household_mm: int  # millimetres per household (integer; ranks without floats)
    target_permille: int  # progress to the per-household target, in thousandths (capped 1000)


def team_scores(
    metres_by_resident: Mapping[int, tuple[int, int]],  # resident → (compound, metres)
    households: Mapping[int, int],
    *,
    person_cap_m: int | None,
    target_m_per_household: int,
) -> list[TeamScore]:
    """Every team's score, best first (ties: lower compound id first)."""
    counted: dict[int, int] = {c: 0 for c in households}
    for compound, metres in metres_by_resident.values():
        if compound not in counted or metres <= 0:
            continue
        counted[compound] += min(metres, person_cap_m) if person_cap_m is not None else metres
    out = []
    for compound, total in counted.items():
        homes = max(households[compound], 1)
        per = total * 1000 // homes
        target = target_m_per_household * 1000
        progress = min(per * 1000 // target, 1000) if target > 0 else 0
        out.append(TeamScore(compound, total, households[compound], per, progress))
    return sorted(out, key=lambda s: (-s.per_household_mm, s.compound_id))


def challenge_points(
    weekly_metres: Iterable[int], *, points_per_km: int, weekly_cap_m: int, decline_permille: int
) -> int:
    """Points for a resident's weeks: full rate up to the weekly cap, declining beyond it."""
    total = 0
    for metres in weekly_metres:
        metres = max(metres, 0)
        full = min(metres, weekly_cap_m)
        beyond = metres - full
        total += full * points_per_km // 1000
        total += beyond * points_per_km * decline_permille // 1_000_000
    return total
