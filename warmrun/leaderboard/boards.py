"""The Redis read model: atomic, idempotent updates and the board reads.

Outbox entries are applied in batches by an optimistic transaction on one connection:

1. ``WATCH`` the campaign's ``applied`` set, its rebuild flag and every key the batch changes,
   then read in the same round trip which entries are already applied (SMISMEMBER) and the
   current values the batch needs (ZMSCORE/HMGET, one command per key).
2. Fold the new entries in outbox order, in Python, into final values per member.
3. ``MULTI``, record the new entry ids in ``applied`` and write each key once (multi-member
   ZADD/ZREM/HSET/HDEL), ``EXEC``.

A redelivered entry finds its id in ``applied`` and changes nothing; the ids and the board
changes commit together or not at all. Any other write to a watched key in between (a rebuild
swapping boards in, a second relay) makes ``EXEC`` fail and the batch is read again. Redis then
does only what a sorted set must (three skiplist moves per run, one per window) while the
arithmetic runs in the relay's process, on the other core.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from redis.exceptions import MovedError, NoScriptError

from warmrun.leaderboard import keys, servers
from warmrun.leaderboard.resp import Channel, bulk, command, int_pairs, pack

SHIFT = keys.SHIFT
ATTEMPTS = 5  # optimistic rounds before a batch is deferred to the next relay cycle

AROUND = """
local r = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if not r then return {} end
local n = tonumber(ARGV[2])
local lo = r - n
if lo < 0 then lo = 0 end
return {r, redis.call('ZREVRANGE', KEYS[1], lo, r + n, 'WITHSCORES')}
"""
# The name Redis knows the script by (EVALSHA), not a security hash.
AROUND_SHA = hashlib.sha1(AROUND.encode()).hexdigest()  # noqa: S324


@dataclass(frozen=True)
class Call:
    """One outbox entry ready to apply."""

    campaign_id: int
    # entry id, resident id (or ""), compound, city (ids as text, as Redis stores them),
    # metres, tie-break second, 1 if from Strava, households of the compound and of the city
    args: tuple[Any, ...]
    windows: tuple[str, ...]
    expiries: tuple[tuple[str, int], ...]


def rebuilding_flag(campaign_id: int) -> str:
    return f"{keys.prefix(campaign_id)}:rebuilding"


@dataclass(frozen=True)
class Entry:
    """One row of a board: 1-based rank, member id and its score in board units."""

    rank: int
    member: int
    score: int


class Boards:
    """Reads and atomic updates of a campaign's boards."""

    def __init__(self, redis: servers.Client) -> None:
        self.redis = redis

    def apply_args(
        self,
        *,
        entry_id: int,
        campaign_id: int,
        resident_id: int | None,
        compound_id: int,
        city_id: int,
        delta: int,
        t: int,
        strava: bool,
        households: int,
        city_households: int,
        windows: list[tuple[str, int]],
    ) -> Call:
        """One entry for :meth:`apply_many`; ``windows`` is (window, expire-at or 0)."""
        return Call(
            campaign_id=campaign_id,
            args=(
                str(entry_id),
                "" if resident_id is None else str(resident_id),
                str(compound_id),
                str(city_id),
                delta,
                t,
                1 if strava else 0,
                households,
                city_households,
            ),
            windows=tuple(w for w, _ in windows),
            expiries=tuple((w, exp) for w, exp in windows if exp),
        )

    async def apply_many(self, calls: list[Call]) -> list[int]:
        """Apply entries; returns each one's result: 1 applied, 0 already applied (a
        redelivery, or a repeat within ``calls``), -1 deferred while that campaign's boards
        are being rebuilt, or while its cluster slot moves (the relay leaves those entries
        pending)."""
        results = [0] * len(calls)
        by_campaign: dict[int, list[int]] = {}
        for i, c in enumerate(calls):
            by_campaign.setdefault(c.campaign_id, []).append(i)
        channels: dict[str, Channel] = {}  # one per server (cluster node) the campaigns use
        broken = True
        try:
            for campaign_id, idx in by_campaign.items():
                todo = idx
                for _ in range(ATTEMPTS):
                    home = await servers.server_of(self.redis, keys.version(campaign_id))
                    channel = channels.setdefault(servers.name(home), Channel(home))
                    moving = False
                    try:
                        done = await _apply_campaign(channel, campaign_id, [calls[i] for i in todo])
                    except servers.SLOT_MOVED as exc:
                        # An aborted EXEC applied nothing. A slot that has moved is tried again
                        # on its new owner; one on its way waits for the next cycle.
                        await channels.pop(servers.name(home)).release(broken=True)
                        moving = not isinstance(exc, MovedError)
                        if not moving:
                            await servers.refresh(self.redis)
                        done = [-1] * len(todo)
                    for i, r in zip(todo, done, strict=True):
                        results[i] = r
                    todo = [i for i, r in zip(todo, done, strict=True) if r == -1]
                    if not todo or moving:
                        break
                    if await self.redis.exists(rebuilding_flag(campaign_id)):
                        break
            broken = False
        except servers.UNREACHABLE:
            await servers.refresh_after_failure(self.redis)
            raise
        finally:
            for channel in channels.values():
                await channel.release(broken=broken)
        return results

    async def rank(
        self, campaign_id: int, resident_id: int, window: str = "all"
    ) -> tuple[int, int] | None:
        """(1-based rank, metres) of a resident, in one round trip; None if not on the board."""
        key = keys.board(campaign_id, "R", window)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrevrank(key, resident_id)
        pipe.zscore(key, resident_id)
        rank, score = await pipe.execute()
        if rank is None or score is None:
            return None
        return int(rank) + 1, keys.metres_of(score)

    async def top(
        self,
        campaign_id: int,
        scope: str,
        window: str = "all",
        metric: str = "m",
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[Entry], int]:
        """A page of a board and the board's total count."""
        key = keys.board(campaign_id, scope, window, metric)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrevrange(key, offset, offset + limit - 1, withscores=True)
        pipe.zcard(key)
        rows, total = await pipe.execute()
        return [
            self._entry(offset + i + 1, m, s, scope, metric) for i, (m, s) in enumerate(rows)
        ], int(total)

    async def around(
        self, campaign_id: int, resident_id: int, window: str = "all", n: int = 5
    ) -> list[Entry]:
        """The resident with up to ``n`` residents above and below (one round trip)."""
        key = keys.board(campaign_id, "R", window)
        try:
            result = await cast(
                Awaitable[Any], self.redis.evalsha(AROUND_SHA, 1, key, str(resident_id), str(n))
            )
        except NoScriptError:  # not yet in this server's script cache: EVAL loads it there
            result = await cast(
                Awaitable[Any], self.redis.eval(AROUND, 1, key, str(resident_id), str(n))
            )
        if not result:
            return []
        rank, flat = int(result[0]), result[1]
        start = max(rank - n, 0)
        pairs = list(zip(flat[0::2], flat[1::2], strict=True))
        return [self._entry(start + i + 1, m, float(s), "R", "m") for i, (m, s) in enumerate(pairs)]

    @staticmethod
    def _entry(rank: int, member: Any, score: float, scope: str, metric: str) -> Entry:
        value = keys.metres_of(score) if scope == "R" and metric == "m" else int(score)
        return Entry(rank=rank, member=int(member), score=value)

    async def snapshot(self, campaign_id: int) -> dict[str, Any]:
        """Every board and hash of a campaign, for comparisons (tests, rebuild checks)."""
        out: dict[str, Any] = {}
        pattern = f"{keys.prefix(campaign_id)}:*"
        async for raw in self.redis.scan_iter(match=pattern, count=1000):
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            if name.endswith((":applied", ":rebuilding", ":version")) or ":tmp:" in name:
                continue
            kind = _s(await self.redis.type(name))
            if kind == "zset":
                pairs: list[Any] = await self.redis.zrange(name, 0, -1, withscores=True)
                out[name] = {_s(m): float(s) for m, s in pairs}
            elif kind == "hash":
                out[name] = {
                    _s(k): _s(v)
                    for k, v in (
                        await cast(Awaitable[dict[Any, Any]], self.redis.hgetall(name))
                    ).items()
                }
        return out


