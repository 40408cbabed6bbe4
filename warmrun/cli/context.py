"""What the sub-commands share: the consoles, the database for the length of a command, the
site's signing key and the log records of long-running commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rich.console import Console

from warmrun.config import Settings
from warmrun.resources import open_resources

if TYPE_CHECKING:
    from warmrun.platform.signing import SiteKey

console = Console()
err = Console(stderr=True)


async def with_db(
    settings: Settings, fn: Callable[[], Awaitable[int]], *, redis: bool = False
) -> int:
    async with open_resources(settings, with_redis=redis):
        return await fn()


def ledger_key(settings: Settings) -> SiteKey:
    """The site's checkpoint signing key (made in WARMRUN_HOME on first use)."""
    from warmrun.platform import signing

    return signing.load_or_create(settings.home)


def log_records(settings: Settings) -> None:
    """Log records of a long-running command go out as `warmrun serve`'s do."""
    import logging.config

    from warmrun.web import logs

    logging.config.dictConfig(logs.logging_config(settings.log_format))
