"""The Redis read model: the atomic apply script and the board reads.

An outbox entry is applied by one Lua script call that first records the entry id in the
campaign's ``applied`` set; a redelivered entry finds its id there and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from warmrun.leaderboard import keys

APPLY = """
local SHIFT = 67108864
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
local rid, cp, city = ARGV[2], ARGV[3], ARGV[4]
local delta = tonumber(ARGV[5])
local t = tonumber(ARGV[6])
local is_strava = ARGV[7] == '1'
local hhp, hhc = tonumber(ARGV[8]), tonumber(ARGV[9])
local nwin = tonumber(ARGV[10])
if rid ~= '' then redis.call('HSET', KEYS[2], rid, cp) end

local function put(key, member, value, hh, scale)
  if value > 0 and hh > 0 then
    redis.call('ZADD', key, math.floor(value * scale / hh), member)
  else
    redis.call('ZREM', key, member)
  end
end

for w = 0, nwin - 1 do
  local k = 3 + w * 9
  local R, P, C = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  local Ppc, Cpc, Ppr, Cpr = KEYS[k + 4], KEYS[k + 5], KEYS[k + 6], KEYS[k + 7]
  local RS, ACT = KEYS[k + 8], KEYS[k + 9]
  local was_active, now_active = false, false
  if rid ~= '' then
    local vis, oldt = 0, -1
    local s = redis.call('ZSCORE', R, rid)
    if s then
      s = tonumber(s)
      vis = math.floor(s / SHIFT)
      oldt = SHIFT - 1 - (s - vis * SHIFT)
    end
    local str = tonumber(redis.call('HGET', RS, rid) or '0')
    was_active = (vis + str) > 0
    if is_strava then
      str = str + delta
      if str > 0 then redis.call('HSET', RS, rid, str) else redis.call('HDEL', RS, rid) end
    else
      vis = vis + delta
      if vis > 0 then
        local tt = t
        if oldt > tt then tt = oldt end
        if tt < 0 then tt = 0 end
        if tt > SHIFT - 1 then tt = SHIFT - 1 end
        redis.call('ZADD', R, vis * SHIFT + (SHIFT - 1 - tt), rid)
      else
        redis.call('ZREM', R, rid)
      end
    end
    now_active = (vis + str) > 0
  end
  local pm = tonumber(redis.call('ZINCRBY', P, delta, cp))
  if pm <= 0 then redis.call('ZREM', P, cp) end
  local cm = tonumber(redis.call('ZINCRBY', C, delta, city))
  if cm <= 0 then redis.call('ZREM', C, city) end
  local d = 0
  if now_active and not was_active then d = 1 elseif was_active and not now_active then d = -1 end
  local pa, ca
  if d ~= 0 then
    pa = tonumber(redis.call('HINCRBY', ACT, 'P:' .. cp, d))
    ca = tonumber(redis.call('HINCRBY', ACT, 'C:' .. city, d))
    if pa <= 0 then redis.call('HDEL', ACT, 'P:' .. cp) end
    if ca <= 0 then redis.call('HDEL', ACT, 'C:' .. city) end
  else
    pa = tonumber(redis.call('HGET', ACT, 'P:' .. cp) or '0')
    ca = tonumber(redis.call('HGET', ACT, 'C:' .. city) or '0')
  end
  put(Ppc, cp, pm, hhp, 1000)
  put(Cpc, city, cm, hhc, 1000)
  put(Ppr, cp, pa, hhp, 1000000)
  put(Cpr, city, ca, hhc, 1000000)
  local exp = tonumber(ARGV[11 + w])
  if exp > 0 then
    for i = 1, 9 do
      if redis.call('EXISTS', KEYS[k + i]) == 1 then redis.call('EXPIREAT', KEYS[k + i], exp) end
    end
  end
end
return 1
"""

AROUND = """
local r = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if not r then return {} end
local n = tonumber(ARGV[2])
local lo = r - n
if lo < 0 then lo = 0 end
return {r, redis.call('ZREVRANGE', KEYS[1], lo, r + n, 'WITHSCORES')}
"""


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
    ) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV for one apply call; ``windows`` is (window, expire-at or 0)."""
        k = [keys.applied(campaign_id), keys.people(campaign_id), rebuilding_flag(campaign_id)]
        for window, _ in windows:
            k += keys.window_keys(campaign_id, window)
        argv: list[Any] = [
            entry_id,
            "" if resident_id is None else resident_id,
            compound_id,
            city_id,
            delta,
            t,
            1 if strava else 0,
            households,
            city_households,
            len(windows),
            *(exp for _, exp in windows),
        ]
        return k, argv

    async def apply_many(self, calls: list[tuple[list[str], list[Any]]]) -> list[int]:
        """Apply several entries in one pipelined round trip; returns each script's result
        (1 applied, 0 already applied, -1 deferred while a rebuild runs)."""
        if not calls:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for k, argv in calls:
            await self._apply(keys=k, args=argv, client=pipe)
        return [int(r) for r in await pipe.execute()]

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
