"""Participation figures for organizers (per campaign, city or compound, with a CSV), and
residents' ratings of what they picked up and the event days they came to."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.platform import accounts, campaign_views, participation, ratings, views
from warmrun.platform.errors import NotFound
from warmrun.platform.identity import Identity
from warmrun.platform.participation import Participation, Scope
from warmrun.platform.report_files import csv_bytes
from warmrun.web import forms
from warmrun.web.endpoints import Access, Ctx
from warmrun.web.routes import api


async def scope_for(me: Identity, code: str, q: forms.FiguresQuery) -> Scope:
    """The figures the caller may read: a whole campaign for its owners; otherwise one of
    their cities (the first, unless one is asked for) or a compound in it."""
    c = await campaign_views.campaign_summary(code=code)
    if not await accounts.can_see_campaign(me, c.id, partner_id=c.partner_id):
        raise NotFound("campaign", "活动")
    city = q.city
    if q.compound is not None:
        await accounts.check_compound(me, q.compound)
        city = await views.compound_city(compound_id=q.compound)  # its stations, no others
    elif city is None and not await accounts.runs_whole_campaign(me, c.id):
        mine = sorted(await accounts.organizer_city_ids(me) or set())
        city = mine[0] if mine else 0
    if city is not None:
        await accounts.check_city(me, city)
    return Scope(campaign_id=c.id, city_id=city, compound_id=q.compound)


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/participation",
    access=Access.ORGANIZER,
    tag="participation",
    query=forms.FiguresQuery,
    summary="Weekly active residents (new, returning), repeat rate, households, ages, "
    "check-ins, redemptions and satisfaction",
)
async def figures(ctx: Ctx) -> dict[str, Any]:
    scope = await scope_for(ctx.me(), ctx.path["code"], ctx.query)
    p = await participation.campaign_participation(scope)
    return {"participation": p, "repeat_permille": p.figures.repeat_permille}


_HEAD = {
    "zh": ["周一", "活跃居民", "新参与", "回访", "跑步次数", "公里"],
    "en": ["week of", "active residents", "new", "returning", "runs", "km"],
}
_COMPOUND_HEAD = {
    "zh": ["小区", "登记户数", "参与人数", "每百户参与人数"],
    "en": ["compound", "registered households", "participants", "per 100 households"],
}


def figures_rows(p: Participation, lang: str) -> list[list[Any]]:
    rows: list[list[Any]] = [_HEAD[lang]]
    for w in p.figures.weeks:
        rows.append([w.monday.isoformat(), w.active, w.new, w.returning, w.runs,
                     f"{w.metres / 1000:.1f}"])  # fmt: skip
    rows.append([])
    rows.append(_COMPOUND_HEAD[lang])
    for c in p.compounds:
        rows.append([c.name, c.households, c.participants, "" if c.per_hundred is None
                     else c.per_hundred])  # fmt: skip
    return rows


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/participation.csv",
    access=Access.ORGANIZER,
    tag="participation",
    produces="text/csv",
    query=forms.FiguresQuery,
    summary="Weekly participation and compounds as CSV (UTF-8 with BOM)",
)
async def figures_csv(ctx: Ctx) -> Response:
    scope = await scope_for(ctx.me(), ctx.path["code"], ctx.query)
    p = await participation.campaign_participation(scope)
    return Response(
        csv_bytes(figures_rows(p, ctx.query.lang)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="participation.csv"'},
    )


@api.route(
    "GET",
    "/api/v1/me/ratings",
    access=Access.RESIDENT,
    tag="participation",
    summary="What I can rate (rewards picked up, event days), with my ratings so far",
)
async def my_ratings(ctx: Ctx) -> dict[str, Any]:
    return {"items": await ratings.rateable(resident_id=ctx.resident_id())}


@api.route(
    "POST",
    "/api/v1/me/ratings",
    access=Access.RESIDENT,
    tag="participation",
    body=forms.NewRating,
    summary="Rate a reward I picked up or an event day I came to (1 to 5, a comment)",
)
async def rate(ctx: Ctx) -> dict[str, Any]:
    b: forms.NewRating = ctx.body
    await ratings.rate(resident_id=ctx.resident_id(), subject=b.subject,
                       subject_id=b.subject_id, score=b.score, comment=b.comment)  # fmt: skip
    return {"ok": True}
