"""The app over HTTP: httpx against the ASGI app with its real lifespan (a SQLite file and a
private redis-server per test), and helpers to sign in as each role."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Secret

from tests.web.site import PASSWORD, Site, build_site
from warmrun import db
from warmrun.config import Settings, StravaSettings, StripeSettings
from warmrun.web.app import create_app

BASE = "https://testserver"


def settings_for(home: Path) -> Settings:
    from starlette.datastructures import Secret

    return Settings(
        home=home,
        database_url=f"sqlite://{home / 'web.sqlite3'}",
        redis_url=None,
        secret_key=Secret("test-secret"),
    )


@dataclass
class Web:
    app: Starlette
    site: Site

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=BASE,
            headers={"Origin": BASE},
        )

    @asynccontextmanager
    async def signed_in(self, who: str) -> AsyncIterator[httpx.AsyncClient]:
        async with self.client() as client:
            await sign_in(client, self.site.emails[who])
            yield client


async def csrf(client: httpx.AsyncClient) -> str:
    r = await client.get("/api/v1/auth/csrf")
    assert r.status_code == 200
    token = str(r.json()["csrf_token"])
    client.headers["X-CSRF-Token"] = token
    return token


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> None:
    await csrf(client)
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    await csrf(client)  # the token is bound to the new session


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Site]:
    """The migrated and seeded database, built once; each test gets a copy (hashing the
    passwords of eight accounts with argon2 is the slow part)."""
    home = tmp_path_factory.mktemp("web-template")

    async def build() -> Site:
        await db.connect(settings_for(home).database_url)
        try:
            return await build_site()
        finally:
            await db.close()

    # A thread of its own: the browser tests' session may already run an event loop here.
    with ThreadPoolExecutor(1) as pool:
        site = pool.submit(lambda: asyncio.run(build())).result()
    return home / "web.sqlite3", site


@pytest.fixture
async def web(tmp_path: Path, template: tuple[Path, Site]) -> AsyncIterator[Web]:
    path, site = template
    shutil.copy(path, tmp_path / "web.sqlite3")
    app = create_app(settings_for(tmp_path))
    async with app.router.lifespan_context(app):
        yield Web(app, site)


# The app with payments and Strava configured, for tests that walk every route. The providers'
# addresses lead nowhere: the routes walked there must not call them.
VERIFY = "verify-token"
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
async def integrated(tmp_path: Path, template: tuple[Path, Site]) -> AsyncIterator[Web]:
    path, site = template
    shutil.copy(path, tmp_path / "web.sqlite3")
    settings = dataclasses.replace(
        settings_for(tmp_path),
        stripe=StripeSettings(
            secret_key=Secret("sk_test_nowhere"), webhook_secrets=("whsec_x",), api_base=NOWHERE
        ),
        strava=StravaSettings(
            client_id="1",
            client_secret=Secret("s"),
            verify_token=VERIFY,
            token_keys=(),
            api_base=NOWHERE,
            oauth_base=NOWHERE,
        ),
        app_runs_jobs=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield Web(app, site)
