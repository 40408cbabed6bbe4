"""Contest set-up pages: a campaign's badges, its compound-vs-compound challenges (create, see
the standings, settle) and the registered households those challenges divide by.

Each page calls the services the game and set-up APIs call and makes the same checks: badges
touch the whole campaign; a challenge needs the caller to organize every compound in it.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.platform import accounts, badges, campaign_views, campaigns, challenges, contest_views
from warmrun.platform.badge_rules import KINDS
from warmrun.platform.errors import Forbidden, InvalidInput, NotFound
from warmrun.web import forms
from warmrun.web.pages.base import Page, form_int, form_model

# The public challenge endpoint's own view of the standings: the page shows what the API does.
from warmrun.web.routes.game import _standings_view as standings_view


async def _campaign(p: Page, *, whole: bool) -> campaign_views.CampaignSummary:
    """The campaign of the path if the caller may act on it: in all of its cities (``whole``,
    as the badges API asks) or, for challenges, in one of them at least."""
    c = await campaign_views.campaign_summary(code=p.request.path_params["code"])
    me = p.me()
    if whole:
        allowed = await accounts.runs_whole_campaign(me, c.id)
    else:
        allowed = await accounts.can_see_campaign(me, c.id, partner_id=c.partner_id)
    if not allowed:
        raise Forbidden()
    return c


def _saved(p: Page) -> bool:
    return p.request.query_params.get("saved") == "1"


async def badges_page(p: Page, data: dict[str, Any]) -> Response:
    """A campaign's badges: the list, a new (or changed) badge, the standard set."""
    c = await _campaign(p, whole=True)
    if p.posted and await p.attempt(_badge_action(c.id, data)) is not None:
        return p.redirect(f"/setup/{c.code}/badges?saved=1")
    return p.render(
        "contests_badges.html",
        c=c,
        badges=await contest_views.campaign_badges(campaign_id=c.id),
        kinds=KINDS,
        form=data,
        saved=_saved(p),
    )


async def _badge_action(campaign_id: int, data: dict[str, Any]) -> bool:
    action = data.get("action")
    if action == "defaults":
        await badges.install_defaults(campaign_id=campaign_id)
    elif action == "badge":
        badge = form_model(forms.NewBadge, data)
        await badges.add_badge(campaign_id=campaign_id, **badge.model_dump())
    else:
        raise InvalidInput("action", "unknown", "未知操作")
    return True


async def challenges_page(p: Page, data: dict[str, Any]) -> Response:
    """A campaign's challenges, and a new one between compounds the caller organizes."""
    c = await _campaign(p, whole=False)
    if p.posted:
        made = await p.attempt(_new_challenge(p, c.id, data))
        if made is not None:
            return p.redirect(f"/setup/{c.code}/challenges/{made}")
    return p.render(
        "contests_challenges.html",
        c=c,
        challenges=await contest_views.campaign_challenges(campaign_id=c.id),
        compounds=await _compounds(p, c.code),
        form=data,
    )


async def _compounds(p: Page, code: str) -> list[campaign_views.Place]:
    """The compounds a challenge of the caller may group: in the campaign's cities that the
    caller organizes."""
    cities = {x["id"] for x in (await campaign_views.campaign_setup(code=code)).cities}
    scope = await accounts.organizer_city_ids(p.me())
    return await campaign_views.places(city_ids=cities if scope is None else cities & scope)


async def _new_challenge(p: Page, campaign_id: int, data: dict[str, Any]) -> int:
    """As the API: the ticked compounds (``compound_<id>``), every one in the caller's cities."""
    ticked = [v for k, v in data.items() if k.startswith("compound_")]
    new = form_model(forms.NewChallenge, data, compound_ids=ticked)
    for compound_id in new.compound_ids:
        await accounts.check_compound(p.me(), compound_id)
    return (await challenges.create_challenge(campaign_id=campaign_id, **new.model_dump())).id


async def challenge_page(p: Page, data: dict[str, Any]) -> Response:
    """A challenge of the campaign: its standings and, once it has ended, settling it."""
    c = await _campaign(p, whole=False)
    challenge_id = p.request.path_params["challenge_id"]
    listed = await contest_views.campaign_challenges(campaign_id=c.id)
    if challenge_id not in {x["id"] for x in listed}:
        raise NotFound("challenge", "挑战赛")
    posted = None
    if p.posted:
        posted = await p.attempt(_settle(p, challenge_id, data))
    s = standings_view(await challenges.standings(challenge_id=challenge_id))
    return p.render("contests_challenge.html", c=c, s=s, posted=posted, form=data)


async def _settle(p: Page, challenge_id: int, data: dict[str, Any]) -> int:
    """As the API: the caller organizes every compound of the challenge. Settling posts the
    points for good, so the form must also say that it was understood (``confirm``)."""
    s = await challenges.standings(challenge_id=challenge_id)
    for compound_id in s.names:
        await accounts.check_compound(p.me(), compound_id)
    if data.get("confirm") != "yes":
        raise InvalidInput(
            "confirm",
            "tick the box to confirm: settling cannot be undone",
            "请勾选确认：结算后无法撤销",
        )
    return await challenges.settle(challenge_id=challenge_id)


async def households_page(p: Page, data: dict[str, Any]) -> Response:
    """Registered households of the compounds in the caller's cities (admins: all), each
    editable."""
    scope = await accounts.organizer_city_ids(p.me())
    if p.posted and await p.attempt(_set_households(p, data)) is not None:
        return p.redirect("/setup/households?saved=1")
    return p.render(
        "contests_households.html",
        rows=await contest_views.compound_households(city_ids=scope),
        form=data,
        saved=_saved(p),
    )


async def _set_households(p: Page, data: dict[str, Any]) -> bool:
    """As the API: a compound of the caller's cities, checked before the number is read."""
    compound_id = form_int(data, "compound_id") or 0
    await accounts.check_compound(p.me(), compound_id)
    households = form_model(forms.Households, data).households
    await campaigns.set_households(compound_id=compound_id, households=households)
    return True
