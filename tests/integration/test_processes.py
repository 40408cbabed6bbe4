"""The pieces as separate processes, as a deployment runs them: `warmrun serve --workers 2`
(two web processes, each with its parse workers) and `warmrun leaderboard relay` on its own,
against PostgreSQL and a Redis server of their own. One upload goes the whole way: through the
sandbox, into the ledger, onto the board the relay keeps, and onto the public page."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from tests.local import free_port, redis_on_port
from warmrun.config import suite_database_url
from warmrun.demo import CAMPAIGN_CODE, DEMO_PASSWORD, DEMO_RESIDENT
from warmrun.integrations.synthetic import synthetic_run_gpx

pytestmark = pytest.mark.skipif(
    suite_database_url() is None, reason="needs PostgreSQL; the PostgreSQL run covers it"
)


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of its own on the suite's server (the suite empties its own between tests)."""
    base = suite_database_url()
    assert base is not None
    name = f"warmrun_proc_{os.getpid()}"
    admin = urlunsplit(urlsplit(base)._replace(path="/postgres"))

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[str]:
    with redis_on_port(tmp_path) as (url, _):
        yield url


def warmrun(*args: str, env: dict[str, str], **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "warmrun.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **kw,  # type: ignore[arg-type]
    )


def test_an_upload_goes_through_separate_web_and_relay_processes(
    own_database: str, own_redis: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": own_database,
        "REDIS_URL": own_redis,
        "WARMRUN_HOME": str(tmp_path / "home"),
        "WARMRUN_SECRET_KEY": "k" * 48,
    }
    env.pop("WARMRUN_TEST_DATABASE_URL", None)
    demo = warmrun("demo", env=env)
    assert demo.wait(timeout=600) == 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The relay runs on its own; the web processes still try, under the same Redis lock.
    web = warmrun("serve", "--workers", "2", "--port", str(port), env=env)
    relay = warmrun("leaderboard", "relay", env=env)
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        token = httpx.post(
            f"{base}/api/v1/auth/tokens",
            json={"email": DEMO_RESIDENT, "password": DEMO_PASSWORD, "name": "e2e"},
            timeout=60,
        ).json()["token"]
        data = synthetic_run_gpx(points=1800, seed=4242)
        outcome = httpx.post(
            f"{base}/api/v1/runs",
            headers={"Authorization": f"Bearer {token}"},
            files=[("files", ("e2e.gpx", data, "application/gpx+xml"))],
            timeout=120,
        ).json()["files"][0]
        assert outcome["status"] == "accepted", outcome
        ledger = httpx.get(f"{base}/api/v1/campaigns/{CAMPAIGN_CODE}", timeout=30).json()
        total = int(ledger["overall"]["metres"])
        for _ in range(200):
            board = httpx.get(
                f"{base}/api/v1/campaigns/{CAMPAIGN_CODE}/boards/cities",
                params={"limit": 100},
                timeout=30,
            ).json()
            if sum(int(i["metres"]) for i in board["items"]) == total:
                break
            time.sleep(0.1)
        assert sum(int(i["metres"]) for i in board["items"]) == total
        page = httpx.get(f"{base}/c/{CAMPAIGN_CODE}", timeout=30)
        assert page.status_code == 200 and "board-cities" in page.text
    finally:
        for proc in (relay, web):
            proc.send_signal(signal.SIGTERM)
        for proc in (relay, web):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
