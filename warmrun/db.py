"""Database set-up shared by the app, the CLI and the tests: Tortoise config and migrations."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api.migrate import migrate

# Seconds a new PostgreSQL connection may take (asyncpg's ``timeout``): while the server is
# away, requests fail fast with 503 instead of waiting on the operating system's timeout.
CONNECT_TIMEOUT_S = 5
# Connections per process (``?maxsize=`` in DATABASE_URL overrides it).
POOL_SIZE = 10


def with_connect_timeout(database_url: str) -> str:
    if not database_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return database_url
    if "timeout=" in database_url:
        return database_url
    return f"{database_url}{'&' if '?' in database_url else '?'}timeout={CONNECT_TIMEOUT_S}"


@functools.cache
def pooled_connection_class() -> type:
    """A PostgreSQL connection that the pool hands on without a reset statement.

    asyncpg resets a connection each time it goes back to the pool (unlock advisory locks,
    close cursors, unlisten, reset settings): one more round trip after every statement run
    outside a transaction, a third of the time of a page's small reads. warmrun leaves no such
    state on a connection (its advisory locks are transaction-scoped, it sets nothing for the
    session, listens to nothing), and asyncpg still rolls back an open transaction on release.
    Built on first use: asyncpg is installed only with PostgreSQL support.
    """
    import asyncpg

    class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
        def get_reset_query(self) -> str:
            return ""

    return PooledConnection


def connection(database_url: str) -> dict[str, Any]:
    """The connection's Tortoise settings, from its URL."""
    found = expand_db_url(with_connect_timeout(database_url))
    if found["engine"] == "tortoise.backends.asyncpg":
        found["credentials"]["connection_class"] = pooled_connection_class()
        # A page sends its independent reads at once (campaign_views.dashboard: up to
        # eight): with asyncpg's default of five connections per process they would queue.
        found["credentials"].setdefault("maxsize", POOL_SIZE)
    return found


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection(database_url)},
        "apps": {
            "models": {
                "models": ["warmrun.platform.models"],
                "default_connection": "default",
                "migrations": "warmrun.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def upgrade(database_url: str) -> None:
    """Apply every migration not yet applied (``warmrun db upgrade``)."""
    await migrate(config=tortoise_config(database_url))


async def connect(database_url: str, *, run_migrations: bool = True) -> None:
    if run_migrations:
        await upgrade(database_url)
        # The migration run initialises Tortoise with its own model state: start afresh.
        await Tortoise.close_connections()
    # The global fallback makes the connection visible to every task, not only to the one
    # that connected: ASGI servers run requests outside the lifespan task's context.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close() -> None:
    await Tortoise.close_connections()


MIGRATIONS = Path(__file__).parent / "migrations"


async def pending_migrations() -> list[str]:
    """Migrations on disk that the connected database has not applied (``/readyz``)."""
    on_disk = sorted(p.stem for p in MIGRATIONS.glob("[0-9]*.py"))
    rows = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT name FROM tortoise_migrations WHERE app = 'models'"
    )
    applied = {str(r["name"]) for r in rows}
    return [name for name in on_disk if name not in applied]
