"""Campaign totals at scale: the partner dashboard and the public campaign page over a million
contributions, and what keeping the totals costs an upload.

1. On a throw-away PostgreSQL, durable as in production (fsync and synchronous_commit on),
   builds a four-city campaign with 2,000 compounds and 200,000 residents, and loads 1,000,000
   contributions into its ledger in bulk (COPY), each with its hash chained as crediting would
   write it. Pledge allocations and points are not loaded: they play no part in the totals.
2. Rebuilds the campaign's totals from that ledger (``rollups.rebuild``), times it, and checks
   them (``rollups.check``, as ``warmrun campaign verify`` does). For scale: one SQL aggregate
   over the ledger (what any page computing totals per request would at least pay).
3. Rebuilds the boards (``warmrun leaderboard rebuild``), starts ``warmrun serve --workers 2``
   and requests, one after the other: the partner dashboard API
   (``/api/v1/campaigns/CODE/dashboard``), the public campaign page (``/c/CODE``, HTML with its
   boards) and the public campaign API. Reports p50 and p99.
4. Import slowdown: runs ``bench/http_import.py --skip-hostile`` alternately against this tree
   and against the same code without the totals (a git worktree of ``--baseline-ref``, HEAD by
   default, whose ``rollups.add_entry`` returns at once), twice each, and compares the median
   throughputs.

Targets: dashboard API p99 <= 10 ms, public page p99 <= 50 ms, import slowdown <= 10 %.
Last line: JSON with ``contributions``, ``dashboard_p99_ms``, ``page_p99_ms``,
``import_slowdown_pct`` and the rest of the figures.

Usage: python bench/totals.py [--contributions 1000000] [--residents 200000]
       [--compounds 2000] [--requests 400] [--import-seconds 15] [--import-rounds 2]
       [--baseline-ref REF] [--skip-import]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from warmrun import db
from warmrun.platform import accounts, campaigns, rollups
from warmrun.platform.ledger import GENESIS, entry_hash
from warmrun.platform.models import Account, CampaignState, Role

ROOT = Path(__file__).resolve().parents[1]
CITIES = [
    ("CQ", "重庆", "Chongqing", 29.563, 106.551),
    ("SZ", "苏州", "Suzhou", 31.299, 120.585),
    ("WX", "无锡", "Wuxi", 31.491, 120.312),
    ("CD", "成都", "Chengdu", 30.572, 104.066),
]
START = date(2025, 11, 1)
DAYS = 61
# The import baseline: this commit's code, with the totals' writes taken out.
BASELINE_REF = "HEAD"
NO_TOTALS = (
    "    ch = entry_changes(e)\n",
    "    return  # baseline: no totals\n    ch = entry_changes(e)\n",
)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


async def seed(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The campaign, its places and residents, a million ledger entries, and the totals."""
    await db.connect(url)
    try:
        partner = await campaigns.create_partner(name="One Foundation")
        coat = await campaigns.create_item(
            code="coat", name_zh="棉服", name_en="Coat", unit_price_fen=12_000
        )
        pack = await campaigns.create_bundle(
            code="warm-pack", name_zh="温暖包", name_en="Warm pack", price_fen=36_500,
            lines=[(coat.id, 1)],
        )  # fmt: skip
        cities = [
            await campaigns.create_city(code=c, name_zh=zh, name_en=en, lat=lat, lon=lon)
            for c, zh, en, lat, lon in CITIES
        ]
        campaign = await campaigns.create_campaign(
            code="bench",
            name="四城公益跑",
            partner_id=partner.id,
            goods_id=pack.id,
            starts_on=START,
            ends_on=START + timedelta(days=DAYS - 1),
            city_goals={c.id: 36_500_000 for c in cities},
        )
        await campaigns.set_rule(campaign_id=campaign.id, sport="run", fen=50, per=1000)
        await campaigns.set_points_rule(campaign_id=campaign.id, points_per_km=10)
        await campaigns.add_pledge(campaign_id=campaign.id, sponsor="Sponsor", cap_fen=10**13)
        await campaigns.advance(campaign_id=campaign.id, to=CampaignState.ACTIVE)
        admin = await Account.create(
            email="admin@bench.example",
            password_hash=await accounts.hash_password("bench-password"),
            role=Role.ADMIN,
        )
        token = (await accounts.issue_token(account_id=admin.id, name="bench")).token
    finally:
        await db.close()

    t = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        city_ids = [c.id for c in cities]
        await conn.copy_records_to_table(
            "compound",
            records=[
                (city_ids[i % 4], f"小区{i:04d}", 500 + i % 700) for i in range(args.compounds)
            ],
            columns=["city_id", "name", "households"],
        )
        compounds = [
            (r["id"], r["city_id"])
            for r in await conn.fetch("SELECT id, city_id FROM compound ORDER BY id")
        ]
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "resident",
            records=[
                (compounds[i % len(compounds)][0], f"跑者{i}", True, 0, 0, 200, now)
                for i in range(args.residents)
            ],
            columns=[
                "compound_id", "display_name", "public_board", "points_balance", "points_debt",
                "privacy_radius_m", "created_at",
            ],
        )  # fmt: skip
        residents = [
            (r["id"], r["compound_id"])
            for r in await conn.fetch("SELECT id, compound_id FROM resident ORDER BY id")
        ]
        city_of = dict(compounds)
        rng = random.Random(7)
        head, seq, rows = GENESIS, 0, []
        funded_total = 0
        for _ in range(args.contributions):
            # Some residents run most days, most now and then (a long tail).
            rid, compound_id = residents[int(len(residents) * rng.random() ** 2)]
            metres = rng.randint(1_000, 12_000)
            value = metres * 50 // 1000
            seq += 1
            fields = {
                "campaign_id": campaign.id,
                "seq": seq,
                "kind": "run",
                "run_id": None,
                "resident_ref": f"resident:{rid}",
                "city_id": city_of[compound_id],
                "compound_id": compound_id,
                "local_day": START + timedelta(days=rng.randrange(DAYS)),
                "sport": "run",
                "metres": metres,
                "kcal": metres * 60 // 1000,
                "value_fen": value,
                "funded_fen": value,
                "idempotency_key": f"bench:{seq}",
            }
            digest = entry_hash(head, fields)
            rows.append((*fields.values(), head, digest, now))
            head = digest
            funded_total += value
        await conn.copy_records_to_table(
            "contribution",
            records=rows,
            columns=[*fields.keys(), "prev_hash", "hash", "created_at"],
        )
        await conn.execute(
            "UPDATE campaign SET head_seq = $1, head_hash = $2 WHERE id = $3",
            seq,
            head,
            campaign.id,
        )
        await conn.execute(
            "UPDATE sponsor_pledge SET allocated_fen = $1 WHERE campaign_id = $2",
            funded_total,
            campaign.id,
        )
        await conn.execute("ANALYZE")
        loaded_s = time.perf_counter() - t
        t = time.perf_counter()
        await conn.fetch(
            "SELECT city_id, compound_id, SUM(metres), SUM(value_fen), SUM(funded_fen),"
            " COUNT(DISTINCT resident_ref) FROM contribution WHERE campaign_id = $1"
            " GROUP BY city_id, compound_id",
            campaign.id,
        )
        scan_ms = (time.perf_counter() - t) * 1e3
    finally:
        await conn.close()

    await db.connect(url, run_migrations=False)
    try:
        t = time.perf_counter()
        await rollups.rebuild(campaign.id)
        rebuild_s = time.perf_counter() - t
        t = time.perf_counter()
        wrong = await rollups.check(campaign.id)
        check_s = time.perf_counter() - t
        if wrong:
            raise SystemExit(f"totals differ from the ledger: {wrong}")
    finally:
        await db.close()
    return {
        "token": token,
        "loaded_s": loaded_s,
        "ledger_scan_ms": scan_ms,
        "rebuild_s": rebuild_s,
        "check_s": check_s,
    }


