"""Strava sync on the real database (SQLite and PostgreSQL): concurrent token refreshes, the
event life cycle through the arq queue, and one run arriving both as a file and from Strava."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from starlette.datastructures import Secret

from tests.conftest import PARSER
from tests.fakes.serve import serving
from tests.fakes.strava_api import FakeStrava
from tests.integration.factory import World, run_file, upload, world
from warmrun.config import Limits, Settings, StravaSettings
from warmrun.integrations import jobs, strava_sync
from warmrun.integrations.readers.registry import read_any
from warmrun.integrations.strava_sync import Strava
from warmrun.platform import clock
from warmrun.platform.models import Contribution, Run, StravaAccount, StravaActivity
from warmrun.platform.tracks import Track
from warmrun.redis_server import EmbeddedRedis

pytestmark = pytest.mark.usefixtures("database")
ATHLETE = 777


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis-strava")))
    server.start()
    yield server
    server.stop()


@dataclass
class Env:
    w: World
    fake: FakeStrava
    settings: Settings
    redis: Redis
    strava: Strava

    async def drain(self) -> None:
        worker = jobs.worker(self.settings, self.redis, PARSER, burst=True, poll_delay=0.05)
        try:
            await asyncio.wait_for(worker.async_run(), timeout=60)
        finally:
            await worker.close()

    async def event(self, activity: int, aspect: str) -> bool:
        return await jobs.enqueue_strava_event(
            jobs.queue(self.redis), self.fake.event(ATHLETE, activity, aspect)
        )


@pytest.fixture
async def env(tmp_path: Path, database: str, redis_server: EmbeddedRedis) -> AsyncIterator[Env]:
    redis = Redis.from_url(redis_server.url)
    await redis.flushall()
    fake = FakeStrava(client_id="1", client_secret="s")
    async with serving(fake.app) as url:
        settings = Settings(
            home=tmp_path,
            database_url=database,
            redis_url=redis_server.url,
            secret_key=Secret("k"),
            strava=StravaSettings(
                client_id="1",
                client_secret=Secret("s"),
                verify_token="v",
                token_keys=(),
                api_base=f"{url}/api/v3",
                oauth_base=f"{url}/oauth",
            ),
        )
        s = Strava.open(settings, redis, PARSER)
        w = await world()
        await strava_sync.connect(
            s, resident_id=w.alice.id, code=fake.authorize(ATHLETE), scope="read,activity:read_all"
        )
        try:
            yield Env(w, fake, settings, redis, s)
        finally:
            await s.aclose()
            await redis.aclose()


def track_of(data: bytes) -> Track:
    (parsed,) = read_any(data, "run.gpx", Limits())
    assert parsed.track is not None
    return parsed.track


async def test_concurrent_jobs_refresh_an_expired_token_once(env: Env) -> None:
    account = await StravaAccount.get(athlete_id=ATHLETE)
    await StravaAccount.filter(id=account.id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    tokens = await asyncio.gather(
        *(strava_sync.access_token(env.strava, account.id) for _ in range(8))
    )
    assert env.fake.refreshes == 1 and len(set(tokens)) == 1
    stored = await StravaAccount.get(id=account.id)
    assert stored.token_version == account.token_version + 1
    assert env.strava.box.open(stored.refresh_token) == env.fake.athletes[ATHLETE].refresh_token


async def test_create_duplicate_update_and_delete_events_move_the_credit_once(env: Env) -> None:
    activity = env.fake.add_activity(ATHLETE, track_of(run_file(seed=5)))
    assert await env.event(activity, "create")
    assert not await env.event(activity, "create")  # the same event again: dropped
    await env.drain()
    row = await StravaActivity.get(id=activity)
    assert row.status == "imported" and row.run_id is not None
    credited = sum(c.metres for c in await Contribution.filter(run_id=row.run_id))
    assert credited > 0
    env.fake.delete_activity(ATHLETE, activity)
    assert await env.event(activity, "delete")
    await env.drain()
    assert sum(c.metres for c in await Contribution.filter(run_id=row.run_id)) == 0
    assert (await Run.get(id=row.run_id)).verdict == "rejected"


async def test_one_run_from_a_file_and_from_strava_is_credited_once(env: Env) -> None:
    data = run_file(seed=9)
    (outcome,) = await upload(env.w.alice.id, data)
    assert outcome.outcome is not None
    activity = env.fake.add_activity(ATHLETE, track_of(data), every=2)
    await env.event(activity, "create")
    await env.drain()
    row = await StravaActivity.get(id=activity)
    assert row.status == "duplicate" and row.run_id == outcome.outcome.run.id
    assert await Run.all().count() == 1


async def test_a_deauthorization_confirmed_by_strava_forgets_the_athlete(env: Env) -> None:
    env.fake.revoke(ATHLETE)
    await jobs.enqueue_strava_event(jobs.queue(env.redis), env.fake.deauthorization_event(ATHLETE))
    await env.drain()
    assert await StravaAccount.all().count() == 0


async def test_a_429_defers_the_job_until_the_next_quarter_hour(env: Env) -> None:
    activity = env.fake.add_activity(ATHLETE, track_of(run_file(seed=11)))
    now = datetime.now(UTC)
    quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    base, t0 = quarter + timedelta(minutes=15, seconds=-0.8), time.monotonic()
    clock.set_clock(lambda: base + timedelta(seconds=time.monotonic() - t0))
    env.fake.requests.clear()
    env.fake.times.clear()
    env.fake.fail_next(1, 429)
    await env.event(activity, "create")
    await env.drain()
    assert (await StravaActivity.get(id=activity)).status == "imported"
    assert env.fake.times[1] - env.fake.times[0] >= 0.5  # nothing sent until the window opened
