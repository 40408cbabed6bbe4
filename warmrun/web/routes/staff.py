"""Staff and the audit log: invitations by one-time link, who works where, withdrawing
access; every staff action with who, when, what and before/after, filtered and exported."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from warmrun.platform import accounts, audit, campaign_views, staff
from warmrun.platform.accounts import Identity
from warmrun.platform.kinds import Role
from warmrun.platform.report_files import csv_bytes
from warmrun.web import forms
from warmrun.web.endpoints import Access, Ctx, site_url
from warmrun.web.labels import label
from warmrun.web.routes import api

# The audit CSV's times, as the page shows them (the campaigns' time zone).
SHANGHAI = ZoneInfo("Asia/Shanghai")


def invitation_link(request: Request, token: str) -> str:
    return f"{site_url(request)}/invite/{token}"


@api.route(
    "GET",
    "/api/v1/staff",
    access=Access.ORGANIZER,
    tag="staff",
    summary="Staff in my places, and the invitations I may see",
)
async def staff_list(ctx: Ctx) -> dict[str, Any]:
    me = ctx.me()
    return {
        "members": await staff.members(by=me),
        "invitations": await staff.invitations(by=me),
    }


@api.route(
    "POST",
    "/api/v1/staff/invitations",
    access=Access.ORGANIZER,
    tag="staff",
    body=forms.Invite,
    summary="Invite a member of staff; the one-time link is shown only in this answer",
)
async def invite(ctx: Ctx) -> dict[str, Any]:
    b: forms.Invite = ctx.body
    token, view = await staff.invite(
        inviter=ctx.me(), email=b.email, role=Role(b.role), places=b.places, partner_id=b.partner_id
    )
    return {"invitation": view, "link": invitation_link(ctx.request, token)}


@api.route(
    "POST",
    "/api/v1/staff/invitations/{invitation_id:int}/revoke",
    access=Access.ORGANIZER,
    tag="staff",
    summary="Withdraw an invitation that has not been accepted",
)
async def revoke(ctx: Ctx) -> dict[str, Any]:
    await staff.revoke(by=ctx.me(), invitation_id=ctx.path["invitation_id"])
    return {"revoked": True}


@api.route(
    "POST",
    "/api/v1/staff/{account_id:int}/withdraw",
    access=Access.ORGANIZER,
    tag="staff",
    summary="Take a member of staff off my places and sign them out everywhere",
)
async def withdraw(ctx: Ctx) -> dict[str, Any]:
    await staff.withdraw(by=ctx.me(), account_id=ctx.path["account_id"])
    return {"withdrawn": True}


@api.route(
    "GET",
    "/api/v1/invitations/{token}",
    access=Access.PUBLIC,
    tag="staff",
    summary="What an invitation link offers (while it can be accepted)",
)
async def invitation(ctx: Ctx) -> dict[str, Any]:
    return {"invitation": await staff.invitation(token=ctx.path["token"])}


@api.route(
    "POST",
    "/api/v1/invitations/{token}/accept",
    access=Access.PUBLIC,
    tag="staff",
    body=forms.AcceptInvitation,
    csrf_exempt=True,  # the link's secret token is the credential; there is no session yet
    summary="Accept an invitation: the account is made with this password",
)
async def accept(ctx: Ctx) -> dict[str, Any]:
    a = await staff.accept(token=ctx.path["token"], password=ctx.body.password)
    return {"account": {"id": a.id, "email": a.email, "role": str(a.role)}}


async def audit_filter(me: Identity, q: forms.AuditQuery) -> audit.Filter:
    """The query's filter; a campaign named is one the caller may see (or nothing matches)."""
    campaign_id = None
    if q.campaign:
        c = await campaign_views.campaign_summary(code=q.campaign)
        seen = await accounts.can_see_campaign(me, c.id, partner_id=c.partner_id)
        campaign_id = c.id if seen else 0
    return audit.Filter(
        campaign_id=campaign_id,
        action=q.action or None,
        actor=q.actor or None,
        since=_day_start(q.since),
        until=_day_start(q.until + timedelta(days=1)) if q.until else None,
    )


def _day_start(day: Any) -> datetime | None:
    return datetime.combine(day, time.min).astimezone() if day else None


@api.route(
    "GET",
    "/api/v1/audit",
    access=Access.ORGANIZER,
    tag="staff",
    query=forms.AuditQuery,
    summary="Staff actions in my cities and campaigns, newest first (admins: all)",
)
async def audit_log(ctx: Ctx) -> dict[str, Any]:
    q: forms.AuditQuery = ctx.query
    scope = await accounts.organizer_city_ids(ctx.me())
    where = await audit_filter(ctx.me(), q)
    items, total = await audit.entries(city_ids=scope, where=where, offset=q.offset, limit=q.limit)
    return {"items": items, "total": total, "offset": q.offset, "limit": q.limit}


AUDIT_HEADERS = {
    "zh": [
        "编号",
        "时间",
        "操作人",
        "操作",
        "操作代码",
        "活动",
        "城市",
        "对象",
        "修改前",
        "修改后",
    ],
    "en": [
        "id",
        "time",
        "by",
        "action",
        "action code",
        "campaign",
        "city",
        "subject",
        "before",
        "after",
    ],
}


async def audit_rows(entries: list[audit.EntryView], lang: str) -> list[list[Any]]:
    names = await audit.names()
    rows: list[list[Any]] = [AUDIT_HEADERS["en" if lang.startswith("en") else "zh"]]
    for e in entries:
        rows.append(
            [
                e.id,
                e.at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
                e.actor,
                label("audit_action", e.action, lang),
                e.action,
                names.campaigns.get(e.campaign_id or 0, ""),
                names.city(e.city_id or 0, lang),
                e.subject,
                "" if e.before is None else json_text(e.before),
                "" if e.after is None else json_text(e.after),
            ]
        )
    return rows


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@api.route(
    "GET",
    "/api/v1/audit.csv",
    access=Access.ORGANIZER,
    tag="staff",
    produces="text/csv",
    query=forms.AuditQuery,
    summary="The audit log as CSV (UTF-8 with BOM; Chinese headers, `lang=en` for English)",
)
async def audit_csv(ctx: Ctx) -> Response:
    q: forms.AuditQuery = ctx.query
    scope = await accounts.organizer_city_ids(ctx.me())
    where = await audit_filter(ctx.me(), q)
    entries, _ = await audit.entries(city_ids=scope, where=where, offset=0, limit=100_000)
    return Response(
        csv_bytes(await audit_rows(entries, q.lang)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
