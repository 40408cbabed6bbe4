"""Pure points rules: what a run earns, and whether a redemption is affordable."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

# Pickup codes: no 0/O, 1/I/L, so staff can read them aloud and type them.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class EarningRule:
    points_per_km: int
    points_per_run: int = 0
    daily_cap: int | None = None


def run_points(*, metres: int, rule: EarningRule, earned_today: int) -> int:
    """Whole points for credited metres (floored per km) plus a per-run bonus, within the cap."""
    pts = metres * rule.points_per_km // 1000 + (rule.points_per_run if metres > 0 else 0)
    if rule.daily_cap is not None:
        pts = max(0, min(pts, rule.daily_cap - earned_today))
    return pts


def pickup_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
