"""Leaderboard benchmark: 1,000,000 residents in 2,000 compounds across four cities.

Populates a SQLite campaign directly with SQL (one credited contribution per resident; rows go
in with executemany because building a million residents through the services would take
hours), rebuilds the boards into a private redis-server, then measures side by side:
rank + score of a random resident (one round trip), top-100, around-me, relay updates per
second, the rebuild, and the same rank computed in SQL (COUNT(*) WHERE score > x on an indexed
column) as the baseline. Last line: one JSON object.
Usage: python bench/leaderboard.py [--residents N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from warmrun import db
from warmrun.leaderboard.boards import Boards
from warmrun.leaderboard.campaigns import clocks, households
from warmrun.leaderboard.rebuild import rebuild
from warmrun.leaderboard.relay import BATCH, apply_call, relay_once
from warmrun.platform import campaigns
from warmrun.platform.models import CampaignState
from warmrun.redis_server import EmbeddedRedis

CITIES = ["CQ", "SZ", "WX", "CD"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


async def setup(path: Path, residents: int, compounds: int) -> int:
    url = f"sqlite://{path}"
    await db.connect(url)
    partner = await campaigns.create_partner(name="bench")
    pack = await campaigns.create_item(
        code="pack", name_zh="温暖包", name_en="pack", unit_price_fen=36_500
    )
    cities = [await campaigns.create_city(code=c, name_zh=c, name_en=c) for c in CITIES]
    c = await campaigns.create_campaign(
        code="bench",
        name="bench",
        partner_id=partner.id,
        goods_id=pack.id,
        starts_on=date(2025, 11, 1),
        ends_on=date(2026, 1, 31),
        city_goals={city.id: 0 for city in cities},
    )
    await campaigns.advance(campaign_id=c.id, to=CampaignState.ACTIVE)
    await db.close()
    rng = random.Random(1)
    con = sqlite3.connect(path)
    con.executemany(
        "INSERT INTO compound (id, city_id, name, households) VALUES (?, ?, ?, ?)",
        [
            (i + 1, cities[i % 4].id, f"compound {i + 1}", rng.randint(300, 3000))
            for i in range(compounds)
        ],
    )
    now = datetime(2025, 11, 20, tzinfo=UTC).isoformat()
    con.executemany(
        "INSERT INTO resident (id, compound_id, display_name, public_board, points_balance, "
        "points_debt, privacy_radius_m, created_at) VALUES (?, ?, ?, 1, 0, 0, 200, ?)",
        ((i + 1, i % compounds + 1, f"r{i + 1}", now) for i in range(residents)),
    )
    start = datetime(2025, 11, 3, tzinfo=UTC)

    def contributions():  # type: ignore[no-untyped-def]
        for i in range(residents):
            cp = i % compounds + 1
            at = start + timedelta(seconds=rng.randint(0, 5 * 86400))
            metres = rng.randint(1000, 42_000)
            yield (
                c.id,
                i + 1,
                "run",
                f"resident:{i + 1}",
                cities[(cp - 1) % 4].id,
                cp,
                at.date().isoformat(),
                "run",
                metres,
                metres // 14,
                metres // 20,
                0,
                f"bench:{i + 1}",
                "0" * 64,
                "0" * 64,
                at.isoformat(),
            )

    con.executemany(
        "INSERT INTO contribution (campaign_id, seq, kind, resident_ref, city_id, compound_id, "
        "local_day, sport, metres, kcal, value_fen, funded_fen, idempotency_key, prev_hash, "
        "hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        contributions(),
    )
    # The SQL baseline: each resident's score in an indexed column.
    con.execute("CREATE TABLE bench_score (resident_id INTEGER PRIMARY KEY, score INTEGER)")
    con.execute(
        "INSERT INTO bench_score SELECT CAST(substr(resident_ref, 10) AS INTEGER), "
        "metres FROM contribution"
    )
    con.execute("CREATE INDEX bench_score_idx ON bench_score (score)")
    con.commit()
    con.close()
    return int(c.id)


async def measure(path: Path, redis: Redis, campaign_id: int, residents: int) -> dict[str, float]:
    await db.connect(f"sqlite://{path}", run_migrations=False)
    boards = Boards(redis)
    before = int((await redis.info("memory"))["used_memory"])
    t0 = time.perf_counter()
    await rebuild(redis, campaign_id)
    rebuild_s = time.perf_counter() - t0
    used = int((await redis.info("memory"))["used_memory"]) - before
    print(
        f"rebuild from SQLite: {rebuild_s:.1f} s; Redis memory {used / 1e6:.0f} MB "
        f"= {used / residents:.0f} bytes per resident (all its boards and windows)"
    )

    rng = random.Random(2)
    rank_ms, top_ms, around_ms = [], [], []
    for _ in range(5000):
        rid = rng.randint(1, residents)
        t = time.perf_counter()
        assert await boards.rank(campaign_id, rid) is not None
        rank_ms.append((time.perf_counter() - t) * 1e3)
    for _ in range(1000):
        t = time.perf_counter()
        await boards.top(campaign_id, "R", limit=100)
        top_ms.append((time.perf_counter() - t) * 1e3)
        rid = rng.randint(1, residents)
        t = time.perf_counter()
        await boards.around(campaign_id, rid)
        around_ms.append((time.perf_counter() - t) * 1e3)
    print(
        f"rank+score: p50 {statistics.median(rank_ms):.3f} ms, p99 {pct(rank_ms, 99):.3f} ms | "
        f"top-100: p99 {pct(top_ms, 99):.3f} ms | around-me: p99 {pct(around_ms, 99):.3f} ms"
    )

    con = sqlite3.connect(path)
    sql_ms = []
    for _ in range(200):
        rid = rng.randint(1, residents)
        t = time.perf_counter()
        (score,) = con.execute(
            "SELECT score FROM bench_score WHERE resident_id = ?", (rid,)
        ).fetchone()
        con.execute("SELECT COUNT(*) FROM bench_score WHERE score > ?", (score,)).fetchone()
        sql_ms.append((time.perf_counter() - t) * 1e3)
    con.close()
    sql_p50 = statistics.median(sql_ms)
    print(
        f"SQL rank (indexed COUNT(*) on SQLite): p50 {sql_p50:.2f} ms | ratio "
        f"{sql_p50 / statistics.median(rank_ms):.0f}x"
    )

    # Updates through the relay's Redis path, in the relay's batches: per batch one read round
    # trip under WATCH, then MULTI/EXEC chunks folded while Redis runs the previous one.
    compounds, cities = await households()
    clock = (await clocks())[campaign_id]
    n_updates = 80_000
    calls = []
    for i in range(n_updates):
        rid = rng.randint(1, residents)
        cp = (rid - 1) % len(compounds) + 1
        calls.append(
            apply_call(
                boards,
                10_000_000 + i,
                {
                    "campaign_id": campaign_id,
                    "resident_id": rid,
                    "compound_id": cp,
                    "city_id": compounds[cp][0],
                    "metres": rng.randint(500, 10_000),
                    "local_day": "2025-11-05",
                    "source": "file",
                    "at": datetime(2025, 11, 5, tzinfo=UTC).timestamp(),
                },
                clock,
                compounds,
                cities,
            )
        )
    await redis.config_resetstat()
    t = time.perf_counter()
    for i in range(0, n_updates, BATCH):
        await boards.apply_many(calls[i : i + BATCH])
    apply_rate = n_updates / (time.perf_counter() - t)
    stats = await redis.info("commandstats")
    redis_us = sum(v["usec"] for k, v in stats.items() if k != "cmdstat_exec") / n_updates
    t = time.perf_counter()
    for i in range(0, n_updates, BATCH):
        assert set(await boards.apply_many(calls[i : i + BATCH])) == {0}
    redelivery_rate = n_updates / (time.perf_counter() - t)
    print(
        f"relay updates: {apply_rate:,.0f}/s (Redis busy {redis_us:.0f} us per update); "
        f"redelivered (no-op): {redelivery_rate:,.0f}/s"
    )

    # The whole relay cycle: read outbox rows from SQLite, apply, mark processed.
    con = sqlite3.connect(path)
    payloads = [
        (
            json.dumps(
                {
                    "campaign_id": campaign_id,
                    "resident_id": rid,
                    "compound_id": (rid - 1) % len(compounds) + 1,
                    "city_id": compounds[(rid - 1) % len(compounds) + 1][0],
                    "metres": 1000,
                    "local_day": "2025-11-06",
                    "source": "file",
                    "at": datetime(2025, 11, 6, tzinfo=UTC).timestamp(),
                }
            ),
        )
        for rid in (rng.randint(1, residents) for _ in range(20_000))
    ]
    created = datetime.now(UTC).isoformat()
    con.executemany(
        "INSERT INTO outbox (topic, payload, created_at) VALUES ('contribution', ?, ?)",
        [(p, created) for (p,) in payloads],
    )
    con.commit()
    con.close()
    t = time.perf_counter()
    done = 0
    while (n := await relay_once(redis)) > 0:
        done += n
    relay_rate = done / (time.perf_counter() - t)
    print(f"full relay cycle (SQLite outbox → Redis → mark processed): {relay_rate:,.0f}/s")
    await db.close()
    return {
        "members": residents,
        "rank_p99_ms": round(pct(rank_ms, 99), 3),
        "top100_p99_ms": round(pct(top_ms, 99), 3),
        "around_me_p99_ms": round(pct(around_ms, 99), 3),
        "updates_per_s": round(apply_rate),
        "redis_us_per_update": round(redis_us, 1),
        "relay_updates_per_s": round(relay_rate),
        "rebuild_s": round(rebuild_s, 2),
        "sql_rank_p50_ms": round(sql_p50, 3),
        "ratio_vs_sql": round(sql_p50 / statistics.median(rank_ms), 1),
        "redis_bytes_per_member": round(used / residents),
    }


async def main_async(residents: int) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="warmrun-lb-"))
    path = home / "bench.sqlite3"
    t = time.perf_counter()
    campaign_id = await setup(path, residents, compounds=2000)
    print(f"populated {residents:,} residents in SQLite in {time.perf_counter() - t:.0f} s")
    server = EmbeddedRedis(home / "redis")
    server.start()
    redis = Redis.from_url(server.url)
    try:
        return await measure(path, redis, campaign_id, residents)
    finally:
        await redis.aclose()
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=1_000_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args.residents))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
