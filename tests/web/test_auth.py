"""Sign-up, sessions, CSRF, tokens and rate limits over HTTP."""

from __future__ import annotations

from tests.web.conftest import Web, csrf, sign_in
from tests.web.site import PASSWORD


async def test_signup_signs_the_resident_in(web: Web) -> None:
    async with web.client() as client:
        await csrf(client)
        r = await client.post(
            "/api/v1/auth/signup",
            json={
                "email": "New.Runner@Example.org",
                "password": "long enough pw",
                "display_name": "小王",
                "compound_id": web.site.compound,
            },
        )
        assert r.status_code == 200, r.text
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "samesite=lax" in cookie.lower()
        me = (await client.get("/api/v1/me")).json()
        assert me["account"]["email"] == "new.runner@example.org"
        assert me["account"]["role"] == "resident"


async def test_signup_with_a_taken_email_is_a_clear_conflict(web: Web) -> None:
    async with web.client() as client:
        await csrf(client)
        r = await client.post(
            "/api/v1/auth/signup",
            json={
                "email": web.site.emails["resident"],
                "password": "long enough pw",
                "display_name": "x",
                "compound_id": web.site.compound,
            },
            headers={"Accept-Language": "en"},
        )
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "email_taken"
        assert "already exists" in r.json()["error"]["message"]


async def test_wrong_password_answers_in_chinese_by_default(web: Web) -> None:
    async with web.client() as client:
        await csrf(client)
        r = await client.post(
            "/api/v1/auth/login",
            json={"email": web.site.emails["resident"], "password": "wrong password"},
        )
        assert r.status_code == 401
        assert r.json() == {
            "error": {"code": "invalid_credentials", "message": "邮箱或密码不正确。"}
        }


async def test_unsafe_request_without_csrf_token_is_refused(web: Web) -> None:
    async with web.client() as client:
        r = await client.post(
            "/api/v1/auth/login", json={"email": web.site.emails["resident"], "password": PASSWORD}
        )
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "csrf_failed"


async def test_cross_site_origin_is_refused_even_with_a_token(web: Web) -> None:
    async with web.client() as client:
        await sign_in(client, web.site.emails["resident"])
        r = await client.post(
            "/api/v1/auth/logout-everywhere", headers={"Origin": "https://evil.example"}
        )
        assert r.status_code == 403
        assert (await client.get("/api/v1/me")).status_code == 200


async def test_csrf_token_of_another_session_is_refused(web: Web) -> None:
    async with web.client() as a, web.client() as b:
        await sign_in(a, web.site.emails["resident"])
        await sign_in(b, web.site.emails["other_resident"])
        r = await a.post(
            "/api/v1/auth/logout-everywhere", headers={"X-CSRF-Token": b.headers["X-CSRF-Token"]}
        )
        assert r.status_code == 403


async def test_logout_everywhere_invalidates_every_old_cookie(web: Web) -> None:
    async with web.client() as phone, web.client() as laptop:
        await sign_in(phone, web.site.emails["resident"])
        await sign_in(laptop, web.site.emails["resident"])
        assert (await laptop.post("/api/v1/auth/logout-everywhere")).status_code == 200
        assert (await phone.get("/api/v1/me")).status_code == 401


async def test_password_change_ends_other_sessions_but_keeps_this_one(web: Web) -> None:
    async with web.client() as phone, web.client() as laptop:
        await sign_in(phone, web.site.emails["resident"])
        await sign_in(laptop, web.site.emails["resident"])
        r = await laptop.post(
            "/api/v1/auth/password", json={"old": PASSWORD, "new": "a brand new secret"}
        )
        assert r.status_code == 200
        assert (await laptop.get("/api/v1/me")).status_code == 200
        assert (await phone.get("/api/v1/me")).status_code == 401


async def test_tampered_session_cookie_is_anonymous(web: Web) -> None:
    async with web.client() as client:
        await sign_in(client, web.site.emails["resident"])
        value = client.cookies["wr_session"]
        client.cookies.clear()
        client.headers["Cookie"] = f"wr_session={value}"
        assert (await client.get("/api/v1/me")).status_code == 200  # the header reaches the app
        tampered = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
        client.headers["Cookie"] = f"wr_session={tampered}"
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_bearer_token_works_without_cookies_or_csrf(web: Web) -> None:
    async with web.client() as client:
        r = await client.post(
            "/api/v1/auth/tokens",
            json={"email": web.site.emails["resident"], "password": PASSWORD, "name": "watch sync"},
        )
        assert r.status_code == 200
        token = r.json()["token"]
    async with web.client() as api:
        api.headers["Authorization"] = f"Bearer {token}"
        del api.headers["Origin"]
        assert (await api.get("/api/v1/me")).json()["account"]["role"] == "resident"
        r = await api.post(
            "/api/v1/redemptions",
            json={"reward_id": web.site.drink, "idempotency_key": "token-client-1"},
        )
        assert r.json()["error"]["code"] == "insufficient_points"  # reached the service


async def test_revoked_token_is_refused(web: Web) -> None:
    async with web.signed_in("resident") as client:
        made = (await client.post("/api/v1/me/tokens", json={"name": "cli"})).json()
        assert (await client.delete(f"/api/v1/me/tokens/{made['id']}")).status_code == 200
    async with httpx_client(web, made["token"]) as api:
        r = await api.get("/api/v1/me")
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")


async def test_repeated_failed_logins_are_rate_limited_with_retry_after(web: Web) -> None:
    async with web.client() as client:
        await csrf(client)
        statuses = []
        for _ in range(7):
            r = await client.post(
                "/api/v1/auth/login",
                json={"email": web.site.emails["resident"], "password": "guess"},
            )
            statuses.append(r.status_code)
        assert statuses[:5] == [401] * 5  # a few tries free, then a growing wait
        assert statuses[5:] == [429, 429]
        assert 1 <= int(r.headers["retry-after"]) <= 2
        assert r.json()["error"]["code"] == "rate_limited"


async def test_language_switch_cookie_changes_messages(web: Web) -> None:
    async with web.client() as client:
        await csrf(client)
        r = await client.post("/api/v1/lang", json={"lang": "en"})
        assert r.status_code == 200
        r = await client.post(
            "/api/v1/auth/login", json={"email": "nobody@example.org", "password": "x"}
        )
        assert r.json()["error"]["message"] == "Wrong e-mail address or password."


def httpx_client(web: Web, token: str):  # type: ignore[no-untyped-def]
    client = web.client()
    client.headers["Authorization"] = f"Bearer {token}"
    return client
