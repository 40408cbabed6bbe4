"""Conversion and points rules: integer arithmetic, deterministic rounding."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from warmrun.platform.conversion import (
    allocate_first_come,
    cap_daily,
    goods_progress,
    pledges_owed,
    split_largest_remainder,
    value_fen,
)
from warmrun.platform.points import EarningRule, run_points


def test_value_is_floored_to_whole_fen() -> None:
    assert value_fen(1999, fen=1, per=1000) == 1
    assert value_fen(10_000, fen=50, per=1000) == 500  # 10 km = 5 CNY


def test_daily_cap_leaves_only_the_remainder() -> None:
    assert cap_daily(800, used_today=1500, cap=2000) == 500
    assert cap_daily(800, used_today=2500, cap=2000) == 0


def test_first_come_drains_pledges_in_order() -> None:
    assert allocate_first_come(700, [(1, 500), (2, 1000)]) == [(1, 500), (2, 200)]
    assert allocate_first_come(700, [(1, 0), (2, 100)]) == [(2, 100)]


def test_warm_packs_are_whole_bundles_plus_progress() -> None:
    p = goods_progress(128 * 36_500 + 14_600, 36_500)
    assert (p.bundles, p.next_percent) == (128, 40)


def test_pro_rata_owes_in_proportion_to_caps() -> None:
    assert pledges_owed(total_value_fen=900, caps=[1000, 500], allocated=[0, 0], pro_rata=True) == [
        600,
        300,
    ]


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=20))
def test_largest_remainder_parts_add_up(total: int, weights: list[int]) -> None:
    parts = split_largest_remainder(total, weights)
    assert all(p >= 0 for p in parts)
    assert sum(parts) == (total if sum(weights) > 0 else 0)


@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**6), max_size=10))
def test_first_come_never_exceeds_value_or_room(value: int, rooms: list[int]) -> None:
    plan = allocate_first_come(value, list(enumerate(rooms)))
    assert sum(f for _, f in plan) == min(value, sum(rooms))
    assert all(f <= rooms[i] for i, f in plan)


@given(st.integers(0, 100_000), st.integers(0, 500))
def test_points_respect_the_daily_cap(metres: int, earned: int) -> None:
    rule = EarningRule(points_per_km=10, points_per_run=5, daily_cap=200)
    pts = run_points(metres=metres, rule=rule, earned_today=earned)
    assert 0 <= pts <= max(0, 200 - earned)
