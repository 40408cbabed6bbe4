"""Read-side views of the set-up pages for badges, challenges and registered households:
plain values, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from warmrun.platform.models import Badge, Challenge, City, Compound


async def campaign_badges(*, campaign_id: int) -> list[dict[str, Any]]:
    """A campaign's badges in the order they were added, for the set-up page."""
    return await (
        Badge.filter(campaign_id=campaign_id)
        .order_by("id")
        .values("code", "name_zh", "name_en", "kind", "threshold", "points")
    )


async def campaign_challenges(*, campaign_id: int) -> list[dict[str, Any]]:
    """A campaign's challenges, the latest to start first, for the set-up page."""
    return await (
        Challenge.filter(campaign_id=campaign_id)
        .order_by("-starts_on", "-id")
        .values("id", "name", "starts_on", "ends_on", "target_m_per_household", "settled_at")
    )


@dataclass(frozen=True)
class CompoundHouseholds:
    city_zh: str
    city_en: str
    compound_id: int
    compound: str
    households: int


async def compound_households(*, city_ids: set[int] | None = None) -> list[CompoundHouseholds]:
    """Every compound (in ``city_ids`` if given) with its registered households, by city."""
    cities = {c.id: c for c in await City.all()}
    compounds = Compound.all()
    if city_ids is not None:
        compounds = compounds.filter(city_id__in=list(city_ids))
    return [
        CompoundHouseholds(
            city_zh=cities[x.city_id].name_zh,
            city_en=cities[x.city_id].name_en,
            compound_id=x.id,
            compound=x.name,
            households=x.households,
        )
        for x in await compounds.order_by("city_id", "name")
    ]
