"""Headless Debian Chromium driven by Playwright against a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.web.conftest import template  # noqa: F401 - the seeded database, reused
from tests.web.live import live_server
from tests.web.site import Site
from warmrun.config import running_in_ci

CHROMIUM = "/usr/bin/chromium"
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


# Module scope: Playwright's sync API keeps an event loop marked as running in this thread
# until it stops, and the asyncio tests collected after this module need the thread free.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not os.path.exists(CHROMIUM):
        if running_in_ci():
            pytest.fail(f"CI=true but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed: browser journeys not run")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield b
    b.close()


@pytest.fixture
def live(template: tuple[Path, Site], tmp_path: Path) -> Iterator[tuple[str, Site]]:  # noqa: F811
    path, site = template
    with live_server(path, tmp_path / "live") as base:
        yield base, site


@pytest.fixture(scope="session")
def shots() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS
