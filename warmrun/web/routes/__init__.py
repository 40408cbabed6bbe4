"""The API's endpoints, one module per resource, all registered on one :class:`Api`."""

from __future__ import annotations

from warmrun.web.endpoints import Api

api = Api()

# Importing the modules registers their endpoints.
from warmrun.web.routes import (  # noqa: E402
    auth,
    bookings,
    campaigns,
    events,
    families,
    game,
    grants,
    ledger,
    organizer,
    participation,
    payments,
    rewards,
    runs,
    setup,
    staff,
    strava,
)

__all__ = [
    "api",
    "auth",
    "bookings",
    "campaigns",
    "events",
    "families",
    "game",
    "grants",
    "ledger",
    "organizer",
    "participation",
    "payments",
    "rewards",
    "runs",
    "setup",
    "staff",
    "strava",
]
