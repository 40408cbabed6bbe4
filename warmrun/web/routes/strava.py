"""Strava: the webhook (subscription check and events) and the resident's connection.

Events are answered at once and queued; the worker does the fetching. Their content is not
trusted (Strava does not sign them): a job only learns which athlete and activity to look at.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from warmrun.integrations import jobs
from warmrun.integrations.strava_sync import Strava, disconnect
from warmrun.platform import views
from warmrun.platform.errors import Forbidden, InvalidInput, NotFound, RateLimited, TryLater
from warmrun.web import metrics, ratelimit
from warmrun.web.endpoints import Access, Ctx
from warmrun.web.routes import api

log = logging.getLogger("warmrun.strava")
# A real athlete's device and edits make a few events an hour; more are dropped.
ATHLETE_EVENTS = ratelimit.Limit("strava-athlete", 20, 600)

_OBJECTS = {"activity", "athlete"}
_ASPECTS = {"create", "update", "delete"}


def strava(request: Request) -> Strava:
    s: Strava | None = request.app.state.strava
    if s is None:
        raise NotFound("Strava", "Strava")
    return s


@api.route(
    "GET",
    "/api/v1/webhooks/strava",
    access=Access.PUBLIC,
    tag="strava",
    summary="Strava's subscription check (hub.challenge echoed when hub.verify_token matches)",
)
async def strava_subscription(ctx: Ctx) -> JSONResponse:
    s = strava(ctx.request)
    q = ctx.request.query_params
    challenge = q.get("hub.challenge", "")
    token = q.get("hub.verify_token", "")
    if (
        q.get("hub.mode") != "subscribe"
        or not challenge
        or len(challenge) > 255
        or not s.cfg.verify_token
        or not hmac.compare_digest(token.encode(), s.cfg.verify_token.encode())
    ):
        raise Forbidden()
    return JSONResponse({"hub.challenge": challenge})


def _event(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("event", "not an object", "格式不正确")
    ints = ("object_id", "owner_id", "event_time")
    if (
        body.get("object_type") not in _OBJECTS
        or body.get("aspect_type") not in _ASPECTS
        or not all(isinstance(body.get(k), int) and 0 < body[k] < 2**63 for k in ints)
    ):
        raise InvalidInput("event", "not a Strava event", "不是 Strava 事件")
    updates = body.get("updates")
    return {
        "object_type": body["object_type"],
        "aspect_type": body["aspect_type"],
        "object_id": body["object_id"],
        "owner_id": body["owner_id"],
        "event_time": body["event_time"],
        "updates": {str(k)[:32]: str(v)[:64] for k, v in list(updates.items())[:8]}
        if isinstance(updates, dict)
        else {},
    }


@api.route(
    "POST",
    "/api/v1/webhooks/strava",
    access=Access.PUBLIC,
    tag="strava",
    csrf_exempt=True,
    summary="Strava's event notifications (queued; the worker re-fetches what they name)",
)
async def strava_webhook(ctx: Ctx) -> dict[str, Any]:
    strava(ctx.request)
    event = await _posted_event(ctx)
    queue = ctx.request.app.state.jobs
    if queue is None:
        metrics.count_webhook("strava", "unavailable")
        raise TryLater()
    if not await _accepted(ctx, event["owner_id"]):
        return {"queued": False}
    try:
        queued = await jobs.enqueue_strava_event(queue, event)
    except OSError as exc:  # Redis unreachable: Strava retries the delivery
        metrics.count_webhook("strava", "unavailable")
        raise TryLater() from exc
    metrics.count_webhook("strava", "queued" if queued else "duplicate")
    return {"queued": queued}


async def _posted_event(ctx: Ctx) -> dict[str, Any]:
    """The posted event, checked field by field (a rejected one is counted)."""
    try:
        body = await ctx.request.json()
    except ValueError as exc:
        metrics.count_webhook("strava", "rejected")
        raise InvalidInput("event", "not JSON", "格式不正确") from exc
    try:
        return _event(body)
    except InvalidInput:
        metrics.count_webhook("strava", "rejected")
        raise


async def _accepted(ctx: Ctx, athlete_id: int) -> bool:
    """Anyone can post here: events about athletes we do not know are acknowledged and
    dropped, and each athlete's events are throttled, so forged events cannot spend the
    shared Strava quota. (Strava wants a 200 either way.)"""
    if not await views.strava_athlete_known(athlete_id):
        metrics.count_webhook("strava", "unknown_athlete")
        return False
    try:
        await ratelimit.check(ctx.redis, ATHLETE_EVENTS, str(athlete_id))
    except RateLimited:
        metrics.count_webhook("strava", "throttled")
        log.warning("strava events of athlete %s throttled", athlete_id)
        return False
    return True


@api.route(
    "GET",
    "/api/v1/me/strava",
    access=Access.RESIDENT,
    tag="strava",
    summary="My Strava connection and what became of my activities",
)
async def my_strava(ctx: Ctx) -> dict[str, Any]:
    link = await views.strava_link(resident_id=ctx.resident_id(), limit=50)
    if link is None:
        return {"connected": False, "activities": []}
    return {
        "connected": True,
        "athlete_id": link.athlete_id,
        "scope": link.scope,
        "connected_at": link.connected_at,
        "activities": link.activities,
    }


@api.route(
    "DELETE",
    "/api/v1/me/strava",
    access=Access.RESIDENT,
    tag="strava",
    summary="Disconnect Strava: tokens and Strava tracks are deleted, credit stays",
)
async def disconnect_strava(ctx: Ctx) -> dict[str, Any]:
    await disconnect(strava(ctx.request), resident_id=ctx.resident_id())
    return {"connected": False}
