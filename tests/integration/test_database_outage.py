"""PostgreSQL stopped under a running app: requests answer 503 with Retry-After (one log line
each, no traceback), /readyz says so, and once the server is back the app serves again by
itself. Runs in the PostgreSQL part of the suite, on a server of its own that it can stop."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.datastructures import Secret

from tests.local import free_port
from warmrun.config import Settings, suite_database_url
from warmrun.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    suite_database_url() is None, reason="needs PostgreSQL; the PostgreSQL run covers it"
)


def postgres(*args: str) -> str:
    return subprocess.run(
        [str(ROOT / "scripts/postgres"), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def own_postgres() -> Iterator[tuple[Path, int, str]]:
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as
    # the postgres user.
    home = Path(tempfile.mkdtemp(prefix="warmrun-outage-"))
    os.chmod(home, 0o755)  # noqa: S103 - the postgres user must reach its data directory
    port = free_port()
    url = postgres("start", str(home / "pg"), str(port))
    try:
        yield home / "pg", port, url
    finally:
        postgres("stop", str(home / "pg"))
        shutil.rmtree(home, ignore_errors=True)


async def test_a_stopped_database_is_503_and_the_app_heals_when_it_returns(
    own_postgres: tuple[Path, int, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pg_dir, port, url = own_postgres
    settings = Settings(
        home=tmp_path, database_url=url, redis_url=None, secret_key=Secret("k" * 40)
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            assert (await c.get("/api/v1/campaigns")).status_code == 200
            postgres("stop", str(pg_dir))
            statuses = [(await c.get("/api/v1/campaigns")).status_code for _ in range(5)]
            down = await c.get("/api/v1/campaigns")
            ready = await c.get("/readyz")
            page = await c.get("/")
            postgres("resume", str(pg_dir), str(port))
            back = [(await c.get("/api/v1/campaigns")).status_code for _ in range(5)]
    assert set(statuses) == {503}
    assert down.json()["error"]["code"] == "try_later" and int(down.headers["retry-after"]) > 0
    assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
    assert page.status_code == 503
    assert back[-1] == 200
    assert "database unavailable" in caplog.text
    # One warning line per request, never a traceback of ours (asyncpg's pool logs its own).
    ours = [r for r in caplog.records if r.name.startswith("warmrun")]
    assert not [r for r in ours if r.levelno >= logging.ERROR or r.exc_info]
