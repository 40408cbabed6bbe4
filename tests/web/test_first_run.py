"""The first administrator of a new install, from the one-time link `warmrun serve` prints."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import BASE, Web, settings_for
from warmrun.platform import accounts
from warmrun.platform.errors import AdminExists
from warmrun.platform.models import Account, Role
from warmrun.web import first_run
from warmrun.web.app import create_app


@pytest.fixture
async def empty(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a new, empty install: no accounts at all."""
    app = create_app(settings_for(tmp_path))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE, headers={"Origin": BASE}
        ) as client,
    ):
        yield client


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_the_link_creates_the_first_admin_once_and_signs_them_in(
    empty: httpx.AsyncClient, tmp_path: Path
) -> None:
    token = first_run.issue(tmp_path)
    page = await empty.get("/first-run", params={"token": token})
    assert page.status_code == 200 and 'id="first-run"' in page.text
    done = await empty.post(
        "/first-run",
        data={
            "csrf_token": form_csrf(page.text),
            "token": token,
            "email": "Admin@Example.com",
            "password": "a long enough secret",
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/setup"
    admin = await Account.get(email="admin@example.com")
    assert admin.role is Role.ADMIN
    assert not (tmp_path / first_run.FILE).exists()
    me = await empty.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["account"]["role"] == "admin"
    again = await empty.get("/first-run", params={"token": token})
    assert again.status_code == 303 and again.headers["location"] == "/login"


async def test_a_wrong_or_missing_token_finds_nothing(
    empty: httpx.AsyncClient, tmp_path: Path
) -> None:
    first_run.issue(tmp_path)
    assert (await empty.get("/first-run", params={"token": "guess"})).status_code == 404
    assert (await empty.get("/first-run")).status_code == 404


async def test_a_too_short_password_keeps_the_form_and_says_why(
    empty: httpx.AsyncClient, tmp_path: Path
) -> None:
    token = first_run.issue(tmp_path)
    page = await empty.get("/first-run", params={"token": token})
    r = await empty.post(
        "/first-run",
        data={"csrf_token": form_csrf(page.text), "token": token, "email": "a@b.cn",
              "password": "short"},
    )  # fmt: skip
    assert r.status_code == 422 and 'value="a@b.cn"' in r.text
    assert await Account.filter(role=Role.ADMIN).count() == 0


async def test_an_install_with_an_admin_sends_the_page_to_sign_in(web: Web, tmp_path: Path) -> None:
    token = first_run.issue(tmp_path)
    async with web.client() as client:
        r = await client.get("/first-run", params={"token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"


async def test_first_admins_sent_at_once_make_exactly_one(empty: httpx.AsyncClient) -> None:
    results = await asyncio.gather(
        *(
            accounts.create_first_admin(email=f"a{i}@example.com", password="long enough 1")
            for i in range(3)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, accounts.Identity) for r in results) == 1
    assert sum(isinstance(r, AdminExists) for r in results) == 2
    assert await Account.filter(role=Role.ADMIN).count() == 1