class LeanGet:
    """GET over one kept-alive HTTP/1.1 connection, parsed by hand (Content-Length or
    chunked): the client takes a few microseconds of the two cores per request, so the
    latency measured is the server's, not a client library's."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head = f"Host: {host}:{port}\r\n{extra}\r\n"

    def get(self, path: str) -> tuple[int, bytes]:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\n{self.head}".encode())
        status = int(self.file.readline().split()[1])
        headers: dict[str, str] = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        if "content-length" in headers:
            return status, self.file.read(int(headers["content-length"]))
        parts = []
        while size := int(self.file.readline().strip(), 16):
            parts.append(self.file.read(size))
            self.file.readline()
        self.file.readline()
        return status, b"".join(parts)

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def timed_gets(port: int, path: str, n: int, headers: dict[str, str]) -> tuple[list[float], int]:
    """Latencies (ms) of ``n`` GETs of ``path`` after a warm-up, and the answer's size."""
    client = LeanGet("127.0.0.1", port, headers)
    try:
        for _ in range(20):  # warm-up: the connection, caches, prepared statements
            status, body = client.get(path)
            if status != 200:
                raise SystemExit(f"{path}: {status} {body[:200]!r}")
        out = []
        for _ in range(n):
            t = time.perf_counter()
            status, body = client.get(path)
            out.append((time.perf_counter() - t) * 1e3)
            if status != 200:
                raise SystemExit(f"{path}: {status}")
        return out, len(body)
    finally:
        client.close()


