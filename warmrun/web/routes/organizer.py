"""Organizers: the review queue of flagged runs, cities' goals, campaign closing and settlement."""

from __future__ import annotations

from typing import Any

from warmrun.platform import accounts, campaign_views, campaigns, settlement, views
from warmrun.platform.errors import ConfirmationNeeded, Forbidden, WarmrunError
from warmrun.platform.kinds import CampaignState
from warmrun.web import forms, scoped
from warmrun.web.endpoints import Access, Ctx
from warmrun.web.presenters import run_dict
from warmrun.web.routes import api
from warmrun.web.routes.ledger import ledger_key


@api.route(
    "GET",
    "/api/v1/review",
    access=Access.ORGANIZER,
    tag="organizer",
    query=forms.Page,
    summary="Flagged runs in my cities, oldest first",
)
async def queue(ctx: Ctx) -> dict[str, Any]:
    q: forms.Page = ctx.query
    scope = await accounts.organizer_city_ids(ctx.me())
    items, total = await views.review_queue(city_ids=scope, offset=q.offset, limit=q.limit)
    return {
        "items": [review_item_dict(i) for i in items],
        "total": total,
        "offset": q.offset,
        "limit": q.limit,
    }


def review_item_dict(i: views.ReviewItem) -> dict[str, Any]:
    return {
        "run": run_dict(i.run),
        "resident": i.resident_name,
        "compound": i.compound,
        "city_id": i.city_id,
    }


async def _review(ctx: Ctx, run_id: int, accept: bool, note: str) -> dict[str, Any]:
    return run_dict(await scoped.review(ctx.me(), run_id, accept=accept, note=note))


@api.route(
    "POST",
    "/api/v1/runs/{run_id:int}/review",
    access=Access.ORGANIZER,
    tag="organizer",
    body=forms.Review,
    summary="Accept or reject a run, with a note",
)
async def review(ctx: Ctx) -> dict[str, Any]:
    b: forms.Review = ctx.body
    return {"run": await _review(ctx, ctx.path["run_id"], b.accept, b.note)}


@api.route(
    "POST",
    "/api/v1/review/bulk",
    access=Access.ORGANIZER,
    tag="organizer",
    body=forms.BulkReview,
    summary="Accept or reject several runs; one result each",
)
async def bulk_review(ctx: Ctx) -> dict[str, Any]:
    b: forms.BulkReview = ctx.body
    results = []
    for run_id in dict.fromkeys(b.run_ids):
        try:
            results.append({"run_id": run_id, "run": await _review(ctx, run_id, b.accept, b.note)})
        except WarmrunError as exc:
            results.append({"run_id": run_id, "error": exc.as_dict(ctx.lang)})
    return {"results": results}


async def whole_campaign(ctx: Ctx, code: str) -> int:
    """Closing and settling touch every city of a campaign: admins, or organizers of all."""
    c = await campaign_views.campaign_summary(code=code)
    if not await accounts.runs_whole_campaign(ctx.me(), c.id):
        raise Forbidden()
    return c.id


def confirmed(body: forms.Confirmed) -> None:
    """Closing and settling cannot be undone: refused unless the request says it knows."""
    if not body.confirm:
        raise ConfirmationNeeded()


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/close",
    access=Access.ORGANIZER,
    tag="organizer",
    body=forms.Confirmed,
    summary='Close a campaign: no more credit, rules frozen (cannot be undone: {"confirm": true})',
)
async def close(ctx: Ctx) -> dict[str, Any]:
    campaign_id = await whole_campaign(ctx, ctx.path["code"])
    confirmed(ctx.body)
    c = await campaigns.advance(
        campaign_id=campaign_id, to=CampaignState.CLOSED, key=ledger_key(ctx.request)
    )
    return {"state": str(c.state)}


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/settle",
    access=Access.ORGANIZER,
    tag="organizer",
    body=forms.Confirmed,
    summary='Settle a closed campaign; stores and returns the report ({"confirm": true})',
)
async def settle(ctx: Ctx) -> dict[str, Any]:
    campaign_id = await whole_campaign(ctx, ctx.path["code"])
    confirmed(ctx.body)
    return {"report": await settlement.settle(campaign_id=campaign_id, key=ledger_key(ctx.request))}


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/goal",
    access=Access.ORGANIZER,
    tag="organizer",
    body=forms.CityGoal,
    summary="Set one of my cities' fundraising goal in a campaign",
)
async def city_goal(ctx: Ctx) -> dict[str, Any]:
    b: forms.CityGoal = ctx.body
    c = await campaign_views.campaign_summary(code=ctx.path["code"])
    await accounts.check_city(ctx.me(), b.city_id)
    await campaigns.set_city_goal(campaign_id=c.id, city_id=b.city_id, goal_fen=b.goal_fen)
    return {"city_id": b.city_id, "goal_fen": b.goal_fen}
