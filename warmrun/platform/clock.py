"""One source of "now", always timezone-aware (tests may swap the function)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests). ``None`` restores the system clock."""
    global _now
    _now = fn if fn is not None else (lambda: datetime.now(UTC))
