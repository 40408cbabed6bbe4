"""create_app(settings): the ASGI app. Its lifespan opens and closes every resource."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warmrun import __version__, outages
from warmrun.config import Settings, load_settings
from warmrun.integrations import jobs
from warmrun.integrations.strava_sync import Strava
from warmrun.integrations.stripe_gateway import StripeGateway
from warmrun.leaderboard.relay import run_forever
from warmrun.platform import signing
from warmrun.platform.errors import BodyTooLarge, NotFound, TryLater, WarmrunError
from warmrun.resources import Resources, open_resources, readiness
from warmrun.web import checkpoints, i18n, logs, metrics, pages
from warmrun.web.errors import RETRY_AFTER_S, Internal, MethodNotAllowed, error_body, json_error
from warmrun.web.openapi import openapi
from warmrun.web.routes import api
from warmrun.web.security import BodyLimit, Cookies, SecurityHeaders, SessionCodec

log = logging.getLogger("warmrun.web")
STATIC = Path(__file__).parent / "static"
# Worker threads (file digests and compression, password hashing) hold the GIL in stretches.
# With Python's default 5 ms switch interval the event loop waited that long for each database
# reply, and so did every request queued on a row lock its transaction held. At 0.5 ms, runs of
# bench/http_import.py interleaved with runs at 5 ms went from 23 and 28 to 39 and 43 uploads/s
# (measured while uploads were still parsed in threads).
GIL_SWITCH_S = 0.0005


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


class Outages:
    """The database or Redis away for a moment is answered 503 with ``Retry-After`` (JSON or
    a page), logged in one line without a traceback. Any other failure goes on to the server
    error handler, which logs it in full."""

    def __init__(
        self, app: ASGIApp, *, render: Callable[[Request, Exception], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            what = outages.component(exc)
            if what is None or started:
                raise
            request = Request(scope, receive)
            log.warning("%s unavailable on %s %s: %s", what, request.method, scope["path"], exc)
            response = await self.render(request, TryLater(component=what))
            await response(scope, receive, send)


def worker_app() -> Starlette:
    """The app of one ``warmrun serve --workers N`` process: settings from the environment
    that the parent prepared (migrations already applied, Redis already running)."""
    return create_app(load_settings(), migrate=False)


def create_app(settings: Settings, *, migrate: bool = True) -> Starlette:
    document = openapi(api, title="warmrun", version=__version__)
    body = json.dumps(document, ensure_ascii=False).encode()

    async def openapi_json(request: Request) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(
        debug=False,
        routes=[
            Route("/healthz", health),
            Route("/readyz", ready),
            Route("/metrics", metrics.metrics_page, methods=metrics.ROUTE_METHODS),
            Route("/api/v1/openapi.json", openapi_json),
            *api.routes(),
            *pages.routes(),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=_middleware(settings),
        exception_handlers={
            WarmrunError: domain_error,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=_lifespan(settings, migrate=migrate),
    )
    app.state.settings = settings
    app.state.codec = SessionCodec(str(settings.secret_key))
    app.state.cookies = Cookies(app.state.codec, secure=settings.secure_cookies)
    app.state.redis = None
    app.state.queue = None
    app.state.ledger_key = None
    app.state.parser = None
    app.state.stripe = None
    app.state.strava = None
    app.state.jobs = None
    app.state.i18n = i18n
    return app


def _middleware(settings: Settings) -> list[Middleware]:
    too_large = functools.partial(_too_large, settings.limits.upload_bytes)
    return [
        # Outermost: the id and the timing cover every answer below, 413s and 503s too.
        Middleware(logs.RequestIds),
        Middleware(metrics.RequestMetrics),
        Middleware(Outages, render=domain_error),
        Middleware(SecurityHeaders, hsts=settings.secure_cookies),
        Middleware(BodyLimit, limit=settings.limits.upload_bytes, too_large=too_large),
    ]


def _lifespan(
    settings: Settings, *, migrate: bool
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        switch = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_S)
        try:
            async with (
                open_resources(settings, migrate=migrate) as resources,
                _serving(app, settings, resources),
            ):
                yield
        finally:
            sys.setswitchinterval(switch)

    return lifespan


@asynccontextmanager
async def _serving(app: Starlette, settings: Settings, resources: Resources) -> AsyncIterator[None]:
    """The app's share of the resources, and its background tasks while it serves."""
    app.state.resources = resources
    app.state.redis = resources.redis
    app.state.queue = resources.queue
    app.state.parser = resources.parser
    resources.parser.observe = metrics.PARSE_SECONDS.observe
    # Workers forked before the first upload: none waits for a parser to start.
    await asyncio.to_thread(resources.parser.warm)
    gateway = StripeGateway(settings.stripe) if settings.stripe is not None else None
    app.state.stripe = gateway
    # Jobs and Strava's shared state live on the queue's Redis (a single server, also
    # when the boards are on a cluster).
    queue = resources.queue
    strava = Strava.open(settings, queue, resources.parser) if settings.strava else None
    app.state.strava = strava
    app.state.jobs = jobs.queue(queue) if queue is not None else None
    try:
        async with (
            _job_worker(settings, resources, strava is not None),
            _background(app, resources),
        ):
            yield
    finally:
        if gateway is not None:
            await gateway.aclose()
        if strava is not None:
            await strava.aclose()


@asynccontextmanager
async def _background(app: Starlette, resources: Resources) -> AsyncIterator[None]:
    """The daily checkpoints and, on embedded defaults, the leaderboard relay."""
    stop = asyncio.Event()
    # The key that signs the public ledger's checkpoints (made in WARMRUN_HOME on
    # first start), and the daily checkpoints.
    app.state.ledger_key = signing.load_or_create(resources.settings.home)
    daily = asyncio.create_task(checkpoints.run_forever(app.state.ledger_key, stop=stop))
    relay = None
    if resources.redis is not None:
        # On embedded defaults the relay runs inside the app process.
        relay = asyncio.create_task(run_forever(resources.redis, stop=stop))
    try:
        yield
    finally:
        stop.set()
        await daily
        if relay is not None:
            await relay


@asynccontextmanager
async def _job_worker(
    settings: Settings, resources: Resources, strava_on: bool
) -> AsyncIterator[None]:
    """On embedded defaults the job worker runs inside the app process."""
    queue = resources.queue
    if not (strava_on and queue is not None and settings.app_runs_jobs):
        yield
        return
    worker = jobs.worker(settings, queue, resources.parser)
    task = asyncio.create_task(worker.async_run())
    try:
        yield
    finally:
        await worker.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def domain_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, WarmrunError):  # registered for WarmrunError only
        raise exc
    if _is_api(request):
        return json_error(request, exc)
    return await pages.error_page(request, exc)


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    error: WarmrunError = MethodNotAllowed() if status == 405 else NotFound("page", "页面")
    return await domain_error(request, error)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    response = await domain_error(request, Internal())
    # Sent from outside every middleware (Starlette's last resort): RequestIds left the
    # id in this task's context for it.
    request_id = logs.current_request_id()
    if request_id is not None:
        response.headers[logs.HEADER] = request_id
    return response


async def ready(request: Request) -> Response:
    checks = await readiness(request.app.state.redis)
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
        headers={} if ok else {"Retry-After": str(RETRY_AFTER_S)},
    )


async def _too_large(limit_bytes: int, scope: Scope, receive: Receive, send: Send) -> None:
    exc = BodyTooLarge(limit_mib=limit_bytes // (1024 * 1024))
    response = JSONResponse(error_body(exc, "zh-CN"), status_code=413)
    await response(scope, receive, send)
