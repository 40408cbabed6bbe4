"""The outbox relay: applies committed ledger changes to the boards, idempotently.

Redis being down never fails an import: entries stay in the outbox and the relay catches up.
Entries are marked processed only after Redis applied them; a crash in between redelivers
them, and the ``applied`` set written with the boards turns the redelivery into a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections import defaultdict
from collections.abc import Awaitable
from datetime import date
from typing import Any, cast

from prometheus_client import Counter
from redis.exceptions import RedisClusterException, RedisError

from warmrun import outages
from warmrun.leaderboard import keys, servers
from warmrun.leaderboard.batch import Call
from warmrun.leaderboard.boards import Boards
from warmrun.leaderboard.campaigns import clocks, households
from warmrun.leaderboard.rebuild import rebuild
from warmrun.leaderboard.windows import CampaignClock
from warmrun.platform import outbox
from warmrun.platform.models import Outbox

log = logging.getLogger("warmrun.relay")
# Outbox entries per relay round: large batches commit in large chunks (see batch.CHUNK),
# which keeps Redis's own work per entry low when a backlog is caught up.
BATCH = 8000

# Counted in the process that runs the relay: a web process's /metrics shows them, a relay run
# alone (`warmrun leaderboard relay`) keeps them to itself; its lag is measured from the
# database at every scrape either way.
SETTLED = Counter(
    "warmrun_relay_entries", "Outbox entries the relay settled (applied, or not for the boards)"
)
REBUILT = Counter(
    "warmrun_relay_rebuilds", "Campaigns whose boards the relay rebuilt: they were behind"
)
WAITS = Counter(
    "warmrun_relay_waits",
    "Relay rounds that applied nothing because the database or Redis was away or refused",
    ["reason"],
)


def apply_call(
    boards: Boards,
    entry_id: int,
    payload: dict[str, Any],
    clock: CampaignClock,
    compounds: dict[int, tuple[int, int]],
    cities: dict[int, int],
) -> Call:
    compound_id = int(payload["compound_id"])
    city_id = int(payload["city_id"])
    return boards.apply_args(
        entry_id=entry_id,
        campaign_id=clock.campaign_id,
        resident_id=payload.get("resident_id"),
        compound_id=compound_id,
        city_id=city_id,
        delta=int(payload["metres"]),
        t=clock.seconds(float(payload["at"])),
        strava=payload.get("source") == "strava",
        households=compounds.get(compound_id, (city_id, 0))[1],
        city_households=cities.get(city_id, 0),
        windows=clock.windows(date.fromisoformat(payload["local_day"])),
    )


async def relay_once(redis: servers.Client, *, batch: int = BATCH) -> int:
    """Apply up to ``batch`` pending outbox entries; returns how many were settled."""
    entries: list[Outbox] = await outbox.pending(limit=batch)
    if not entries:
        return 0
    boards = Boards(redis)
    compounds, cities = await households()
    campaign_clocks = await clocks()
    calls = []
    applicable = []
    for e in entries:
        payload: dict[str, Any] = dict(e.payload)
        clock = campaign_clocks.get(int(payload.get("campaign_id") or 0))
        if e.topic != "contribution" or clock is None:
            continue
        calls.append(apply_call(boards, e.id, payload, clock, compounds, cities))
        applicable.append((e.id, clock.campaign_id))
    results = await boards.apply_many(calls)
    done = [e.id for e in entries if e.topic != "contribution"]
    by_campaign: dict[int, list[int]] = defaultdict(list)
    for (entry_id, campaign_id), result in zip(applicable, results, strict=True):
        if result >= 0:  # -1: deferred while that campaign's boards are rebuilt
            done.append(entry_id)
            by_campaign[campaign_id].append(entry_id)
    for campaign_id, ids in by_campaign.items():
        # Before the rows are marked processed: boards never claim less than the ledger
        # says they got, unless Redis lost what it was sent (then heal() rebuilds them).
        await cast(
            Awaitable[Any], redis.eval(_RAISE_STAMP, 1, keys.stamp(campaign_id), str(max(ids)))
        )
    await outbox.mark_processed(done)
    for campaign_id, ids in by_campaign.items():
        await cast(Awaitable[int], redis.srem(keys.applied(campaign_id), *ids))
    SETTLED.inc(len(done))
    return len(done)


_RAISE_STAMP = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
"""
# How often the relay checks the boards against the ledger (and once when it starts).
HEAL_INTERVAL_S = 60.0


