"""Sessions end on the server and tokens do not outlive the password: a copied cookie is
worthless after sign-out, tokens are revoked by a password change or "sign out everywhere",
expire, and can be listed and revoked by their owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.web.conftest import BASE, Web, csrf, sign_in
from tests.web.site import PASSWORD
from warmrun.platform import clock


def bearer(web: Web, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web.app),
        base_url=BASE,
        headers={"Authorization": f"Bearer {token}"},
    )


async def token_of(client: httpx.AsyncClient, name: str = "cli") -> str:
    r = await client.post("/api/v1/me/tokens", json={"name": name})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


async def test_a_copied_cookie_is_worthless_after_sign_out(web: Web) -> None:
    async with web.client() as browser, web.client() as thief:
        await sign_in(browser, web.site.emails["resident"])
        thief.headers["Cookie"] = f"wr_session={browser.cookies['wr_session']}"
        assert (await thief.get("/api/v1/me")).status_code == 200
        assert (await browser.post("/api/v1/auth/logout")).status_code == 200
        assert (await thief.get("/api/v1/me")).status_code == 401


async def test_signing_out_one_browser_keeps_the_others(web: Web) -> None:
    async with web.client() as phone, web.client() as laptop:
        await sign_in(phone, web.site.emails["resident"])
        await sign_in(laptop, web.site.emails["resident"])
        await laptop.post("/api/v1/auth/logout")
        assert (await phone.get("/api/v1/me")).status_code == 200


async def test_a_password_change_revokes_every_token(web: Web) -> None:
    async with web.signed_in("resident") as client:
        token = await token_of(client)
        r = await client.post(
            "/api/v1/auth/password", json={"old": PASSWORD, "new": "a brand new secret"}
        )
        assert r.status_code == 200
        assert (await client.get("/api/v1/me")).status_code == 200  # this browser goes on
    async with bearer(web, token) as api:
        assert (await api.get("/api/v1/me")).status_code == 401


async def test_signing_out_everywhere_revokes_every_token(web: Web) -> None:
    async with web.signed_in("resident") as client:
        token = await token_of(client)
        assert (await client.post("/api/v1/auth/logout-everywhere")).status_code == 200
        assert (await client.get("/api/v1/me")).status_code == 401
    async with bearer(web, token) as api:
        assert (await api.get("/api/v1/me")).status_code == 401


async def test_tokens_expire(web: Web) -> None:
    async with web.signed_in("resident") as client:
        token = await token_of(client)
        listed = (await client.get("/api/v1/me/tokens")).json()["items"]
        expires = datetime.fromisoformat(listed[0]["expires_at"])
    async with bearer(web, token) as api:
        assert (await api.get("/api/v1/me")).status_code == 200
        clock.set_clock(lambda: expires + timedelta(seconds=1))
        assert (await api.get("/api/v1/me")).status_code == 401
    assert expires - datetime.now(UTC) > timedelta(days=89)


async def test_residents_list_their_tokens_with_last_use_and_revoke_them(web: Web) -> None:
    async with web.signed_in("resident") as client:
        used = await token_of(client, "watch")
        await token_of(client, "spare")
        async with bearer(web, used) as api:
            assert (await api.get("/api/v1/me")).status_code == 200
        items = {t["name"]: t for t in (await client.get("/api/v1/me/tokens")).json()["items"]}
        assert items["watch"]["last_used_at"] is not None
        assert items["spare"]["last_used_at"] is None
        assert (await client.delete(f"/api/v1/me/tokens/{items['spare']['id']}")).status_code == 200
        names = [t["name"] for t in (await client.get("/api/v1/me/tokens")).json()["items"]]
        assert names == ["watch"]
        assert "digest" not in str(items)


async def test_the_account_page_lists_creates_and_revokes_tokens(web: Web) -> None:
    async with web.signed_in("resident") as client:
        token = await csrf(client)
        r = await client.post(
            "/me/account", data={"csrf_token": token, "action": "new_token", "name": "phone app"}
        )
        assert r.status_code == 200
        assert "phone app" in r.text and "data-token" in r.text
        token_id = (await client.get("/api/v1/me/tokens")).json()["items"][0]["id"]
        r = await client.post(
            "/me/account",
            data={"csrf_token": token, "action": "revoke_token", "token_id": str(token_id)},
        )
        assert r.status_code in (302, 303)
        assert (await client.get("/api/v1/me/tokens")).json()["items"] == []
