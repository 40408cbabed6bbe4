"""Badge rules as properties of the pure engine."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from warmrun.platform.badge_rules import Facts, Rule, RunFact, earned, longest_week_streak

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))
runs = st.lists(
    st.builds(
        RunFact,
        run_id=st.integers(1, 10_000),
        day=days,
        hour=st.integers(0, 23),
        city_id=st.integers(1, 4),
        metres=st.integers(0, 50_000),
    ),
    max_size=30,
)
rules = st.builds(
    Rule,
    kind=st.sampled_from(
        ["first_run", "distance_km", "all_cities", "early_bird", "streak_weeks", "family_run"]
    ),
    threshold=st.integers(0, 60),
)


def brute_streak(ds: list[date]) -> int:
    weeks = {d - timedelta(days=d.weekday()) for d in ds}
    best = 0
    for w in weeks:
        n = 0
        while w + timedelta(days=7 * n) in weeks:
            n += 1
        best = max(best, n)
    return best


@given(st.lists(days, max_size=40))
def test_the_week_streak_matches_counting_week_by_week(ds: list[date]) -> None:
    assert longest_week_streak(ds) == brute_streak(ds)


@given(rules, runs, runs)
def test_more_credited_runs_never_take_a_badge_away(
    rule: Rule, some: list[RunFact], more: list[RunFact]
) -> None:
    cities = frozenset({1, 2, 3, 4})
    family = frozenset({date(2025, 11, 2)})
    before = Facts(runs=tuple(some), campaign_cities=cities, family_days=family)
    after = Facts(runs=tuple(some + more), campaign_cities=cities, family_days=family)
    if earned(rule, before):
        assert earned(rule, after)


@given(rules, runs)
def test_runs_without_credit_earn_nothing(rule: Rule, some: list[RunFact]) -> None:
    zero = tuple(RunFact(r.run_id, r.day, r.hour, r.city_id, 0) for r in some)
    facts = Facts(
        runs=zero, campaign_cities=frozenset({1}), family_days=frozenset(r.day for r in some)
    )
    assert not earned(rule, facts) or (
        rule.threshold == 0 and rule.kind in ("distance_km", "streak_weeks")
    )


def test_every_station_of_one_event_is_needed_for_all_stations() -> None:
    events = {1: frozenset({10, 11, 12}), 2: frozenset({20})}
    assert not earned(Rule("all_stations"), Facts(check_ins=frozenset({10, 11}), events=events))
    assert earned(Rule("all_stations"), Facts(check_ins=frozenset({10, 11, 12}), events=events))
