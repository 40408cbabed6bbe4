"""One campaign's outbox entries applied to its boards in an optimistic transaction on one
connection:

1. ``WATCH`` the campaign's ``applied`` set, its rebuild flag and every key the batch changes,
   then read in the same round trip which entries are already applied (SMISMEMBER) and the
   current values the batch needs (ZMSCORE/HMGET, one command per key).
2. Fold the new entries in outbox order, in Python, into final values per member (fold.py).
3. ``MULTI``, record the new entry ids in ``applied`` and write each key once (multi-member
   ZADD/ZREM/HSET/HDEL), ``EXEC``.

A redelivered entry finds its id in ``applied`` and changes nothing; the ids and the board
changes commit together or not at all. Any other write to a watched key in between (a rebuild
swapping boards in, a second relay) makes ``EXEC`` fail and the batch is read again. Redis then
does only what a sorted set must (three skiplist moves per run, one per window) while the
arithmetic runs in the relay's process, on the other core.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from warmrun.leaderboard import keys
from warmrun.leaderboard.fold import Columns, Members, Window, num
from warmrun.leaderboard.resp import Channel, command, pack

CHUNK = 2000  # entries per MULTI/EXEC: larger chunks keep ZADD walks cache-friendly


@dataclass(frozen=True)
class Call:
    """One outbox entry ready to apply."""

    campaign_id: int
    # entry id, resident id (or ""), compound, city (ids as text, as Redis stores them),
    # metres, tie-break second, 1 if from Strava, households of the compound and of the city
    args: tuple[Any, ...]
    windows: tuple[str, ...]
    expiries: tuple[tuple[str, int], ...]


def _plan(batch: list[Call]) -> dict[str, Members]:
    by_window: dict[str, list[int]] = {}
    for i, c in enumerate(batch):
        for w in c.windows:
            by_window.setdefault(w, []).append(i)
    shared: dict[tuple[int, ...], Members] = {}
    plans: dict[str, Members] = {}
    for w, positions in by_window.items():
        key = tuple(positions)
        members = shared.get(key)
        if members is None:
            members = shared[key] = Members.of(batch, positions)
        plans[w] = members
    return plans


async def apply_campaign(channel: Channel, campaign_id: int, batch: list[Call]) -> list[int]:
    """Apply one campaign's entries; entries left at -1 go to the next attempt or cycle.

    Everything the batch needs is read once, under WATCH. The batch then commits in chunks,
    each its own MULTI/EXEC that also counts up the campaign's ``version``. While Redis runs
    one chunk, the next is folded here from the values read plus what the earlier chunks
    wrote; it is sent only if the chunk before committed and ``version`` (read again under a
    new WATCH) shows that no other writer came in between. Every writer of boards (this, the
    rebuild's swap) counts ``version`` up.
    """
    flag, version = keys.rebuilding(campaign_id), keys.version(campaign_id)
    ids = [c.args[0] for c in batch]
    plans = _plan(batch)
    guard = [pack(["WATCH", flag, version]), pack(["GET", version]), pack(["EXISTS", flag])]

    # 1. Watch, and read everything the batch needs, in one round trip.
    await channel.send([*guard, *_reads(campaign_id, ids, plans)])
    replies = await channel.replies()
    results = [-1] * len(batch)
    if int(replies[2]):  # being rebuilt: everything waits
        await _unwatch(channel)
        return results
    if not _fresh(ids, replies[3], results):
        await _unwatch(channel)
        return results
    prefix = keys.prefix(campaign_id)
    windows: list[Window] = []
    at = 4
    for w, m in plans.items():
        n = 5 if m.residents else 3
        windows.append(Window(prefix, w, m, *replies[at : at + n]))
        at += n
    expiries: dict[str, int] = {}
    for c in batch:
        for w, exp in c.expiries:
            expiries[w] = exp

    # 2. Fold and commit chunk by chunk, folding the next while Redis runs the current one.
    await _commit(channel, campaign_id, batch, results, windows, expiries, guard, num(replies[1]))
    return results


def _reads(campaign_id: int, ids: list[str], plans: dict[str, Members]) -> list[bytes]:
    """Which entries are applied, and the current values of every member the batch changes."""
    prefix = keys.prefix(campaign_id)
    reads = [pack(["SMISMEMBER", keys.applied(campaign_id), *ids])]
    for w, m in plans.items():
        if m.residents:
            reads.append(command("ZMSCORE", f"{prefix}:R:m:{w}", m.resident_args, len(m.residents)))
            reads.append(command("HMGET", f"{prefix}:RS:{w}", m.resident_args, len(m.residents)))
        reads.append(command("ZMSCORE", f"{prefix}:P:m:{w}", m.compound_args, len(m.compounds)))
        reads.append(command("ZMSCORE", f"{prefix}:C:m:{w}", m.city_args, len(m.cities)))
        reads.append(command("HMGET", f"{prefix}:ACT:{w}", m.active_args, len(m.active_fields)))
    return reads


def _fresh(ids: list[str], applied: list[Any], results: list[int]) -> bool:
    """Mark the new entries (not applied before, and not repeated within this batch) 1 and the
    others 0 in ``results``; whether there is any new one."""
    fresh: set[str] = set()
    for i, (entry_id, known) in enumerate(zip(ids, applied, strict=True)):
        if not known and entry_id not in fresh:
            fresh.add(entry_id)
            results[i] = 1
        else:
            results[i] = 0
    return bool(fresh)


async def _commit(
    channel: Channel,
    campaign_id: int,
    batch: list[Call],
    results: list[int],
    windows: list[Window],
    expiries: dict[str, int],
    guard: list[bytes],
    seen: int,
) -> None:
    """Send the chunks one after the other, each folded while Redis runs the one before;
    the new entries of chunks that did not commit go back to -1 in ``results``."""
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


def _chunk_writes(
    campaign_id: int,
    batch: list[Call],
    chunk: range,
    results: list[int],
    windows: list[Window],
    expiries: dict[str, int],
) -> list[bytes] | None:
    """MULTI, the chunk's new ids into ``applied``, its board writes, version + 1, EXEC."""
    new_ids = [batch[i].args[0] for i in chunk if results[i] == 1]
    if not new_ids:
        return None
    lo, hi = chunk.start, chunk.stop
    writes = [pack(["MULTI"]), pack(["SADD", keys.applied(campaign_id), *new_ids])]
    touched: set[str] = set()
    columns: dict[int, Columns] = {}  # windows with the same entries share their columns
    for win in windows:
        m = win.members
        cols = columns.get(id(m))
        if cols is None:
            first, last = bisect_left(m.positions, lo), bisect_left(m.positions, hi)
            fresh = [m.entries[j] for j in range(first, last) if results[m.positions[j]] == 1]
            cols = columns[id(m)] = Columns.of(m, fresh)
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
    now, rebuilding = num(replies[-2]), int(replies[-1])
    return now, True, now == mine and not rebuilding


async def _unwatch(channel: Channel) -> None:
    await channel.send([pack(["UNWATCH"])])
    await channel.replies()