@dataclass
class _Members:
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
    def of(cls, batch: list[Call], positions: list[int]) -> _Members:
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
class _Columns:
    """Some new entries of a window as arrays, for the column-wise fold."""

    entries: list[tuple[Any, ...]]
    rix: npt.NDArray[np.int64]  # index in _Members.residents, -1 for entries without one
    delta: npt.NDArray[np.int64]
    t: npt.NDArray[np.int64]
    from_strava: npt.NDArray[np.bool_]
    cix: npt.NDArray[np.int64]  # index in _Members.compounds
    yix: npt.NDArray[np.int64]  # index in _Members.cities

    @classmethod
    def of(cls, members: _Members, entries: list[tuple[Any, ...]]) -> _Columns:
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


def _plan(batch: list[Call]) -> dict[str, _Members]:
    by_window: dict[str, list[int]] = {}
    for i, c in enumerate(batch):
        for w in c.windows:
            by_window.setdefault(w, []).append(i)
    shared: dict[tuple[int, ...], _Members] = {}
    plans: dict[str, _Members] = {}
    for w, positions in by_window.items():
        key = tuple(positions)
        members = shared.get(key)
        if members is None:
            members = shared[key] = _Members.of(batch, positions)
        plans[w] = members
    return plans


async def _apply_campaign(channel: Channel, campaign_id: int, batch: list[Call]) -> list[int]:
    """Apply one campaign's entries; entries left at -1 go to the next attempt or cycle.

    Everything the batch needs is read once, under WATCH. The batch then commits in chunks,
    each its own MULTI/EXEC that also counts up the campaign's ``version``. While Redis runs
    one chunk, the next is folded here from the values read plus what the earlier chunks
    wrote; it is sent only if the chunk before committed and ``version`` (read again under a
    new WATCH) shows that no other writer came in between. Every writer of boards (this, the
    rebuild's swap) counts ``version`` up.
    """
    prefix = keys.prefix(campaign_id)
    applied, flag, version = (
        keys.applied(campaign_id),
        rebuilding_flag(campaign_id),
        keys.version(campaign_id),
    )
    ids = [c.args[0] for c in batch]
    plans = _plan(batch)
    guard = [pack(["WATCH", flag, version]), pack(["GET", version]), pack(["EXISTS", flag])]

    # 1. Watch, and read everything the batch needs, in one round trip.
    reads = [*guard, pack(["SMISMEMBER", applied, *ids])]
    for w, m in plans.items():
        if m.residents:
            reads.append(command("ZMSCORE", f"{prefix}:R:m:{w}", m.resident_args, len(m.residents)))
            reads.append(command("HMGET", f"{prefix}:RS:{w}", m.resident_args, len(m.residents)))
        reads.append(command("ZMSCORE", f"{prefix}:P:m:{w}", m.compound_args, len(m.compounds)))
        reads.append(command("ZMSCORE", f"{prefix}:C:m:{w}", m.city_args, len(m.cities)))
        reads.append(command("HMGET", f"{prefix}:ACT:{w}", m.active_args, len(m.active_fields)))
    await channel.send(reads)
    replies = await channel.replies()
    results = [-1] * len(batch)
    if int(replies[2]):  # being rebuilt: everything waits
        await _unwatch(channel)
        return results
    seen = _num(replies[1])

    # Which entries are new: not applied before, and not repeated within this batch.
    fresh: set[str] = set()
    for i, (entry_id, known) in enumerate(zip(ids, replies[3], strict=True)):
        if not known and entry_id not in fresh:
            fresh.add(entry_id)
            results[i] = 1
        else:
            results[i] = 0
    if not fresh:
        await _unwatch(channel)
        return results
    windows: list[_Window] = []
    at = 4
    for w, m in plans.items():
        n = 5 if m.residents else 3
        windows.append(_Window(prefix, w, m, *replies[at : at + n]))
        at += n
    expiries: dict[str, int] = {}
    for c in batch:
        for w, exp in c.expiries:
            expiries[w] = exp

    # 2. Fold and commit chunk by chunk, folding the next while Redis runs the current one.
    chunks = [range(lo, min(lo + CHUNK, len(batch))) for lo in range(0, len(batch), CHUNK)]
    committed = [False] * len(chunks)
    in_flight: int | None = None
    guarded = True  # a WATCH is pending (from the reads, or re-armed after a chunk)
    for k, chunk in enumerate(chunks):
        writes = _chunk_writes(campaign_id, batch, chunk, results, windows, expiries)
        if in_flight is not None:
            seen, committed[in_flight], go_on = await _settle(channel, seen, guarded=guarded)
            in_flight = None
            if not go_on:
                break
        if writes is None:  # nothing new in this chunk
            committed[k] = True
            continue
        guarded = k < len(chunks) - 1
        await channel.send(writes + (guard if guarded else []))
        in_flight = k
    if in_flight is not None:
        seen, committed[in_flight], _ = await _settle(channel, seen, guarded=guarded)
    if guarded:
        await _unwatch(channel)
    for k, chunk in enumerate(chunks):
        if not committed[k]:
            for i in chunk:
                if results[i] == 1:
                    results[i] = -1
    return results


