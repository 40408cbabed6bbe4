"""Campaign totals as sums of the ledger: what one entry adds, and the totals of many. Pure.

An *area* is the whole campaign ``(0, 0)``, a city ``(city, 0)`` or a compound
``(city, compound)``. Every ledger entry (a run's contribution, its reversal, an offline
credit) adds its metres, kcal, value and funded fen to its three areas, overall and on its
local day. A resident is a participant of an area while their net metres there are positive,
so a reversal that brings them back to zero takes them out of the count, exactly.

The store (``platform/rollups.py``) applies :func:`entry_changes` inside each entry's
transaction and rebuilds with :func:`fold`; the property tests check that both agree for any
sequence of credits and reversals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

Area = tuple[int, int]  # (city_id, compound_id); 0 for "all"
OVERALL: Area = (0, 0)


@dataclass(frozen=True)
class Sums:
    """Exact sums of ledger entries (integer metres, kcal and fen)."""

    metres: int = 0
    kcal: int = 0
    value_fen: int = 0
    funded_fen: int = 0
    entries: int = 0

    def __add__(self, other: Sums) -> Sums:
        return Sums(
            self.metres + other.metres,
            self.kcal + other.kcal,
            self.value_fen + other.value_fen,
            self.funded_fen + other.funded_fen,
            self.entries + other.entries,
        )


@dataclass(frozen=True)
class AreaSums:
    sums: Sums = Sums()
    participants: int = 0
    checkins: int = 0


@dataclass(frozen=True)
class Entry:
    """The fields of one ledger entry that totals are made of."""

    resident_ref: str
    city_id: int
    compound_id: int
    local_day: date
    metres: int
    kcal: int
    value_fen: int
    funded_fen: int

    @property
    def sums(self) -> Sums:
        return Sums(self.metres, self.kcal, self.value_fen, self.funded_fen, 1)


def areas(city_id: int, compound_id: int) -> tuple[Area, Area, Area]:
    """The three areas an entry of this compound counts in, widest first."""
    return (OVERALL, (city_id, 0), (city_id, compound_id))


def participant_change(before: int, after: int) -> int:
    """How an area's participant count moves when a resident's net metres go from ``before``
    to ``after``: +1 on becoming positive, -1 on ceasing to be, 0 otherwise."""
    return int(after > 0) - int(before > 0)


@dataclass(frozen=True)
class Changes:
    """What one entry adds: per area and per (area, day), and to each (area, resident)."""

    area: dict[Area, Sums]
    day: dict[tuple[Area, date], Sums]
    resident_metres: dict[Area, int]  # the resident's net metres change, per area


def entry_changes(e: Entry) -> Changes:
    s = e.sums
    three = areas(e.city_id, e.compound_id)
    return Changes(
        area={a: s for a in three},
        day={(a, e.local_day): s for a in three},
        resident_metres={a: e.metres for a in three},
    )


@dataclass
class Totals:
    """A campaign's totals: per area (with participants and check-ins) and per area and day."""

    area: dict[Area, AreaSums] = field(default_factory=dict)
    day: dict[tuple[Area, date], Sums] = field(default_factory=dict)
    day_checkins: dict[tuple[Area, date], int] = field(default_factory=dict)
    residents: dict[tuple[Area, str], int] = field(default_factory=dict)

    def add(self, e: Entry) -> None:
        """Apply one entry, as the store does in its transaction."""
        ch = entry_changes(e)
        for a, s in ch.area.items():
            before = self.residents.get((a, e.resident_ref), 0)
            after = before + ch.resident_metres[a]
            self.residents[(a, e.resident_ref)] = after
            cur = self.area.get(a, AreaSums())
            self.area[a] = AreaSums(
                cur.sums + s, cur.participants + participant_change(before, after), cur.checkins
            )
        for k, s in ch.day.items():
            self.day[k] = self.day.get(k, Sums()) + s

    def check_in(self, city_id: int, compound_id: int, day: date) -> None:
        for a in areas(city_id, compound_id):
            cur = self.area.get(a, AreaSums())
            self.area[a] = replace(cur, checkins=cur.checkins + 1)
            self.day_checkins[(a, day)] = self.day_checkins.get((a, day), 0) + 1


def fold(entries: Iterable[Entry], checkins: Iterable[tuple[int, int, date]] = ()) -> Totals:
    """The totals of a whole ledger (and its check-ins: city, compound, day), from nothing."""
    t = Totals()
    for e in entries:
        t.add(e)
    for city_id, compound_id, day in checkins:
        t.check_in(city_id, compound_id, day)
    return t


def fold_groups(
    days: Iterable[tuple[int, int, date, Sums]],
    residents: Iterable[tuple[int, int, str, int]],
    checkins: Iterable[tuple[int, int, date, int]],
) -> Totals:
    """Totals from per-compound groups: sums per day, net metres per resident, check-ins per
    day. Equal to :func:`fold` over the entries the groups were made of."""
    t = Totals()
    for city, compound, day, s in days:
        for a in areas(city, compound):
            t.day[(a, day)] = t.day.get((a, day), Sums()) + s
            cur = t.area.get(a, AreaSums())
            t.area[a] = AreaSums(cur.sums + s, cur.participants, cur.checkins)
    for city, compound, ref, metres in residents:
        for a in areas(city, compound):
            t.residents[(a, ref)] = t.residents.get((a, ref), 0) + metres
    for (a, _ref), metres in t.residents.items():
        if metres > 0:
            cur = t.area.get(a, AreaSums())
            t.area[a] = AreaSums(cur.sums, cur.participants + 1, cur.checkins)
    for city, compound, day, n in checkins:
        for a in areas(city, compound):
            cur = t.area.get(a, AreaSums())
            t.area[a] = AreaSums(cur.sums, cur.participants, cur.checkins + n)
            t.day_checkins[(a, day)] = t.day_checkins.get((a, day), 0) + n
    return t


def same(stored: Totals, ledger: Totals, *, limit: int = 10) -> list[str]:
    """Where stored totals differ from the ledger's (at most ``limit`` lines; empty if equal).
    Residents at zero net metres count as absent: a reversal leaves such a row behind."""
    out: list[str] = []

    def differ(what: str, a: object, b: object) -> None:
        if a != b and len(out) < limit:
            out.append(f"{what}: stored {a}, ledger {b}")

    for k in sorted(stored.area.keys() | ledger.area.keys()):
        differ(f"area {k}", stored.area.get(k, AreaSums()), ledger.area.get(k, AreaSums()))
    days = stored.day.keys() | ledger.day.keys() | stored.day_checkins.keys()
    for d in sorted(days | ledger.day_checkins.keys()):
        differ(f"day {d[0]} {d[1]}", stored.day.get(d, Sums()), ledger.day.get(d, Sums()))
        differ(
            f"check-ins {d[0]} {d[1]}", stored.day_checkins.get(d, 0), ledger.day_checkins.get(d, 0)
        )
    mine = {k: m for k, m in stored.residents.items() if m}
    theirs = {k: m for k, m in ledger.residents.items() if m}
    for r in sorted(mine.keys() | theirs.keys()):
        differ(f"resident {r[1]} in {r[0]}", mine.get(r, 0), theirs.get(r, 0))
    return out
