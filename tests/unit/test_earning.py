"""What one run earns in one campaign (pure): caps never exceeded, rounding never creates fen,
rounds get their own keys, only the campaign's dates count."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from warmrun.platform.earning import METRES, Terms, Today, counts_on, earning

DAY = date(2025, 11, 20)


def terms(**overrides: object) -> Terms:
    base: dict[str, object] = {
        "campaign_id": 3,
        "timezone": "Asia/Shanghai",
        "starts_on": date(2025, 11, 1),
        "ends_on": date(2025, 11, 30),
        "walking_factor_permille": 600,
        "default_body_mass_kg": 60,
        "city_id": 1,
        "basis": METRES,
        "fen": 50,
        "per": 1000,
        "daily_cap_fen": 500,
        "points_per_km": 10,
        "points_per_run": 5,
        "points_cap": 100,
    }
    return Terms(**{**base, **overrides})  # type: ignore[arg-type]


caps = st.one_of(st.none(), st.integers(0, 100_000))


@given(
    metres=st.integers(0, 200_000),
    fen=st.integers(0, 1000),
    per=st.integers(1, 100_000),
    cap=caps,
    used=st.integers(0, 100_000),
)
def test_money_stays_within_the_daily_cap_and_never_rounds_up(
    metres: int, fen: int, per: int, cap: int | None, used: int
) -> None:
    t = terms(fen=fen, per=per, daily_cap_fen=cap)
    e = earning(
        terms=t, day=DAY, run_id=1, credited_m=metres, sport="run", body_mass_kg=70,
        today=Today(used_fen=used),
    )  # fmt: skip
    assert 0 <= e.value_fen <= metres * fen // per  # floored, never more than the rule gives
    if cap is not None:
        assert e.value_fen <= max(0, cap - used)
    assert e.capped == (e.value_fen < metres * fen // per)


@given(metres=st.integers(0, 200_000), cap=caps, earned=st.integers(0, 1000))
def test_points_stay_within_the_daily_cap(metres: int, cap: int | None, earned: int) -> None:
    e = earning(
        terms=terms(points_cap=cap), day=DAY, run_id=1, credited_m=metres, sport="run",
        body_mass_kg=None, today=Today(points_today=earned),
    )  # fmt: skip
    assert e.points >= 0
    if cap is not None:
        assert e.points <= max(0, cap - earned)


def test_money_by_kcal_uses_the_campaigns_default_mass() -> None:
    e = earning(
        terms=terms(basis="kcal", fen=1, per=1, daily_cap_fen=None), day=DAY, run_id=1,
        credited_m=10_000, sport="run", body_mass_kg=None, today=Today(),
    )  # fmt: skip
    assert e.kcal == round(1.036 * 60 * 10) and e.value_fen == e.kcal


def test_walking_earns_a_share_of_running_kcal() -> None:
    run = earning(terms=terms(), day=DAY, run_id=1, credited_m=5000, sport="run",
                  body_mass_kg=70, today=Today())  # fmt: skip
    walk = earning(terms=terms(), day=DAY, run_id=1, credited_m=5000, sport="walk",
                   body_mass_kg=70, today=Today())  # fmt: skip
    assert walk.kcal == round(run.kcal * 0.6)


def test_each_crediting_round_has_its_own_key() -> None:
    first = earning(terms=terms(), day=DAY, run_id=9, credited_m=5000, sport="run",
                    body_mass_kg=70, today=Today())  # fmt: skip
    again = earning(terms=terms(), day=DAY, run_id=9, credited_m=5000, sport="run",
                    body_mass_kg=70, today=Today(rounds=1))  # fmt: skip
    assert (first.key, again.key) == ("run:9:campaign:3", "run:9:campaign:3:r1")


def test_no_conversion_rule_earns_no_money_but_points() -> None:
    e = earning(terms=terms(basis=None), day=DAY, run_id=1, credited_m=5000, sport="run",
                body_mass_kg=70, today=Today())  # fmt: skip
    assert (e.value_fen, e.points) == (0, 55)


def test_a_run_counts_on_its_local_day_within_the_campaign() -> None:
    t = terms()
    # 17:00 UTC on 31 Oct is 01:00 on 1 Nov in Shanghai: inside; on 30 Nov, 16:30 UTC is
    # already 1 Dec there: outside.
    assert counts_on(t, datetime(2025, 10, 31, 17, 0, tzinfo=UTC)) == date(2025, 11, 1)
    assert counts_on(t, datetime(2025, 11, 30, 16, 30, tzinfo=UTC)) is None
