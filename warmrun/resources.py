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
from warmrun.redis_server import EmbeddedRedis


@dataclass
class Resources:
    settings: Settings
    redis: Redis | None
    # Reads every file from outside in bounded worker processes (started on first use, or
    # at once by the app's lifespan).
    parser: SandboxedParser


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
    try:
        if with_redis:
            url = settings.redis_url
            if url is None:
                embedded = EmbeddedRedis(settings.home)
                url = embedded.start()
            # A blocking pool waits for a free connection instead of raising under load.
            pool = BlockingConnectionPool.from_url(url, max_connections=64, timeout=5)
            client = Redis(connection_pool=pool)
        yield Resources(settings=settings, redis=client, parser=parser)
    finally:
        await asyncio.to_thread(parser.close)
        if client is not None:
            await client.aclose()
            await client.connection_pool.disconnect()
        if embedded is not None:
            embedded.stop()
        await db.close()
