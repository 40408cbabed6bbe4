"""The app with its boards and counters on a Redis Cluster (WARMRUN_REDIS_CLUSTER) and its job
queue on a redis-server of its own (WARMRUN_QUEUE_REDIS_URL)."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from starlette.datastructures import Secret

from tests.local import Cluster, redis_on_port
from tests.web.conftest import NOWHERE, Web, settings_for
from tests.web.site import Site
from tests.web.test_observability import scrape, value
from tests.web.test_runs import RUN_GPX, files
from warmrun.config import StravaSettings
from warmrun.integrations import jobs
from warmrun.web.app import create_app


@pytest.fixture
def queue_url(tmp_path: Path) -> Iterator[str]:
    with redis_on_port(tmp_path) as (url, _):
        yield url


@pytest.fixture
async def web(
    tmp_path: Path, template: tuple[Path, Site], cluster: Cluster, queue_url: str
) -> AsyncIterator[Web]:
    cluster.flush()
    path, site = template
    shutil.copy(path, tmp_path / "web.sqlite3")
    settings = dataclasses.replace(
        settings_for(tmp_path),
        redis_url=cluster.url,
        redis_cluster=True,
        queue_redis_url=queue_url,
        strava=StravaSettings(
            client_id="1",
            client_secret=Secret("s"),
            verify_token="v",
            token_keys=(),
            api_base=NOWHERE,
            oauth_base=NOWHERE,
        ),
        app_runs_jobs=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield Web(app, site)


async def test_an_upload_reaches_the_boards_through_the_apps_relay(web: Web) -> None:
    assert isinstance(web.app.state.redis, RedisCluster)
    async with web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(RUN_GPX))
        assert r.status_code == 200, r.text
    board = f"/api/v1/campaigns/{web.site.campaign}/boards/residents"
    async with web.client() as client:
        for _ in range(100):  # the app's relay loop runs every second
            listed = (await client.get(board)).json()
            if listed["total"]:
                break
            await asyncio.sleep(0.1)
        assert listed["total"] == 1
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
    names = [k async for k in web.app.state.redis.scan_iter(match="wr:{c*}:R:m:*")]
    assert names  # the boards live in the cluster


async def test_jobs_are_queued_on_the_queue_server_not_the_cluster(
    web: Web, queue_url: str
) -> None:
    event = {"object_type": "activity", "object_id": 7, "aspect_type": "create", "owner_id": 3}
    before = value(await scrape(web), "warmrun_job_queue_depth")
    assert await jobs.enqueue_strava_event(web.app.state.jobs, event)
    queue = Redis.from_url(queue_url)
    try:
        assert await queue.zcard(jobs.QUEUE) == 1
    finally:
        await queue.aclose()
    assert await web.app.state.redis.exists(jobs.QUEUE) == 0
    assert value(await scrape(web), "warmrun_job_queue_depth") == before + 1


async def test_sign_in_counters_live_in_the_cluster(web: Web) -> None:
    async with web.client() as client:
        r = await client.get("/api/v1/auth/csrf")
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = await client.post(
            "/api/v1/auth/login", json={"email": "x@example.org", "password": "x"}
        )
        assert r.status_code == 401
    counters = [k async for k in web.app.state.redis.scan_iter(match="wr:rl:*")]
    failures = [k async for k in web.app.state.redis.scan_iter(match="wr:signin:*")]
    assert len(counters) == 2 and len(failures) == 1  # per address, per address+identity


async def test_a_worker_handed_the_cluster_client_works_the_queue_server(
    web: Web, queue_url: str
) -> None:
    # `warmrun worker` hands the worker the main client; on a cluster it takes the queue's.
    await web.app.state.jobs.enqueue_job("no_such_job", _job_id="probe")
    worker = jobs.worker(
        web.app.state.settings, web.app.state.redis, web.app.state.parser, burst=True
    )
    try:
        await asyncio.wait_for(worker.async_run(), timeout=30)
    finally:
        await worker.close()
    assert worker.jobs_failed == 1  # it found the job (and no such function)
    queue = Redis.from_url(queue_url)
    try:
        assert await queue.zcard(jobs.QUEUE) == 0  # taken off the queue by the worker
    finally:
        await queue.aclose()
