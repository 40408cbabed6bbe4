"""Rate-limit counters in a real Redis: one redis-server and a Redis Cluster alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.local import Backend
from warmrun.leaderboard.servers import Client
from warmrun.platform.errors import RateLimited
from warmrun.redis_server import EmbeddedRedis
from warmrun.web import ratelimit


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
    ratelimit.LOCAL.values.clear()
    yield client
    await client.aclose()
    ratelimit.LOCAL.values.clear()


async def _counters(redis: Client) -> list[str]:
    return sorted([k.decode() async for k in redis.scan_iter(match="wr:rl:*")])


async def test_a_limit_refuses_past_its_count_and_its_counter_expires_with_the_window(
    redis: Client,
) -> None:
    limit = ratelimit.Limit("probe", 3, 3600)
    for _ in range(3):
        await ratelimit.check(redis, limit, "someone")
    with pytest.raises(RateLimited) as refused:
        await ratelimit.check(redis, limit, "someone")
    assert 1 <= refused.value.params["retry_after"] <= 3600
    (key,) = await _counters(redis)
    assert await redis.get(key) == b"4"
    assert 0 < await redis.ttl(key) <= 3605  # counted and armed together
    await ratelimit.check(redis, limit, "someone else")  # per caller, not global
    assert not ratelimit.LOCAL.values  # counted in Redis, not in this process


async def test_concurrent_attempts_are_each_counted_once(redis: Client) -> None:
    limit = ratelimit.Limit("burst", 20, 3600)
    outcomes = await asyncio.gather(
        *(ratelimit.check(redis, limit, "bot") for _ in range(50)), return_exceptions=True
    )
    assert sum(1 for o in outcomes if isinstance(o, RateLimited)) == 30
    (key,) = await _counters(redis)
    assert await redis.get(key) == b"50"


async def test_failed_sign_ins_back_off_expire_and_clear(redis: Client) -> None:
    ident = await ratelimit.sign_in_allowed(redis, email=" Alice@Example.org", address="a")
    for _ in range(ratelimit.SIGN_IN.free):
        await ratelimit.sign_in_failed(redis, ident)
    ratelimit.LOCAL.values.clear()  # the wait must come from Redis
    with pytest.raises(RateLimited):
        await ratelimit.sign_in_allowed(redis, email="alice@example.org", address="b")
    key = ratelimit._fail_key(ident)
    assert await redis.hget(key, "count") == str(ratelimit.SIGN_IN.free).encode()  # type: ignore[misc]
    assert 0 < await redis.ttl(key) <= ratelimit.SIGN_IN.forget_s
    await ratelimit.sign_in_succeeded(redis, ident)
    assert await redis.exists(key) == 0
    await ratelimit.sign_in_allowed(redis, email="alice@example.org", address="c")
