"""Prometheus metrics: what the app counts as it goes, what ``/metrics`` works out when it is
scraped, and who may read them.

Counters and histograms live in prometheus-client's default registry. Under
``warmrun serve --workers N`` each process writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape, answered by any one process, adds up all of them.
The backlog gauges (outbox depth, relay lag, job queue depth) are asked of PostgreSQL and
Redis at scrape time instead: they describe the site, not one process, and stay right when the
relay runs alone as ``warmrun leaderboard relay``.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.datastructures import Secret
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warmrun import outages
from warmrun.config import Settings
from warmrun.integrations import jobs
from warmrun.platform import outbox
from warmrun.platform.errors import NotFound, WarmrunError
from warmrun.platform.ingest import FileOutcome
from warmrun.web.errors import MethodNotAllowed

# Most requests take milliseconds; an upload of a large archive may take many seconds.
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

REQUEST_SECONDS = Histogram(
    "warmrun_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template (never the "
    "raw path), method and status class",
    ["route", "method", "status"],
    buckets=_SECONDS,
)
TRY_LATER = Counter(
    "warmrun_http_try_later",
    "503 answers by route template: try_later (the database or Redis away, or a job queue "
    "missing) and /readyz while not ready; the app answers 503 for nothing else",
    ["route"],
)
UPLOADS = Counter(
    "warmrun_uploads",
    "Activity files uploaded through the API, by outcome (accepted, flagged, rejected, "
    "existing, error), error code and format (gpx, tcx, fit; empty when the file was not "
    "recognised); a request refused whole counts once, as an error",
    ["outcome", "code", "format"],
)
UPLOAD_SECONDS = Histogram(
    "warmrun_upload_duration_seconds",
    "One upload request's import: every file parsed in the sandbox, then stored and credited",
    buckets=(*_SECONDS, 60.0),
)
PARSE_SECONDS = Histogram(
    "warmrun_parse_duration_seconds",
    "Parsing one uploaded file in the sandbox's worker processes (archives: every activity in "
    "them), from sending it to having every activity read and checked",
    buckets=(*_SECONDS, 60.0),
)
WEBHOOKS = Counter(
    "warmrun_webhooks",
    "Webhook deliveries by provider and what became of them",
    ["provider", "outcome"],
)
RATE_LIMIT_REFUSALS = Counter(
    "warmrun_rate_limit_refusals",
    "Requests refused by a rate limit, by the limit's name",
    ["limit"],
)


class RequestMetrics:
    """Times every HTTP request into :data:`REQUEST_SECONDS`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            # No response yet: Starlette's server error handler answers 500 next.
            _observe(scope, status or 500, started)
            raise
        _observe(scope, status or 500, started)


def _observe(scope: Scope, status: int, started: float) -> None:
    method = scope["method"] if scope["method"] in _METHODS else "other"
    route = route_template(scope)
    REQUEST_SECONDS.labels(route, method, f"{status // 100}xx").observe(
        time.perf_counter() - started
    )
    if status == 503:
        TRY_LATER.labels(route).inc()


def route_template(scope: Scope) -> str:
    """The path template of the route that handled the request (``/api/v1/runs/{run_id:int}``):
    a label per template, not per URL, keeps the series few whatever clients ask for."""
    route = scope.get("route")  # set by Starlette's router on the scope it was handed
    if route is None:
        # Answered before routing (a body over the limit): the route it was meant for.
        router = getattr(scope.get("app"), "router", None)
        for candidate in getattr(router, "routes", ()):
            match, _ = candidate.matches(scope)
            if match is not Match.NONE:
                route = candidate
                break
    if isinstance(route, Mount):
        return f"{route.path}/{{path:path}}"
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def count_uploads(items: Iterable[FileOutcome]) -> None:
    """Count an upload's files by outcome, error code and format."""
    for item in items:
        fmt = item.format or ""
        if item.outcome is not None:
            outcome = "existing" if item.outcome.existing else str(item.outcome.run.verdict)
            UPLOADS.labels(outcome, "", fmt).inc()
        else:
            UPLOADS.labels("error", item.error.code if item.error else "unknown", fmt).inc()


