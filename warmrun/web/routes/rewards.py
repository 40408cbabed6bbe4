"""The rewards shop of a resident's compound, redemptions with pickup codes, the desk."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.platform import accounts, booking_views, rewards, views
from warmrun.platform.errors import NotFound
from warmrun.web import forms, ratelimit, scoped
from warmrun.web.endpoints import Access, Ctx
from warmrun.web.presenters import qr_svg
from warmrun.web.routes import api


@api.route(
    "GET",
    "/api/v1/rewards",
    access=Access.RESIDENT,
    tag="rewards",
    summary="The rewards shop of my compound, with stock, open pickup slots and options",
)
async def shop(ctx: Ctx) -> dict[str, Any]:
    return {"items": await booking_views.shop(resident_id=ctx.resident_id())}


@api.route(
    "POST",
    "/api/v1/redemptions",
    access=Access.RESIDENT,
    tag="rewards",
    body=forms.Redeem,
    summary="Spend points on a reward (booking a slot, with options); returns the pickup code",
)
async def redeem(ctx: Ctx) -> dict[str, Any]:
    resident_id = ctx.resident_id()
    await ratelimit.check(ctx.redis, ratelimit.REDEEM, str(resident_id))
    b: forms.Redeem = ctx.body
    r = await rewards.redeem(
        resident_id=resident_id,
        reward_id=b.reward_id,
        idempotency_key=f"{resident_id}:{b.idempotency_key}",
        slot=b.slot,
        slot_id=b.slot_id,
        choices=b.choices,
    )
    return await _shown(r.code)


async def _shown(code: str) -> dict[str, Any]:
    """A redemption and what it booked (None: nothing)."""
    (view,) = await views.redemptions(code=code)
    return {"redemption": view, "booking": await booking_views.booking_of(code=code)}


@api.route(
    "GET",
    "/api/v1/redemptions",
    access=Access.RESIDENT,
    tag="rewards",
    summary="My redemptions, newest first",
)
async def my_redemptions(ctx: Ctx) -> dict[str, Any]:
    return {"items": await views.redemptions(resident_id=ctx.resident_id())}


async def own_redemption(ctx: Ctx, code: str) -> views.RedemptionView:
    found = await views.redemptions(resident_id=ctx.resident_id(), code=code)
    if not found:
        raise NotFound("pickup code", "取货码")
    return found[0]


@api.route(
    "GET",
    "/api/v1/redemptions/{code}/qr.svg",
    access=Access.RESIDENT,
    tag="rewards",
    produces="image/svg+xml",
    summary="The pickup code as a QR code",
)
async def redemption_qr(ctx: Ctx) -> Response:
    r = await own_redemption(ctx, ctx.path["code"])
    return Response(qr_svg(r.code), media_type="image/svg+xml")


@api.route(
    "POST",
    "/api/v1/redemptions/{code}/cancel",
    access=Access.RESIDENT,
    tag="rewards",
    summary="Cancel my pending redemption (a booking: within its cancel window); points come back",
)
async def cancel(ctx: Ctx) -> dict[str, Any]:
    r = await own_redemption(ctx, ctx.path["code"])
    await rewards.cancel(code=r.code, resident_id=ctx.resident_id())
    return await _shown(r.code)


@api.route(
    "POST",
    "/api/v1/desk/fulfil",
    access=Access.DESK,
    tag="desk",
    body=forms.Code,
    summary="Hand over a reward: mark a pickup code fulfilled",
)
async def fulfil(ctx: Ctx) -> dict[str, Any]:
    return {"redemption": await scoped.fulfil(ctx.me(), ctx.body.code)}


@api.route(
    "POST",
    "/api/v1/rewards",
    access=Access.ORGANIZER,
    tag="desk",
    body=forms.NewReward,
    summary="Offer a reward in a compound",
)
async def create_reward(ctx: Ctx) -> dict[str, Any]:
    b: forms.NewReward = ctx.body
    await accounts.check_compound(ctx.me(), b.compound_id)
    r = await rewards.create_reward(**b.model_dump())
    return {"reward": await views.reward(reward_id=r.id)}


@api.route(
    "POST",
    "/api/v1/rewards/{reward_id:int}/restock",
    access=Access.DESK,
    tag="desk",
    body=forms.Restock,
    summary="Add stock to a reward",
)
async def restock(ctx: Ctx) -> dict[str, Any]:
    return {"reward": await scoped.restock(ctx.me(), ctx.path["reward_id"], ctx.body.add)}
