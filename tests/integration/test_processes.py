"""The pieces as separate processes, as a deployment runs them: `warmrun serve --workers 2`
(two web processes, each with its parse workers), `warmrun worker` (the job queue: Strava
sync) and `warmrun leaderboard relay`, each on its own, against PostgreSQL and a Redis server of
their own, with a local Strava that speaks Strava's wire format. A file upload and a Strava
activity go the whole way: through the sandbox, into the ledger and the campaign totals, onto
the board the relay keeps and onto the public page; `warmrun campaign verify` then finds the
chain whole and the totals equal to the ledger's sums."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import uvicorn

from tests.fakes.strava_api import FakeStrava
from tests.local import free_port, redis_on_port
from warmrun.config import Limits, suite_database_url
from warmrun.demo import CAMPAIGN_CODE, DEMO_PASSWORD, DEMO_RESIDENT
from warmrun.integrations.readers.registry import read_any
from warmrun.integrations.synthetic import synthetic_run_gpx

CLIENT_ID, CLIENT_SECRET, VERIFY, ATHLETE = "4711", "strava-secret", "verify-token", 90210

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


@pytest.fixture
def strava() -> Iterator[tuple[FakeStrava, str]]:
    """The local Strava, served by uvicorn on a thread of its own."""
    fake = FakeStrava(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def warmrun(*args: str, env: dict[str, str], **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "warmrun.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **kw,  # type: ignore[arg-type]
    )


def wait_ready(base: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the web processes did not become ready")


def connect_strava(client: httpx.Client, fake: FakeStrava) -> None:
    """Sign in as the demo resident and connect Strava through the OAuth round trip."""
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    r = client.post("/api/v1/auth/login", json={"email": DEMO_RESIDENT, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    # The token is bound to the session, which signing in renewed.
    client.headers["X-CSRF-Token"] = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    r = client.get("/strava/connect")
    assert r.status_code == 303
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    code = fake.authorize(ATHLETE)
    r = client.get(
        "/strava/callback",
        params={"state": state, "code": code, "scope": "read,activity:read_all"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/me/strava", r.text


def city_board_metres(base: str) -> int:
    board = httpx.get(
        f"{base}/api/v1/campaigns/{CAMPAIGN_CODE}/boards/cities", params={"limit": 100}, timeout=30
    ).json()
    return sum(int(i["metres"]) for i in board["items"])


def overall_metres(base: str) -> int:
    ledger = httpx.get(f"{base}/api/v1/campaigns/{CAMPAIGN_CODE}", timeout=30).json()
    return int(ledger["overall"]["metres"])


def eventually(check: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_uploads_go_through_separate_web_worker_and_relay_processes(
    own_database: str, own_redis: str, strava: tuple[FakeStrava, str], tmp_path: Path
) -> None:
    fake, strava_url = strava
    env = {
        **os.environ,
        "DATABASE_URL": own_database,
        "REDIS_URL": own_redis,
        "WARMRUN_HOME": str(tmp_path / "home"),
        "WARMRUN_SECRET_KEY": "k" * 48,
        "STRAVA_CLIENT_ID": CLIENT_ID,
        "STRAVA_CLIENT_SECRET": CLIENT_SECRET,
        "STRAVA_VERIFY_TOKEN": VERIFY,
        "STRAVA_API_BASE": f"{strava_url}/api/v3",
        "STRAVA_OAUTH_BASE": f"{strava_url}/oauth",
        # Jobs run in `warmrun worker` only, not inside the web processes.
        "WARMRUN_APP_RUNS_JOBS": "false",
        # Plain HTTP on loopback: the browser session's cookie may travel without TLS.
        "WARMRUN_COOKIE_SECURE": "false",
    }
    env.pop("WARMRUN_TEST_DATABASE_URL", None)
    demo = warmrun("demo", env=env)
    assert demo.wait(timeout=600) == 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The relay runs on its own; the web processes still try, under the same Redis lock.
    web = warmrun("serve", "--workers", "2", "--port", str(port), env=env)
    worker = warmrun("worker", env=env)
    relay = warmrun("leaderboard", "relay", env=env)
    try:
        wait_ready(base)
        before = overall_metres(base)
        with httpx.Client(base_url=base, timeout=120, headers={"Origin": base}) as client:
            connect_strava(client, fake)
            # Within the demo campaign's dates (around today).
            today = datetime.now(UTC).replace(hour=0, minute=30, second=0, microsecond=0)
            data = synthetic_run_gpx(points=1800, seed=4242, start=today - timedelta(days=2))
            outcome = client.post(
                "/api/v1/runs", files=[("files", ("e2e.gpx", data, "application/gpx+xml"))]
            ).json()["files"][0]
            assert outcome["status"] == "accepted", outcome
            after_file = overall_metres(base)
            assert after_file > before
            # A Strava activity: the webhook queues it, the worker process imports it.
            start = today - timedelta(days=4, hours=1)
            (parsed,) = read_any(
                synthetic_run_gpx(points=1500, seed=77, start=start), "s.gpx", Limits()
            )
            assert parsed.track is not None
            activity = fake.add_activity(ATHLETE, parsed.track)
            r = client.post("/api/v1/webhooks/strava", json=fake.event(ATHLETE, activity, "create"))
            assert r.status_code == 200 and r.json() == {"queued": True}
        eventually(lambda: overall_metres(base) > after_file)
        total = overall_metres(base)
        eventually(lambda: city_board_metres(base) == total)
        page = httpx.get(f"{base}/c/{CAMPAIGN_CODE}", timeout=30)
        assert page.status_code == 200 and "board-cities" in page.text
        verify = subprocess.run(
            [sys.executable, "-m", "warmrun.cli", "campaign", "verify", CAMPAIGN_CODE],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "totals OK" in verify.stdout
    finally:
        for proc in (relay, worker, web):
            proc.send_signal(signal.SIGTERM)
        for proc in (relay, worker, web):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
