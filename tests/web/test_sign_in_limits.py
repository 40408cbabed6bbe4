"""Sign-in limits hold against the ways round them: the e-mail typed differently, many
e-mails from one address, the token endpoint, the page form, and Redis going away."""

from __future__ import annotations

from redis.asyncio import Redis

from tests.web.conftest import Web, csrf
from tests.web.site import PASSWORD
from warmrun.web import ratelimit

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
