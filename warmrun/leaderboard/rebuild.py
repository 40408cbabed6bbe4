"""Recompute a campaign's boards from the database and swap them in atomically.

The boards are written under temporary keys (same hash tag), then one MULTI/EXEC renames them
over the live keys and deletes live keys that no longer have data: readers see the old boards
or the new ones, never an empty or half-built board. While it runs, a flag makes the relay defer
that campaign's entries; the outbox entries still pending at the snapshot become the new
``applied`` set, so entries already counted by the snapshot are not counted again.

The loading, the SCAN for live keys and the swap run on the server that holds the campaign's
keys: on a Redis Cluster, the primary that owns the campaign's slot (``servers.py``). A slot that
moves meanwhile aborts the swap; the boards are then loaded again on the slot's new owner.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import MovedError
from tortoise.transactions import in_transaction

from warmrun.leaderboard import keys, servers
from warmrun.leaderboard.boards import rebuilding_flag
from warmrun.leaderboard.campaigns import clocks, households
from warmrun.leaderboard.resp import Channel, int_pairs, pack
from warmrun.leaderboard.windows import CampaignClock
from warmrun.platform import outbox
from warmrun.platform.refs import RESIDENT_ID_SQL

# Pairs per ZADD/HSET command, and commands per round trip of the bulk writer.
CHUNK = 1_000
INT_CHUNK = 20_000  # pairs per command when both sides are integer arrays (packed by numpy)
FLUSH_EVERY = 50


class _Writer:
    """Bulk writes on one connection, packed by hand (redis-py's per-argument packing is the
    slow part of loading a million members). Batches are pipelined so that Redis executes
    one while the next is packed: the client and the server work side by side."""

    def __init__(self, server: Redis | ClusterNode) -> None:
        self.channel = Channel(server)
        self.batch: list[bytes] = []

    async def add(self, *args: str) -> None:
        await self.add_packed(pack(args))

    async def add_many(self, command: str, key: str, values: list[str]) -> None:
        await self.add_packed(pack([command, key, *values]))

    async def add_packed(self, command: bytes) -> None:
        self.batch.append(command)
        if len(self.batch) >= FLUSH_EVERY:
            await self.flush()

    async def flush(self) -> None:
        await self.channel.replies()  # the previous batch ran in Redis while this one was packed
        await self.channel.send(self.batch)
        self.batch = []

    async def close(self) -> None:
        """Send what is left and check every reply."""
        await self.flush()
        await self.channel.replies()

    async def scan(self, pattern: str) -> list[str]:
        """The keys matching ``pattern`` on this server (after :meth:`close`)."""
        found: list[str] = []
        cursor = "0"
        while True:
            await self.channel.send([pack(["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"])])
            ((raw_cursor, names),) = await self.channel.replies()
            found.extend(_text(k) for k in names)
            cursor = _text(raw_cursor)
            if cursor == "0":
                return found

    async def transaction(self, commands: list[bytes]) -> None:
        """Run ``MULTI ... EXEC`` (after :meth:`close`); raise the first error in it."""
        await self.channel.send(commands)
        replies = await self.channel.replies()
        for reply in replies[-1] or ():
            if isinstance(reply, Exception):
                raise reply

    async def release(self) -> None:
        """Give the connection back; one left mid-stream (an error) is closed first."""
        await self.channel.release(broken=bool(self.batch))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# Contributions as integer columns, computed by the database: resident id (-1 for none),
# compound, city, local day (days since 1970-01-01), metres, creation second (POSIX), and 1 if
# the run came from Strava. Constant SQL: only the campaign id is a parameter. Each column
# comes back as one comma-separated text (aggregates of one SELECT see the rows in the same
# order) that numpy parses in C: a million rows load in about a second instead of building
# seven million Python integers.
_COLUMNS_SQL = (
    f"{RESIDENT_ID_SQL} AS a, "
    "c.compound_id AS b, c.city_id AS y, {day} AS d, c.metres AS m, {second} AS s, "
    "CASE WHEN r.source = 'strava' THEN 1 ELSE 0 END AS v "
    "FROM contribution c LEFT JOIN run r ON r.id = c.run_id WHERE c.campaign_id = {param}"
)
_CONTRIBUTIONS_PG = (
    "SELECT string_agg(a::text, ','), string_agg(b::text, ','), string_agg(y::text, ','), "  # noqa: S608
    "string_agg(d::text, ','), string_agg(m::text, ','), string_agg(s::text, ','), "
    "string_agg(v::text, ',') FROM (SELECT "
    + _COLUMNS_SQL.format(
        day="c.local_day - DATE '1970-01-01'",
        second="FLOOR(EXTRACT(EPOCH FROM c.created_at))::BIGINT",
        param="$1",
    )
    + ") AS rows"
)
_CONTRIBUTIONS_SQLITE = (
    "SELECT group_concat(a), group_concat(b), group_concat(y), group_concat(d), "  # noqa: S608
    "group_concat(m), group_concat(s), group_concat(v) FROM (SELECT "
    + _COLUMNS_SQL.format(
        day="CAST(julianday(c.local_day) - 2440587.5 AS INTEGER)",
        second="CAST(strftime('%s', c.created_at) AS INTEGER)",
        param="?",
    )
    + ")"
)
_PEOPLE = {
    "postgres": "SELECT string_agg(id::text, ','), string_agg(compound_id::text, ',') "
    "FROM resident",
    "sqlite": "SELECT group_concat(id), group_concat(compound_id) FROM resident",
}
_COLUMNS = 7
EPOCH_DAY = date(1970, 1, 1)


@dataclass(frozen=True)
class RebuildResult:
    campaign_id: int
    contributions: int
    keys: int


Ints = npt.NDArray[np.int64]


@dataclass
class _Window:
    """One window's totals. Residents are aligned arrays (a million of them stay cheap);
    compounds and cities are small dicts keyed by id."""

    expire: int
    residents: Ints  # on the resident board (Strava excluded), metres > 0
    metres: Ints
    last_t: Ints  # tie-break seconds of each resident's last change
    strava_residents: Ints
    strava_metres: Ints
    compound: dict[int, int]
    city: dict[int, int]
    active_compound: dict[int, int]  # residents active in the window, by their compound
    active_city: dict[int, int]


async def _snapshot(campaign_id: int) -> tuple[Ints, list[int], Ints]:
    """Contributions (see ``_CONTRIBUTIONS_*``) and pending outbox ids, in one consistent read."""
    async with in_transaction() as conn:
        dialect = conn.capabilities.dialect
        if dialect == "postgres":
            await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        sql = _CONTRIBUTIONS_PG if dialect == "postgres" else _CONTRIBUTIONS_SQLITE
        _, (texts,) = await conn.execute_query(sql, [campaign_id])
        _, pending = await conn.execute_query(
            "SELECT id, payload FROM outbox WHERE processed_at IS NULL"
        )
        _, (people,) = await conn.execute_query(_PEOPLE[dialect])
    columns = [_ints(texts[k]) for k in range(_COLUMNS)]
    table = np.stack(columns, axis=1) if columns[0].size else np.empty((0, _COLUMNS), np.int64)
    ids = []
    for row in pending:
        payload = row["payload"]
        if isinstance(payload, str):  # SQLite returns the JSON text
            payload = json.loads(payload)
        if int(payload.get("campaign_id", 0)) == campaign_id:
            ids.append(int(row["id"]))
    return table, ids, _table(_ints(people[0]), _ints(people[1]))


def _ints(text: str | None) -> Ints:
    """A comma-separated column of integers ("" or NULL when there are no rows)."""
    if not text:
        return np.empty(0, dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",")


def fold(
    table: Ints, clock: CampaignClock, home: Ints, compound_city: dict[int, int]
) -> dict[str, _Window]:
    """Aggregate contributions into every window the way the relay does.

    Column-wise with numpy: a million contributions fold in about a second.
    """
    if len(table) == 0:
        return {}
    rid, cp, city, day, metres = (table[:, k] for k in range(5))
    t = table[:, 5] - int(clock.epoch)  # the campaign starts at a whole second
    strava = table[:, 6] == 1
    day_numbers, day_idx = np.unique(day, return_inverse=True)
    days = [EPOCH_DAY + timedelta(days=d) for d in day_numbers.tolist()]
    per_day = [clock.windows(d) for d in days]
    names: dict[str, int] = {}
    memberships = []  # (window index per day) for each window slot (all, week, month)
    for slot in range(3):
        memberships.append(
            np.array(
                [names.setdefault(wins[slot][0], len(names)) for wins in per_day], dtype=np.int64
            )
        )
    expires = {wins[slot][0]: wins[slot][1] for wins in per_day for slot in range(3)}
    has_rid = rid >= 0
    city_of = _lookup(compound_city)  # compound → city
    out: dict[str, _Window] = {}
    for name, index in names.items():
        slot = 0 if name == "all" else (1 if name.startswith("w") else 2)
        sel = memberships[slot][day_idx] == index
        vis = sel & has_rid & ~strava
        stv = sel & has_rid & strava
        r_ids, r_metres, r_t = _per_member(rid[vis], metres[vis], t[vis])
        s_ids, s_metres, _ = _per_member(rid[stv], metres[stv], t[stv])
        everyone = sel & has_rid
        a_ids, a_metres, _ = _per_member(rid[everyone], metres[everyone], t[everyone])
        cps = _get(home, a_ids[a_metres > 0])
        cps = cps[cps >= 0]
        positive = r_metres > 0
        out[name] = _Window(
            expire=expires[name],
            residents=r_ids[positive],
            metres=r_metres[positive],
            last_t=r_t[positive],
            strava_residents=s_ids[s_metres > 0],
            strava_metres=s_metres[s_metres > 0],
            compound=_totals(cp[sel], metres[sel]),
            city=_totals(city[sel], metres[sel]),
            active_compound=_count(cps),
            active_city=_count(_get(city_of, cps)),
        )
    return out


def _lookup(mapping: dict[int, int]) -> Ints:
    """A dense id → value array (-1 where absent) for vectorised lookups."""
    return _table(
        np.fromiter(mapping.keys(), dtype=np.int64, count=len(mapping)),
        np.fromiter(mapping.values(), dtype=np.int64, count=len(mapping)),
    )


def _table(ids: Ints, values: Ints) -> Ints:
    table = np.full(int(ids.max(initial=0)) + 1, -1, dtype=np.int64)
    table[ids] = values
    return table


def _get(table: Ints, ids: Ints) -> Ints:
    """table[ids], with -1 for ids the table does not cover."""
    inside = (ids >= 0) & (ids < table.size)
    out = np.full(ids.size, -1, dtype=np.int64)
    out[inside] = table[ids[inside]]
    return out


def _per_member(ids: Ints, values: Ints, t: Ints) -> tuple[Ints, Ints, Ints]:
    """Per distinct id: the sum of values and the latest t."""
    if ids.size == 0:
        return ids, values, t
    uniq, inverse = np.unique(ids, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=uniq.size).astype(np.int64)
    latest = np.full(uniq.size, -1, dtype=np.int64)
    np.maximum.at(latest, inverse, t)
    return uniq, sums, latest


def _count(ids: Ints) -> dict[int, int]:
    ids = ids[ids >= 0]
    uniq, counts = np.unique(ids, return_counts=True)
    return dict(zip(uniq.tolist(), counts.tolist(), strict=True))


def _totals(ids: Ints, values: Ints) -> dict[int, int]:
    uniq, sums, _ = _per_member(ids, values, np.zeros(ids.size, dtype=np.int64))
    return dict(zip(uniq.tolist(), sums.tolist(), strict=True))


async def rebuild(redis: servers.Client, campaign_id: int) -> RebuildResult:
    """Rebuild every board of ``campaign_id`` from the database."""
    flag = rebuilding_flag(campaign_id)
    await redis.set(flag, "1", ex=900)
    try:
        clock = (await clocks())[campaign_id]
        compounds, cities = await households()
        table, pending, home = await _snapshot(campaign_id)
        windows = fold(table, clock, home, {k: v[0] for k, v in compounds.items()})
        for attempt in range(1, SWAP_ATTEMPTS + 1):
            try:
                written = await _load_and_swap(
                    redis,
                    campaign_id,
                    windows,
                    pending,
                    {k: v[1] for k, v in compounds.items()},
                    cities,
                )
                return RebuildResult(campaign_id, len(table), written)
            except servers.SLOT_MOVED as exc:
                # On a cluster the campaign's slot moved or is moving: the swap did not happen
                # (an aborted EXEC applies nothing). Load again on its owner.
                if attempt == SWAP_ATTEMPTS:
                    raise
                if isinstance(exc, MovedError):
                    await servers.refresh(redis)
                else:
                    await asyncio.sleep(SLOT_WAIT_S)
            except servers.UNREACHABLE:
                await servers.refresh_after_failure(redis)
                raise
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        await redis.delete(flag)


SWAP_ATTEMPTS = 5
SLOT_WAIT_S = 1.0  # between tries while a slot is on its way to another cluster node


async def _load_and_swap(
    redis: servers.Client,
    campaign_id: int,
    windows: dict[str, _Window],
    pending: list[int],
    households_of: dict[int, int],
    cities: dict[int, int],
) -> int:
    """Write the boards under temporary keys, then swap them in with one MULTI/EXEC, all on the
    server that holds the campaign's keys. Returns how many keys the boards have."""
    flag = rebuilding_flag(campaign_id)
    writer = _Writer(await servers.server_of(redis, keys.version(campaign_id)))
    try:
        tmp = f"{keys.prefix(campaign_id)}:tmp"
        written: dict[str, str] = {}  # final key → temp key

        def target(final: str) -> str:
            temp = tmp + final[len(keys.prefix(campaign_id)) :]
            written[final] = temp
            return temp

        async def zadd(final: str, mapping: dict[int, int], expire: int) -> None:
            members = [m for m, v in mapping.items() if v > 0]
            await load(final, "ZADD", [mapping[m] for m in members], members, expire)

        async def load(final: str, command: str, firsts: Any, seconds: Any, expire: int) -> None:
            """Write pairs (score, member) or (field, value) into a fresh temporary key."""
            if len(firsts) == 0:
                return
            temp = target(final)
            await writer.add("DEL", temp)
            if isinstance(firsts, np.ndarray) and isinstance(seconds, np.ndarray):
                for i in range(0, len(firsts), INT_CHUNK):
                    part = slice(i, i + INT_CHUNK)
                    await writer.add_packed(int_pairs(command, temp, firsts[part], seconds[part]))
            else:
                a, b = list(firsts), list(seconds)
                for i in range(0, len(a), CHUNK):
                    pairs = chain.from_iterable(
                        zip(a[i : i + CHUNK], b[i : i + CHUNK], strict=True)
                    )
                    await writer.add_many(command, temp, list(map(str, pairs)))
            if expire:
                await writer.add("EXPIREAT", temp, str(expire))

        for name, w in windows.items():
            exp = w.expire
            scores = w.metres * keys.SHIFT + (keys.SHIFT - 1 - np.clip(w.last_t, 0, keys.SHIFT - 1))
            # Inserting in score order keeps the skiplist walk short and cache-friendly.
            order = np.argsort(scores, kind="stable")
            await load(
                keys.board(campaign_id, "R", name), "ZADD", scores[order], w.residents[order], exp
            )
            for scope, totals, active, hh in (
                ("P", w.compound, w.active_compound, households_of),
                ("C", w.city, w.active_city, cities),
            ):
                await zadd(keys.board(campaign_id, scope, name), totals, exp)
                await zadd(
                    keys.board(campaign_id, scope, name, "pc"), _scaled(totals, hh, 1000), exp
                )
                await zadd(
                    keys.board(campaign_id, scope, name, "pr"), _scaled(active, hh, 1_000_000), exp
                )
            await load(
                keys.strava(campaign_id, name), "HSET", w.strava_residents, w.strava_metres, exp
            )
            act = {f"P:{k}": v for k, v in w.active_compound.items() if v > 0}
            act.update({f"C:{k}": v for k, v in w.active_city.items() if v > 0})
            await load(keys.active(campaign_id, name), "HSET", list(act), list(act.values()), exp)
        if pending:
            temp = target(keys.applied(campaign_id))
            await writer.add("DEL", temp)
            await writer.add_many("SADD", temp, [str(x) for x in pending])
        await writer.close()

        live = await writer.scan(f"{keys.prefix(campaign_id)}:*")
        version = keys.version(campaign_id)
        # The relay defers this campaign's entries while the flag is up, so what is marked
        # applied now is what the new boards hold.
        upto = await outbox.processed_upto(campaign_id)
        swap = [pack(["MULTI"])]
        for key in live:
            if ":tmp:" in key or key in (flag, version) or key in written:
                continue
            swap.append(pack(["DEL", key]))
        swap.extend(pack(["RENAME", temp, final]) for final, temp in written.items())
        swap.append(pack(["SET", keys.stamp(campaign_id), str(upto or 0)]))
        swap.append(pack(["INCR", version]))  # a relay that read the old boards will not commit
        swap.append(pack(["EXEC"]))
        await writer.transaction(swap)
        return len(written)
    finally:
        await writer.release()


def _scaled(values: dict[int, int], households: dict[int, int], scale: int) -> dict[int, int]:
    return {
        k: v * scale // households[k]
        for k, v in values.items()
        if v > 0 and households.get(k, 0) > 0
    }
