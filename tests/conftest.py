"""Shared fixtures: a real database (SQLite file, or PostgreSQL via WARMRUN_TEST_DATABASE_URL)
migrated once per session and emptied before each test, and a real Redis Cluster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.connection import get_connection

from tests.local import Backend, Cluster, redis_cluster
from warmrun import db
from warmrun.config import Limits, Sandbox, running_in_ci, suite_database_url
from warmrun.integrations.parsing import SandboxedParser
from warmrun.platform import clock

DATA = Path(__file__).parent / "data" / "tracks"
TABLES = [
    "booking",
    "pickup_slot",
    "reward_option",
    "reward_option_group",
    "rating",
    "settlement_report",
    "audit_entry",
    "invitation",
    "staff_compound",
    "ledger_checkpoint",
    "ledger_block",
    "ledger_leaf",
    "ledger_log",
    "rule_version",
    "area_participant",
    "day_total",
    "area_total",
    "privacy_zone",
    "web_session",
    "challenge_team",
    "challenge",
    "notification",
    "badge_award",
    "badge",
    "event_finish",
    "check_in",
    "event_station",
    "event_route",
    "event",
    "strava_activity",
    "strava_account",
    "provider_refund",
    "provider_event",
    "payment_intent_link",
    "payment_entry",
    "payment",
    "api_token",
    "organizer_city",
    "account",
    "pledge_allocation",
    "contribution",
    "points_entry",
    "redemption",
    "reward",
    "run_file",
    "run",
    "outbox",
    "sponsor_pledge",
    "points_rule",
    "conversion_rule",
    "campaign_city",
    "campaign",
    "bundle_line",
    "goods",
    "resident",
    "compound",
    "city",
    "charity_partner",
]


def pytest_report_header(config: pytest.Config) -> str:
    url = suite_database_url()
    return f"warmrun database: {'PostgreSQL' if url else 'SQLite'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = suite_database_url() or f"sqlite://{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"

    async def migrate() -> None:
        await db.upgrade(url)
        await db.close()

    asyncio.run(migrate())
    return url


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgres")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    await Tortoise.init(config=db.tortoise_config(database_url))
    conn = get_connection("default")
    if database_url.startswith("postgres"):
        await conn.execute_script(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES) + " RESTART IDENTITY CASCADE"
        )
    else:
        for table in TABLES:
            await conn.execute_script(f'DELETE FROM "{table}"')
    yield database_url
    await Tortoise.close_connections()
    clock.set_clock(None)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A three-master Redis Cluster on loopback, started once for the tests that ask for it
    (each empties it first)."""
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as started:
        yield started


@pytest.fixture(params=["server", "cluster"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Tests that ask for it run twice: on one redis-server (the module's ``redis_server``
    fixture) and on the session's Redis Cluster."""
    if request.param == "cluster":
        return Backend(request.getfixturevalue("cluster").url, cluster=True)
    return Backend(request.getfixturevalue("redis_server").url, cluster=False)


@pytest.fixture(autouse=True)
def system_clock() -> Iterator[None]:
    """Every test starts and ends on the system clock, whichever fixtures it uses."""
    clock.set_clock(None)
    yield
    clock.set_clock(None)


@pytest.fixture
def limits() -> Limits:
    return Limits()


# The suite's sandboxed parser: worker processes started on first use, ended with the session.
PARSER = SandboxedParser(Sandbox(workers=2), Limits())


@pytest.fixture(scope="session", autouse=True)
def _close_parser() -> Iterator[None]:
    yield
    PARSER.close()


@pytest.fixture
def parser() -> SandboxedParser:
    return PARSER


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if suite_database_url() is None and any("postgres" in i.keywords for i in items):
        if running_in_ci():
            raise pytest.UsageError("CI=true but WARMRUN_TEST_DATABASE_URL is not set")
