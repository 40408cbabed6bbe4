"""Which failures mean a service we depend on is away (the database, Redis), not a bug.

The web app answers those with 503 and ``Retry-After`` (one log line, no traceback per
request); ``/readyz`` reports them; the relay names the one it waits for. Connection failures
arrive wrapped (Tortoise wraps asyncpg's, redis-py its socket's), so the whole chain of causes
is looked at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from redis.exceptions import (
    BusyLoadingError,
    ClusterDownError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise.exceptions import DBConnectionError

DATABASE, REDIS = "database", "Redis"

try:  # asyncpg is the PostgreSQL extra
    import asyncpg

    _POSTGRES: tuple[type[BaseException], ...] = (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.CannotConnectNowError,
        asyncpg.AdminShutdownError,
        asyncpg.CrashShutdownError,
        asyncpg.TooManyConnectionsError,
        # A pooled connection whose server went away mid-operation can be left in a state
        # asyncpg refuses to use ("cannot switch to state ..."): the pool replaces it.
        asyncpg.InternalClientError,
    )
except ImportError:  # pragma: no cover - SQLite-only installs
    _POSTGRES = ()


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def component(exc: BaseException) -> str | None:
    """``"database"`` or ``"Redis"`` when ``exc`` means that service cannot be reached now."""
    chain = list(_chain(exc))
    for e in chain:
        if isinstance(e, RedisConnectionError | RedisTimeoutError | BusyLoadingError):
            return REDIS
        # A Redis Cluster failing over, or moving a slot a multi-key command needs.
        if isinstance(e, ClusterDownError | SlotNotCoveredError | TryAgainError):
            return REDIS
    for e in chain:
        if isinstance(e, (DBConnectionError, *_POSTGRES)):
            return DATABASE
        if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
            return DATABASE
    for e in chain:
        # A socket that would not connect or was cut: every client of ours but redis-py's
        # (which wraps them) talks to the database.
        if isinstance(e, ConnectionError | TimeoutError):
            return DATABASE
    return None
