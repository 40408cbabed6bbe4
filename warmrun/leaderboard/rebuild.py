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
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import MovedError

from warmrun.leaderboard import keys, servers
from warmrun.leaderboard.campaigns import clocks, households
from warmrun.leaderboard.recount import WindowTotals, fold, snapshot
from warmrun.leaderboard.resp import Channel, int_pairs, pack
from warmrun.platform import outbox

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


@dataclass(frozen=True)
class RebuildResult:
    campaign_id: int
    contributions: int
    keys: int


async def rebuild(redis: servers.Client, campaign_id: int) -> RebuildResult:
    """Rebuild every board of ``campaign_id`` from the database."""
    flag = keys.rebuilding(campaign_id)
    await redis.set(flag, "1", ex=900)
    try:
        clock = (await clocks())[campaign_id]
        compounds, cities = await households()
        table, pending, home = await snapshot(campaign_id)
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
    windows: dict[str, WindowTotals],
    pending: list[int],
    households_of: dict[int, int],
    cities: dict[int, int],
) -> int:
    """Write the boards under temporary keys, then swap them in with one MULTI/EXEC, all on the
    server that holds the campaign's keys. Returns how many keys the boards have."""
    writer = _Writer(await servers.server_of(redis, keys.version(campaign_id)))
    try:
        loader = _Loader(writer, campaign_id)
        for name, w in windows.items():
            await loader.window(name, w, households_of, cities)
        if pending:
            temp = loader.target(keys.applied(campaign_id))
            await writer.add("DEL", temp)
            await writer.add_many("SADD", temp, [str(x) for x in pending])
        await writer.close()
        await writer.transaction(await _swap(writer, campaign_id, loader.written))
        return len(loader.written)
    finally:
        await writer.release()


class _Loader:
    """The new boards, written under temporary keys; ``written`` maps each final key to its
    temporary one."""

    def __init__(self, writer: _Writer, campaign_id: int) -> None:
        self.writer = writer
        self.campaign_id = campaign_id
        self.prefix = keys.prefix(campaign_id)
        self.written: dict[str, str] = {}

    def target(self, final: str) -> str:
        temp = f"{self.prefix}:tmp" + final[len(self.prefix) :]
        self.written[final] = temp
        return temp

    async def window(
        self, name: str, w: WindowTotals, households_of: dict[int, int], cities: dict[int, int]
    ) -> None:
        """Every board and hash of one window."""
        campaign_id, exp = self.campaign_id, w.expire
        scores = w.metres * keys.SHIFT + (keys.SHIFT - 1 - np.clip(w.last_t, 0, keys.SHIFT - 1))
        # Inserting in score order keeps the skiplist walk short and cache-friendly.
        order = np.argsort(scores, kind="stable")
        await self.load(
            keys.board(campaign_id, "R", name), "ZADD", scores[order], w.residents[order], exp
        )
        for scope, totals, active, hh in (
            ("P", w.compound, w.active_compound, households_of),
            ("C", w.city, w.active_city, cities),
        ):
            await self.zadd(keys.board(campaign_id, scope, name), totals, exp)
            await self.zadd(
                keys.board(campaign_id, scope, name, "pc"), _scaled(totals, hh, 1000), exp
            )
            await self.zadd(
                keys.board(campaign_id, scope, name, "pr"), _scaled(active, hh, 1_000_000), exp
            )
        await self.load(
            keys.strava(campaign_id, name), "HSET", w.strava_residents, w.strava_metres, exp
        )
        act = {f"P:{k}": v for k, v in w.active_compound.items() if v > 0}
        act.update({f"C:{k}": v for k, v in w.active_city.items() if v > 0})
        await self.load(keys.active(campaign_id, name), "HSET", list(act), list(act.values()), exp)

    async def zadd(self, final: str, mapping: dict[int, int], expire: int) -> None:
        members = [m for m, v in mapping.items() if v > 0]
        await self.load(final, "ZADD", [mapping[m] for m in members], members, expire)

    async def load(self, final: str, command: str, firsts: Any, seconds: Any, expire: int) -> None:
        """Write pairs (score, member) or (field, value) into a fresh temporary key."""
        if len(firsts) == 0:
            return
        writer = self.writer
        temp = self.target(final)
        await writer.add("DEL", temp)
        if isinstance(firsts, np.ndarray) and isinstance(seconds, np.ndarray):
            for i in range(0, len(firsts), INT_CHUNK):
                part = slice(i, i + INT_CHUNK)
                await writer.add_packed(int_pairs(command, temp, firsts[part], seconds[part]))
        else:
            a, b = list(firsts), list(seconds)
            for i in range(0, len(a), CHUNK):
                pairs = chain.from_iterable(zip(a[i : i + CHUNK], b[i : i + CHUNK], strict=True))
                await writer.add_many(command, temp, list(map(str, pairs)))
        if expire:
            await writer.add("EXPIREAT", temp, str(expire))


async def _swap(writer: _Writer, campaign_id: int, written: dict[str, str]) -> list[bytes]:
    """The MULTI/EXEC that renames the temporary keys over the live ones, deletes live keys
    the new boards do not have, and marks what they hold as applied."""
    flag, version = keys.rebuilding(campaign_id), keys.version(campaign_id)
    live = await writer.scan(f"{keys.prefix(campaign_id)}:*")
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
    return swap


def _scaled(values: dict[int, int], households: dict[int, int], scale: int) -> dict[int, int]:
    return {
        k: v * scale // households[k]
        for k, v in values.items()
        if v > 0 and households.get(k, 0) > 0
    }
