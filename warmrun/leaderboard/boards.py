"""The Redis read model: the atomic apply script and the board reads.

An outbox entry is applied by one Lua script call that first records the entry id in the
campaign's ``applied`` set; a redelivered entry finds its id there and changes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from warmrun.leaderboard import keys

# KEYS[1] = the campaign's applied set, KEYS[2] = its rebuild flag. Every other key is built
# from ARGV[1], the campaign's key prefix: they all share its hash tag, so they sit in the same
# Redis Cluster slot. ARGV[2] = number of entries, then 10 values per entry.
APPLY = """
local SHIFT = 67108864
local prefix = ARGV[1]
local n = tonumber(ARGV[2])
local results = {}
if redis.call('EXISTS', KEYS[2]) == 1 then
  for e = 1, n do results[e] = -1 end
  return results
end

local function put(key, member, value, hh, scale)
  if value > 0 and hh > 0 then
    redis.call('ZADD', key, math.floor(value * scale / hh), member)
  else
    redis.call('ZREM', key, member)
  end
end

-- Key names per window, built once per script call.
local key_cache = {}
local function k(w)
  local c = key_cache[w]
  if not c then
    c = {R = prefix .. ':R:m:' .. w, P = prefix .. ':P:m:' .. w, C = prefix .. ':C:m:' .. w,
         Ppc = prefix .. ':P:pc:' .. w, Cpc = prefix .. ':C:pc:' .. w,
         Ppr = prefix .. ':P:pr:' .. w, Cpr = prefix .. ':C:pr:' .. w,
         RS = prefix .. ':RS:' .. w, ACT = prefix .. ':ACT:' .. w, pc = {}, cc = {}}
    key_cache[w] = c
  end
  return c
end

local function apply_window(w, rid, cp, city, delta, t, is_strava, hhp, hhc)
  local d = 0  -- change in the number of active residents
  local K = k(w)
  if rid ~= '' then
    local R = K.R
    local vis, oldt = 0, -1
    local s = redis.call('ZSCORE', R, rid)
    if s then
      s = tonumber(s)
      vis = math.floor(s / SHIFT)
      oldt = SHIFT - 1 - (s - vis * SHIFT)
    end
    local new_vis, str, new_str = vis, 0, 0
    if is_strava then new_vis = vis else new_vis = vis + delta end
    -- The Strava-only hash matters only when the visible score alone cannot tell activity.
    local need_str = is_strava or vis <= 0 or new_vis <= 0
    if need_str then
      local RS = K.RS
      str = tonumber(redis.call('HGET', RS, rid) or '0')
      new_str = str
      if is_strava then
        new_str = str + delta
        if new_str > 0 then
          redis.call('HSET', RS, rid, new_str)
        else
          redis.call('HDEL', RS, rid)
        end
      end
    end
    if not is_strava then
      if new_vis > 0 then
        local tt = t
        if oldt > tt then tt = oldt end
        if tt < 0 then tt = 0 end
        if tt > SHIFT - 1 then tt = SHIFT - 1 end
        redis.call('ZADD', R, new_vis * SHIFT + (SHIFT - 1 - tt), rid)
      else
        redis.call('ZREM', R, rid)
      end
    end
    if need_str then
      local was_active, now_active = (vis + str) > 0, (new_vis + new_str) > 0
      if now_active and not was_active then
        d = 1
      elseif was_active and not now_active then
        d = -1
      end
    end
  end
  -- Compound and city totals are summed here and written once per member at the end.
  local pc = K.pc[cp]
  if pc then pc[1] = pc[1] + delta else K.pc[cp] = {delta, hhp} end
  local cc = K.cc[city]
  if cc then cc[1] = cc[1] + delta else K.cc[city] = {delta, hhc} end
  if d ~= 0 then
    -- Participation moves only when a resident becomes active or inactive in the window.
    local ACT = K.ACT
    local pa = tonumber(redis.call('HINCRBY', ACT, 'P:' .. cp, d))
    local ca = tonumber(redis.call('HINCRBY', ACT, 'C:' .. city, d))
    if pa <= 0 then redis.call('HDEL', ACT, 'P:' .. cp) end
    if ca <= 0 then redis.call('HDEL', ACT, 'C:' .. city) end
    put(K.Ppr, cp, pa, hhp, 1000000)
    put(K.Cpr, city, ca, hhc, 1000000)
  end
end

