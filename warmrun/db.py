"""Database set-up shared by the app, the CLI and the tests: Tortoise config and migrations."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
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
