"""Board rows for people: names, anonymisation, units. Plain dicts, no ORM rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warmrun.leaderboard.boards import Entry
from warmrun.platform.models import City, Compound, Resident

ADULT_AGE = 18


def anonymous_name(resident_id: int) -> str:
    return f"居民 Resident ·{resident_id % 10000:04d}"


# The key each board row carries its score under, by metric.
UNITS = {"m": "metres", "pc": "mm_per_household", "pr": "active_per_million_households"}


async def rows(
    entries: list[Entry], *, scope: str, metric: str, now: datetime
) -> list[dict[str, Any]]:
    """Named rows. Minors and residents who opted out of public boards are anonymised; they
    still count in their compound's and city's totals."""
    ids = [e.member for e in entries]
    names: dict[int, str] = {}
    if scope == "R":
        for r in await Resident.filter(id__in=ids).values(
            "id", "display_name", "public_board", "birth_year", "erased_at", "guardian_id"
        ):
            minor = r["birth_year"] is not None and now.year - r["birth_year"] < ADULT_AGE
            child = r["guardian_id"] is not None  # registered by a guardian: never by name
            hidden = minor or child or not r["public_board"] or r["erased_at"] is not None
            names[r["id"]] = anonymous_name(r["id"]) if hidden else r["display_name"]
    elif scope == "P":
        for c in await Compound.filter(id__in=ids).values("id", "name"):
            names[c["id"]] = c["name"]
    else:
        for c in await City.filter(id__in=ids).values("id", "name_zh", "name_en"):
            names[c["id"]] = f"{c['name_zh']} {c['name_en']}"
    unit = UNITS
    return [
        {
            "rank": e.rank,
            "id": e.member,
            "name": names.get(e.member, anonymous_name(e.member)),
            unit[metric]: e.score,
        }
        for e in entries
    ]