async def heal(redis: servers.Client) -> list[int]:
    """Rebuild every campaign whose boards are behind the ledger: empty or missing (Redis came
    back without them) or holding less than the outbox rows already marked applied (Redis lost
    its last writes). Returns the campaigns rebuilt. Run under the relay lock."""
    rebuilt = []
    for campaign_id in await clocks():
        upto = await outbox.processed_upto(campaign_id)
        if upto is None:
            continue  # nothing applied yet: nothing to lose
        raw = await redis.get(keys.stamp(campaign_id))
        stamp = int(raw) if raw is not None else None
        if stamp is not None and stamp >= upto:
            continue
        log.warning(
            "boards of campaign %s are behind the ledger (they hold outbox id %s, the ledger "
            "applied %s): rebuilding them",
            campaign_id,
            stamp,
            upto,
        )
        await rebuild(redis, campaign_id)
        REBUILT.inc()
        rebuilt.append(campaign_id)
    return rebuilt


LOCK_KEY = "wr:relay:lock"
LOCK_MS = 60_000
# Extend or release the lock only if it is still ours.
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def drain(redis: servers.Client, *, batch: int = BATCH, check: bool = False) -> int:
    """Relay until the outbox is empty (or only deferred entries remain).

    One relay at a time: several app workers (and a ``warmrun leaderboard relay``) may run,
    and two relays reading the same pending rows could apply an entry after the other had
    already confirmed it and cleared its id from the ``applied`` set. A Redis lock with a
    token and an expiry (extended after every batch) serialises them; a relay that finds
    the lock taken returns 0 and tries again next cycle.
    """
    token = secrets.token_hex(16)
    if not await redis.set(LOCK_KEY, token, nx=True, px=LOCK_MS):
        return 0
    total = 0
    try:
        if check:
            await heal(redis)
        while True:
            n = await relay_once(redis, batch=batch)
            total += n
            if n == 0:
                return total
            if not await cast(
                Awaitable[Any], redis.eval(_EXTEND, 1, LOCK_KEY, token, str(LOCK_MS))
            ):
                return total  # the lock expired and another relay took over
    finally:
        await cast(Awaitable[Any], redis.eval(_RELEASE, 1, LOCK_KEY, token))


async def run_forever(redis: servers.Client, *, interval: float = 1.0, stop: asyncio.Event) -> None:
    """The relay loop of ``warmrun serve`` / ``warmrun leaderboard relay``; it checks the
    boards against the ledger when it starts and every HEAL_INTERVAL_S."""
    checked = -math.inf
    while not stop.is_set():
        try:
            due = time.monotonic() - checked >= HEAL_INTERVAL_S
            await drain(redis, check=due)
            if due:
                checked = time.monotonic()
        except (RedisError, RedisClusterException) as exc:
            what = outages.component(exc)
            if what is None:
                # Redis refused a command (out of memory, say): nothing was applied or marked,
                # so the loop lives on and the entries wait in the outbox.
                WAITS.labels("redis_refused").inc()
                log.error("leaderboard relay: Redis refused the batch: %s", exc)
            else:  # Redis is away: the outbox keeps every entry; try again next cycle
                WAITS.labels("redis").inc()
                log.warning("leaderboard relay waiting for Redis: %s", exc)
        except Exception as exc:
            what = outages.component(exc)
            if what is None:
                raise
            # The database is away (the outbox lives there): nothing was applied or marked.
            WAITS.labels(what.lower()).inc()
            log.warning("leaderboard relay waiting for the %s: %s", what, exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
