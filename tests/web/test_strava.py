"""Strava sync against a local Strava over HTTP: connecting, webhook events, token rotation,
eligibility, duplicates with uploaded files, deauthorization and rate limits. Jobs run in a
real arq worker on the app's private redis-server."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.datastructures import Secret

from tests.fakes.serve import serving
from tests.fakes.strava_api import FakeStrava
from tests.web.conftest import Web, settings_for
from tests.web.site import Site
from tests.web.test_runs import RUN_GPX, files
from warmrun.config import Limits, StravaSettings
from warmrun.integrations import jobs
from warmrun.integrations.readers.registry import read_any
from warmrun.integrations.strava_api import TokenBox
from warmrun.platform import clock
from warmrun.platform.models import Account, Run, RunFile, StravaAccount, StravaActivity
from warmrun.platform.tracks import Track
from warmrun.web.app import create_app

CLIENT_ID, CLIENT_SECRET, VERIFY = "12345", "strava-client-secret", "verify-me"
ATHLETE = 134815
HOOK = "/api/v1/webhooks/strava"


def run_track() -> Track:
    (parsed,) = read_any(RUN_GPX.read_bytes(), RUN_GPX.name, Limits())
    assert parsed.track is not None
    return parsed.track


@dataclasses.dataclass
class Sync:
    web: Web
    strava: FakeStrava

    async def drain(self) -> None:
        """Run the queued jobs (and any they defer) to the end."""
        w = jobs.worker(
            self.web.app.state.settings,
            self.web.app.state.redis,
            self.web.app.state.parser,
            burst=True,
            poll_delay=0.05,
        )
        try:
            await asyncio.wait_for(w.async_run(), timeout=60)
        finally:
            await w.close()

    async def post(self, event: dict[str, Any]) -> httpx.Response:
        async with self.web.client() as client:
            return await client.post(HOOK, json=event)

    async def connect(
        self, who: str = "resident", athlete: int = ATHLETE, scope: str = "read,activity:read_all"
    ) -> httpx.Response:
        async with self.web.signed_in(who) as client:
            r = await client.get("/strava/connect")
            assert r.status_code == 303
            target = urlsplit(r.headers["location"])
            q = parse_qs(target.query)
            assert q["scope"] == ["activity:read_all"] and q["client_id"] == [CLIENT_ID]
            code = self.strava.authorize(athlete)
            return await client.get(
                "/strava/callback", params={"state": q["state"][0], "code": code, "scope": scope}
            )

    async def resident_id(self, who: str = "resident") -> int:
        account = await Account.get(email=self.web.site.emails[who])
        assert account.resident_id is not None
        return account.resident_id


@pytest.fixture
async def sync(tmp_path: Path, template: tuple[Path, Site]) -> AsyncIterator[Sync]:
    fake = FakeStrava(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    async with serving(fake.app) as url:
        path, site = template
        shutil.copy(path, tmp_path / "web.sqlite3")
        settings = dataclasses.replace(
            settings_for(tmp_path),
            strava=StravaSettings(
                client_id=CLIENT_ID,
                client_secret=Secret(CLIENT_SECRET),
                verify_token=VERIFY,
                token_keys=(),
                api_base=f"{url}/api/v3",
                oauth_base=f"{url}/oauth",
                timeout_s=5,
            ),
            app_runs_jobs=False,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            yield Sync(Web(app, site), fake)


async def connected(sync: Sync) -> None:
    r = await sync.connect()
    assert r.status_code == 303 and r.headers["location"] == "/me/strava", r.text


async def test_the_subscription_check_echoes_the_challenge_only_for_our_verify_token(
    sync: Sync,
) -> None:
    async with sync.web.client() as client:
        ok = await client.get(
            HOOK,
            params={
                "hub.mode": "subscribe",
                "hub.challenge": "15f7d1a91c1f40f8a748fd134752feb3",
                "hub.verify_token": VERIFY,
            },
        )
        wrong = await client.get(
            HOOK,
            params={"hub.mode": "subscribe", "hub.challenge": "x", "hub.verify_token": "guess"},
        )
    assert ok.status_code == 200 and ok.json() == {
        "hub.challenge": "15f7d1a91c1f40f8a748fd134752feb3"
    }
    assert wrong.status_code == 403


async def test_connecting_without_the_activity_scope_is_refused(sync: Sync) -> None:
    r = await sync.connect(scope="read")
    assert r.status_code == 400 and "activity:read_all" in r.text
    assert await StravaAccount.all().count() == 0


async def test_tokens_are_stored_encrypted(sync: Sync) -> None:
    await connected(sync)
    account = await StravaAccount.get(athlete_id=ATHLETE)
    (plain,) = [t for t, (a, _) in sync.strava.access.items() if a == ATHLETE]
    assert plain not in account.access_token
    assert sync.strava.athletes[ATHLETE].refresh_token not in account.refresh_token
    box = TokenBox((), "test-secret")
    assert box.open(account.access_token) == plain


async def test_a_created_activity_is_fetched_and_credited_like_a_file(sync: Sync) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track())
    r = await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    assert r.status_code == 200 and r.json() == {"queued": True}
    await sync.drain()
    row = await StravaActivity.get(id=activity)
    assert row.status == "imported" and row.run_id is not None
    run = await Run.get(id=row.run_id)
    assert run.source == "strava" and run.verdict == "accepted" and run.credited_m > 0
    paths = [p for _, p in sync.strava.requests]
    assert f"/api/v3/activities/{activity}/streams" in paths


async def test_a_redelivered_event_is_dropped_while_the_first_is_known(sync: Sync) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track())
    event = sync.strava.event(ATHLETE, activity, "create")
    first, again = await sync.post(event), await sync.post(event)
    assert first.json() == {"queued": True} and again.json() == {"queued": False}
    await sync.drain()
    # Once it ran, a redelivery is fetched again and changes nothing.
    assert (await sync.post(event)).json() == {"queued": True}
    await sync.drain()
    assert await Run.filter(source="strava").count() == 1


async def test_a_forged_event_for_an_activity_of_someone_else_imports_nothing(sync: Sync) -> None:
    await connected(sync)
    other = 999_001
    sync.strava.athlete(other)
    activity = sync.strava.add_activity(other, run_track())
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))  # claims our athlete
    await sync.drain()
    assert await Run.filter(source="strava").count() == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"manual": True}, "strava_manual"),
        ({"trainer": True}, "strava_trainer"),
        ({"flagged": True}, "strava_flagged"),
        ({"sport_type": "EBikeRide", "type": "EBikeRide"}, "strava_ebike"),
        ({"sport_type": "Ride", "type": "Ride"}, "strava_sport"),
    ],
)
async def test_manual_trainer_flagged_ebike_and_other_sports_earn_nothing(
    sync: Sync, fields: dict[str, Any], reason: str
) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track(), **fields)
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    await sync.drain()
    row = await StravaActivity.get(id=activity)
    assert (row.status, row.reason, row.run_id) == ("ineligible", reason, None)
    assert await Run.filter(source="strava").count() == 0


async def test_an_update_that_makes_the_activity_an_ebike_ride_reverses_its_credit(
    sync: Sync,
) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track())
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    await sync.drain()
    sync.strava.update_activity(ATHLETE, activity, sport_type="EBikeRide", type="EBikeRide")
    await sync.post(sync.strava.event(ATHLETE, activity, "update", {"type": "EBikeRide"}))
    await sync.drain()
    row = await StravaActivity.get(id=activity)
    run = await Run.get(id=row.run_id)
    assert row.status == "ineligible" and run.verdict == "rejected"
    async with sync.web.signed_in("resident") as client:
        impact = (await client.get("/api/v1/me/impact")).json()["campaigns"]
    assert sum(c["metres"] for c in impact) == 0


async def test_a_delete_counts_only_once_strava_no_longer_has_the_activity(sync: Sync) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track())
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    await sync.drain()
    forged = sync.strava.event(ATHLETE, activity, "delete")
    await sync.post(forged)
    await sync.drain()
    row = await StravaActivity.get(id=activity)
    assert row.status == "imported"
    sync.strava.delete_activity(ATHLETE, activity)
    await sync.post(
        sync.strava.event(ATHLETE, activity, "delete") | {"event_time": forged["event_time"] + 1}
    )
    await sync.drain()
    row = await StravaActivity.get(id=activity)
    run = await Run.get(id=row.run_id)
    assert row.status == "deleted" and run.verdict == "rejected" and run.line == ""
    assert not await RunFile.filter(run_id=run.id).exists()


async def test_deauthorization_is_checked_with_strava_then_tokens_and_tracks_go(sync: Sync) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track())
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    await sync.drain()
    run_id = (await StravaActivity.get(id=activity)).run_id
    # A forged deauthorization: Strava still honours the tokens, so nothing is forgotten.
    await sync.post(sync.strava.deauthorization_event(ATHLETE))
    await sync.drain()
    assert await StravaAccount.filter(athlete_id=ATHLETE).exists()
    sync.strava.revoke(ATHLETE)
    event = sync.strava.deauthorization_event(ATHLETE) | {"event_time": int(time.time()) + 5}
    await sync.post(event)
    await sync.drain()
    assert not await StravaAccount.filter(athlete_id=ATHLETE).exists()
    assert not await StravaActivity.filter(id=activity).exists()
    run = await Run.get(id=run_id)
    assert run.verdict == "accepted" and run.line == ""  # the credit stays; the track goes
    assert not await RunFile.filter(run_id=run.id).exists()


async def test_an_expired_token_is_refreshed_once_and_the_rotated_refresh_token_stored(
    sync: Sync,
) -> None:
    await connected(sync)
    before = await StravaAccount.get(athlete_id=ATHLETE)
    sync.strava.expire_access_tokens()
    await StravaAccount.filter(id=before.id).update(
        expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    track = run_track()
    ids = [
        sync.strava.add_activity(ATHLETE, track, every=2, start_date=f"20{10 + i}-05-01T06:00:00Z")
        for i in range(4)
    ]
    for a in ids:
        await sync.post(sync.strava.event(ATHLETE, a, "create"))
    await sync.drain()
    assert sync.strava.refreshes == 1  # four jobs, one refresh
    after = await StravaAccount.get(athlete_id=ATHLETE)
    box = TokenBox((), "test-secret")
    assert after.token_version == before.token_version + 1
    assert box.open(after.refresh_token) == sync.strava.athletes[ATHLETE].refresh_token
    assert box.open(after.refresh_token) != box.open(before.refresh_token)


async def test_a_run_uploaded_as_a_file_and_then_synced_is_credited_once(sync: Sync) -> None:
    await connected(sync)
    async with sync.web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(RUN_GPX))
        (uploaded,) = r.json()["files"]
        assert uploaded["status"] == "accepted"
    activity = sync.strava.add_activity(ATHLETE, run_track(), every=3)  # Strava's own sampling
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    await sync.drain()
    row = await StravaActivity.get(id=activity)
    assert row.status == "duplicate" and row.run_id == uploaded["run_id"]
    assert await Run.all().count() == 1


async def test_a_run_synced_and_then_uploaded_as_a_file_is_credited_once(sync: Sync) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track(), every=3)
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    await sync.drain()
    synced = (await StravaActivity.get(id=activity)).run_id
    async with sync.web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(RUN_GPX))
    (outcome,) = r.json()["files"]
    assert outcome["status"] == "error" and outcome["error"]["code"] == "duplicate_run"
    assert f"#{synced}" in outcome["error"]["message"]
    assert await Run.all().count() == 1


def just_before_a_quarter_hour(seconds: float) -> datetime:
    """Run the app's clock at real speed from ``seconds`` before the next quarter hour."""
    now = datetime.now(UTC)
    quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    base, t0 = quarter + timedelta(minutes=15, seconds=-seconds), time.monotonic()
    clock.set_clock(lambda: base + timedelta(seconds=time.monotonic() - t0))
    return quarter + timedelta(minutes=15)


