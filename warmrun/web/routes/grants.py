"""Points beyond running: grants for volunteering and winter-care visits (one by one or a CSV
file, idempotent per row), and balance adjustments with a reason. Organizers act for residents
of their cities; everything is in the audit log."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from warmrun.platform import accounts, campaign_views, grants
from warmrun.platform.errors import InvalidInput, NotFound, WarmrunError
from warmrun.platform.identity import Identity
from warmrun.web import codes, forms
from warmrun.web.endpoints import Access, Ctx, invalid_input
from warmrun.web.routes import api

MAX_CSV_BYTES = 1_000_000


async def resident_for(me: Identity, secret: str, member: str) -> int:
    """The resident a member code or e-mail names, if they live in the caller's cities."""
    member = member.strip()
    rid = await grants.resident_by_email(member) if "@" in member else None
    if rid is None:
        rid = codes.read_member_code(secret, member)
    if not await accounts.covers_city(me, await grants.resident_city(rid)):
        raise NotFound("resident", "居民")
    return rid


async def campaign_of(me: Identity, code: str) -> int:
    c = await campaign_views.campaign_summary(code=code)
    if not await accounts.can_see_campaign(me, c.id, partner_id=c.partner_id):
        raise NotFound("campaign", "活动")
    return c.id


async def grant_one(me: Identity, secret: str, campaign_id: int, g: forms.Grant) -> bool:
    rid = await resident_for(me, secret, g.member)
    return await grants.grant(
        campaign_id=campaign_id,
        resident_id=rid,
        points=g.points,
        reason=g.reason,
        note=g.note,
        ref=g.ref,
    )


async def grant_file(
    me: Identity, secret: str, campaign_id: int, data: bytes, lang: str
) -> list[dict[str, Any]]:
    """Each row of the file granted once (a row sent again: "already"), or refused with why."""
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput("file", "at most 1 MB", "不超过 1 MB")
    out = []
    for row in grants.parse_csv(data):
        if isinstance(row, grants.RowResult):
            out.append(_result(row.line, row.ref, "refused", row.error, lang))
            continue
        try:
            g = forms.Grant(member=row.member, points=row.points, reason=row.reason,  # type: ignore[arg-type]
                            note=row.note, ref=row.ref)  # fmt: skip
            done = await grant_one(me, secret, campaign_id, g)
            out.append(_result(row.line, row.ref, "granted" if done else "already", None, lang))
        except WarmrunError as exc:
            out.append(_result(row.line, row.ref, "refused", exc, lang))
        except ValidationError as exc:  # a row the grant's own bounds refuse
            out.append(_result(row.line, row.ref, "refused", invalid_input(exc), lang))
    return out


def _result(
    line: int, ref: str, status: str, exc: WarmrunError | None, lang: str
) -> dict[str, Any]:
    return {"line": line, "ref": ref, "status": status, "error": exc.as_dict(lang) if exc else None}


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/grants",
    access=Access.ORGANIZER,
    tag="points",
    body=forms.Grant,
    summary="Grant points to a resident of my cities (once per ref)",
)
async def grant(ctx: Ctx) -> dict[str, Any]:
    campaign_id = await campaign_of(ctx.me(), ctx.path["code"])
    secret = str(ctx.settings.secret_key)
    return {"granted": await grant_one(ctx.me(), secret, campaign_id, ctx.body)}


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/grants.csv",
    access=Access.ORGANIZER,
    tag="points",
    summary="Grant points from a CSV file (ref, member, points, reason, note); one result a row",
)
async def grant_csv(ctx: Ctx) -> dict[str, Any]:
    campaign_id = await campaign_of(ctx.me(), ctx.path["code"])
    data = await ctx.request.body()
    secret = str(ctx.settings.secret_key)
    return {"rows": await grant_file(ctx.me(), secret, campaign_id, data, ctx.lang)}


@api.route(
    "POST",
    "/api/v1/points/adjustments",
    access=Access.ORGANIZER,
    tag="points",
    body=forms.Adjustment,
    summary="Correct a resident's points up or down, with the reason",
)
async def adjust(ctx: Ctx) -> dict[str, Any]:
    b: forms.Adjustment = ctx.body
    rid = await resident_for(ctx.me(), str(ctx.settings.secret_key), b.member)
    done = await grants.adjust(resident_id=rid, delta=b.delta, note=b.note, ref=b.ref)
    return {"ok": True, "already": not done}