CHUNK = 2000  # entries per MULTI/EXEC: larger chunks keep ZADD walks cache-friendly


def _chunk_writes(
    campaign_id: int,
    batch: list[Call],
    chunk: range,
    results: list[int],
    windows: list[_Window],
    expiries: dict[str, int],
) -> list[bytes] | None:
    """MULTI, the chunk's new ids into ``applied``, its board writes, version + 1, EXEC."""
    new_ids = [batch[i].args[0] for i in chunk if results[i] == 1]
    if not new_ids:
        return None
    lo, hi = chunk.start, chunk.stop
    writes = [pack(["MULTI"]), pack(["SADD", keys.applied(campaign_id), *new_ids])]
    touched: set[str] = set()
    columns: dict[int, _Columns] = {}  # windows with the same entries share their columns
    for win in windows:
        m = win.members
        cols = columns.get(id(m))
        if cols is None:
            first, last = bisect_left(m.positions, lo), bisect_left(m.positions, hi)
            fresh = [m.entries[j] for j in range(first, last) if results[m.positions[j]] == 1]
            cols = columns[id(m)] = _Columns.of(m, fresh)
        if cols.entries:
            writes.extend(win.fold(cols))
            touched.add(win.window)
    for w in touched:
        if w in expiries:
            writes.extend(
                pack(["EXPIREAT", key, expiries[w]]) for key in keys.window_keys(campaign_id, w)
            )
    writes.append(pack(["INCR", keys.version(campaign_id)]))
    writes.append(pack(["EXEC"]))
    return writes


