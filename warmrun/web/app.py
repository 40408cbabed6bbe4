"""create_app(settings): the ASGI app. Its lifespan opens and closes every resource."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from warmrun.config import Settings
from warmrun.leaderboard.relay import run_forever
from warmrun.platform.campaigns import get_campaign, totals
from warmrun.platform.errors import NotFound, WarmrunError
from warmrun.resources import open_resources


def _lang(request: Request) -> str:
    return "en" if request.headers.get("accept-language", "").startswith("en") else "zh-CN"


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def campaign_totals(request: Request) -> JSONResponse:
    campaign = await get_campaign(code=request.path_params["code"])
    result = await totals(campaign_id=campaign.id)
    t = result[None]
    return JSONResponse(
        {
            "campaign": campaign.code,
            "metres": t.metres,
            "kcal": t.kcal,
            "value_fen": t.value_fen,
            "funded_fen": t.funded_fen,
            "participants": t.participants,
            "bundles": t.goods.bundles,
            "next_bundle_permille": t.goods.next_permille,
        }
    )


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, WarmrunError):  # pragma: no cover - registered for WarmrunError
        raise exc
    status = 404 if isinstance(exc, NotFound) else 422
    return JSONResponse({"error": exc.as_dict(_lang(request))}, status_code=status)


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            app.state.resources = resources
            stop = asyncio.Event()
            relay = None
            if resources.redis is not None:
                # On embedded defaults the relay runs inside the app process.
                relay = asyncio.create_task(run_forever(resources.redis, stop=stop))
            try:
                yield
            finally:
                stop.set()
                if relay is not None:
                    await relay

    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/api/v1/campaigns/{code}/totals", campaign_totals),
        ],
        exception_handlers={WarmrunError: domain_error},
        lifespan=lifespan,
    )
