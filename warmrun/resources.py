"""open_resources(settings): the database and Redis, for the app and the CLI alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis

from warmrun import db
from warmrun.config import Settings
from warmrun.integrations.parsing import SandboxedParser
from warmrun.platform import rollups
from warmrun.redis_server import EmbeddedRedis

REDIS_TIMEOUT_S = 2.0


@dataclass
class Resources:
    settings: Settings
    redis: Redis | None
    # Reads every file from outside in bounded worker processes (started on first use, or
    # at once by the app's lifespan).
    parser: SandboxedParser


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


@asynccontextmanager
async def open_resources(
    settings: Settings, *, with_redis: bool = True, migrate: bool = True
) -> AsyncIterator[Resources]:
    """Connect (and migrate) the database; start or connect Redis; close all on exit."""
    settings.home.mkdir(parents=True, exist_ok=True)
    embedded: EmbeddedRedis | None = None
    client: Redis | None = None
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
            client = redis_client(url)
        yield Resources(settings=settings, redis=client, parser=parser)
    finally:
        await asyncio.to_thread(parser.close)
        if client is not None:
            await client.aclose()
            await client.connection_pool.disconnect()
        if embedded is not None:
            embedded.stop()
        await db.close()


async def readiness(redis: Redis | None) -> dict[str, str]:
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
