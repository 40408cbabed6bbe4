"""Campaign totals kept beside the ledger: written with each entry, read in O(areas), rebuilt
and checked from the ledger. The arithmetic is ``platform/tally.py``; this module holds the
statements.

Every statement here runs in the transaction that appends the entry (or the check-in), after
the campaign row is locked: the chain head already serialises a campaign's appenders, so the
totals add no new point of contention and can never disagree with the ledger they sum.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from warmrun.platform import sql
from warmrun.platform.tally import (
    Area,
    AreaSums,
    Entry,
    Sums,
    Totals,
    areas,
    entry_changes,
    fold_groups,
    participant_change,
    same,
)

_RESIDENTS = (
    "INSERT INTO area_participant (campaign_id, city_id, compound_id, resident_ref, metres)"
    " VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)"
    " ON CONFLICT (campaign_id, city_id, compound_id, resident_ref)"
    " DO UPDATE SET metres = area_participant.metres + excluded.metres"
    " RETURNING city_id, compound_id, metres"
)
_AREAS = (
    "INSERT INTO area_total (campaign_id, city_id, compound_id, metres, kcal, value_fen,"
    " funded_fen, entries, participants, checkins)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?),"
    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (campaign_id, city_id, compound_id) DO UPDATE SET"
    " metres = area_total.metres + excluded.metres, kcal = area_total.kcal + excluded.kcal,"
    " value_fen = area_total.value_fen + excluded.value_fen,"
    " funded_fen = area_total.funded_fen + excluded.funded_fen,"
    " entries = area_total.entries + excluded.entries,"
    " participants = area_total.participants + excluded.participants,"
    " checkins = area_total.checkins + excluded.checkins"
)
_DAYS = (
    "INSERT INTO day_total (campaign_id, city_id, compound_id, local_day, metres, kcal,"
    " value_fen, funded_fen, entries, checkins)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?),"
    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (campaign_id, city_id, compound_id, local_day) DO UPDATE SET"
    " metres = day_total.metres + excluded.metres, kcal = day_total.kcal + excluded.kcal,"
    " value_fen = day_total.value_fen + excluded.value_fen,"
    " funded_fen = day_total.funded_fen + excluded.funded_fen,"
    " entries = day_total.entries + excluded.entries,"
    " checkins = day_total.checkins + excluded.checkins"
)


async def add_entry(conn: BaseDBAsyncClient, campaign_id: int, e: Entry) -> None:
    """Add one ledger entry to its campaign's totals (in the entry's transaction)."""
    ch = entry_changes(e)
    moved: dict[Area, int] = {}
    if any(ch.resident_metres.values()):
        values: list[Any] = []
        for a, m in ch.resident_metres.items():
            values += [campaign_id, a[0], a[1], e.resident_ref, m]
        for r in await sql.rows(conn, _RESIDENTS, *values):
            after = int(r["metres"])
            a = (int(r["city_id"]), int(r["compound_id"]))
            moved[a] = participant_change(after - ch.resident_metres[a], after)
    values = []
    for a, s in ch.area.items():
        values += [campaign_id, a[0], a[1], *_sums(s), moved.get(a, 0), 0]
    await sql.execute(conn, _AREAS, *values)
    values = []
    for (a, day), s in ch.day.items():
        values += [campaign_id, a[0], a[1], day, *_sums(s), 0]
    await sql.execute(conn, _DAYS, *values)


async def add_checkin(
    conn: BaseDBAsyncClient, campaign_id: int, city_id: int, compound_id: int, day: date
) -> None:
    """Count one check-in at a station (in the check-in's transaction)."""
    values: list[Any] = []
    for a in areas(city_id, compound_id):
        values += [campaign_id, a[0], a[1], 0, 0, 0, 0, 0, 0, 1]
    await sql.execute(conn, _AREAS, *values)
    values = []
    for a in areas(city_id, compound_id):
        values += [campaign_id, a[0], a[1], day, 0, 0, 0, 0, 0, 1]
    await sql.execute(conn, _DAYS, *values)


def _sums(s: Sums) -> list[int]:
    return [s.metres, s.kcal, s.value_fen, s.funded_fen, s.entries]


# Reading -------------------------------------------------------------------------------------


_AREA_COLUMNS = (
    "SELECT city_id, compound_id, metres, kcal, value_fen, funded_fen, entries, participants,"
    " checkins FROM area_total WHERE campaign_id = ?"
)
_LEVELS = {
    None: _AREA_COLUMNS + " AND city_id = 0 AND compound_id = 0",
    "city": _AREA_COLUMNS + " AND city_id <> 0 AND compound_id = 0",
    "compound": _AREA_COLUMNS + " AND compound_id <> 0",
    "city_and_whole": _AREA_COLUMNS + " AND compound_id = 0",
}


async def area_totals(campaign_id: int, *, level: str | None = None) -> dict[Area, AreaSums]:
    """The stored totals of the campaign (``level`` None), of each city, of each compound, or
    of the campaign and each city at once (``"city_and_whole"``)."""
    found = await sql.rows(sql.default(), _LEVELS[level], campaign_id)
    return {(int(r["city_id"]), int(r["compound_id"])): _area_sums(r) for r in found}


async def overall_days(campaign_id: int) -> list[tuple[date, Sums]]:
    """The whole campaign's totals per local day, in day order."""
    found = await sql.rows(
        sql.default(),
        "SELECT local_day, metres, kcal, value_fen, funded_fen, entries FROM day_total"
        " WHERE campaign_id = ? AND city_id = 0 AND compound_id = 0 ORDER BY local_day",
        campaign_id,
    )
    return [(sql.as_date(r["local_day"]), _row_sums(r)) for r in found]


# One page of the campaign's compounds, most metres first: those with metres come from the
# totals in index order (a page costs the same with 2,000 compounds as with 20); the rest
# (no metres yet) follow by id.
_RANKED = (
    "SELECT t.compound_id AS id, co.city_id, co.name, co.households, t.metres, t.kcal,"
    " t.value_fen, t.funded_fen, t.entries, t.participants, t.checkins"
    " FROM area_total t JOIN compound co ON co.id = t.compound_id WHERE t.campaign_id = ?"
    " AND t.compound_id <> 0 AND t.metres > 0"
    " ORDER BY t.metres DESC, t.compound_id LIMIT ? OFFSET ?"
)
_RANKED_COUNT = (
    "SELECT COUNT(*) AS n FROM area_total WHERE campaign_id = ? AND compound_id <> 0 AND metres > 0"
)
_UNRANKED = (
    "SELECT co.id, co.city_id, co.name, co.households, 0 AS metres, 0 AS kcal, 0 AS value_fen,"
    " 0 AS funded_fen, COALESCE(t.entries, 0) AS entries, 0 AS participants,"
    " COALESCE(t.checkins, 0) AS checkins"
    " FROM compound co JOIN campaign_city cc ON cc.city_id = co.city_id AND cc.campaign_id = ?"
    " LEFT JOIN area_total t ON t.campaign_id = cc.campaign_id AND t.compound_id = co.id"
    " WHERE COALESCE(t.metres, 0) <= 0 ORDER BY co.id LIMIT ? OFFSET ?"
)
_ONE = (
    "SELECT co.id, co.city_id, co.name, co.households, COALESCE(t.metres, 0) AS metres,"
    " COALESCE(t.kcal, 0) AS kcal, COALESCE(t.value_fen, 0) AS value_fen,"
    " COALESCE(t.funded_fen, 0) AS funded_fen, COALESCE(t.entries, 0) AS entries,"
    " COALESCE(t.participants, 0) AS participants, COALESCE(t.checkins, 0) AS checkins"
    " FROM compound co JOIN campaign_city cc ON cc.city_id = co.city_id AND cc.campaign_id = ?"
    " LEFT JOIN area_total t ON t.campaign_id = cc.campaign_id AND t.compound_id = co.id"
    " WHERE co.id = ?"
)
_COMPOUND_COUNT = (
    "SELECT COUNT(*) AS n FROM compound co JOIN campaign_city cc ON cc.city_id = co.city_id"
    " AND cc.campaign_id = ?"
)


@dataclass(frozen=True)
class CompoundRow:
    id: int
    city_id: int
    name: str
    households: int
    totals: AreaSums


async def compounds(
    campaign_id: int, *, offset: int, limit: int, compound_id: int | None = None
) -> tuple[int, list[CompoundRow]]:
    """How many compounds the campaign's cities hold, and one page of them by metres (or the
    one compound ``compound_id``)."""
    conn = sql.default()
    if limit <= 0 and compound_id is None:
        return 0, []
    if compound_id is not None:
        found = await sql.rows(conn, _ONE, campaign_id, compound_id)
        count = len(found)
    else:
        counted, found = await asyncio.gather(
            sql.row(conn, _COMPOUND_COUNT, campaign_id),
            sql.rows(conn, _RANKED, campaign_id, limit, offset),
        )
        count = int(counted["n"])
        if len(found) < limit:
            ranked = int((await sql.row(conn, _RANKED_COUNT, campaign_id))["n"])
            found += await sql.rows(
                conn, _UNRANKED, campaign_id, limit - len(found), max(offset - ranked, 0)
            )
    return count, [
        CompoundRow(int(r["id"]), int(r["city_id"]), r["name"], int(r["households"]), _area_sums(r))
        for r in found
    ]


async def city_goals(campaign_id: int) -> list[dict[str, Any]]:
    """The campaign's cities with their goals and names, in id order."""
    return await sql.rows(
        sql.default(),
        "SELECT ci.id, ci.code, ci.name_zh, ci.name_en, cc.goal_fen FROM campaign_city cc"
        " JOIN city ci ON ci.id = cc.city_id WHERE cc.campaign_id = ? ORDER BY ci.id",
        campaign_id,
    )


async def compound_values(campaign_id: int) -> dict[int, int]:
    """Every compound's value in fen (a pro-rata split needs them all, not only one page)."""
    found = await sql.rows(
        sql.default(),
        "SELECT compound_id, value_fen FROM area_total WHERE campaign_id = ? AND compound_id <> 0",
        campaign_id,
    )
    return {int(r["compound_id"]): int(r["value_fen"]) for r in found}


def _row_sums(r: dict[str, Any]) -> Sums:
    return Sums(
        int(r["metres"]),
        int(r["kcal"]),
        int(r["value_fen"]),
        int(r["funded_fen"]),
        int(r["entries"]),
    )


def _area_sums(r: dict[str, Any]) -> AreaSums:
    return AreaSums(_row_sums(r), int(r["participants"]), int(r["checkins"]))


# Rebuilding and checking ---------------------------------------------------------------------


async def from_ledger(conn: BaseDBAsyncClient, campaign_id: int) -> Totals:
    """The totals the campaign's ledger and check-ins add up to, computed in the database by
    grouping (a million entries come back as a few hundred thousand groups)."""
    days = await sql.rows(
        conn,
        "SELECT city_id, compound_id, local_day, SUM(metres) AS metres, SUM(kcal) AS kcal,"
        " SUM(value_fen) AS value_fen, SUM(funded_fen) AS funded_fen, COUNT(*) AS entries"
        " FROM contribution WHERE campaign_id = ? GROUP BY city_id, compound_id, local_day",
        campaign_id,
    )
    residents = await sql.rows(
        conn,
        "SELECT city_id, compound_id, resident_ref, SUM(metres) AS metres FROM contribution"
        " WHERE campaign_id = ? GROUP BY city_id, compound_id, resident_ref",
        campaign_id,
    )
    checkins = await sql.rows(
        conn,
        "SELECT co.city_id, r.compound_id, e.day, COUNT(*) AS n FROM check_in ci"
        " JOIN event_station s ON s.id = ci.station_id JOIN event e ON e.id = s.event_id"
        " JOIN resident r ON r.id = ci.resident_id JOIN compound co ON co.id = r.compound_id"
        " WHERE e.campaign_id = ? GROUP BY co.city_id, r.compound_id, e.day",
        campaign_id,
    )
    return fold_groups(
        (
            (int(r["city_id"]), int(r["compound_id"]), sql.as_date(r["local_day"]), _row_sums(r))
            for r in days
        ),
        (
            (int(r["city_id"]), int(r["compound_id"]), r["resident_ref"], int(r["metres"]))
            for r in residents
        ),
        (
            (int(r["city_id"]), int(r["compound_id"]), sql.as_date(r["day"]), int(r["n"]))
            for r in checkins
        ),
    )


async def stored(conn: BaseDBAsyncClient, campaign_id: int) -> Totals:
    """Every stored total of the campaign, as :class:`Totals`."""
    t = Totals()
    for r in await sql.rows(
        conn,
        "SELECT city_id, compound_id, metres, kcal, value_fen, funded_fen, entries,"
        " participants, checkins FROM area_total WHERE campaign_id = ?",
        campaign_id,
    ):
        t.area[(int(r["city_id"]), int(r["compound_id"]))] = _area_sums(r)
    for r in await sql.rows(
        conn,
        "SELECT city_id, compound_id, local_day, metres, kcal, value_fen, funded_fen, entries,"
        " checkins FROM day_total WHERE campaign_id = ?",
        campaign_id,
    ):
        key = ((int(r["city_id"]), int(r["compound_id"])), sql.as_date(r["local_day"]))
        s = _row_sums(r)
        if s != Sums():
            t.day[key] = s
        if int(r["checkins"]):
            t.day_checkins[key] = int(r["checkins"])
    for r in await sql.rows(
        conn,
        "SELECT city_id, compound_id, resident_ref, metres FROM area_participant"
        " WHERE campaign_id = ?",
        campaign_id,
    ):
        t.residents[((int(r["city_id"]), int(r["compound_id"])), r["resident_ref"])] = int(
            r["metres"]
        )
    return t


async def _lock(conn: BaseDBAsyncClient, campaign_id: int) -> None:
    # The chain head's lock: no entry or check-in of the campaign is written meanwhile.
    await sql.locked(conn, "SELECT id FROM campaign WHERE id = ?", campaign_id)


async def check(campaign_id: int) -> list[str]:
    """Where the stored totals differ from the ledger's sums (empty when they agree)."""
    async with in_transaction() as conn:
        await _lock(conn, campaign_id)
        return same(await stored(conn, campaign_id), await from_ledger(conn, campaign_id))


_CLEAR = (
    "DELETE FROM area_total WHERE campaign_id = ?",
    "DELETE FROM day_total WHERE campaign_id = ?",
    "DELETE FROM area_participant WHERE campaign_id = ?",
)


async def rebuild(campaign_id: int) -> Totals:
    """Replace the campaign's totals with the ledger's sums."""
    async with in_transaction() as conn:
        await _lock(conn, campaign_id)
        t = await from_ledger(conn, campaign_id)
        for text in _CLEAR:
            await sql.execute(conn, text, campaign_id)
        await sql.execute_many(
            conn,
            "INSERT INTO area_total (campaign_id, city_id, compound_id, metres, kcal, value_fen,"
            " funded_fen, entries, participants, checkins) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [campaign_id, a[0], a[1], *_sums(x.sums), x.participants, x.checkins]
                for a, x in t.area.items()
            ],
        )
        await sql.execute_many(
            conn,
            "INSERT INTO day_total (campaign_id, city_id, compound_id, local_day, metres, kcal,"
            " value_fen, funded_fen, entries, checkins) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [campaign_id, a[0], a[1], day, *_sums(t.day.get((a, day), Sums())), n]
                for (a, day), n in _day_keys(t).items()
            ],
        )
        await sql.execute_many(
            conn,
            "INSERT INTO area_participant (campaign_id, city_id, compound_id, resident_ref,"
            " metres) VALUES (?, ?, ?, ?, ?)",
            [[campaign_id, a[0], a[1], ref, m] for (a, ref), m in t.residents.items()],
        )
    return t


def _day_keys(t: Totals) -> dict[tuple[Area, date], int]:
    keys = dict.fromkeys(t.day, 0)
    keys.update(t.day_checkins)
    return keys


async def heal() -> list[int]:
    """Rebuild the totals of every campaign whose overall entry count is not its chain length
    (an install upgraded from before totals were kept, or a restore of the ledger alone).
    Returns the campaigns rebuilt."""
    found = await sql.rows(
        sql.default(),
        "SELECT c.id FROM campaign c LEFT JOIN area_total t ON t.campaign_id = c.id"
        " AND t.city_id = 0 AND t.compound_id = 0"
        " WHERE c.head_seq <> COALESCE(t.entries, 0)",
    )
    rebuilt = []
    for r in found:
        await rebuild(int(r["id"]))
        rebuilt.append(int(r["id"]))
    return rebuilt
