"""What staff may see and change: an organizer's cities, a compound's, a whole campaign, a
campaign's dashboard. Forbidden (or False) otherwise."""

from __future__ import annotations

from warmrun.platform.errors import Forbidden, NotFound
from warmrun.platform.identity import Identity
from warmrun.platform.kinds import Role
from warmrun.platform.models import CampaignCity, Compound, OrganizerCity, StaffCompound


async def organizer_city_ids(account: Identity) -> set[int] | None:
    """Cities an organizer may act in; None means all (admins)."""
    if account.role is Role.ADMIN:
        return None
    if account.role is not Role.ORGANIZER:
        return set()
    rows = await OrganizerCity.filter(account_id=account.id).values_list("city_id", flat=True)
    return {int(str(r)) for r in rows}


async def covers_city(account: Identity, city_id: int) -> bool:
    """Whether an organizer (or admin) may act in ``city_id``."""
    scope = await organizer_city_ids(account)
    return scope is None or city_id in scope


async def check_city(account: Identity, city_id: int) -> None:
    """Forbidden unless an organizer (or admin) may act in ``city_id``."""
    if not await covers_city(account, city_id):
        raise Forbidden()


async def check_compound(account: Identity, compound_id: int) -> None:
    """Forbidden unless the caller may act in the compound's city (not found: no compound)."""
    compound = await Compound.get_or_none(id=compound_id)
    if compound is None:
        raise NotFound("compound", "小区")
    await check_city(account, compound.city_id)


async def compound_ids(account: Identity) -> set[int] | None:
    """Compounds a member of staff may act in (the pickup desk, its rewards' stock); None
    means all (admins). Organizers have every compound of their cities, desk staff theirs."""
    if account.role is Role.ADMIN:
        return None
    if account.role is Role.DESK:
        rows = await StaffCompound.filter(account_id=account.id).values_list(
            "compound_id", flat=True
        )
        return {int(str(r)) for r in rows}
    cities = await organizer_city_ids(account) or set()
    rows = await Compound.filter(city_id__in=cities).values_list("id", flat=True)
    return {int(str(r)) for r in rows}


async def covers_compound(account: Identity, compound_id: int) -> bool:
    """Whether a member of staff may act in ``compound_id``."""
    scope = await compound_ids(account)
    return scope is None or compound_id in scope


async def _campaign_cities(campaign_id: int) -> set[int]:
    rows = await CampaignCity.filter(campaign_id=campaign_id).values_list("city_id", flat=True)
    return {int(str(x)) for x in rows}


async def runs_whole_campaign(account: Identity, campaign_id: int) -> bool:
    """Closing, settling and the rules touch every city of a campaign: admins may, and
    organizers whose cities include all of the campaign's."""
    scope = await organizer_city_ids(account)
    if scope is None:
        return True
    return account.role is Role.ORGANIZER and await _campaign_cities(campaign_id) <= scope


async def can_see_campaign(account: Identity, campaign_id: int, *, partner_id: int) -> bool:
    """A campaign's dashboard, reports and exports: for its partner, organizers in one of its
    cities, and admins."""
    if account.role is Role.ADMIN:
        return True
    if account.role is Role.PARTNER and account.partner_id == partner_id:
        return True
    if account.role is not Role.ORGANIZER:
        return False
    scope = await organizer_city_ids(account) or set()
    return bool(scope & await _campaign_cities(campaign_id))
