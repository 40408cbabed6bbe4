"""Redis away or frozen: what needs it answers 503 with Retry-After, pages render without their
boards, sign-in still works and is still limited, and nothing waits forever."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local import free_port, redis_on_port
from tests.web.conftest import Web, csrf
from tests.web.site import PASSWORD
from warmrun.resources import redis_client
from warmrun.web import ratelimit


@pytest.fixture
def redis_away(web: Web) -> Iterator[None]:
    """The app's Redis replaced by a real client to a port where nothing listens."""
    real = web.app.state.redis
    web.app.state.redis = redis_client(f"redis://127.0.0.1:{free_port()}/0")
    ratelimit.LOCAL.values.clear()
    yield
    web.app.state.redis = real
    ratelimit.LOCAL.values.clear()


@pytest.fixture
def frozen_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real redis-server of our own, on loopback, to stop with SIGSTOP."""
    with redis_on_port(tmp_path) as (url, proc):
        try:
            yield url, proc
        finally:
            os.kill(proc.pid, signal.SIGCONT)


@pytest.mark.usefixtures("redis_away")
async def test_a_board_answers_503_with_retry_after_while_redis_is_away(web: Web) -> None:
    async with web.client() as client:
        r = await client.get(f"/api/v1/campaigns/{web.site.campaign}/boards/residents")
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "try_later"
    assert int(r.headers["retry-after"]) >= 1


@pytest.mark.usefixtures("redis_away")
async def test_my_rank_answers_503_while_redis_is_away(web: Web) -> None:
    async with web.signed_in("resident") as client:
        r = await client.get("/api/v1/me/rank", params={"campaign": web.site.campaign})
    assert r.status_code == 503


@pytest.mark.usefixtures("redis_away")
async def test_the_campaign_page_renders_without_its_boards(web: Web) -> None:
    async with web.client() as client:
        r = await client.get(f"/c/{web.site.campaign}")
    assert r.status_code == 200
    assert 'role="status"' in r.text and "board-residents" not in r.text


async def test_readyz_reports_what_is_away(web: Web, redis_away: None) -> None:
    async with web.client() as client:
        r = await client.get("/readyz")
        assert (await client.get("/healthz")).status_code == 200  # alive all the same
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == "ok"
    assert r.json()["checks"]["redis"].startswith("unavailable")


async def test_readyz_is_ok_when_everything_answers(web: Web) -> None:
    async with web.client() as client:
        r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


async def test_a_frozen_redis_costs_sign_in_its_timeout_not_forever(
    web: Web, frozen_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, proc = frozen_redis
    client_of_frozen = redis_client(url)
    await client_of_frozen.ping()
    web.app.state.redis = client_of_frozen
    ratelimit.LOCAL.values.clear()
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        async with web.client() as client:
            await csrf(client)
            login = client.post(
                "/api/v1/auth/login",
                json={"email": web.site.emails["resident"], "password": PASSWORD},
            )
            # A hang detector, not a timing: without socket timeouts this never returns.
            r = await asyncio.wait_for(login, timeout=60)
        assert r.status_code == 200
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        await client_of_frozen.aclose()
        ratelimit.LOCAL.values.clear()
