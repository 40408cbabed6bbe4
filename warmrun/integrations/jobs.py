"""Background jobs, queued in Redis with arq and run by ``warmrun worker`` (or inside the web
app on embedded defaults).

Jobs are JSON, not pickles. A Strava webhook event becomes one job whose id names the event, so
a redelivered event is dropped while the first is queued or its result is kept. Rate limits
defer a job to the time Strava's window reopens; failures back off and retry.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.worker import Function, Retry, Worker, func
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster

from warmrun.config import Settings
from warmrun.integrations import strava_sync
from warmrun.integrations.strava_api import (
    StravaFailure,
    StravaRateLimited,
    StravaUnauthorized,
)
from warmrun.integrations.strava_sync import Strava
from warmrun.platform import clock
from warmrun.platform.uploads import Parser

log = logging.getLogger("warmrun.jobs")

QUEUE = "wr:jobs"
MAX_TRIES = 12
# Results are not kept: a job's id drops repeats of its event only while it waits or runs. A
# kept id would also drop the genuine event that follows a forged one about the same object
# (Strava sends each event once); repeats after a job ran cost one re-fetch, and each
# athlete's events are throttled at the webhook.
KEEP_RESULT_S = 0
# A queue server that stops answering fails a call after this long (as the app's clients do).
QUEUE_TIMEOUT_S = 2.0


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _loads(raw: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(raw)
    return value


def queue(redis: Redis) -> ArqRedis:
    """An arq client on the app's Redis connection pool."""
    return ArqRedis(
        connection_pool=redis.connection_pool,
        job_serializer=_dumps,
        job_deserializer=_loads,
        default_queue_name=QUEUE,
    )


async def enqueue_strava_event(jobs: ArqRedis, event: dict[str, Any]) -> bool:
    """Queue a (validated) Strava webhook event; False while one about the same object and
    aspect waits or runs (the worker fetches the object's current state anyway). The sender's
    ``event_time`` is not part of the id: a forger could otherwise queue one event endlessly."""
    job_id = "strava:{object_type}:{object_id}:{aspect_type}".format(**event)
    job = await jobs.enqueue_job("strava_event", event, _job_id=job_id)
    return job is not None


async def strava_event(ctx: dict[str, Any], event: dict[str, Any]) -> str:
    s: Strava = ctx["strava"]
    athlete, obj = int(event["owner_id"]), int(event["object_id"])
    try:
        if event["object_type"] == "athlete":
            if (event.get("updates") or {}).get("authorized") == "false":
                outcome = await strava_sync.deauthorized(s, athlete_id=athlete)
            else:
                outcome = "ignored"
        elif event["aspect_type"] == "delete":
            outcome = await strava_sync.remove_activity(s, athlete_id=athlete, activity_id=obj)
        else:
            outcome = await strava_sync.sync_activity(s, athlete_id=athlete, activity_id=obj)
    except StravaRateLimited as exc:
        wait = max((exc.retry_at - clock.now()).total_seconds(), 0.0)
        log.info("strava rate limit: event %s waits %.0f s", event, wait)
        raise Retry(defer=timedelta(seconds=wait)) from exc
    except StravaUnauthorized:
        # Access was revoked (its deauthorization event does the forgetting): nothing to retry.
        outcome = "unauthorized"
    except StravaFailure as exc:
        tries = int(ctx.get("job_try", 1))
        log.warning("strava unavailable (try %d): %s", tries, exc)
        raise Retry(defer=timedelta(seconds=min(2**tries, 900))) from exc
    log.info("strava %s %s %s: %s", event["object_type"], obj, event["aspect_type"], outcome)
    return outcome


FUNCTIONS: list[Function] = [func(strava_event, name="strava_event", max_tries=MAX_TRIES)]


def worker(
    settings: Settings,
    redis: Redis | RedisCluster,
    parser: Parser,
    *,
    burst: bool = False,
    poll_delay: float = 0.5,
) -> Worker:
    """An arq worker for our jobs on the queue's Redis: WARMRUN_QUEUE_REDIS_URL's server when
    set, else the given one (which must then be a single server, not a cluster); ``burst``
    stops when the queue is empty."""
    # The worker closes its pool when it stops: it gets one of its own.
    if settings.queue_redis_url is not None:
        own = Redis.from_url(
            settings.queue_redis_url,
            max_connections=16,
            socket_connect_timeout=QUEUE_TIMEOUT_S,
            socket_timeout=QUEUE_TIMEOUT_S,
        )
        plain = own
    elif isinstance(redis, RedisCluster):
        raise ValueError("the job queue needs a single Redis server: set WARMRUN_QUEUE_REDIS_URL")
    else:
        shared = redis.connection_pool
        own = Redis(
            connection_pool=ConnectionPool(
                connection_class=shared.connection_class,
                max_connections=16,
                **shared.connection_kwargs,
            )
        )
        plain = redis
    strava = Strava.open(settings, plain, parser) if settings.strava is not None else None

    async def shutdown(ctx: dict[str, Any]) -> None:
        if strava is not None:
            await strava.aclose()

    return Worker(
        functions=FUNCTIONS,
        queue_name=QUEUE,
        redis_pool=queue(own),
        burst=burst,
        handle_signals=False,
        poll_delay=poll_delay,
        keep_result=KEEP_RESULT_S,
        max_tries=MAX_TRIES,
        ctx={"strava": strava},
        on_shutdown=shutdown,
        job_serializer=_dumps,
        job_deserializer=_loads,
    )
