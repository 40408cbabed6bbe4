"""Sign-in limits hold against the ways round them: the e-mail typed differently, many
e-mails from one address, the token endpoint, the page form, and Redis going away; with the
counters on one redis-server and on a Redis Cluster."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from tests.local import Cluster
from tests.web.conftest import Web, csrf, settings_for
from tests.web.site import PASSWORD, Site
from warmrun.resources import redis_cluster_client
from warmrun.web import ratelimit
from warmrun.web.app import create_app


@pytest.fixture(autouse=True)
async def within_one_window() -> None:
    """Sign-in windows are fixed (300 s, counted from the epoch): a test that crossed an edge
    would see its counts start again. Start well clear of one."""
    left = ratelimit.LOGIN.per_s - time.time() % ratelimit.LOGIN.per_s
    if left < WINDOW_MARGIN_S:
        await asyncio.sleep(left + 0.1)


WINDOW_MARGIN_S = 20.0


@pytest.fixture(params=["server", "cluster"])
async def web(
    request: pytest.FixtureRequest, tmp_path: Path, template: tuple[Path, Site]
) -> AsyncIterator[Web]:
    """The app with its counters on a private redis-server, or on a Redis Cluster."""
    path, site = template
    shutil.copy(path, tmp_path / "web.sqlite3")
    settings = settings_for(tmp_path)
    if request.param == "cluster":
        cluster: Cluster = request.getfixturevalue("cluster")
        cluster.flush()
        settings = dataclasses.replace(settings, redis_url=cluster.url, redis_cluster=True)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield Web(app, site)


# Variants the account lookup normalises to the same address (case, spaces, the ASCII
# separators U+001C-U+001F that str.strip() removes).
VARIANTS = [" {e}", "{e} ", "{e}\t", "{e}\x1c", "{e}\x1d", "{e}\x1e", "{e}\x1f", "{E}", " {E}\x1f"]


def variants(email: str, n: int) -> list[str]:
    forms = [v.format(e=email, E=email.upper()) for v in VARIANTS]
    return [forms[i % len(forms)] for i in range(n)]


async def test_typing_the_email_differently_shares_one_counter(web: Web) -> None:
    email = web.site.emails["resident"]
    async with web.client() as client:
        await csrf(client)
        statuses = []
        for typed in variants(email, 40):
            r = await client.post("/api/v1/auth/login", json={"email": typed, "password": "x"})
            statuses.append(r.status_code)
        assert statuses.count(429) >= 30
        # The right password is held back too until the wait has passed.
        r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 429


async def test_the_token_endpoint_shares_the_sign_in_limits(web: Web) -> None:
    email = web.site.emails["resident"]
    async with web.client() as client:
        statuses = []
        for typed in variants(email, 40):
            r = await client.post(
                "/api/v1/auth/tokens", json={"email": typed, "password": "x", "name": "t"}
            )
            statuses.append(r.status_code)
        assert statuses.count(429) >= 30
        r = await client.post(
            "/api/v1/auth/tokens", json={"email": email, "password": PASSWORD, "name": "t"}
        )
        assert r.status_code == 429


async def test_the_login_page_shares_the_sign_in_limits(web: Web) -> None:
    email = web.site.emails["resident"]
    async with web.client() as client:
        token = await csrf(client)
        statuses = []
        for typed in variants(email, 12):
            r = await client.post(
                "/login", data={"email": typed, "password": "x", "csrf_token": token}
            )
            statuses.append(r.status_code)
        assert 429 in statuses
        r = await client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert r.status_code == 429


async def test_many_emails_from_one_address_are_limited(web: Web) -> None:
    async with web.client() as client:
        await csrf(client)
        statuses = []
        for i in range(40):
            r = await client.post(
                "/api/v1/auth/login", json={"email": f"nobody{i}@example.org", "password": "x"}
            )
            statuses.append(r.status_code)
        assert statuses[:30] == [401] * 30
        assert set(statuses[30:]) == {429}


async def test_a_right_password_clears_the_failures(web: Web) -> None:
    email = web.site.emails["resident"]
    async with web.client() as client:
        await csrf(client)
        for _ in range(4):
            await client.post("/api/v1/auth/login", json={"email": email, "password": "x"})
        ok = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert ok.status_code == 200
    async with web.client() as client:
        await csrf(client)
        statuses = []
        for _ in range(5):
            r = await client.post("/api/v1/auth/login", json={"email": email, "password": "x"})
            statuses.append(r.status_code)
        assert statuses == [401] * 5


async def test_without_redis_sign_in_is_still_limited(web: Web) -> None:
    # A real client to a port where nothing listens: every Redis call fails as in an outage.
    if web.app.state.settings.redis_cluster:
        dead: Redis | RedisCluster = redis_cluster_client("redis://127.0.0.1:9/0")
    else:
        dead = Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    web.app.state.redis = dead
    ratelimit.LOCAL.values.clear()
    email = web.site.emails["organizer"]
    try:
        async with web.client() as client:
            await csrf(client)
            statuses = []
            for typed in variants(email, 12):
                r = await client.post("/api/v1/auth/login", json={"email": typed, "password": "x"})
                statuses.append(r.status_code)
            assert statuses[:5] == [401] * 5
            assert 429 in statuses
    finally:
        await dead.aclose()
        ratelimit.LOCAL.values.clear()


async def test_limits_are_per_identity_not_global(web: Web) -> None:
    async with web.client() as client:
        await csrf(client)
        for typed in variants(web.site.emails["resident"], 8):
            await client.post("/api/v1/auth/login", json={"email": typed, "password": "x"})
        r = await client.post(
            "/api/v1/auth/login",
            json={"email": web.site.emails["partner"], "password": PASSWORD},
        )
        assert r.status_code == 200
