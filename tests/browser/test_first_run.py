"""A new install in a real browser: the first administrator from the link `warmrun serve`
prints, then goods priced in yuan on the set-up page."""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.web.conftest import settings_for
from tests.web.live import live_server
from warmrun import db
from warmrun.web import first_run

pytestmark = pytest.mark.slow


def empty_database(home: Path) -> Path:
    """A migrated database with nothing in it, as `warmrun serve` makes on first start."""
    home.mkdir(parents=True, exist_ok=True)

    async def make() -> None:
        await db.connect(settings_for(home).database_url)
        await db.close()

    with ThreadPoolExecutor(1) as pool:  # the browser's event loop holds this thread
        pool.submit(lambda: asyncio.run(make())).result()
    return home / "web.sqlite3"


def goods_price(home: Path, code: str) -> int:
    """Read from the server's SQLite file directly (the app holds the ORM in this process)."""
    with sqlite3.connect(home / "web.sqlite3") as conn:
        (fen,) = conn.execute("SELECT unit_price_fen FROM goods WHERE code = ?", (code,)).fetchone()
    return int(fen)


def test_first_admin_from_the_link_then_goods_priced_in_yuan(
    browser: Browser, tmp_path: Path, shots: Path
) -> None:
    template = empty_database(tmp_path / "template")
    home = tmp_path / "live"
    with live_server(template, home) as base:
        token = first_run.issue(home)
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(f"{base}/first-run?token={token}")
        expect(page.locator("h1")).to_have_text("创建管理员")
        page.fill("#email", "admin@property.example")
        page.fill("#password", "a long enough secret")
        page.screenshot(path=str(shots / "first-run.png"), full_page=True)
        page.click("#first-run button[type=submit]")
        expect(page).to_have_url(f"{base}/setup")

        page.fill("#goods-code", "warm-pack")
        page.fill("#goods-zh", "温暖包")
        page.fill("#goods-en", "Warm pack")
        page.fill("#goods-price", "365.00")
        page.click("#goods-price >> xpath=ancestor::form//button[@type='submit']")
        expect(page.locator("#saved")).to_be_visible()
        assert goods_price(home, "warm-pack") == 36_500

        page.goto(f"{base}/first-run?token={token}")  # used: the page sends to sign in
        expect(page).to_have_url(f"{base}/login")