async def test_a_429_defers_the_job_to_the_next_quarter_hour(sync: Sync) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track())
    sync.strava.requests.clear()
    sync.strava.times.clear()
    just_before_a_quarter_hour(0.8)
    sync.strava.fail_next(1, 429)
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    await sync.drain()
    assert (await StravaActivity.get(id=activity)).status == "imported"
    paths = [p for _, p in sync.strava.requests]
    assert paths[:2] == [f"/api/v3/activities/{activity}"] * 2  # refused, then again
    # Nothing was asked between the 429 and the next window.
    assert sync.strava.times[1] - sync.strava.times[0] >= 0.5


async def test_calls_stop_before_the_window_is_used_up(sync: Sync) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track())
    sync.strava.requests.clear()
    sync.strava.times.clear()
    just_before_a_quarter_hour(0.8)
    sync.strava.set_usage(sync.strava.limit[0] - 3, 100)
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    await sync.drain()
    assert (await StravaActivity.get(id=activity)).status == "imported"
    # The first call reported 198 of 200 used: with 5 in reserve the job's next call was not
    # sent; the job waited for the quarter hour and then ran again from the start.
    paths = [p for _, p in sync.strava.requests]
    assert paths == [f"/api/v3/activities/{activity}"] * 2 + [
        f"/api/v3/activities/{activity}/streams"
    ]
    assert sync.strava.times[1] - sync.strava.times[0] >= 0.5


async def test_a_500_from_strava_is_retried(sync: Sync) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track())
    sync.strava.fail_next(1, 500)
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    await sync.drain()
    assert (await StravaActivity.get(id=activity)).status == "imported"


async def test_strava_runs_are_shown_to_their_owner_only(sync: Sync) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track())
    await sync.post(sync.strava.event(ATHLETE, activity, "create"))
    await sync.drain()
    run_id = (await StravaActivity.get(id=activity)).run_id
    async with sync.web.signed_in("resident") as mine:
        assert (await mine.get(f"/api/v1/runs/{run_id}")).status_code == 200
        assert (await mine.get(f"/api/v1/runs/{run_id}/map.svg")).status_code == 200
    async with sync.web.signed_in("admin") as admin:
        assert (await admin.get(f"/api/v1/runs/{run_id}")).status_code == 404
        assert (await admin.get(f"/api/v1/runs/{run_id}/map.svg")).status_code == 404


async def test_disconnecting_revokes_at_strava_and_forgets_the_tokens(sync: Sync) -> None:
    await connected(sync)
    async with sync.web.signed_in("resident") as client:
        r = await client.delete("/api/v1/me/strava")
        assert r.status_code == 200 and r.json() == {"connected": False}
        status = (await client.get("/api/v1/me/strava")).json()
    assert status["connected"] is False
    assert not sync.strava.athletes[ATHLETE].authorized
    assert await StravaAccount.all().count() == 0


