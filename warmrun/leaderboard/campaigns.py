"""What the boards need to know of campaigns: their clocks (windows) and households."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from warmrun.leaderboard.windows import CampaignClock
from warmrun.platform.models import Campaign, Compound

DEFAULT_RETENTION = timedelta(days=35)


async def households() -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
    """compound → (city, households) and city → households (registered, summed)."""
    compounds: dict[int, tuple[int, int]] = {}
    cities: dict[int, int] = defaultdict(int)
    for row in await Compound.all().values("id", "city_id", "households"):
        compounds[row["id"]] = (row["city_id"], row["households"])
        cities[row["city_id"]] += row["households"]
    return compounds, dict(cities)


async def clocks(retention: timedelta = DEFAULT_RETENTION) -> dict[int, CampaignClock]:
    return {
        c["id"]: CampaignClock(c["id"], c["timezone"], c["starts_on"], retention)
        for c in await Campaign.all().values("id", "timezone", "starts_on")
    }
