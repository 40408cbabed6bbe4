"""Which version of a conversion rule governs a run: the one in force when the run started.

A rule version takes effect at its ``effective_from`` (the moment it was saved, or a later
time the organizer chose). The version in force at a moment is the one with the latest
``effective_from`` at or before it (the higher version number on a tie). A run from before
every version (campaigns credit runs back to their first day, and their rules are set just
before they open) is governed by the earliest version. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Version:
    version: int
    effective_from: datetime
    terms: dict[str, Any]


def in_force(versions: Sequence[Version], at: datetime) -> Version | None:
    """The version governing a run that started at ``at`` (None when there is none)."""
    if not versions:
        return None
    started = [v for v in versions if v.effective_from <= at]
    if not started:
        return min(versions, key=lambda v: (v.effective_from, v.version))
    return max(started, key=lambda v: (v.effective_from, v.version))


def scheduled(versions: Sequence[Version], now: datetime) -> list[Version]:
    """Versions that take effect later than ``now``, soonest first."""
    return sorted((v for v in versions if v.effective_from > now), key=lambda v: v.effective_from)
