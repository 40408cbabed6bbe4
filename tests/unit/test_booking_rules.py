"""Pure booking rules: local pickup windows, options chosen, the cancel window."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from warmrun.platform import booking_rules as rules
from warmrun.platform.booking_rules import Choice, Group
from warmrun.platform.errors import InvalidInput

SHANGHAI = "Asia/Shanghai"
NOW = datetime(2025, 11, 2, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
FLAVOUR = Group(
    1, "口味", "Flavour", (Choice(11, "姜茶", "Ginger tea"), Choice(12, "热可可", "Cocoa"))
)
HEAT = Group(2, "温度", "Heat", (Choice(21, "热", "Hot"), Choice(22, "温", "Warm")))


def week(**changes: object) -> list[rules.Window]:
    args: dict[str, object] = {
        "day": date(2025, 11, 3),
        "starts": time(7),
        "ends": time(9),
        "days": 7,
        "capacity": 20,
        "tz": SHANGHAI,
        "now": NOW,
    }
    return rules.windows(**{**args, **changes})  # type: ignore[arg-type]


def test_a_week_of_daily_windows_is_set_in_local_time_and_stored_in_utc() -> None:
    made = week()
    assert len(made) == 7
    assert made[0].starts_at == datetime(2025, 11, 2, 23, 0, tzinfo=UTC)
    assert made[6].ends_at == datetime(2025, 11, 9, 1, 0, tzinfo=UTC)
    assert rules.label(made[0].starts_at, made[0].ends_at, SHANGHAI) == "2025-11-03 07:00-09:00"


def test_a_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidInput, match="after the start"):
        week(starts=time(9), ends=time(7))


def test_a_window_already_over_cannot_be_opened() -> None:
    with pytest.raises(InvalidInput, match="already over"):
        week(day=date(2025, 11, 2), days=1)


@pytest.mark.parametrize(("days", "capacity"), [(0, 1), (15, 1), (1, 0), (1, 1001)])
def test_days_and_places_are_bounded(days: int, capacity: int) -> None:
    with pytest.raises(InvalidInput):
        week(days=days, capacity=capacity)


def test_chosen_options_keep_their_words_in_the_groups_order() -> None:
    words = rules.chosen([FLAVOUR, HEAT], [22, 11])
    assert words == [["口味", "Flavour", "姜茶", "Ginger tea"], ["温度", "Heat", "温", "Warm"]]


def test_a_choice_that_is_not_offered_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not offered"):
        rules.chosen([FLAVOUR], [99])


def test_a_question_left_unanswered_is_refused() -> None:
    with pytest.raises(InvalidInput, match="please choose Heat"):
        rules.chosen([FLAVOUR, HEAT], [11])


def test_two_answers_to_one_question_are_refused() -> None:
    with pytest.raises(InvalidInput, match="one answer"):
        rules.chosen([FLAVOUR], [11, 12])


def test_the_cancel_window_closes_hours_before_the_slot() -> None:
    starts = datetime(2025, 11, 2, 23, 0, tzinfo=UTC)
    assert rules.cancel_until(starts, 2) == datetime(2025, 11, 2, 21, 0, tzinfo=UTC)
    assert rules.local_text(rules.cancel_until(starts, 2), SHANGHAI) == "2025-11-03 05:00"


def test_a_daily_pickup_time_must_be_one_offered() -> None:
    assert rules.legacy_slot("07:00-09:00", needs_slot=True) == "07:00-09:00"
    assert rules.legacy_slot("", needs_slot=False) is None
    with pytest.raises(InvalidInput):
        rules.legacy_slot("whenever", needs_slot=True)
    with pytest.raises(InvalidInput):
        rules.legacy_slot("07:00-09:00", needs_slot=False)


def test_a_question_needs_distinct_answers_in_both_languages() -> None:
    ok = rules.option_group("口味", "Flavour", [("姜茶", "Ginger"), ("", "")], groups_now=0)
    assert ok == [("姜茶", "Ginger")]
    with pytest.raises(InvalidInput, match="only once"):
        rules.option_group("口味", "Flavour", [("姜茶", "a"), ("姜茶", "b")], groups_now=0)
    with pytest.raises(InvalidInput, match="both names"):
        rules.option_group("口味", "Flavour", [("姜茶", "")], groups_now=0)
    with pytest.raises(InvalidInput, match="at most"):
        rules.option_group("口味", "Flavour", [("姜茶", "a")], groups_now=rules.MAX_GROUPS)


def test_slots_are_opened_at_most_a_year_ahead() -> None:
    with pytest.raises(InvalidInput, match="a year ahead"):
        week(day=date(2026, 12, 1))


def test_an_offset_or_seconds_given_with_a_time_are_dropped() -> None:
    (made,) = week(starts=time(7, 0, 30, tzinfo=UTC), ends=time(9), days=1)
    assert made.starts_at == datetime(2025, 11, 2, 23, 0, tzinfo=UTC)
