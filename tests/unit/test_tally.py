"""Campaign totals (pure): what entries add up to, however they are grouped or reversed."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from warmrun.platform.tally import (
    OVERALL,
    AreaSums,
    Entry,
    Sums,
    areas,
    fold,
    fold_groups,
    participant_change,
    same,
)

COMPOUNDS = [(1, 11), (1, 12), (2, 21)]  # (city, compound)
DAY0 = date(2025, 11, 1)


@st.composite
def entries(draw: st.DrawFn) -> list[Entry]:
    """Credits by a few residents, some of them later reversed exactly (as a review does)."""
    out: list[Entry] = []
    for _ in range(draw(st.integers(0, 30))):
        city, compound = draw(st.sampled_from(COMPOUNDS))
        metres = draw(st.integers(0, 42_195))
        e = Entry(
            resident_ref=f"resident:{draw(st.integers(1, 6))}",
            city_id=city,
            compound_id=compound,
            local_day=DAY0 + timedelta(days=draw(st.integers(0, 4))),
            metres=metres,
            kcal=metres // 16,
            value_fen=metres // 20,
            funded_fen=draw(st.integers(0, metres // 20)),
        )
        out.append(e)
        if draw(st.booleans()):
            out.append(
                Entry(
                    e.resident_ref,
                    e.city_id,
                    e.compound_id,
                    e.local_day,
                    -e.metres,
                    -e.kcal,
                    -e.value_fen,
                    -e.funded_fen,
                )
            )
    return out


def groups(es: list[Entry]) -> tuple[list, list, list]:
    """The grouped form the database returns when totals are rebuilt."""
    days: dict[tuple[int, int, date], Sums] = defaultdict(Sums)
    residents: dict[tuple[int, int, str], int] = defaultdict(int)
    for e in es:
        days[(e.city_id, e.compound_id, e.local_day)] += e.sums
        residents[(e.city_id, e.compound_id, e.resident_ref)] += e.metres
    return (
        [(*k, s) for k, s in days.items()],
        [(*k, m) for k, m in residents.items()],
        [],
    )


@given(entries())
def test_totals_applied_one_entry_at_a_time_equal_the_rebuild_from_groups(es: list[Entry]) -> None:
    assert same(fold(es), fold_groups(*groups(es))) == []


@given(entries())
def test_each_area_sums_exactly_the_entries_inside_it(es: list[Entry]) -> None:
    t = fold(es)
    for city, compound in COMPOUNDS:
        for area in areas(city, compound):
            inside = [e for e in es if area in areas(e.city_id, e.compound_id)]
            expected = sum((e.sums for e in inside), Sums())
            assert t.area.get(area, AreaSums()).sums == expected


@given(entries())
def test_participants_are_the_residents_with_positive_net_metres(es: list[Entry]) -> None:
    t = fold(es)
    for city, compound in COMPOUNDS:
        for area in areas(city, compound):
            net: dict[str, int] = defaultdict(int)
            for e in es:
                if area in areas(e.city_id, e.compound_id):
                    net[e.resident_ref] += e.metres
            assert t.area.get(area, AreaSums()).participants == sum(
                1 for m in net.values() if m > 0
            )


@given(entries())
def test_a_city_counts_a_resident_once_whatever_their_compounds(es: list[Entry]) -> None:
    t = fold(es)
    city_one = t.area.get((1, 0), AreaSums()).participants
    in_compounds = sum(t.area.get((1, c), AreaSums()).participants for c in (11, 12))
    assert city_one <= in_compounds


def test_a_reversed_run_takes_its_resident_out_of_the_count() -> None:
    run = Entry("resident:1", 1, 11, DAY0, 5_000, 300, 250, 250)
    back = Entry("resident:1", 1, 11, DAY0, -5_000, -300, -250, -250)
    t = fold([run, back])
    assert t.area[OVERALL] == AreaSums(Sums(0, 0, 0, 0, 2), participants=0)


def test_check_ins_count_in_their_three_areas_and_their_day() -> None:
    t = fold([], checkins=[(1, 11, DAY0), (1, 12, DAY0)])
    assert t.area[OVERALL].checkins == 2
    assert t.area[(1, 0)].checkins == 2
    assert t.area[(1, 11)].checkins == 1
    assert t.day_checkins[(OVERALL, DAY0)] == 2


def test_participant_count_moves_only_when_net_metres_cross_zero() -> None:
    assert participant_change(0, 10) == 1
    assert participant_change(10, 20) == 0
    assert participant_change(10, 0) == -1
    assert participant_change(0, 0) == 0


def test_a_changed_total_is_named() -> None:
    run = Entry("resident:1", 1, 11, DAY0, 5_000, 300, 250, 250)
    stored = fold([run])
    stored.area[(1, 11)] = AreaSums(Sums(4_000, 300, 250, 250, 1), 1)
    (line,) = same(stored, fold([run]))
    assert line.startswith("area (1, 11)")