@contextmanager
def timed_upload() -> Iterator[None]:
    """Time an upload's import; a request refused whole (too many files or bytes) counts as
    one error with its code."""
    started = time.perf_counter()
    try:
        yield
    except WarmrunError as exc:
        UPLOADS.labels("error", exc.code, "").inc()
        raise
    finally:
        UPLOAD_SECONDS.observe(time.perf_counter() - started)


def count_webhook(provider: str, outcome: str) -> None:
    WEBHOOKS.labels(provider, outcome).inc()


def count_refusal(limit: str) -> None:
    RATE_LIMIT_REFUSALS.labels(limit).inc()


@dataclass(frozen=True)
class Backlog:
    """Work waiting, measured at scrape time; None: not measured (its store is away)."""

    outbox_depth: int | None = None
    relay_lag_s: float | None = None
    job_queue_depth: int | None = None


async def backlog(redis: Redis | None) -> Backlog:
    """Outbox rows the relay has not applied, the age of the oldest, and the jobs queued."""
    depth: int | None = None
    lag: float | None = None
    try:
        depth, lag = await outbox.depth()
    except Exception as exc:
        if outages.component(exc) is None:
            raise
    queued: int | None = None
    if redis is not None:
        try:
            # arq's queue is a sorted set of job ids (deferred jobs included).
            queued = int(await redis.zcard(jobs.QUEUE))
        except (RedisError, OSError):
            queued = None
    return Backlog(outbox_depth=depth, relay_lag_s=lag, job_queue_depth=queued)


class _BacklogGauges(Collector):
    def __init__(self, measured: Backlog) -> None:
        self.measured = measured

    def collect(self) -> Iterable[Metric]:
        m = self.measured
        if m.outbox_depth is not None:
            yield GaugeMetricFamily(
                "warmrun_outbox_depth",
                "Outbox rows not yet applied to the leaderboards",
                value=m.outbox_depth,
            )
        if m.relay_lag_s is not None:
            yield GaugeMetricFamily(
                "warmrun_relay_lag_seconds",
                "Age of the oldest outbox row not yet applied (0 when none waits)",
                value=m.relay_lag_s,
            )
        if m.job_queue_depth is not None:
            yield GaugeMetricFamily(
                "warmrun_job_queue_depth",
                "Jobs in the queue (waiting, deferred or running)",
                value=m.job_queue_depth,
            )


LOOPBACK_ONLY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def may_read(request: Request, token: Secret | None) -> bool:
    """Metrics go to a scraper on this machine, or to one that knows the token.

    A loopback request that a proxy forwarded is not a local scraper: a reverse proxy on the
    same machine sends everyone's requests from 127.0.0.1.
    """
    if token is not None and str(token):
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), str(token).encode()
        ):
            return True
    if any(h in request.headers for h in LOOPBACK_ONLY_HEADERS):
        return False
    return _loopback(request.client.host if request.client else "")


def _loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


# Every method reaches the endpoint, so that a refused caller gets the same 404 whatever it
# sends, as on an address that does not exist.
ROUTE_METHODS = sorted(_METHODS)


async def metrics_page(request: Request) -> Response:
    """``/metrics`` in Prometheus' text format; 404 to whoever may not read it."""
    settings: Settings = request.app.state.settings
    if not may_read(request, settings.metrics_token):
        raise NotFound("page", "页面")
    if request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed()
    gauges = CollectorRegistry()
    gauges.register(_BacklogGauges(await backlog(request.app.state.queue)))
    body = generate_latest(_counted(settings)) + generate_latest(gauges)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _counted(settings: Settings) -> CollectorRegistry:
    if settings.metrics_dir is None:
        return REGISTRY
    registry = CollectorRegistry()
    # It registers itself; prometheus-client leaves this constructor unannotated.
    MultiProcessCollector(registry, path=str(settings.metrics_dir))  # type: ignore[no-untyped-call]
    return registry


def prepare_multiprocess_dir(path: Path) -> None:
    """Create the metrics directory, emptied of the files of earlier runs (prometheus-client
    would add their counts to this run's). This process's own files, if it already counts
    there, stay."""
    path.mkdir(parents=True, exist_ok=True)
    own = f"_{os.getpid()}.db"
    for old in path.glob("*.db"):
        if not old.name.endswith(own):
            old.unlink(missing_ok=True)
