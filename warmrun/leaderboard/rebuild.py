"""Recompute a campaign's boards from the database and swap them in atomically.

The boards are written under temporary keys (same hash tag), then one MULTI/EXEC renames them
over the live keys and deletes live keys that no longer have data: readers see the old boards
or the new ones, never an empty or half-built board. While it runs, a flag makes the relay defer
that campaign's entries; the outbox entries still pending at the snapshot become the new
``applied`` set, so entries already counted by the snapshot are not counted again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from tortoise.transactions import in_transaction

from warmrun.leaderboard import keys
from warmrun.leaderboard.boards import rebuilding_flag
from warmrun.leaderboard.relay import clocks, households
from warmrun.leaderboard.windows import CampaignClock

# Pairs per ZADD/HSET command, and commands per round trip of the bulk writer.
CHUNK = 1_000
FLUSH_EVERY = 50


class _Writer:
    """Bulk writes on one connection, packed by hand (redis-py's per-argument packing is the
    slow part of loading a million members). Batches are pipelined so that Redis executes
    one while the next is packed: the client and the server work side by side."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.conn: Any = None
        self.batch: list[bytes] = []
        self.unread = 0

    async def add(self, *args: str) -> None:
        await self.add_many(args[0], args[1], list(args[2:]))

    async def add_many(self, command: str, key: str, values: list[str]) -> None:
        head = f"*{len(values) + 2}\r\n${len(command)}\r\n{command}\r\n"
        k = key.encode()
        parts = [head.encode(), b"$%d\r\n%s\r\n" % (len(k), k)]
        parts.append("".join([f"${len(v)}\r\n{v}\r\n" for v in values]).encode())
        self.batch.append(b"".join(parts))
        if len(self.batch) >= FLUSH_EVERY:
            await self.flush()

    async def flush(self) -> None:
        if self.conn is None:
            self.conn = await cast(Any, self.redis.connection_pool).get_connection()
        await self._read()  # the previous batch ran in Redis while this one was packed
        if self.batch:
            await self.conn.send_packed_command(self.batch, check_health=False)
            self.unread, self.batch = len(self.batch), []

    async def _read(self) -> None:
        error: Exception | None = None
        for _ in range(self.unread):
            try:
                await self.conn.read_response()
            except ResponseError as exc:  # read every reply before raising
                error = error or exc
        self.unread = 0
        if error is not None:
            raise error

    async def close(self) -> None:
        """Send what is left and check every reply."""
        await self.flush()
        await self._read()

    async def release(self) -> None:
        """Give the connection back; one left mid-stream (an error) is closed first."""
        if self.conn is not None:
            if self.unread or self.batch:
                await self.conn.disconnect()
            await self.redis.connection_pool.release(self.conn)
            self.conn = None


_CONTRIBUTIONS = (
    "SELECT c.resident_ref, c.compound_id, c.city_id, c.local_day, c.metres, c.created_at, "
    "COALESCE(r.source, 'file') AS source "
    "FROM contribution c LEFT JOIN run r ON r.id = c.run_id WHERE c.campaign_id = "
)
_CONTRIBUTIONS_PG = _CONTRIBUTIONS + "$1"
_CONTRIBUTIONS_SQLITE = _CONTRIBUTIONS + "?"


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


async def _snapshot(campaign_id: int) -> tuple[list[Any], list[int], dict[int, int]]:
    """Contributions (with the run's source) and pending outbox ids, in one consistent read."""
    async with in_transaction() as conn:
        dialect = conn.capabilities.dialect
        if dialect == "postgres":
            await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        sql = _CONTRIBUTIONS_PG if dialect == "postgres" else _CONTRIBUTIONS_SQLITE
        _, rows = await conn.execute_query(sql, [campaign_id])
        _, pending = await conn.execute_query(
            "SELECT id, payload FROM outbox WHERE processed_at IS NULL"
        )
        _, people = await conn.execute_query("SELECT r.id, r.compound_id FROM resident r")
    ids = []
    for row in pending:
        payload = row["payload"]
        if isinstance(payload, str):  # SQLite returns the JSON text
            payload = json.loads(payload)
        if int(payload.get("campaign_id", 0)) == campaign_id:
            ids.append(int(row["id"]))
    return list(rows), ids, {int(p["id"]): int(p["compound_id"]) for p in people}


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


