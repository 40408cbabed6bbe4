"""An upload's bounds over HTTP: per request across nested archives, per resident per day, and
the sandbox's limits; over a bound nothing is stored and the answer names the bound."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import shutil
import zipfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import Web, settings_for
from tests.web.site import Site
from tests.web.test_runs import files
from warmrun.config import Limits, Sandbox
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.web.app import create_app

AppFactory = Callable[..., AbstractAsyncContextManager[Web]]


@pytest.fixture
def app_with(tmp_path: Path, template: tuple[Path, Site]) -> AppFactory:
    """The app with its limits and sandbox set by the test."""

    @asynccontextmanager
    async def make(
        limits: Limits | None = None, sandbox: Sandbox | None = None
    ) -> AsyncIterator[Web]:
        path, site = template
        shutil.copy(path, tmp_path / "web.sqlite3")
        settings = dataclasses.replace(
            settings_for(tmp_path),
            limits=limits or Limits(),
            sandbox=sandbox or Sandbox(workers=1),
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            yield Web(app, site)

    return make


def run(seed: int, points: int = 60) -> bytes:
    start = datetime(2025, 11, 2, 7, 0, tzinfo=UTC) + timedelta(hours=3 * seed)
    return synthetic_run_gpx(points=points, start=start, seed=seed)


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


async def runs_of(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/v1/runs")).json()["total"])


async def test_archives_nested_in_archives_count_every_file_against_one_bound(
    app_with: AppFactory,
) -> None:
    inner = [zipped({f"{z}-{i}.gpx": run(10 * z + i) for i in range(8)}) for z in range(3)]
    outer = zipped({f"part{z}.zip": data for z, data in enumerate(inner)})
    async with app_with(Limits(activities=20)) as web, web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(("export.zip", outer)))
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "upload_too_large"
        assert await runs_of(client) == 0


async def test_empty_members_count_against_the_bound(app_with: AppFactory) -> None:
    archive = zipped({**{f"empty{i}": b"" for i in range(30)}, "run.gpx": run(1)})
    async with app_with(Limits(activities=20)) as web, web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(("export.zip", archive)))
        assert r.status_code == 413
        assert await runs_of(client) == 0


async def test_the_bound_counts_every_file_of_one_request(app_with: AppFactory) -> None:
    two = zipped({"a.gpx": run(1), "b.gpx": run(2)})
    async with app_with(Limits(activities=3)) as web, web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(("a.zip", two), ("b.zip", two)))
        assert r.status_code == 413
        assert await runs_of(client) == 0


async def test_an_archive_within_the_bound_is_imported(app_with: AppFactory) -> None:
    archive = zipped({f"r{i}.gpx": run(i) for i in range(5)})
    async with app_with(Limits(activities=5)) as web, web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(("export.zip", archive)))
        assert r.status_code == 200, r.text
        assert [f["status"] for f in r.json()["files"]] == ["accepted"] * 5


async def test_runs_past_the_daily_bound_are_refused_and_not_stored(app_with: AppFactory) -> None:
    archive = zipped({f"r{i}.gpx": run(i) for i in range(3)})
    async with app_with(Limits(uploads_per_day=2)) as web, web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(("export.zip", archive)))
        assert r.status_code == 200
        outcomes = r.json()["files"]
        assert [f["status"] for f in outcomes] == ["accepted", "accepted", "error"]
        assert outcomes[2]["error"]["code"] == "daily_upload_limit"
        assert await runs_of(client) == 2
        again = await client.post("/api/v1/runs", files=files(("late.gpx", run(9))))
        assert again.status_code == 422
        assert again.json()["files"][0]["error"]["code"] == "daily_upload_limit"
        assert await runs_of(client) == 2


async def test_every_file_refused_answers_422_with_each_outcome(app_with: AppFactory) -> None:
    async with app_with() as web, web.signed_in("resident") as client:
        r = await client.post(
            "/api/v1/runs", files=files(("a.gpx", b"<html/>"), ("b.fit", b"\x0e\x10junk"))
        )
        assert r.status_code == 422
        body = r.json()
        assert [f["error"]["code"] for f in body["files"]] == ["not_a_track", "not_a_track"]
        assert body["error"]["code"] == "not_a_track"


async def test_a_file_over_its_cpu_time_is_too_complex_and_others_are_served_meanwhile(
    app_with: AppFactory,
) -> None:
    big = synthetic_run_gpx(points=100_000, seed=3)
    async with (
        app_with(sandbox=Sandbox(workers=1, cpu_s=0.05)) as web,
        web.signed_in("resident") as client,
    ):
        order: list[str] = []

        async def upload() -> httpx.Response:
            r = await client.post("/api/v1/runs", files=files(("big.gpx", big)))
            order.append("upload")
            return r

        async def health() -> None:
            await asyncio.sleep(0)  # let the upload start first
            for _ in range(3):
                assert (await client.get("/healthz")).status_code == 200
            order.append("health")

        r, _ = await asyncio.gather(upload(), health())
        assert r.status_code == 422
        assert r.json()["files"][0]["error"]["code"] == "too_complex"
        # The event loop answered while the file was being read in a worker process.
        assert order == ["health", "upload"]
        assert await runs_of(client) == 0
        ok = await client.post("/api/v1/runs", files=files(("small.gpx", run(4))))
        assert ok.json()["files"][0]["status"] == "accepted"
