"""A resident's privacy settings: the radius hidden around their tracks' ends, and home zones.

The rule that applies them is :func:`warmrun.platform.privacy.visible`; every path that shows a
track to anyone but its owner asks :func:`policy_of` first.
"""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.transactions import in_transaction

from warmrun.platform.errors import InvalidInput, NotFound
from warmrun.platform.models import PrivacyZone, Resident
from warmrun.platform.privacy import (
    DEFAULT_RADIUS_M,
    MAX_RADIUS_M,
    MAX_ZONES,
    Policy,
    Zone,
    check_zone,
)


async def policy_of(*, resident_id: int) -> Policy:
    resident = await Resident.get_or_none(id=resident_id)
    if resident is None:
        return Policy()  # an unknown owner: the default still applies
    zones = await PrivacyZone.filter(resident_id=resident_id).order_by("id")
    return Policy(
        radius_m=resident.privacy_radius_m,
        zones=tuple(Zone(lat=z.lat, lon=z.lon, radius_m=z.radius_m) for z in zones),
    )


async def set_policy(*, resident_id: int, radius_m: int, zones: Sequence[Zone]) -> Policy:
    """Replace the resident's privacy settings (all zones at once)."""
    if not DEFAULT_RADIUS_M <= radius_m <= MAX_RADIUS_M:
        raise InvalidInput(
            "radius_m",
            f"{DEFAULT_RADIUS_M} to {MAX_RADIUS_M} metres",
            f"{DEFAULT_RADIUS_M} 到 {MAX_RADIUS_M} 米",
        )
    if len(zones) > MAX_ZONES:
        raise InvalidInput("zones", f"at most {MAX_ZONES}", f"最多 {MAX_ZONES} 个")
    for z in zones:
        problem = check_zone(z.lat, z.lon, z.radius_m)
        if problem is not None:
            raise InvalidInput("zones", problem, "位置或半径无效（半径 100 到 1000 米）")
    async with in_transaction():
        if not await Resident.filter(id=resident_id, erased_at=None).update(
            privacy_radius_m=radius_m
        ):
            raise NotFound("resident", "居民")
        await PrivacyZone.filter(resident_id=resident_id).delete()
        for z in zones:
            await PrivacyZone.create(
                resident_id=resident_id, lat=z.lat, lon=z.lon, radius_m=z.radius_m
            )
    return await policy_of(resident_id=resident_id)
