"""Challenge scoring and points as properties, plus a hand-computed example."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from warmrun.platform.challenge_rules import challenge_points, team_scores

weeks = st.lists(st.integers(0, 200_000), max_size=10)


@given(weeks, st.integers(0, 100), st.integers(0, 100_000), st.integers(0, 1000))
def test_points_never_exceed_the_full_rate_and_never_fall_below_the_capped_rate(
    ws: list[int], per_km: int, cap: int, decline: int
) -> None:
    pts = challenge_points(ws, points_per_km=per_km, weekly_cap_m=cap, decline_permille=decline)
    assert pts <= sum(w * per_km // 1000 for w in ws) + len(ws)
    assert pts >= sum(min(w, cap) * per_km // 1000 for w in ws)


@given(weeks, st.integers(1, 50))
def test_a_kilometre_beyond_the_weekly_cap_is_worth_less_than_one_within_it(
    ws: list[int], per_km: int
) -> None:
    within = challenge_points(
        [10_000], points_per_km=per_km, weekly_cap_m=20_000, decline_permille=500
    )
    beyond = challenge_points(
        [30_000], points_per_km=per_km, weekly_cap_m=20_000, decline_permille=500
    )
    full = challenge_points(
        [20_000], points_per_km=per_km, weekly_cap_m=20_000, decline_permille=500
    )
    assert beyond - full < within


def test_a_heavy_runner_counts_up_to_the_cap_and_scores_are_per_household() -> None:
    # Compound 1: 100 households, one runner of 300 km (capped at 50 km) and one of 10 km.
    # Compound 2: 20 households, four runners of 10 km.
    residents = {
        1: (1, 300_000),
        2: (1, 10_000),
        3: (2, 10_000),
        4: (2, 10_000),
        5: (2, 10_000),
        6: (2, 10_000),
    }
    scores = team_scores(
        residents, {1: 100, 2: 20}, person_cap_m=50_000, target_m_per_household=1_000
    )
    assert [s.compound_id for s in scores] == [2, 1]
    assert scores[0].counted_m == 40_000 and scores[0].per_household_mm == 2_000_000
    assert scores[1].counted_m == 60_000 and scores[1].per_household_mm == 600_000
    assert [s.target_permille for s in scores] == [1000, 600]