async def test_an_event_that_is_not_a_strava_event_is_a_422_and_queues_nothing(sync: Sync) -> None:
    r = await sync.post({"object_type": "route", "aspect_type": "create", "object_id": 1})
    assert r.status_code == 422
    assert await sync.web.app.state.redis.zcard(jobs.QUEUE) == 0


async def test_the_app_runs_the_worker_itself_on_embedded_defaults(
    tmp_path: Path, template: tuple[Path, Site]
) -> None:
    fake = FakeStrava(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    async with serving(fake.app) as url:
        path, site = template
        shutil.copy(path, tmp_path / "web.sqlite3")
        settings = dataclasses.replace(
            settings_for(tmp_path),
            strava=StravaSettings(
                client_id=CLIENT_ID,
                client_secret=Secret(CLIENT_SECRET),
                verify_token=VERIFY,
                token_keys=(),
                api_base=f"{url}/api/v3",
                oauth_base=f"{url}/oauth",
            ),
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            s = Sync(Web(app, site), fake)
            await connected(s)
            activity = fake.add_activity(ATHLETE, run_track())
            await s.post(fake.event(ATHLETE, activity, "create"))
            for _ in range(200):
                row = await StravaActivity.get_or_none(id=activity)
                if row is not None:
                    break
                await asyncio.sleep(0.05)
            assert row is not None and row.status == "imported"


async def test_the_same_event_with_forged_event_times_is_queued_once(sync: Sync) -> None:
    await connected(sync)
    activity = sync.strava.add_activity(ATHLETE, run_track())
    event = sync.strava.event(ATHLETE, activity, "create")
    answers = []
    for shift in range(10):
        answers.append(
            (await sync.post({**event, "event_time": event["event_time"] - shift})).json()
        )
    assert answers.count({"queued": True}) == 1
    await sync.drain()
    assert await Run.filter(source="strava").count() == 1


async def test_events_about_an_athlete_we_do_not_know_are_not_queued(sync: Sync) -> None:
    await connected(sync)
    stranger = 999_002
    r = await sync.post(sync.strava.event(stranger, 123, "create"))
    assert r.status_code == 200 and r.json() == {"queued": False}


async def test_a_flood_of_events_for_one_athlete_is_throttled(sync: Sync) -> None:
    await connected(sync)
    answers = [
        (await sync.post(sync.strava.event(ATHLETE, 5_000_000 + i, "create"))).json()
        for i in range(30)
    ]
    assert answers.count({"queued": True}) == 20
    assert answers[20:] == [{"queued": False}] * 10