def fold(
    rows: list[Any], clock: CampaignClock, people: dict[int, int], compound_city: dict[int, int]
) -> dict[str, _Window]:
    """Aggregate contributions into every window the way the apply script does.

    Column-wise with numpy: a million contributions fold in about a second.
    """
    n = len(rows)
    if n == 0:
        return {}
    refs = [str(r["resident_ref"]) for r in rows]
    rid = np.fromiter(
        (int(x[9:]) if x.startswith("resident:") else -1 for x in refs), dtype=np.int64, count=n
    )
    del refs
    cp = np.fromiter((int(r["compound_id"]) for r in rows), dtype=np.int64, count=n)
    city = np.fromiter((int(r["city_id"]) for r in rows), dtype=np.int64, count=n)
    metres = np.fromiter((int(r["metres"]) for r in rows), dtype=np.int64, count=n)
    strava = np.fromiter((r["source"] == "strava" for r in rows), dtype=bool, count=n)
    epoch = clock.epoch
    t = np.fromiter((int(_epoch(r["created_at"]) - epoch) for r in rows), dtype=np.int64, count=n)
    day_keys: dict[Any, int] = {}
    day_idx = np.fromiter(
        (day_keys.setdefault(r["local_day"], len(day_keys)) for r in rows), dtype=np.int64, count=n
    )
    days = [d if isinstance(d, date) else date.fromisoformat(str(d)) for d in day_keys]
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
    home = _lookup(people)  # resident → compound
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
    table = np.full(max(mapping, default=0) + 1, -1, dtype=np.int64)
    if mapping:
        table[np.fromiter(mapping.keys(), dtype=np.int64)] = np.fromiter(
            mapping.values(), dtype=np.int64
        )
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


async def rebuild(redis: Redis, campaign_id: int) -> RebuildResult:
    """Rebuild every board of ``campaign_id`` from the database."""
    flag = rebuilding_flag(campaign_id)
    await redis.set(flag, "1", ex=900)
    writer = _Writer(redis)
    try:
        clock = (await clocks())[campaign_id]
        compounds, cities = await households()
        rows, pending, people = await _snapshot(campaign_id)
        windows = fold(rows, clock, people, {k: v[0] for k, v in compounds.items()})
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
            a = np.asarray(firsts).tolist() if isinstance(firsts, np.ndarray) else list(firsts)
            b = np.asarray(seconds).tolist() if isinstance(seconds, np.ndarray) else list(seconds)
            for i in range(0, len(a), CHUNK):
                pairs = chain.from_iterable(zip(a[i : i + CHUNK], b[i : i + CHUNK], strict=True))
                await writer.add_many(command, temp, list(map(str, pairs)))
            if expire:
                await writer.add("EXPIREAT", temp, str(expire))

        households_of = {k: v[1] for k, v in compounds.items()}
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

        live = [
            k.decode() if isinstance(k, bytes) else str(k)
            async for k in redis.scan_iter(match=f"{keys.prefix(campaign_id)}:*", count=1000)
        ]
        swap = redis.pipeline(transaction=True)
        for key in live:
            if ":tmp:" in key or key == flag or key in written:
                continue
            swap.delete(key)
        for final, temp in written.items():
            swap.rename(temp, final)
        await swap.execute()
        return RebuildResult(campaign_id, len(rows), len(written))
    finally:
        await writer.release()
        await redis.delete(flag)


def _scaled(values: dict[int, int], households: dict[int, int], scale: int) -> dict[int, int]:
    return {
        k: v * scale // households[k]
        for k, v in values.items()
        if v > 0 and households.get(k, 0) > 0
    }
