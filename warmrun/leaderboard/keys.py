"""The Redis key scheme, in one place.

Every key of a campaign carries the hash tag ``{c<id>}`` so that all of them live in one Redis
Cluster slot: one MULTI/EXEC of the relay touches many of them atomically.

    wr:{c7}:R:m:all          resident board, credited metres (composite score, see below)
    wr:{c7}:P:m:w2025-W45    compound board, metres, ISO week 45 of 2025
    wr:{c7}:C:pc:m2025-11    city board, metres per household (mm/household), November 2025
    wr:{c7}:P:pr:all         compound board, participation (active residents per million
                             households)
    wr:{c7}:RS:all           hash: resident → metres from Strava (aggregates only, never shown)
    wr:{c7}:ACT:all          hash: "P:<id>"/"C:<id>" → active residents in the window
    wr:{c7}:applied          set of outbox ids applied but not yet confirmed in the database
    wr:{c7}:version          counter: every write of the campaign's boards counts it up
    wr:{c7}:rebuilding       flag: the boards are being rebuilt, the relay defers the campaign

Resident scores are composite integers: ``metres * 2**26 + (2**26 - 1 - t)`` where ``t`` is the
second (since the campaign started) when the resident last changed score, so among equal
metres whoever got there first ranks higher. 2**26 s is 776 days; metres stay exact up to
134,000 km per resident. Compound and city boards hold plain integer metres.
"""

from __future__ import annotations

from datetime import date

SHIFT = 2**26
SCOPES = ("R", "P", "C")  # resident, compound (pool of residents), city
SCOPE_NAMES = {"resident": "R", "compound": "P", "city": "C"}
METRICS = ("m", "pc", "pr")  # metres, per capita, participation


def prefix(campaign_id: int) -> str:
    return f"wr:{{c{campaign_id}}}"


def board(campaign_id: int, scope: str, window: str, metric: str = "m") -> str:
    return f"{prefix(campaign_id)}:{scope}:{metric}:{window}"


def strava(campaign_id: int, window: str) -> str:
    return f"{prefix(campaign_id)}:RS:{window}"


def active(campaign_id: int, window: str) -> str:
    return f"{prefix(campaign_id)}:ACT:{window}"


def applied(campaign_id: int) -> str:
    return f"{prefix(campaign_id)}:applied"


def rebuilding(campaign_id: int) -> str:
    """Set while the rebuild writes the campaign's boards: the relay defers its entries."""
    return f"{prefix(campaign_id)}:rebuilding"


def stamp(campaign_id: int) -> str:
    """The newest outbox id the campaign's boards hold (set by the relay and the rebuild)."""
    return f"{prefix(campaign_id)}:stamp"


def version(campaign_id: int) -> str:
    """Counted up by every write of the campaign's boards (relay chunks, rebuild swaps)."""
    return f"{prefix(campaign_id)}:version"


def window_keys(campaign_id: int, window: str) -> list[str]:
    """The nine keys an update can change in one window."""
    return [
        board(campaign_id, "R", window),
        board(campaign_id, "P", window),
        board(campaign_id, "C", window),
        board(campaign_id, "P", window, "pc"),
        board(campaign_id, "C", window, "pc"),
        board(campaign_id, "P", window, "pr"),
        board(campaign_id, "C", window, "pr"),
        strava(campaign_id, window),
        active(campaign_id, window),
    ]


def week_window(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"w{year}-W{week:02d}"


def month_window(day: date) -> str:
    return f"m{day.year}-{day.month:02d}"


def compose(metres: int, t: int) -> int:
    t = min(max(t, 0), SHIFT - 1)
    return metres * SHIFT + (SHIFT - 1 - t)


def metres_of(score: float) -> int:
    return int(score) // SHIFT
