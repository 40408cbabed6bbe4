"""The Redis read model: the atomic apply script and the board reads.

Outbox entries are applied by a Lua script, up to a few hundred entries per call. It first
records the entry ids in the campaign's ``applied`` set; a redelivered entry finds its id there
and changes nothing. The script then reads each touched board once (ZMSCORE/HMGET), folds the
entries in outbox order in Lua, and writes each board once (multi-member ZADD/ZREM/HSET): a
handful of Redis commands per window and call instead of several per entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from warmrun.leaderboard import keys

# KEYS[1] = the campaign's applied set, KEYS[2] = its rebuild flag. Every other key is built
# from ARGV[1], the campaign's key prefix: they all share its hash tag, so they sit in the same
# Redis Cluster slot. ARGV[2] = number of entries, ARGV[3] = the windows of this call
# (comma-separated), then 10 values per entry, the last a bit mask of its windows.
APPLY = """
local SHIFT = 67108864
local prefix = ARGV[1]
local n = tonumber(ARGV[2])
local results = {}
if redis.call('EXISTS', KEYS[2]) == 1 then
  for e = 1, n do results[e] = -1 end
  return results
end

-- 1. Which entries are new: one SMISMEMBER and one SADD for the whole call.
local ids = {}
for e = 1, n do ids[e] = ARGV[3 + (e - 1) * 10 + 1] end
local known = redis.call('SMISMEMBER', KEYS[1], unpack(ids))
local fresh, new_ids, in_call = {}, {}, {}
for e = 1, n do
  local id = ids[e]
  if known[e] == 1 or in_call[id] then
    results[e] = 0
  else
    in_call[id] = true
    results[e] = 1
    new_ids[#new_ids + 1] = id
    fresh[#fresh + 1] = e
  end
end
if #new_ids == 0 then return results end
redis.call('SADD', KEYS[1], unpack(new_ids))

-- 2. The new entries' values in parallel arrays, and their indices grouped by window.
local names = {}
for w in string.gmatch(ARGV[3], '[^,]+') do names[#names + 1] = w end
local RID, CP, CITY, DELTA, T, STRAVA, HHP, HHC = {}, {}, {}, {}, {}, {}, {}, {}
local by_window = {}
for i = 1, #names do by_window[i] = {} end
for _, e in ipairs(fresh) do
  local b = 3 + (e - 1) * 10
  RID[e], CP[e], CITY[e] = ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  DELTA[e], T[e] = tonumber(ARGV[b + 5]), tonumber(ARGV[b + 6])
  STRAVA[e], HHP[e], HHC[e] = ARGV[b + 7] == '1', tonumber(ARGV[b + 8]), tonumber(ARGV[b + 9])
  local mask = tonumber(ARGV[b + 10])
  for i = 1, #names do
    if bit.band(mask, bit.lshift(1, i - 1)) ~= 0 then
      local list = by_window[i]
      list[#list + 1] = e
    end
  end
end

-- Multi-member reads and writes: a handful of commands per window instead of several per entry.
local function mget(cmd, key, members)
  local out = {}
  if #members == 0 then return out end
  local r = redis.call(cmd, key, unpack(members))
  for i, m in ipairs(members) do
    if r[i] then out[m] = tonumber(r[i]) end
  end
  return out
end
local function zwrite(key, values)  -- member -> score, or false to remove
  local add, rem = {}, {}
  for m, s in pairs(values) do
    if s then
      add[#add + 1] = s
      add[#add + 1] = m
    else
      rem[#rem + 1] = m
    end
  end
  if #add > 0 then redis.call('ZADD', key, unpack(add)) end
  if #rem > 0 then redis.call('ZREM', key, unpack(rem)) end
end
local function hwrite(key, values)  -- field -> positive number, or false to remove
  local set, del = {}, {}
  for f, v in pairs(values) do
    if v then
      set[#set + 1] = f
      set[#set + 1] = v
    else
      del[#del + 1] = f
    end
  end
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
end
local function per(value, hh, scale)
  if value > 0 and hh > 0 then return math.floor(value * scale / hh) end
  return false
end
local function positive(v)
  if v > 0 then return v end
  return false
end

-- Compound or city totals: current values read once, deltas added, written once.
local function totals(board, per_household, sums)
  local members = {}
  for m in pairs(sums) do members[#members + 1] = m end
  local old = mget('ZMSCORE', board, members)
  local metres, ratio = {}, {}
  for _, m in ipairs(members) do
    local total = (old[m] or 0) + sums[m][1]
    metres[m] = positive(total)
    ratio[m] = per(total, sums[m][2], 1000)
  end
  zwrite(board, metres)
  zwrite(per_household, ratio)
end

for wi, w in ipairs(names) do
  local list = by_window[wi]
  local R, RS, ACT = prefix .. ':R:m:' .. w, prefix .. ':RS:' .. w, prefix .. ':ACT:' .. w

  -- Residents' current state. The Strava-only metres matter only when the visible score
  -- alone cannot tell whether a resident is active, so they are read only then.
  local rids, seen, needs_rs = {}, {}, {}
  for _, e in ipairs(list) do
    local rid = RID[e]
    if rid ~= '' then
      if not seen[rid] then
        seen[rid] = true
        rids[#rids + 1] = rid
      end
      if STRAVA[e] or DELTA[e] < 0 then needs_rs[rid] = true end
    end
  end
  local scores = mget('ZMSCORE', R, rids)
  local state, rs_fields = {}, {}
  for _, rid in ipairs(rids) do
    local s, vis, t = scores[rid], 0, -1
    if s then
      vis = math.floor(s / SHIFT)
      t = SHIFT - 1 - (s - vis * SHIFT)
    end
    state[rid] = {vis = vis, t = t}
    if vis <= 0 or needs_rs[rid] then rs_fields[#rs_fields + 1] = rid end
  end
  local rs = mget('HMGET', RS, rs_fields)
  for _, rid in ipairs(rs_fields) do state[rid].str = rs[rid] or 0 end

  local board, strava = {}, {}
  local pc, cc, ap, ac = {}, {}, {}, {}
  for _, e in ipairs(list) do
    local rid, cp, city, delta = RID[e], CP[e], CITY[e], DELTA[e]
    local d = 0  -- change in the number of active residents
    if rid ~= '' then
      local st = state[rid]
      local vis, str = st.vis, st.str
      local new_vis, new_str = vis, str
      if STRAVA[e] then
        new_str = str + delta
        if new_str > 0 then st.str = new_str else st.str = 0 end
        strava[rid] = positive(new_str)
      else
        new_vis = vis + delta
        if new_vis > 0 then
          local tt = T[e]
          if st.t > tt then tt = st.t end
          if tt < 0 then tt = 0 end
          if tt > SHIFT - 1 then tt = SHIFT - 1 end
          st.vis, st.t = new_vis, tt
          board[rid] = new_vis * SHIFT + (SHIFT - 1 - tt)
        else
          st.vis, st.t = 0, -1
          board[rid] = false
        end
      end
      if STRAVA[e] or vis <= 0 or new_vis <= 0 then
        local was_active, now_active = (vis + str) > 0, (new_vis + new_str) > 0
        if now_active and not was_active then
          d = 1
        elseif was_active and not now_active then
          d = -1
        end
      end
    end
    local p = pc[cp]
    if p then p[1] = p[1] + delta else pc[cp] = {delta, HHP[e]} end
    local c = cc[city]
    if c then c[1] = c[1] + delta else cc[city] = {delta, HHC[e]} end
    if d ~= 0 then
      p = ap['P:' .. cp]
      if p then p[1] = p[1] + d else ap['P:' .. cp] = {d, HHP[e], cp} end
      c = ac['C:' .. city]
      if c then c[1] = c[1] + d else ac['C:' .. city] = {d, HHC[e], city} end
    end
  end
  zwrite(R, board)
  hwrite(RS, strava)
  totals(prefix .. ':P:m:' .. w, prefix .. ':P:pc:' .. w, pc)
  totals(prefix .. ':C:m:' .. w, prefix .. ':C:pc:' .. w, cc)

  -- Participation moves only when a resident becomes active or inactive in the window.
  local fields = {}
  for f in pairs(ap) do fields[#fields + 1] = f end
  for f in pairs(ac) do fields[#fields + 1] = f end
  if #fields > 0 then
    local old = mget('HMGET', ACT, fields)
    local counts, rp, rc = {}, {}, {}
    for f, v in pairs(ap) do
      local a = (old[f] or 0) + v[1]
      counts[f] = positive(a)
      rp[v[3]] = per(a, v[2], 1000000)
    end
    for f, v in pairs(ac) do
      local a = (old[f] or 0) + v[1]
      counts[f] = positive(a)
      rc[v[3]] = per(a, v[2], 1000000)
    end
    hwrite(ACT, counts)
    zwrite(prefix .. ':P:pr:' .. w, rp)
    zwrite(prefix .. ':C:pr:' .. w, rc)
  end
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


MAX_WINDOWS = 30  # Lua's bit operations work on 32-bit integers


@dataclass(frozen=True)
class Call:
    """One outbox entry ready for the apply script."""

    campaign_id: int
    args: tuple[Any, ...]  # the entry's first nine values for the script
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
            ),
            windows=tuple(w for w, _ in windows),
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
            script_keys = [keys.applied(campaign_id), rebuilding_flag(campaign_id)]
            for chunk, argv in _script_calls(keys.prefix(campaign_id), calls, idx, per_script):
                await self._apply(keys=script_keys, args=argv, client=pipe)
                order.append(chunk)
            for i in idx:
                for window, exp in calls[i].expiries:
                    expiries[(campaign_id, window)] = exp
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
                out[name] = {
                    _s(k): _s(v)
                    for k, v in (
                        await cast(Awaitable[dict[Any, Any]], self.redis.hgetall(name))
                    ).items()
                }
        return out


def _script_calls(
    prefix: str, calls: list[Call], idx: list[int], per_script: int
) -> Iterator[tuple[list[int], list[Any]]]:
    """Split one campaign's entries into script calls of at most ``per_script`` entries and
    at most ``MAX_WINDOWS`` distinct windows (each entry names its windows by a bit mask)."""
    chunk: list[int] = []
    bits: dict[str, int] = {}
    argv: list[Any] = []
    for i in idx:
        call = calls[i]
        new = [w for w in call.windows if w not in bits]
        if chunk and (len(chunk) >= per_script or len(bits) + len(new) > MAX_WINDOWS):
            yield chunk, [prefix, len(chunk), ",".join(bits), *argv]
            chunk, bits, argv = [], {}, []
        mask = 0
        for window in call.windows:
            bit = bits.get(window)
            if bit is None:
                bit = bits[window] = 1 << len(bits)
            mask |= bit
        chunk.append(i)
        argv.extend(call.args)
        argv.append(mask)
    if chunk:
        yield chunk, [prefix, len(chunk), ",".join(bits), *argv]


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