async def _settle(channel: Channel, seen: int, *, guarded: bool) -> tuple[int, bool, bool]:
    """Read a chunk's replies: (version, committed, may the next chunk go on). The next may go
    on only if this one committed and, when the WATCH was re-armed, nobody else wrote in
    between (``version`` is still this chunk's) and no rebuild started."""
    replies = await channel.replies()
    exec_reply = replies[-4] if guarded else replies[-1]
    if exec_reply is None:
        return seen, False, False  # a watched key changed: the chunk was not applied
    for reply in exec_reply:
        if isinstance(reply, Exception):
            raise reply
    mine = int(exec_reply[-1])
    if not guarded:
        return mine, True, False
    now, rebuilding = _num(replies[-2]), int(replies[-1])
    return now, True, now == mine and not rebuilding


async def _unwatch(channel: Channel) -> None:
    await channel.send([pack(["UNWATCH"])])
    await channel.replies()


def _num(value: Any) -> int:
    return 0 if value is None else int(float(value))


class _Window:
    """One window's current values for the members of a batch, kept up to date as chunks are
    folded: the relay's own writes are known, so the next chunk needs no new read."""

    def __init__(
        self,
        prefix: str,
        window: str,
        members: _Members,
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
        self.compound = [_num(x) for x in compound_m]
        self.city = [_num(x) for x in city_m]
        self.active = dict(zip(members.active_fields, (_num(x) for x in act), strict=True))

    def fold(self, cols: _Columns) -> list[bytes]:
        """The write commands for these entries: each key written once with its final values.

        Most entries add metres to a resident already on the board; those fold column-wise
        (sum of metres, latest second). Residents with a Strava entry, a reversal, or no place
        on the board yet may change who counts as active, so their entries are replayed one by
        one in outbox order (state per resident, as the rebuild folds them).
        """
        prefix, w, plan = self.prefix, self.window, self.members
        entries = cols.entries
        rix, delta, t, from_strava = cols.rix, cols.delta, cols.t, cols.from_strava
        vis, last, stv = self.vis, self.last, self.strava
        has = rix >= 0
        slow = vis <= 0
        slow[rix[has & (from_strava | (delta < 0))]] = True
        fast = has.copy()
        fast[has] = ~slow[rix[has]]
        out: list[bytes] = []
        if fast.any():
            fr = rix[fast]
            members = np.unique(fr)
            np.add.at(vis, fr, delta[fast])
            np.maximum.at(last, fr, t[fast])
            last[members] = np.clip(last[members], 0, SHIFT - 1)
            composite = vis[members] * SHIFT + (SHIFT - 1 - last[members])
            # In score order: consecutive skiplist walks share their upper levels in the cache.
            order = np.argsort(composite, kind="stable")
            ids = plan.resident_ids()[members[order]]
            out.append(int_pairs("ZADD", f"{prefix}:R:m:{w}", composite[order], ids))

        board: dict[str, int | None] = {}
        strava: dict[str, int | None] = {}
        active_p: dict[str, list[int]] = {}  # compound → [active delta, households]
        active_c: dict[str, list[int]] = {}
        for k in np.flatnonzero(has & ~fast).tolist():
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

        _zwrite(out, f"{prefix}:R:m:{w}", board)
        _hwrite(out, f"{prefix}:RS:{w}", strava)
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
        if active_p or active_c:
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
        return out


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


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