for e = 1, n do
  local b = 2 + (e - 1) * 10
  if redis.call('SADD', KEYS[1], ARGV[b + 1]) == 0 then
    results[e] = 0
  else
    local rid, cp, city = ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
    local delta, t = tonumber(ARGV[b + 5]), tonumber(ARGV[b + 6])
    local is_strava = ARGV[b + 7] == '1'
    local hhp, hhc = tonumber(ARGV[b + 8]), tonumber(ARGV[b + 9])
    for w in string.gmatch(ARGV[b + 10], '[^,]+') do
      apply_window(w, rid, cp, city, delta, t, is_strava, hhp, hhc)
    end
    results[e] = 1
  end
end
local function flush(board, per_household, sums)
  for member, v in pairs(sums) do
    local total = tonumber(redis.call('ZINCRBY', board, v[1], member))
    if total <= 0 then redis.call('ZREM', board, member) end
    put(per_household, member, total, v[2], 1000)
  end
end
for _, K in pairs(key_cache) do
  flush(K.P, K.Ppc, K.pc)
  flush(K.C, K.Cpc, K.cc)
end
return results
"""

AROUND = """
local r = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if not r then return {} end
local n = tonumber(ARGV[2])
local lo = r - n
if lo < 0 then lo = 0 end
return {r, redis.call('ZREVRANGE', KEYS[1], lo, r + n, 'WITHSCORES')}
"""


@dataclass(frozen=True)
class Call:
    """One outbox entry ready for the apply script."""

    campaign_id: int
    args: tuple[Any, ...]
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

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._apply = redis.register_script(APPLY)
        self._around = redis.register_script(AROUND)

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
                entry_id,
                "" if resident_id is None else resident_id,
                compound_id,
                city_id,
                delta,
                t,
                1 if strava else 0,
                households,
                city_households,
                ",".join(w for w, _ in windows),
            ),
            expiries=tuple((w, exp) for w, exp in windows if exp),
        )

    async def apply_many(self, calls: list[Call], *, per_script: int = 100) -> list[int]:
        """Apply entries; see :meth:`_apply_batch`. Batches over 1,000 entries are split in two
        halves sent concurrently, so building one overlaps Redis executing the other."""
        if len(calls) <= 1000:
            return await self._apply_batch(calls, per_script=per_script)
        half = len(calls) // 2
        first, second = await asyncio.gather(
            self._apply_batch(calls[:half], per_script=per_script),
            self._apply_batch(calls[half:], per_script=per_script),
        )
        return first + second

    async def _apply_batch(self, calls: list[Call], *, per_script: int = 100) -> list[int]:
        """Apply entries in one pipelined round trip, ``per_script`` entries per script call.

        Returns each entry's result: 1 applied, 0 already applied (a redelivery), -1 deferred
        while that campaign's boards are being rebuilt. Closed windows get their expiry here,
        once per window and batch rather than once per entry.
        """
        if not calls:
            return []
        pipe = self.redis.pipeline(transaction=False)
        order: list[list[int]] = []
        by_campaign: dict[int, list[int]] = {}
        for i, c in enumerate(calls):
            by_campaign.setdefault(c.campaign_id, []).append(i)
        expiries: dict[tuple[int, str], int] = {}
        for campaign_id, idx in by_campaign.items():
            prefix = keys.prefix(campaign_id)
            for start in range(0, len(idx), per_script):
                chunk = idx[start : start + per_script]
                argv: list[Any] = [prefix, len(chunk)]
                for i in chunk:
                    argv.extend(calls[i].args)
                    for window, exp in calls[i].expiries:
                        expiries[(campaign_id, window)] = exp
                await self._apply(
                    keys=[keys.applied(campaign_id), rebuilding_flag(campaign_id)],
                    args=argv,
                    client=pipe,
                )
                order.append(chunk)
        for (campaign_id, window), exp in expiries.items():
            for key in keys.window_keys(campaign_id, window):
                pipe.expireat(key, exp)
        replies = await pipe.execute()
        results = [0] * len(calls)
        for chunk, reply in zip(order, replies, strict=False):
            for i, r in zip(chunk, reply, strict=True):
                results[i] = int(r)
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
        result = await self._around(keys=[key], args=[resident_id, n])
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
            if name.endswith((":applied", ":rebuilding")) or ":tmp:" in name:
                continue
            kind = _s(await self.redis.type(name))
            if kind == "zset":
                pairs: list[Any] = await self.redis.zrange(name, 0, -1, withscores=True)
                out[name] = {_s(m): float(s) for m, s in pairs}
            elif kind == "hash":
                out[name] = {_s(k): _s(v) for k, v in (await self.redis.hgetall(name)).items()}
        return out


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
