"""Staff pages: who works where, invitations by one-time link and their acceptance, and the
audit log of staff actions with its filters and CSV export."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from warmrun.platform import accounts, audit, campaign_views, staff
from warmrun.platform.errors import InvalidInput
from warmrun.platform.identity import Identity
from warmrun.platform.kinds import Role
from warmrun.web import forms, labels
from warmrun.web.pages.base import Page, form_int, form_model
from warmrun.web.routes.staff import audit_filter, invitation_link

HOME = {
    Role.ORGANIZER: "/review",
    Role.DESK: "/desk",
    Role.PARTNER: "/partner",
    Role.ADMIN: "/review",
}


async def staff_page(p: Page, data: dict[str, Any]) -> Response:
    made = await p.attempt(_staff_action(p, data)) if p.posted else None
    me = p.me()
    cities = await accounts.organizer_city_ids(me)
    return p.render(
        "staff.html",
        link=made or None,
        done=p.posted and p.error is None,
        members=await staff.members(by=me),
        invitations=await staff.invitations(by=me),
        catalogue=await campaign_views.catalogue(),
        places=await campaign_views.places(city_ids=cities),
        my_cities=cities,
        admin=me.role is Role.ADMIN,
    )


async def _staff_action(p: Page, data: dict[str, Any]) -> str:
    """Invite (returns the one-time link), withdraw an invitation or a member's access."""
    action = data.get("action")
    if action == "revoke":
        await staff.revoke(by=p.me(), invitation_id=form_int(data, "invitation_id") or 0)
        return ""
    if action == "withdraw":
        await staff.withdraw(by=p.me(), account_id=form_int(data, "account_id") or 0)
        return ""
    if action != "invite":
        raise InvalidInput("action", "unknown", "未知操作")
    role = str(data.get("role", ""))
    prefix = "city_" if role == "organizer" else "compound_"
    places = [v for k, v in data.items() if k.startswith(prefix)]
    b = form_model(forms.Invite, data, places=places)
    token, _ = await staff.invite(
        inviter=p.me(), email=b.email, role=Role(b.role), places=b.places, partner_id=b.partner_id
    )
    return invitation_link(p.request, token)


async def invite_page(p: Page, data: dict[str, Any]) -> Response:
    """Accept an invitation: choose a password, be signed in, go to the role's first page."""
    token = p.request.path_params["token"]
    invitation = await staff.invitation(token=token)  # not found unless it can be accepted
    if p.posted:
        made = await p.attempt(_accept(token, data))
        if made is not None:
            response = p.redirect(HOME.get(made.role, "/"))
            await p.sign_in(response, made)
            return response
    return p.render("invite.html", invitation=invitation, token=token)


async def _accept(token: str, data: dict[str, Any]) -> Identity:
    b = form_model(forms.AcceptInvitation, data)
    return await staff.accept(token=token, password=b.password)


async def audit_page(p: Page, _: dict[str, Any]) -> Response:
    query = dict(p.request.query_params)
    q = form_model(forms.AuditQuery, query)
    scope = await accounts.organizer_city_ids(p.me())
    where = await audit_filter(p.me(), q)
    items, total = await audit.entries(city_ids=scope, where=where, offset=q.offset, limit=50)
    return p.render(
        "audit.html", items=items, total=total, q=q, **await _audit_context(p, q, total)
    )


async def _audit_context(p: Page, q: forms.AuditQuery, total: int) -> dict[str, Any]:
    """The page's filters, names and links (the CSV of the same filter, the next page)."""
    keep = {k: v for k, v in p.request.query_params.items() if k != "offset" and v}
    return {
        "names": await audit.names(),
        "show": lambda value: labels.describe(value, p.lang),
        "actions": audit.ACTIONS,
        "campaigns": await campaign_views.campaign_list(),
        "csv_query": urlencode({**keep, "lang": "en" if p.lang == "en" else "zh"}),
        "next_offset": q.offset + 50 if q.offset + 50 < total else None,
        "next_query": urlencode({**keep, "offset": q.offset + 50}),
    }
