"""open_resources(settings): the database and Redis, for the app and the CLI alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster

from warmrun import db
from warmrun.config import Settings
from warmrun.integrations.parsing import SandboxedParser
from warmrun.platform import rollups
from warmrun.redis_server import EmbeddedRedis

REDIS_TIMEOUT_S = 2.0


@dataclass
class Resources:
    settings: Settings
    # Boards, the relay and rate limits: one server, or a Redis Cluster.
    redis: Redis | RedisCluster | None
    # Reads every file from outside in bounded worker processes (started on first use, or
    # at once by the app's lifespan).
    parser: SandboxedParser
    # The job queue (arq) and Strava's shared counters and locks: always a single server. The
    # same client as ``redis`` unless WARMRUN_QUEUE_REDIS_URL names another; None on a cluster
    # without one (no jobs: Strava is off).
    queue: Redis | None = None


def redis_client(url: str) -> Redis:
    """A client on a blocking pool (it waits for a free connection instead of failing under
    load) whose every call ends within REDIS_TIMEOUT_S: a frozen Redis costs a request that
    long, never forever (the limiter then counts in-process, pages go on without boards)."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=5,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        socket_timeout=REDIS_TIMEOUT_S,
    )
    return Redis(connection_pool=pool)


def redis_cluster_client(url: str) -> RedisCluster:
    """A Redis Cluster client that finds every node from the one in ``url``, with the same
    per-call timeout as :func:`redis_client`. Keys that must change together carry one hash tag
    (one slot); the boards' transactions run on the primary that owns their campaign's slot
    (``leaderboard/servers.py``)."""
    client: RedisCluster = RedisCluster.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        socket_timeout=REDIS_TIMEOUT_S,
        # One more try after a failure, on a fresh slot map (a failover or a moved slot): a
        # call ends within about twice REDIS_TIMEOUT_S, never forever.
        connection_error_retry_attempts=0,
        cluster_error_retry_attempts=1,
    )
    return client


@asynccontextmanager
async def open_resources(
    settings: Settings, *, with_redis: bool = True, migrate: bool = True
) -> AsyncIterator[Resources]:
    """Connect (and migrate) the database; start or connect Redis; close all on exit."""
    settings.home.mkdir(parents=True, exist_ok=True)
    embedded: EmbeddedRedis | None = None
    client: Redis | RedisCluster | None = None
    queue: Redis | None = None
    parser = SandboxedParser(settings.sandbox, settings.limits)
    await db.connect(settings.database_url, run_migrations=migrate)
    if migrate:
        await rollups.heal()
    try:
        if with_redis:
            url = settings.redis_url
            if url is None:
                embedded = EmbeddedRedis(settings.home)
                url = embedded.start()
            if settings.redis_cluster:
                client = redis_cluster_client(url)
            else:
                client = queue = redis_client(url)
            if settings.queue_redis_url is not None:
                queue = redis_client(settings.queue_redis_url)
        yield Resources(settings=settings, redis=client, parser=parser, queue=queue)
    finally:
        await asyncio.to_thread(parser.close)
        for each in {id(c): c for c in (client, queue) if c is not None}.values():
            await each.aclose()
            if isinstance(each, Redis):
                await each.connection_pool.disconnect()
        if embedded is not None:
            embedded.stop()
        await db.close()


async def readiness(redis: Redis | RedisCluster | None) -> dict[str, str]:
    """What ``/readyz`` reports: the database answers and its migrations are current, Redis
    answers. Each value is "ok" or what is wrong."""
    checks: dict[str, str] = {}
    try:
        pending = await db.pending_migrations()
        checks["database"] = "ok" if not pending else f"migrations pending: {', '.join(pending)}"
    except Exception as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    if redis is not None:
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unavailable: {type(exc).__name__}"
    return checks
