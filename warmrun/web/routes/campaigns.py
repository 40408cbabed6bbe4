"""Campaigns: the public page's data, boards, and the partner's dashboard and exports."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from starlette.responses import Response

from warmrun.leaderboard import keys as board_keys
from warmrun.leaderboard.boards import Boards
from warmrun.leaderboard.campaigns import clocks
from warmrun.leaderboard.present import rows as board_rows
from warmrun.platform import accounts, campaign_views, clock, settlement
from warmrun.platform.errors import NotFound
from warmrun.web import forms
from warmrun.web.endpoints import Access, Ctx
from warmrun.web.routes import api

SCOPES = {"residents": "R", "compounds": "P", "cities": "C"}


async def partner_campaign(ctx: Ctx, code: str) -> campaign_views.CampaignSummary:
    """The campaign if the caller is its partner, an organizer in one of its cities, or an
    admin; otherwise not found (no hint that it exists)."""
    c = await campaign_views.campaign_summary(code=code)
    if not await accounts.can_see_campaign(ctx.me(), c.id, partner_id=c.partner_id):
        raise NotFound("campaign", "活动")
    return c


async def _boards(ctx: Ctx, campaign_id: int, window: str) -> tuple[Boards, str]:
    """The boards and the key of the campaign's current ``window`` (none without Redis)."""
    if ctx.redis is None:
        raise NotFound("board", "排行榜")
    return Boards(ctx.redis), (await clocks())[campaign_id].current(clock.now(), window)


@api.route(
    "GET", "/api/v1/campaigns", access=Access.PUBLIC, tag="campaigns", summary="All campaigns"
)
async def campaign_list(ctx: Ctx) -> dict[str, Any]:
    return {"items": await campaign_views.campaign_list()}


@api.route(
    "GET",
    "/api/v1/places",
    access=Access.PUBLIC,
    tag="campaigns",
    summary="Cities and compounds residents can join",
)
async def places(ctx: Ctx) -> dict[str, Any]:
    return {"items": await campaign_views.places()}


@api.route(
    "GET",
    "/api/v1/campaigns/{code}",
    access=Access.PUBLIC,
    tag="campaigns",
    summary="A campaign's public progress: totals and goods per city",
)
async def public_campaign(ctx: Ctx) -> dict[str, Any]:
    d = await campaign_views.dashboard(code=ctx.path["code"], compounds_limit=0)
    return {
        "campaign": d.campaign,
        "goods": {"zh": d.goods_zh, "en": d.goods_en, "price_fen": d.goods_price_fen},
        "overall": d.overall,
        "cities": d.cities,
    }


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/boards/{scope}",
    access=Access.PUBLIC,
    tag="campaigns",
    query=forms.BoardQuery,
    summary="A board: residents, compounds or cities, by window and metric",
)
async def board(ctx: Ctx) -> dict[str, Any]:
    q: forms.BoardQuery = ctx.query
    scope = SCOPES.get(ctx.path["scope"])
    if scope is None or (scope == "R" and q.metric != "m"):
        raise NotFound("board", "排行榜")
    c = await campaign_views.campaign_summary(code=ctx.path["code"])
    boards, window = await _boards(ctx, c.id, q.window)
    entries, total = await boards.top(c.id, scope, window, q.metric, offset=q.offset, limit=q.limit)
    items = await board_rows(entries, scope=scope, metric=q.metric, now=clock.now())
    return {"window": window, "items": items, "total": total, "offset": q.offset, "limit": q.limit}


@api.route(
    "GET",
    "/api/v1/me/rank",
    access=Access.RESIDENT,
    tag="campaigns",
    query=forms.RankQuery,
    summary="My rank and the five above and below me",
)
async def my_rank(ctx: Ctx) -> dict[str, Any]:
    q: forms.RankQuery = ctx.query
    c = await campaign_views.campaign_summary(code=q.campaign)
    boards, window = await _boards(ctx, c.id, q.window)
    rid = ctx.resident_id()
    mine = await boards.rank(c.id, rid, window)
    around = await boards.around(c.id, rid, window)
    total = await boards.redis.zcard(board_keys.board(c.id, "R", window))
    return {
        "window": window,
        "rank": mine[0] if mine else None,
        "metres": mine[1] if mine else 0,
        "total": int(total),
        "around": await board_rows(around, scope="R", metric="m", now=clock.now()),
    }


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/dashboard",
    access=Access.SIGNED_IN,
    tag="partner",
    summary="Totals per city and compound, pledges, daily series",
)
async def dashboard(ctx: Ctx) -> dict[str, Any]:
    c = await partner_campaign(ctx, ctx.path["code"])
    return {"dashboard": await campaign_views.dashboard(code=c.code)}


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/compounds",
    access=Access.SIGNED_IN,
    tag="partner",
    query=forms.Page,
    summary="The campaign's compounds with their totals, most kilometres first, page by page",
)
async def compounds(ctx: Ctx) -> dict[str, Any]:
    c = await partner_campaign(ctx, ctx.path["code"])
    q: forms.Page = ctx.query
    total, items = await campaign_views.compound_page(code=c.code, offset=q.offset, limit=q.limit)
    return {"items": items, "total": total, "offset": q.offset, "limit": q.limit}


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/report",
    access=Access.SIGNED_IN,
    tag="partner",
    summary="The settlement report (what each sponsor owes, goods per city)",
)
async def report(ctx: Ctx) -> dict[str, Any]:
    c = await partner_campaign(ctx, ctx.path["code"])
    return {"report": await settlement.current_report(campaign_id=c.id)}


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/report.csv",
    access=Access.SIGNED_IN,
    tag="partner",
    produces="text/csv",
    query=forms.ReportQuery,
    summary="The report as CSV",
)
async def report_csv(ctx: Ctx) -> Response:
    c = await partner_campaign(ctx, ctx.path["code"])
    data = settlement.render_csv(await settlement.current_report(campaign_id=c.id), ctx.query.lang)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{c.code}-report.csv"'},
    )


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/report.xlsx",
    access=Access.SIGNED_IN,
    tag="partner",
    produces="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    query=forms.ReportQuery,
    summary="The report as an Excel workbook",
)
async def report_xlsx(ctx: Ctx) -> Response:
    c = await partner_campaign(ctx, ctx.path["code"])
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("report")
    for row in settlement.report_rows(
        await settlement.current_report(campaign_id=c.id), ctx.query.lang
    ):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{c.code}-report.xlsx"'},
    )


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/verify",
    access=Access.SIGNED_IN,
    tag="partner",
    summary="Verify the contribution ledger's hash chain",
)
async def verify(ctx: Ctx) -> dict[str, Any]:
    c = await partner_campaign(ctx, ctx.path["code"])
    v = await settlement.verify(campaign_id=c.id)
    return {"ok": True, "entries": v.entries, "head_hash": v.head_hash}