def serve_and_measure(url: str, home: Path, token: str, n: int) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": url, "WARMRUN_HOME": str(home)}
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "warmrun.cli", "leaderboard", "rebuild", "bench"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    boards_s = time.perf_counter() - t
    port = 27000 + os.getpid() % 10000
    server = subprocess.Popen(
        [sys.executable, "-m", "warmrun.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(home / "serve.log").open("wb"),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(600):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            auth = {"Authorization": f"Bearer {token}"}
            dashboard, size = timed_gets(port, "/api/v1/campaigns/bench/dashboard", n, auth)
            page, _ = timed_gets(port, "/c/bench", n, {"Accept-Language": "zh-CN"})
            public, _ = timed_gets(port, "/api/v1/campaigns/bench", n, {})
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "boards_rebuild_s": round(boards_s, 1),
        "dashboard_p50_ms": round(statistics.median(dashboard), 2),
        "dashboard_p99_ms": round(pct(dashboard, 99), 2),
        "dashboard_bytes": size,
        "page_p50_ms": round(statistics.median(page), 2),
        "page_p99_ms": round(pct(page, 99), 2),
        "public_api_p50_ms": round(statistics.median(public), 2),
        "public_api_p99_ms": round(pct(public, 99), 2),
    }


def import_rate(tree: Path, seconds: float) -> float:
    """Uploads per second of bench/http_import.py (this tree's script) with ``tree``'s code."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/http_import.py"),
            "--skip-hostile",
            "--seconds",
            str(seconds),
            "--files",
            "1200",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tree,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return float(result["uploads_per_s"])


def import_slowdown(ref: str, seconds: float, rounds: int) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="warmrun-baseline-")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), ref],
        check=True,
        capture_output=True,
    )
    rollups = base / "warmrun/platform/rollups.py"
    text = rollups.read_text()
    if NO_TOTALS[0] not in text:
        raise SystemExit(f"cannot take the totals out of {ref}: add_entry changed")
    rollups.write_text(text.replace(NO_TOTALS[0], NO_TOTALS[1], 1))
    try:
        with_totals: list[float] = []
        without: list[float] = []
        for _ in range(rounds):  # alternate, so drift in the machine hits both alike
            without.append(import_rate(base, seconds))
            with_totals.append(import_rate(ROOT, seconds))
            print(f"uploads/s without totals {without[-1]}, with totals {with_totals[-1]}")
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False
        )
    a, b = statistics.median(without), statistics.median(with_totals)
    return {
        "import_baseline_ref": ref,
        "uploads_per_s_without_totals": round(a, 1),
        "uploads_per_s_with_totals": round(b, 1),
        "import_runs": {"without": without, "with": with_totals},
        "import_slowdown_pct": round(100 * (a - b) / a, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contributions", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument("--compounds", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--import-seconds", type=float, default=15)
    parser.add_argument("--import-rounds", type=int, default=2)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="warmrun-totals-"))
    os.chmod(home, 0o755)  # noqa: S103 - the postgres user must reach its data directory
    pg_dir = home / "pg"
    port = 24000 + os.getpid() % 10000
    url = subprocess.check_output(
        [str(ROOT / "scripts/postgres"), "start", str(pg_dir), str(port), "durable"], text=True
    ).strip()
    try:
        t = time.perf_counter()
        seeded = asyncio.run(seed(url, args))
        print(
            f"{args.contributions} contributions, {args.residents} residents, "
            f"{args.compounds} compounds ready in {time.perf_counter() - t:.0f} s "
            f"(bulk load {seeded['loaded_s']:.0f} s); totals rebuilt from the ledger in "
            f"{seeded['rebuild_s']:.1f} s and checked in {seeded['check_s']:.1f} s; "
            f"one aggregate over the ledger takes {seeded['ledger_scan_ms']:.0f} ms"
        )
        served = serve_and_measure(url, home / "app", seeded["token"], args.requests)
        print(
            f"dashboard API p50 {served['dashboard_p50_ms']} ms, p99 "
            f"{served['dashboard_p99_ms']} ms ({served['dashboard_bytes']} bytes); public page "
            f"p50 {served['page_p50_ms']} ms, p99 {served['page_p99_ms']} ms; public API p50 "
            f"{served['public_api_p50_ms']} ms, p99 {served['public_api_p99_ms']} ms"
        )
    finally:
        subprocess.run([str(ROOT / "scripts/postgres"), "stop", str(pg_dir)], check=False)
        shutil.rmtree(home, ignore_errors=True)
    result: dict[str, Any] = {
        "contributions": args.contributions,
        "residents": args.residents,
        "compounds": args.compounds,
        "dashboard_p99_ms": served["dashboard_p99_ms"],
        "page_p99_ms": served["page_p99_ms"],
        "import_slowdown_pct": None,
        "totals_rebuild_s": round(seeded["rebuild_s"], 1),
        "totals_check_s": round(seeded["check_s"], 1),
        "ledger_aggregate_ms": round(seeded["ledger_scan_ms"], 1),
        **served,
    }
    if not args.skip_import:
        result.update(import_slowdown(args.baseline_ref, args.import_seconds, args.import_rounds))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
