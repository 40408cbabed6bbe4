"""Bookings: a reward's pickup slots and options (desk staff and organizers, in their places),
the desk's day by slot, and how many rewards each desk handed out per day."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.platform import accounts, booking_views
from warmrun.platform.report_files import csv_bytes
from warmrun.web import booking_forms, scoped
from warmrun.web.endpoints import Access, Ctx
from warmrun.web.routes import api


@api.route(
    "GET",
    "/api/v1/rewards/{reward_id:int}/slots",
    access=Access.DESK,
    tag="desk",
    summary="A reward's pickup slots from today on (booked and places), and its options",
)
async def reward_slots(ctx: Ctx) -> dict[str, Any]:
    s = await scoped.reward_setup(ctx.me(), ctx.path["reward_id"])
    return {"reward": s.reward, "timezone": s.timezone, "slots": s.slots, "groups": s.groups}


@api.route(
    "POST",
    "/api/v1/rewards/{reward_id:int}/slots",
    access=Access.DESK,
    tag="desk",
    body=booking_forms.NewSlots,
    summary="Open daily pickup slots (start-end local time, places) for one day or several",
)
async def create_slots(ctx: Ctx) -> dict[str, Any]:
    return {"slots": await scoped.create_slots(ctx.me(), ctx.path["reward_id"], ctx.body)}


@api.route(
    "POST",
    "/api/v1/rewards/{reward_id:int}/option-groups",
    access=Access.DESK,
    tag="desk",
    body=booking_forms.NewOptionGroup,
    summary="Ask residents a question when they book (flavour), with its answers",
)
async def add_option_group(ctx: Ctx) -> dict[str, Any]:
    return {"group": await scoped.add_option_group(ctx.me(), ctx.path["reward_id"], ctx.body)}


@api.route(
    "DELETE",
    "/api/v1/rewards/{reward_id:int}/option-groups/{group_id:int}",
    access=Access.DESK,
    tag="desk",
    summary="Stop asking a question (bookings made keep their answers)",
)
async def remove_option_group(ctx: Ctx) -> dict[str, Any]:
    await scoped.remove_option_group(ctx.me(), ctx.path["reward_id"], ctx.path["group_id"])
    return {"removed": ctx.path["group_id"]}


@api.route(
    "GET",
    "/api/v1/desk/bookings",
    access=Access.DESK,
    tag="desk",
    query=booking_forms.DayQuery,
    summary="The day's bookings at my desks, by slot: who, their options, their state",
)
async def desk_bookings(ctx: Ctx) -> dict[str, Any]:
    scope = await accounts.compound_ids(ctx.me())
    return {"slots": await booking_views.desk_day(compound_ids=scope, day=ctx.query.day)}


@api.route(
    "GET",
    "/api/v1/desk/handed-out",
    access=Access.DESK,
    tag="desk",
    query=booking_forms.HandedOutQuery,
    summary="Rewards handed out per day at each of my desks (compounds), per reward",
)
async def handed_out(ctx: Ctx) -> dict[str, Any]:
    q: booking_forms.HandedOutQuery = ctx.query
    scope = await accounts.compound_ids(ctx.me())
    rows = await booking_views.handed_out(compound_ids=scope, since=q.since, until=q.until)
    return {"items": rows}


@api.route(
    "GET",
    "/api/v1/desk/handed-out.csv",
    access=Access.DESK,
    tag="desk",
    produces="text/csv",
    query=booking_forms.HandedOutQuery,
    summary="Rewards handed out per day and desk as CSV (UTF-8 with BOM; `lang=en`: English)",
)
async def handed_out_csv(ctx: Ctx) -> Response:
    q: booking_forms.HandedOutQuery = ctx.query
    scope = await accounts.compound_ids(ctx.me())
    rows = await booking_views.handed_out(compound_ids=scope, since=q.since, until=q.until)
    return Response(
        csv_bytes(booking_views.handed_out_rows(rows, q.lang)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="handed-out.csv"'},
    )
