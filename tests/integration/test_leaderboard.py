"""Leaderboards against a real redis-server and the real database."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException

from tests.integration.factory import run_file, upload, world
from tests.local import Backend, Cluster, redis_cluster
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.leaderboard import batch, keys
from warmrun.leaderboard.boards import Boards
from warmrun.leaderboard.campaigns import clocks, households
from warmrun.leaderboard.present import rows
from warmrun.leaderboard.rebuild import rebuild
from warmrun.leaderboard.relay import apply_call, drain, heal, relay_once, run_forever
from warmrun.leaderboard.servers import Client
from warmrun.platform import campaigns, runs
from warmrun.platform.models import Contribution, Outbox
from warmrun.redis_server import EmbeddedRedis
from warmrun.resources import redis_cluster_client

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def redis(backend: Backend) -> AsyncIterator[Client]:
    client = backend.connect()
    await client.flushall()
    yield client
    await client.aclose()


async def test_relay_puts_credited_runs_on_every_board(redis: Client) -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    await upload(w.bob.id, run_file(seed=2, minutes_after=10, points=600))
    assert await drain(redis) == 2
    boards = Boards(redis)
    top, total = await boards.top(w.campaign.id, "R")
    assert total == 2 and [e.member for e in top] == [w.alice.id, w.bob.id]
    metres = sum(c.metres for c in await Contribution.all())
    (compound,), _ = await boards.top(w.campaign.id, "P")
    assert compound.score == metres
    week = keys.week_window(date(2025, 11, 2))
    assert (await boards.top(w.campaign.id, "C", week))[1] == 1
    assert await boards.rank(w.campaign.id, w.bob.id) == (2, top[1].score)


async def test_redelivered_entries_are_applied_once(redis: Client) -> None:
    w = await world()
    for i in range(6):
        await upload(w.alice.id if i % 2 else w.bob.id, run_file(seed=i, minutes_after=90 * i))
    boards = Boards(redis)
    entries = list(await Outbox.all().order_by("id"))
    compounds, cities = await households()
    clock = (await clocks())[w.campaign.id]
    calls = [apply_call(boards, e.id, dict(e.payload), clock, compounds, cities) for e in entries]
    rng = random.Random(7)
    redelivered = [c for c in calls if rng.random() < 0.3] or calls[:2]
    # The first delivery and ~30% redeliveries, all before the outbox is marked processed.
    assert await boards.apply_many(calls) == [1] * len(calls)
    assert set(await boards.apply_many(redelivered)) == {0}
    await drain(redis)  # the relay redelivers everything once more
    incremental = await boards.snapshot(w.campaign.id)
    await rebuild(redis, w.campaign.id)
    assert await boards.snapshot(w.campaign.id) == incremental


async def test_relay_killed_mid_batch_catches_up_exactly(redis: Client) -> None:
    w = await world()
    for i in range(5):
        await upload(w.alice.id, run_file(seed=i, minutes_after=90 * i))
    boards = Boards(redis)
    entries = list(await Outbox.all().order_by("id"))
    compounds, cities = await households()
    clock = (await clocks())[w.campaign.id]
    half = [
        apply_call(boards, e.id, dict(e.payload), clock, compounds, cities) for e in entries[:3]
    ]
    await boards.apply_many(half)  # the process dies here: nothing marked processed
    assert await Outbox.filter(processed_at=None).count() == 5
    await drain(redis)  # restarted relay
    assert await Outbox.filter(processed_at=None).count() == 0
    rank = await boards.rank(w.campaign.id, w.alice.id)
    assert rank is not None
    assert rank[1] == sum(c.metres for c in await Contribution.all())


@pytest.fixture
async def one_server(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    """A client of the single redis-server, for tests that stop and start it."""
    client = Redis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


async def test_redis_down_never_fails_an_import_and_rebuild_restores(
    one_server: Redis, redis_server: EmbeddedRedis
) -> None:
    redis = one_server
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    await drain(redis)
    redis_server.stop()
    (result,) = await upload(w.bob.id, run_file(seed=2, minutes_after=200))
    assert result.outcome is not None and result.outcome.run.verdict == "accepted"
    with pytest.raises((RedisConnectionError, OSError)):
        await relay_once(redis)
    redis_server.start()  # comes back with an empty dataset
    fresh = Redis.from_url(redis_server.url)
    try:
        await fresh.flushall()
        await drain(fresh)
        await rebuild(fresh, w.campaign.id)
        top, total = await Boards(fresh).top(w.campaign.id, "R")
        assert total == 2
        assert sum(e.score for e in top) == sum(c.metres for c in await Contribution.all())
    finally:
        await fresh.aclose()


async def test_a_cluster_node_down_never_fails_an_import_and_the_relay_check_restores(
    tmp_path: Path,
) -> None:
    with redis_cluster(tmp_path / "cluster") as own:
        redis = redis_cluster_client(own.url)
        try:
            w = await world()
            await upload(w.alice.id, run_file(seed=1))
            await drain(redis)
            home = own.ports.index(_node_of(redis, w.campaign.id).port)
            own.stop(home)  # the primary holding the campaign's boards
            (result,) = await upload(w.bob.id, run_file(seed=2, minutes_after=200))
            assert result.outcome is not None and result.outcome.run.verdict == "accepted"
            with pytest.raises((RedisConnectionError, OSError, RedisClusterException)):
                await relay_once(redis)
            assert await Outbox.filter(processed_at=None).count() == 1
            own.start(home)  # back in its place in the cluster, with an empty dataset
            own.wait_healthy()
            await drain(redis, check=True)  # the relay's check finds the boards gone
            top, total = await Boards(redis).top(w.campaign.id, "R")
            assert total == 2
            assert sum(e.score for e in top) == sum(c.metres for c in await Contribution.all())
            assert await Outbox.filter(processed_at=None).count() == 0
        finally:
            await redis.aclose()


def _node_of(redis: RedisCluster, campaign_id: int) -> ClusterNode:
    """The primary that the client's slot map gives the campaign's keys to."""
    node = redis.get_node_from_key(keys.version(campaign_id))
    assert node is not None
    return node


def _migrate(own: Cluster, slot: int, source: int, target: int, names: list[bytes]) -> None:
    """MIGRATE keys of a slot from one node to another (the slot already marked as moving)."""
    if names:
        own.command(source, "MIGRATE", "127.0.0.1", own.ports[target], "", 0, 5000, "KEYS", *names)


async def test_boards_follow_a_campaign_slot_moved_to_another_node(tmp_path: Path) -> None:
    # While the slot is on its way (MIGRATING/IMPORTING, some keys moved), the relay's
    # transaction meets ASK/TRYAGAIN: nothing is applied and the entries wait. Once the slot
    # has moved, its old node answers MOVED: the relay reads the slot map again and applies
    # them on the new owner.
    with redis_cluster(tmp_path / "cluster") as own:
        redis = redis_cluster_client(own.url)
        try:
            w = await world()
            await upload(w.alice.id, run_file(seed=1))
            await drain(redis)
            slot = redis.keyslot(keys.version(w.campaign.id))
            source = own.ports.index(_node_of(redis, w.campaign.id).port)
            target = (source + 1) % len(own.ports)
            ids = {i: own.command(i, "CLUSTER MYID") for i in range(len(own.ports))}
            await upload(w.bob.id, run_file(seed=2, minutes_after=200))

            own.command(target, "CLUSTER SETSLOT", slot, "IMPORTING", ids[source])
            own.command(source, "CLUSTER SETSLOT", slot, "MIGRATING", ids[target])
            board = keys.board(w.campaign.id, "R", "all").encode()
            _migrate(own, slot, source, target, [board])
            assert await relay_once(redis) == 0
            assert await Outbox.filter(processed_at=None).count() == 1

            _migrate(
                own,
                slot,
                source,
                target,
                own.command(source, "CLUSTER GETKEYSINSLOT", slot, 10_000),
            )
            for i in (target, source, *(set(range(len(own.ports))) - {source, target})):
                own.command(i, "CLUSTER SETSLOT", slot, "NODE", ids[target])
            assert _node_of(redis, w.campaign.id).port == own.ports[source]  # a stale map
            assert await drain(redis) == 1
            assert _node_of(redis, w.campaign.id).port == own.ports[target]
            top, total = await Boards(redis).top(w.campaign.id, "R")
            assert total == 2
            assert sum(e.score for e in top) == sum(c.metres for c in await Contribution.all())
            incremental = await Boards(redis).snapshot(w.campaign.id)
            await rebuild(redis, w.campaign.id)
            assert await Boards(redis).snapshot(w.campaign.id) == incremental
        finally:
            await redis.aclose()


async def test_rebuild_equals_incremental_after_random_imports_reviews_and_flush(
    redis: Client,
) -> None:
    w = await world()
    rng = random.Random(2025)
    boards = Boards(redis)
    residents = [w.alice, w.bob]
    residents.append(
        await campaigns.create_resident(compound_id=w.compound_id, display_name="Chen")
    )
    run_ids: list[int] = []
    for step in range(14):
        who = rng.choice(residents)
        (res,) = await upload(
            who.id, run_file(seed=step, minutes_after=95 * step, points=rng.randint(400, 1500))
        )
        if res.outcome is not None:
            run_ids.append(res.outcome.run.id)
        if step == 6:
            await drain(redis)
            await redis.flushall()  # lost mid-way: rebuild must restore it
            await rebuild(redis, w.campaign.id)
        if run_ids and rng.random() < 0.3:
            victim = rng.choice(run_ids)
            run_ids.remove(victim)
            await runs.review(run_id=victim, accept=False, note="random reversal")
        if rng.random() < 0.5:
            await drain(redis)
    await drain(redis)
    incremental = await boards.snapshot(w.campaign.id)
    await rebuild(redis, w.campaign.id)
    assert await boards.snapshot(w.campaign.id) == incremental
    assert incremental  # not trivially empty


async def test_week_and_month_windows_follow_local_midnight(redis: Client) -> None:
    w = await world()
    # Sunday 30 Nov 2025, 23:50 in Shanghai = 15:50 UTC; Monday 1 Dec 00:10 = 16:10 UTC.
    sunday = datetime(2025, 11, 30, 15, 50, tzinfo=UTC)
    monday = datetime(2025, 11, 30, 16, 10, tzinfo=UTC)
    for who, start in ((w.alice, sunday), (w.bob, monday)):
        await upload(who.id, synthetic_run_gpx(points=300, start=start, seed=who.id), "r.gpx")
    await drain(redis)
    boards = Boards(redis)
    week48 = [e.member for e in (await boards.top(w.campaign.id, "R", "w2025-W48"))[0]]
    week49 = [e.member for e in (await boards.top(w.campaign.id, "R", "w2025-W49"))[0]]
    nov = [e.member for e in (await boards.top(w.campaign.id, "R", "m2025-11"))[0]]
    dec = [e.member for e in (await boards.top(w.campaign.id, "R", "m2025-12"))[0]]
    assert (week48, week49, nov, dec) == ([w.alice.id], [w.bob.id], [w.alice.id], [w.bob.id])
    ttl = await redis.ttl(keys.board(w.campaign.id, "R", "w2025-W48"))
    assert ttl == -2 or ttl > 0  # closed weeks expire (already gone, or counting down)
    assert await redis.ttl(keys.board(w.campaign.id, "R", "all")) == -1


async def test_per_capita_and_participation_on_a_hand_computed_example(redis: Client) -> None:
    w = await world()  # compound A: 800 households
    small = await campaigns.create_compound(city_id=w.city_id, name="小区 B", households=100)
    carol = await campaigns.create_resident(compound_id=small.id, display_name="Carol")
    await upload(w.alice.id, run_file(seed=1))
    await upload(w.bob.id, run_file(seed=2, minutes_after=5))
    await upload(carol.id, run_file(seed=3, minutes_after=9, points=600))
    await drain(redis)
    boards = Boards(redis)
    metres = {c.compound_id: 0 for c in await Contribution.all()}
    for c in await Contribution.all():
        metres[c.compound_id] += c.metres
    pc, _ = await boards.top(w.campaign.id, "P", "all", "pc")
    assert {e.member: e.score for e in pc} == {
        w.compound_id: metres[w.compound_id] * 1000 // 800,
        small.id: metres[small.id] * 1000 // 100,
    }
    assert pc[0].member == small.id  # the small compound wins per household
    pr, _ = await boards.top(w.campaign.id, "P", "all", "pr")
    assert {e.member: e.score for e in pr} == {
        w.compound_id: 2 * 1_000_000 // 800,
        small.id: 1 * 1_000_000 // 100,
    }
    city_pr, _ = await boards.top(w.campaign.id, "C", "all", "pr")
    assert city_pr[0].score == 3 * 1_000_000 // 900


async def test_equal_scores_rank_whoever_got_there_first(redis: Client) -> None:
    w = await world()
    boards = Boards(redis)
    compounds, cities = await households()
    clock = (await clocks())[w.campaign.id]
    base = {
        "campaign_id": w.campaign.id,
        "compound_id": w.compound_id,
        "city_id": w.city_id,
        "metres": 5000,
        "local_day": "2025-11-03",
        "source": "file",
    }
    later = datetime(2025, 11, 3, 2, tzinfo=UTC).timestamp()
    earlier = later - 3600
    calls = [
        apply_call(
            boards, 1, {**base, "resident_id": w.bob.id, "at": later}, clock, compounds, cities
        ),
        apply_call(
            boards, 2, {**base, "resident_id": w.alice.id, "at": earlier}, clock, compounds, cities
        ),
    ]
    await boards.apply_many(calls)
    top, _ = await boards.top(w.campaign.id, "R")
    assert [(e.member, e.score) for e in top] == [(w.alice.id, 5000), (w.bob.id, 5000)]


async def test_around_me_shows_five_above_and_below(redis: Client) -> None:
    w = await world()
    boards = Boards(redis)
    compounds, cities = await households()
    clock = (await clocks())[w.campaign.id]
    at = datetime(2025, 11, 3, tzinfo=UTC).timestamp()
    calls = [
        apply_call(
            boards,
            i,
            {
                "campaign_id": w.campaign.id,
                "resident_id": 1000 + i,
                "compound_id": w.compound_id,
                "city_id": w.city_id,
                "metres": 100 * i,
                "local_day": "2025-11-03",
                "source": "file",
                "at": at,
            },
            clock,
            compounds,
            cities,
        )
        for i in range(1, 21)
    ]
    await boards.apply_many(calls)
    around = await boards.around(w.campaign.id, 1010)
    assert [e.member for e in around] == list(range(1015, 1004, -1))
    assert around[5].rank == 11 and around[5].score == 1000


async def test_strava_runs_count_for_compounds_but_not_on_resident_boards(redis: Client) -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=4), "strava.gpx", source="strava")
    await drain(redis)
    boards = Boards(redis)
    assert (await boards.top(w.campaign.id, "R"))[1] == 0
    (compound,), _ = await boards.top(w.campaign.id, "P")
    assert compound.score > 0
    pr, _ = await boards.top(w.campaign.id, "P", "all", "pr")
    assert pr[0].score == 1_000_000 // 800  # still an active resident


async def test_minors_and_opted_out_residents_are_anonymised(redis: Client) -> None:
    w = await world()
    kid = await campaigns.create_resident(
        compound_id=w.compound_id, display_name="小明", birth_year=2015, guardian_id=w.alice.id
    )
    shy = await campaigns.create_resident(
        compound_id=w.compound_id, display_name="Shy", public_board=False
    )
    for i, r in enumerate((w.alice, kid, shy)):
        await upload(r.id, run_file(seed=i, minutes_after=7 * i, points=500 + 100 * i))
    await drain(redis)
    top, _ = await Boards(redis).top(w.campaign.id, "R")
    named = await rows(top, scope="R", metric="m", now=datetime(2025, 11, 3, tzinfo=UTC))
    names = {r["id"]: r["name"] for r in named}
    assert names[w.alice.id] == "Alice"
    assert "小明" not in names[kid.id] and "Shy" not in names[shy.id]
    (compound,), _ = await Boards(redis).top(w.campaign.id, "P")
    assert compound.score == sum(c.metres for c in await Contribution.all())


async def test_reviewed_reversal_leaves_the_boards_within_one_cycle(redis: Client) -> None:
    w = await world()
    (res,) = await upload(w.alice.id, run_file(seed=1))
    await drain(redis)
    assert (await Boards(redis).top(w.campaign.id, "R"))[1] == 1
    await runs.review(run_id=res.outcome.run.id, accept=False, note="car")  # type: ignore[union-attr]
    await relay_once(redis)
    assert (await Boards(redis).top(w.campaign.id, "R"))[1] == 0
    assert (await Boards(redis).top(w.campaign.id, "P"))[1] == 0


async def test_scores_beyond_fourteen_digits_stay_exact(redis: Client) -> None:
    # 3,000 km in one campaign makes a composite score of 15 digits: it must survive the
    # round trip through Redis doubles unchanged.
    w = await world()
    boards = Boards(redis)
    call = boards.apply_args(
        entry_id=1,
        campaign_id=w.campaign.id,
        resident_id=w.alice.id,
        compound_id=w.compound_id,
        city_id=w.city_id,
        delta=3_000_123,
        t=12_345,
        strava=False,
        households=100,
        city_households=100,
        windows=[("all", 0)],
    )
    assert await boards.apply_many([call]) == [1]
    assert await boards.rank(w.campaign.id, w.alice.id) == (1, 3_000_123)
    score = await redis.zscore(keys.board(w.campaign.id, "R", "all"), w.alice.id)
    assert score == keys.compose(3_000_123, 12_345)


async def test_an_entry_repeated_within_one_call_counts_once(redis: Client) -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    boards = Boards(redis)
    (entry,) = await Outbox.all()
    compounds, cities = await households()
    clock = (await clocks())[w.campaign.id]
    call = apply_call(boards, entry.id, dict(entry.payload), clock, compounds, cities)
    assert await boards.apply_many([call, call, call]) == [1, 0, 0]
    await drain(redis)
    incremental = await boards.snapshot(w.campaign.id)
    await rebuild(redis, w.campaign.id)
    assert await boards.snapshot(w.campaign.id) == incremental


async def test_a_backlog_spanning_more_windows_than_one_script_call_takes(redis: Client) -> None:
    w = await world()
    boards = Boards(redis)
    weeks = [f"w2025-W{k:02d}" for k in range(1, 46)]  # 46 windows with "all", over 30
    calls = [
        boards.apply_args(
            entry_id=k,
            campaign_id=w.campaign.id,
            resident_id=w.alice.id,
            compound_id=w.compound_id,
            city_id=w.city_id,
            delta=1000,
            t=k,
            strava=False,
            households=100,
            city_households=100,
            windows=[("all", 0), (week, 0)],
        )
        for k, week in enumerate(weeks, start=1)
    ]
    assert await boards.apply_many(calls) == [1] * len(calls)
    assert await boards.rank(w.campaign.id, w.alice.id) == (1, 1000 * len(weeks))
    for week in weeks:
        assert await boards.rank(w.campaign.id, w.alice.id, week) == (1, 1000)


async def test_only_one_relay_drains_at_a_time(redis: Client) -> None:
    w = await world()
    for i in range(4):
        await upload(w.alice.id if i % 2 else w.bob.id, run_file(seed=i, minutes_after=90 * i))
    held = await redis.set("wr:relay:lock", "another-worker", nx=True, px=60_000)
    assert held
    assert await drain(redis) == 0  # another relay holds the lock
    assert await Outbox.filter(processed_at=None).count() == 4
    await redis.delete("wr:relay:lock")
    assert await drain(redis) == 4
    assert await redis.get("wr:relay:lock") is None  # released afterwards


WINDOWS = [("all", 0), ("w2025-W45", 0), ("w2025-W46", 0), ("m2025-11", 0)]


def mixed_entries(
    campaign_id: int, boards: Boards, n: int = 1200, *, reversals: bool = True
) -> list[Any]:
    """Credits to residents, to compounds without a resident, from Strava, and reversals of
    earlier credits (never more than was credited, as in the database)."""
    rng = random.Random(11)
    windows = WINDOWS
    out: list[Any] = []
    credits: list[dict[str, Any]] = []
    for k in range(1, n + 1):
        if reversals and credits and rng.random() < 0.2:  # a reversal of an earlier credit
            fields = credits.pop(rng.randrange(len(credits)))
            fields = {**fields, "delta": -fields["delta"], "t": rng.randint(0, 10**6)}
        else:
            resident = rng.choice([None, *range(1, 60)])
            compound = rng.randint(1, 7) if resident is None else resident % 7 + 1
            fields = {
                "resident_id": resident,
                "compound_id": compound,
                "city_id": compound % 2 + 1,
                "delta": rng.randint(100, 9000),
                "t": rng.randint(0, 10**6),
                "strava": rng.random() < 0.2,
                "windows": [windows[0], rng.choice(windows[1:3]), windows[3]],
            }
            credits.append(fields)
        out.append(
            boards.apply_args(
                entry_id=k, campaign_id=campaign_id, households=50, city_households=200, **fields
            )
        )
    return out


def normalised(snapshot: dict[str, Any], campaign_id: int) -> dict[str, Any]:
    return {k.removeprefix(keys.prefix(campaign_id)): v for k, v in snapshot.items()}


async def test_a_batch_committed_in_chunks_equals_one_entry_at_a_time(
    redis: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Later chunks are folded from the values read before the earlier ones committed, plus
    # what those wrote; the result must be what applying every entry on its own gives.
    # Strava entries, reversals and residents new to a window take the entry-by-entry path.
    boards = Boards(redis)
    for call in mixed_entries(1, boards):
        assert await boards.apply_many([call]) == [1]
    monkeypatch.setattr(batch, "CHUNK", 97)
    assert await boards.apply_many(mixed_entries(2, boards)) == [1] * 1200
    one_by_one = normalised(await boards.snapshot(1), 1)
    chunked = normalised(await boards.snapshot(2), 2)
    assert one_by_one == chunked
    assert any(":RS:" in k for k in chunked) and any(":ACT:" in k for k in chunked)


async def test_concurrent_appliers_neither_lose_nor_double_count(
    redis: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Four appliers on the same boards at once (a relay whose lock expired, say): a chunk
    # whose boards another one changed after its read does not commit and is read again.
    # Credits only, so that the order they land in cannot matter.
    boards = Boards(redis)
    for call in mixed_entries(2, boards, n=1600, reversals=False):
        assert await boards.apply_many([call]) == [1]
    monkeypatch.setattr(batch, "CHUNK", 50)
    others = [Boards(backend.connect()) for _ in range(4)]
    parts = [mixed_entries(3, boards, n=1600, reversals=False)[i::4] for i in range(4)]
    try:
        results = await asyncio.gather(
            *(b.apply_many(p) for b, p in zip(others, parts, strict=True))
        )
        for b, part, done in zip(others, parts, results, strict=True):
            left = [c for c, r in zip(part, done, strict=True) if r == -1]
            while left:  # what the relay does next cycle with deferred entries
                again = await b.apply_many(left)
                left = [c for c, r in zip(left, again, strict=True) if r == -1]
    finally:
        for b in others:
            await b.redis.aclose()
    assert normalised(await boards.snapshot(3), 3) == normalised(await boards.snapshot(2), 2)


async def test_relay_loop_outlives_a_refusing_redis(redis: Client) -> None:
    # Out of memory, Redis refuses writes: the loop logs, keeps the entries and goes on.
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    await config_set(redis, "maxmemory-policy", "noeviction")
    await config_set(redis, "maxmemory", "1")
    stop = asyncio.Event()
    loop = asyncio.create_task(run_forever(redis, interval=0.05, stop=stop))
    try:
        await asyncio.sleep(0.3)
        assert not loop.done()
        assert await Outbox.filter(processed_at=None).count() == 1
        await config_set(redis, "maxmemory", "0")
        for _ in range(100):
            if await Outbox.filter(processed_at=None).count() == 0:
                break
            await asyncio.sleep(0.05)
        assert await Outbox.filter(processed_at=None).count() == 0
    finally:
        await config_set(redis, "maxmemory", "0")
        stop.set()
        await loop
    assert (await Boards(redis).top(w.campaign.id, "R"))[1] == 1


async def config_set(redis: Client, name: str, value: str) -> None:
    """CONFIG SET on the server, or on every primary of the cluster."""
    if isinstance(redis, RedisCluster):
        await redis.config_set(name, value, target_nodes=RedisCluster.PRIMARIES)
    else:
        await redis.config_set(name, value)


async def _everything(redis: Client, campaign_id: int) -> dict[str, object]:
    """Every board of the campaign with its content, for comparing before and after."""
    out: dict[str, object] = {}
    async for raw in redis.scan_iter(match=f"{keys.prefix(campaign_id)}:*"):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        if key.endswith((":version", ":stamp", ":applied")):
            continue
        kind = await redis.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "zset":
            out[key] = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "hash":
            out[key] = await redis.hgetall(key)  # type: ignore[misc]
    return out


async def test_boards_lost_with_redis_are_rebuilt_by_the_relay_check(redis: Client) -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    await upload(w.bob.id, run_file(seed=2, minutes_after=10, points=600))
    await drain(redis)
    before = await _everything(redis, w.campaign.id)
    assert before
    await redis.flushall()  # Redis came back empty after a crash
    assert await heal(redis) == [w.campaign.id]
    assert await _everything(redis, w.campaign.id) == before


async def test_boards_missing_their_last_writes_are_rebuilt(redis: Client) -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    await drain(redis)
    await upload(w.bob.id, run_file(seed=2, minutes_after=10, points=600))
    stamp = await redis.get(keys.stamp(w.campaign.id))
    await drain(redis)
    before = await _everything(redis, w.campaign.id)
    # Redis restarted from an append-only file one write short: Bob's run and the stamp that
    # covered it are gone, while the ledger marked it applied.
    await redis.zrem(keys.board(w.campaign.id, "R", "campaign"), str(w.bob.id))
    await redis.set(keys.stamp(w.campaign.id), stamp or b"0")
    assert await heal(redis) == [w.campaign.id]
    assert await _everything(redis, w.campaign.id) == before


async def test_boards_that_hold_everything_are_left_alone(redis: Client) -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    await drain(redis)
    assert await heal(redis) == []
    await rebuild(redis, w.campaign.id)
    assert await heal(redis) == []


async def test_the_relay_loop_checks_the_boards_when_it_starts(redis: Client) -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    await drain(redis)
    before = await _everything(redis, w.campaign.id)
    await redis.flushall()
    stop = asyncio.Event()
    loop = asyncio.create_task(run_forever(redis, interval=0.05, stop=stop))
    for _ in range(200):
        if await _everything(redis, w.campaign.id) == before:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await loop
    assert await _everything(redis, w.campaign.id) == before


async def test_the_embedded_redis_keeps_its_boards_through_a_kill_9(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    client = Redis.from_url(server.start())
    try:
        await client.zadd("wr:c{1}:R:campaign", {"7": 1234})
        await client.set("wr:c{1}:stamp", "42")
        await asyncio.sleep(1.5)  # appendfsync everysec: the write reaches the file
        assert server.process is not None
        server.process.kill()  # no shutdown snapshot
        server.process.wait()
        await client.aclose()
        client = Redis.from_url(server.start())
        assert await client.zscore("wr:c{1}:R:campaign", "7") == 1234
        assert await client.get("wr:c{1}:stamp") == b"42"
    finally:
        await client.aclose()
        server.stop()


async def test_a_redis_server_orphaned_by_a_killed_app_is_ended_before_a_new_one_starts(
    tmp_path: Path,
) -> None:
    first = EmbeddedRedis(tmp_path / "redis")
    first.start()
    assert first.process is not None
    orphan = first.process  # the app that started it died with kill -9: nobody stops it
    client = Redis.from_url(first.url)
    await client.set("kept", "1")
    await client.aclose()
    second = EmbeddedRedis(tmp_path / "redis")
    try:
        client = Redis.from_url(second.start())
        assert orphan.wait(timeout=10) is not None  # ended, not left writing the same files
        assert await client.get("kept") == b"1"
        await client.aclose()
    finally:
        second.stop()
