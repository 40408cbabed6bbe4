"""The fold: a window's current values and a chunk of new entries become the write commands
that leave each key with its final values (batch.py reads the values and commits the writes).

Most entries add metres to a resident already on the board; those fold column-wise with numpy.
The others (Strava entries, reversals, residents new to the window) may change who counts as
active, so they are replayed one by one in outbox order, as the rebuild folds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from warmrun.leaderboard import keys
from warmrun.leaderboard.resp import bulk, command, int_pairs

if TYPE_CHECKING:
    from warmrun.leaderboard.batch import Call

SHIFT = keys.SHIFT


@dataclass
class Members:
    """The entries that count in a window and the members they touch. Windows with the same
    entries (the common case: a batch from one week) share one of these."""

    positions: list[int]  # of the entries in the batch
    entries: list[tuple[Any, ...]]
    residents: list[str]
    compounds: list[str]
    cities: list[str]
    active_fields: list[str]
    compound_households: list[int]  # as the compounds' first entries give them
    city_households: list[int]
    # The same lists as RESP arguments, packed once for every window that reads them.
    resident_args: str = ""
    compound_args: str = ""
    city_args: str = ""
    active_args: str = ""
    _index: tuple[dict[str, int], dict[str, int], dict[str, int]] | None = None
    _ids: npt.NDArray[np.int64] | None = None

    def resident_ids(self) -> npt.NDArray[np.int64]:
        """The residents as integers (built once)."""
        if self._ids is None:
            self._ids = np.array(self.residents, dtype=np.int64)
        return self._ids

    def index(self) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """resident, compound and city → position in their lists (built once)."""
        if self._index is None:
            self._index = (
                {rid: i for i, rid in enumerate(self.residents)},
                {c: i for i, c in enumerate(self.compounds)},
                {c: i for i, c in enumerate(self.cities)},
            )
        return self._index

    @classmethod
    def of(cls, batch: list[Call], positions: list[int]) -> Members:
        entries = [batch[i].args for i in positions]
        residents = list(dict.fromkeys(a[1] for a in entries if a[1]))
        compounds = list(dict.fromkeys(a[2] for a in entries))
        cities = list(dict.fromkeys(a[3] for a in entries))
        active = [f"P:{cp}" for cp in compounds] + [f"C:{city}" for city in cities]
        hh_compound: dict[str, int] = {}
        hh_city: dict[str, int] = {}
        for a in entries:
            hh_compound.setdefault(a[2], a[7])
            hh_city.setdefault(a[3], a[8])
        return cls(
            positions,
            entries,
            residents,
            compounds,
            cities,
            active,
            [hh_compound[c] for c in compounds],
            [hh_city[c] for c in cities],
            bulk(residents),
            bulk(compounds),
            bulk(cities),
            bulk(active),
        )


@dataclass
class Columns:
    """Some new entries of a window as arrays, for the column-wise fold."""

    entries: list[tuple[Any, ...]]
    rix: npt.NDArray[np.int64]  # index in Members.residents, -1 for entries without one
    delta: npt.NDArray[np.int64]
    t: npt.NDArray[np.int64]
    from_strava: npt.NDArray[np.bool_]
    cix: npt.NDArray[np.int64]  # index in Members.compounds
    yix: npt.NDArray[np.int64]  # index in Members.cities

    @classmethod
    def of(cls, members: Members, entries: list[tuple[Any, ...]]) -> Columns:
        n = len(entries)
        where, cp, city = members.index()
        return cls(
            entries,
            np.fromiter((where[a[1]] if a[1] else -1 for a in entries), dtype=np.int64, count=n),
            np.fromiter((a[4] for a in entries), dtype=np.int64, count=n),
            np.fromiter((a[5] for a in entries), dtype=np.int64, count=n),
            np.fromiter((a[6] for a in entries), dtype=bool, count=n),
            np.fromiter((cp[a[2]] for a in entries), dtype=np.int64, count=n),
            np.fromiter((city[a[3]] for a in entries), dtype=np.int64, count=n),
        )


def num(value: Any) -> int:
    """A Redis reply as an integer (None, a missing value, is 0)."""
    return 0 if value is None else int(float(value))


class Window:
    """One window's current values for the members of a batch, kept up to date as chunks are
    folded: the relay's own writes are known, so the next chunk needs no new read."""

    def __init__(
        self,
        prefix: str,
        window: str,
        members: Members,
        *replies: Any,
    ) -> None:
        self.prefix, self.window, self.members = prefix, window, members
        if members.residents:
            scores, rs, compound_m, city_m, act = replies
        else:
            scores, rs = [], []
            compound_m, city_m, act = replies
        old = np.array([-1 if s is None else int(float(s)) for s in scores], dtype=np.int64)
        self.vis = np.where(old >= 0, old // SHIFT, 0)
        self.last = np.where(old >= 0, SHIFT - 1 - old % SHIFT, -1)
        self.strava = [0 if v is None else int(float(v)) for v in rs]
        self.compound = [num(x) for x in compound_m]
        self.city = [num(x) for x in city_m]
        self.active = dict(zip(members.active_fields, (num(x) for x in act), strict=True))

    def fold(self, cols: Columns) -> list[bytes]:
        """The write commands for these entries: each key written once with its final values.

        Most entries add metres to a resident already on the board; those fold column-wise
        (sum of metres, latest second). Residents with a Strava entry, a reversal, or no place
        on the board yet may change who counts as active, so their entries are replayed one by
        one in outbox order (state per resident, as the rebuild folds them).
        """
        prefix, w = self.prefix, self.window
        rix = cols.rix
        has = rix >= 0
        slow = self.vis <= 0
        slow[rix[has & (cols.from_strava | (cols.delta < 0))]] = True
        fast = has.copy()
        fast[has] = ~slow[rix[has]]
        out: list[bytes] = []
        if fast.any():
            out.append(self._fold_columns(cols, fast))
        board, strava, active_p, active_c = self._replay(cols, np.flatnonzero(has & ~fast).tolist())
        _zwrite(out, f"{prefix}:R:m:{w}", board)
        _hwrite(out, f"{prefix}:RS:{w}", strava)
        self._fold_areas(cols, out)
        if active_p or active_c:
            self._fold_active(active_p, active_c, out)
        return out

    def _fold_columns(self, cols: Columns, fast: npt.NDArray[np.bool_]) -> bytes:
        """The ZADD of the residents whose entries fold column-wise."""
        vis, last = self.vis, self.last
        fr = cols.rix[fast]
        members = np.unique(fr)
        np.add.at(vis, fr, cols.delta[fast])
        np.maximum.at(last, fr, cols.t[fast])
        last[members] = np.clip(last[members], 0, SHIFT - 1)
        composite = vis[members] * SHIFT + (SHIFT - 1 - last[members])
        # In score order: consecutive skiplist walks share their upper levels in the cache.
        order = np.argsort(composite, kind="stable")
        ids = self.members.resident_ids()[members[order]]
        return int_pairs("ZADD", f"{self.prefix}:R:m:{self.window}", composite[order], ids)

    def _replay(
        self, cols: Columns, slow: list[int]
    ) -> tuple[
        dict[str, int | None], dict[str, int | None], dict[str, list[int]], dict[str, list[int]]
    ]:
        """The other entries one by one, in outbox order: the residents' new scores and Strava
        metres (None: off the board), and the changes of active residents per compound and
        city ([active delta, households])."""
        entries, rix = cols.entries, cols.rix
        vis, last, stv = self.vis, self.last, self.strava
        board: dict[str, int | None] = {}
        strava: dict[str, int | None] = {}
        active_p: dict[str, list[int]] = {}  # compound → [active delta, households]
        active_c: dict[str, list[int]] = {}
        for k in slow:
            _, rid, cp, city, d_m, t_e, is_strava, hhp, hhc = entries[k]
            i = int(rix[k])
            v, sv = int(vis[i]), stv[i]
            new_vis, new_stv = v, sv
            if is_strava:
                new_stv = sv + d_m
                stv[i] = max(new_stv, 0)
                strava[rid] = new_stv if new_stv > 0 else None
            else:
                new_vis = v + d_m
                if new_vis > 0:
                    tt = min(max(int(last[i]), t_e, 0), SHIFT - 1)
                    vis[i], last[i] = new_vis, tt
                    board[rid] = new_vis * SHIFT + (SHIFT - 1 - tt)
                else:
                    vis[i], last[i] = 0, -1
                    board[rid] = None
            was, now = v + sv > 0, new_vis + new_stv > 0
            if was != now:
                d = 1 if now else -1
                for table, member, hh in ((active_p, cp, hhp), (active_c, city, hhc)):
                    entry = table.get(member)
                    if entry is None:
                        table[member] = [d, hh]
                    else:
                        entry[0] += d
        return board, strava, active_p, active_c

    def _fold_areas(self, cols: Columns, out: list[bytes]) -> None:
        """The compound and city boards: metres, and metres per household."""
        prefix, w, plan = self.prefix, self.window, self.members
        delta = cols.delta
        for scope, members_of, index, households, current in (
            ("P", plan.compounds, cols.cix, plan.compound_households, self.compound),
            ("C", plan.cities, cols.yix, plan.city_households, self.city),
        ):
            k = len(members_of)
            touched = np.bincount(index, minlength=k) > 0
            sums = np.bincount(index, weights=delta, minlength=k)  # exact below 2**53
            totals: dict[str, int | None] = {}
            ratios: dict[str, int | None] = {}
            for j in np.flatnonzero(touched).tolist():
                m, hh = members_of[j], households[j]
                total = current[j] + int(sums[j])
                current[j] = max(total, 0)
                totals[m] = total if total > 0 else None
                ratios[m] = total * 1000 // hh if total > 0 and hh > 0 else None
            _zwrite(out, f"{prefix}:{scope}:m:{w}", totals)
            _zwrite(out, f"{prefix}:{scope}:pc:{w}", ratios)

    def _fold_active(
        self,
        active_p: dict[str, list[int]],
        active_c: dict[str, list[int]],
        out: list[bytes],
    ) -> None:
        """The participation boards and the active counts of the compounds and cities whose
        active residents changed."""
        prefix, w = self.prefix, self.window
        counts: dict[str, int | None] = {}
        for scope, changes in (("P", active_p), ("C", active_c)):
            rates: dict[str, int | None] = {}
            for m, (d, hh) in changes.items():
                field = f"{scope}:{m}"
                a = self.active[field] + d
                self.active[field] = max(a, 0)
                counts[field] = a if a > 0 else None
                rates[m] = a * 1_000_000 // hh if a > 0 and hh > 0 else None
            _zwrite(out, f"{prefix}:{scope}:pr:{w}", rates)
        _hwrite(out, f"{prefix}:ACT:{w}", counts)


def _zwrite(out: list[bytes], key: str, values: dict[str, int | None]) -> None:
    """ZADD the members with a score, ZREM those set to None. In score order: consecutive
    skiplist walks share their upper levels in the CPU cache."""
    kept = sorted((v, m) for m, v in values.items() if v is not None)
    _write(out, "ZADD", "ZREM", key, [x for pair in kept for x in pair], values)


def _hwrite(out: list[bytes], key: str, values: dict[str, int | None]) -> None:
    """HSET the fields with a value, HDEL those set to None."""
    kept = [x for f, v in values.items() if v is not None for x in (f, v)]
    _write(out, "HSET", "HDEL", key, kept, values)


def _write(
    out: list[bytes],
    put: str,
    remove: str,
    key: str,
    pairs: list[Any],
    values: dict[str, int | None],
) -> None:
    if pairs:
        out.append(command(put, key, bulk(list(map(str, pairs))), len(pairs)))
    gone = [m for m, v in values.items() if v is None]
    if gone:
        out.append(command(remove, key, bulk(gone), len(gone)))
