"""The Redis read model: the board reads, and atomic, idempotent updates.

Outbox entries are applied in batches, one optimistic transaction per campaign on the server
that holds its keys (batch.py); a campaign whose slot moves, or whose boards are being rebuilt,
waits for a later attempt or relay cycle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, cast

from redis.exceptions import MovedError, NoScriptError

from warmrun.leaderboard import keys, servers
from warmrun.leaderboard.batch import Call, apply_campaign
from warmrun.leaderboard.resp import Channel

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
                        done = await apply_campaign(channel, campaign_id, [calls[i] for i in todo])
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
                    if await self.redis.exists(keys.rebuilding(campaign_id)):
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


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
