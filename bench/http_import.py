"""HTTP import benchmark: uploads of one-hour (3,600-point) runs through the real app.

Starts `warmrun serve` (uvicorn, ``--workers`` processes, each with its sandboxed parse
workers) on PostgreSQL and a private Redis, then concurrent clients on loopback upload distinct
files for distinct residents (bearer tokens) for a fixed time: half GPX, half FIT, as watches
write them. The clients speak HTTP/1.1 on raw sockets so that they take little of the two
cores. It also reports the CPU time each program (app, parse workers, postgres, redis, clients,
kernel writeback) spent per upload, and how long gpxpy takes to parse each GPX file alone.

Then the hostile files (tests/hostile_files.py, tests/hostile_fit.py: unclosed tags, one huge
token, deep nesting, looping FIT definitions...) are uploaded one at a time while a health
check is polled: it reports the slowest hostile upload and the longest health-check answer
meanwhile. Last line: one JSON object.

Usage: python bench/http_import.py [--database-url postgres://...] [--seconds 20]
       [--clients 4] [--workers 2] [--skip-hostile]. Without --database-url a throw-away
       PostgreSQL is started with scripts/postgres, durable (fsync and synchronous_commit on)
       as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import gpxpy
import httpx
from tortoise import Tortoise

from warmrun import db
from warmrun.integrations.synthetic import synthetic_run_fit, synthetic_run_gpx
from warmrun.platform import accounts, campaigns
from warmrun.platform.models import Account, CampaignState, Role

ROOT = Path(__file__).resolve().parents[1]
POINTS = 3600


def cpu_by_program() -> dict[str, float]:
    """CPU seconds (user + system) of every process on the machine, summed by program name:
    the app's workers, postgres and redis-server share the two cores with the clients."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def machine_cpu() -> list[int]:
    """The machine's CPU time counters (/proc/stat): user nice system idle iowait irq softirq
    steal, in ticks."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


def idle_share(before: list[int], after: list[int]) -> tuple[float, float]:
    """(idle, steal) as percentages of the two cores over the measured window: idle means the
    load could not keep the cores busy (waits on locks or replies), steal means the host did."""
    d = [b - a for a, b in zip(before, after, strict=True)]
    total = max(sum(d), 1)
    return 100 * (d[3] + d[4]) / total, 100 * d[7] / total


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


async def seed(url: str, residents: int) -> tuple[list[str], dict[str, str]]:
    """A campaign, one compound, ``residents`` residents with an API token each."""
    await db.connect(url)
    try:
        partner = await campaigns.create_partner(name="bench")
        pack = await campaigns.create_item(
            code="pack", name_zh="温暖包", name_en="pack", unit_price_fen=36_500
        )
        city = await campaigns.create_city(
            code="SZ", name_zh="苏州", name_en="Suzhou", lat=31.2989, lon=120.5853
        )
        compound = await campaigns.create_compound(city_id=city.id, name="bench", households=5000)
        c = await campaigns.create_campaign(
            code="bench",
            name="bench",
            partner_id=partner.id,
            goods_id=pack.id,
            starts_on=date(2025, 1, 1),
            ends_on=date(2026, 12, 31),
            city_goals={city.id: 0},
        )
        await campaigns.set_rule(campaign_id=c.id, sport="run", fen=50, per=1000)
        await campaigns.set_points_rule(campaign_id=c.id, points_per_km=10, points_per_run=5)
        await campaigns.add_pledge(campaign_id=c.id, sponsor="bench", cap_fen=10**12)
        await campaigns.advance(campaign_id=c.id, to=CampaignState.ACTIVE)
        hashed = await accounts.hash_password("bench-password")
        tokens = []
        for i in range(residents):
            r = await campaigns.create_resident(compound_id=compound.id, display_name=f"r{i}")
            a = await Account.create(
                email=f"r{i}@bench.example",
                password_hash=hashed,
                role=Role.RESIDENT,
                resident_id=r.id,
            )
            tokens.append((await accounts.issue_token(account_id=a.id, name="bench")).token)
        conn = Tortoise.get_connection("default")
        rows = await conn.execute_query_dict(
            "SELECT current_setting('fsync') AS fsync, "
            "current_setting('synchronous_commit') AS synchronous_commit"
        )
        return tokens, {k: str(v) for k, v in rows[0].items()}
    finally:
        await db.close()


def _fit_file(i: int) -> bytes:
    day = date(2025, 1, 1) + timedelta(days=i // 20)
    start = datetime(day.year, day.month, day.day, i % 20, 30, tzinfo=UTC)
    return synthetic_run_fit(points=POINTS, start=start, seed=i % 20 + 101)


class Files:
    """Distinct files: even uploads GPX, odd ones FIT. GPX cheaply, 20 generated recordings
    (one per start hour) each re-dated to a different day; FIT files generated before the
    load (on both cores). Every file differs in bytes and in its points fingerprint."""

    def __init__(self, count: int) -> None:
        self.bases = [
            synthetic_run_gpx(
                points=POINTS, start=datetime(2025, 6, 1, h, 0, tzinfo=UTC), seed=h + 1
            )
            for h in range(20)
        ]
        with ProcessPoolExecutor(2) as pool:
            self.fit = dict(
                zip(
                    range(1, count, 2),
                    pool.map(_fit_file, range(1, count, 2), chunksize=16),
                    strict=True,
                )
            )

    @staticmethod
    def name(i: int) -> str:
        return f"run-{i}.fit" if i % 2 else f"run-{i}.gpx"

    def __getitem__(self, i: int) -> bytes:
        if i % 2:
            return self.fit[i]
        day = date(2025, 1, 1) + timedelta(days=i // len(self.bases))
        return self.bases[i % len(self.bases)].replace(b"2025-06-01T", f"{day}T".encode())


def gpxpy_parse_ms(files: Files) -> float:
    times = []
    for data in files.bases[:15]:
        t = time.perf_counter()
        gpxpy.parse(data.decode())
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


BOUNDARY = "warmrun-bench-boundary"


class Uploader:
    """A lean HTTP/1.1 client, one connection per upload: the request (multipart by hand)
    and the response (Content-Length or chunked) without a client library, so that the load
    generator takes as little as possible of the two cores the server runs on."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_file(self, token: str, name: str, data: bytes) -> tuple[int, bytes]:
        # A connection per upload, as residents' phones each open their own: with a few
        # long-lived connections the kernel may hand three of four to one worker process and
        # leave the other idle, which measures that luck rather than the server.
        await self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = b"".join(
            [
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="{name}"\r\nContent-Type: application/gpx+xml\r\n\r\n'.encode(),
                data,
                f"\r\n--{BOUNDARY}--\r\n".encode(),
            ]
        )
        head = (
            f"POST /api/v1/runs HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.writelines([head.encode(), body])
        await self.writer.drain()
        status_line = await self.reader.readline()
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        if "content-length" in headers:
            payload = await self.reader.readexactly(int(headers["content-length"]))
        else:  # chunked
            parts = []
            while size := int((await self.reader.readline()).strip(), 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            payload = b"".join(parts)
        return int(status_line.split()[1]), payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()
            self.reader = self.writer = None


async def load(
    base: str, tokens: list[str], files: Files, first: int, seconds: float, clients: int
) -> tuple[list[float], int, float, list[int]]:
    latencies: list[float] = []
    done: list[int] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(first, first + len(tokens)):
        queue.put_nowait(i)
    deadline = time.perf_counter() + seconds
    host, port = base.removeprefix("http://").split(":")

    async def client() -> None:
        nonlocal errors
        uploader = Uploader(host, int(port))
        try:
            while time.perf_counter() < deadline and not queue.empty():
                i = queue.get_nowait()
                t = time.perf_counter()
                status, body = await uploader.post_file(tokens[i - first], files.name(i), files[i])
                latencies.append((time.perf_counter() - t) * 1e3)
                done.append(i)
                if status != 200 or json.loads(body)["files"][0]["status"] != "accepted":
                    errors += 1
        finally:
            await uploader.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, errors, time.perf_counter() - t0, done


def hostile_catalogue(size: int) -> dict[str, bytes]:
    """The test suite's hostile files at about ``size`` bytes each."""
    sys.path.insert(0, str(ROOT))
    from tests import hostile_files, hostile_fit

    made = {f"gpx:{k}": make(size) for k, make in hostile_files.GPX_CATALOGUE.items()}
    made.update({f"tcx:{k}": make(size) for k, make in hostile_files.TCX_CATALOGUE.items()})
    made.update({f"fit:{k}": make(size) for k, make in hostile_fit.GENERATORS.items()})
    return made


async def hostile_uploads(base: str, tokens: list[str], size: int = 1 << 20) -> dict[str, object]:
    """Each hostile file uploaded alone while /healthz is polled: the slowest upload and the
    longest health answer meanwhile (the event loop must never wait for a parser)."""
    host, port = base.removeprefix("http://").split(":")
    # The reported attack first, then the suite's hostile files.
    catalogue = {"gpx:link-attack-302KB": link_attack(), **hostile_catalogue(size)}
    stalls: list[float] = []
    stop = asyncio.Event()

    async def poll() -> None:
        async with httpx.AsyncClient(base_url=base) as client:
            while not stop.is_set():
                t = time.perf_counter()
                await client.get("/healthz")
                stalls.append((time.perf_counter() - t) * 1e3)
                await asyncio.sleep(0.01)

    poller = asyncio.create_task(poll())
    await asyncio.sleep(0.2)
    times: dict[str, float] = {}
    codes: dict[str, str] = {}
    uploader = Uploader(host, int(port))
    try:
        for i, (name, data) in enumerate(catalogue.items()):
            # Spread over residents: one resident may upload 60 times an hour.
            token = tokens[i % len(tokens)]
            t = time.perf_counter()
            status, body = await uploader.post_file(token, name.replace(":", "-"), data)
            times[name] = (time.perf_counter() - t) * 1e3
            outcome = json.loads(body)
            first = (outcome.get("files") or [{}])[0]
            codes[name] = (first.get("error") or {}).get("code") or first.get("status", status)
    finally:
        await uploader.close()
        stop.set()
        await poller
    worst = max(times, key=lambda k: times[k])
    for name in sorted(times, key=lambda k: -times[k])[:8]:
        print(f"hostile {name}: {times[name]:.0f} ms -> {codes[name]}")
    print(
        f"{len(times)} hostile files of ~{size >> 10} KiB: slowest {worst} {times[worst]:.0f} ms; "
        f"longest health answer meanwhile {max(stalls):.1f} ms "
        f"(p50 {statistics.median(stalls):.1f})"
    )
    return {
        "hostile_files": len(times),
        "hostile_worst": worst,
        "hostile_worst_ms": round(times[worst], 1),
        "link_attack_ms": round(times["gpx:link-attack-302KB"], 1),
        "link_attack_outcome": codes["gpx:link-attack-302KB"],
        "health_max_ms_during_hostile": round(max(stalls), 1),
    }


def link_attack() -> bytes:
    """The reported attack: a 302 KB GPX whose <trk> holds 50,000 unclosed <link tags."""
    return (
        b'<?xml version="1.0"?><gpx version="1.1" creator="x"><trk>'
        + b"<link " * 50_000
        + b'<trkseg><trkpt lat="31.3" lon="120.6"><time>2025-06-01T00:00:00Z</time></trkpt>'
        + b"</trkseg></trk></gpx>"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--seconds", type=float, default=20)
    # Four clients keep both workers busy; more only queue (latency = clients / throughput).
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--files", type=int, default=1600)
    parser.add_argument("--workers", type=int, default=2)
    # Throughput only (bench/totals.py compares it across two versions of the code).
    parser.add_argument("--skip-hostile", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="warmrun-http-"))
    pg_dir = None
    url = args.database_url
    if url is None:
        pg_dir = home / "pg"
        os.chmod(home, 0o755)  # noqa: S103 - the postgres user must reach its data directory
        port = 25000 + os.getpid() % 10000
        url = subprocess.check_output(
            [str(ROOT / "scripts/postgres"), "start", str(pg_dir), str(port), "durable"],
            text=True,
        ).strip()
    server = None
    try:
        t = time.perf_counter()
        files = Files(args.files)
        tokens, pg = asyncio.run(seed(url, args.files))
        print(
            f"files of {POINTS} points (GPX {len(files[0]) // 1024} KiB, "
            f"FIT {len(files[1]) // 1024} KiB) and "
            f"{len(tokens)} residents ready in {time.perf_counter() - t:.0f} s"
        )
        baseline = gpxpy_parse_ms(files)
        port = 26000 + os.getpid() % 10000
        env = {**os.environ, "DATABASE_URL": url, "WARMRUN_HOME": str(home / "app")}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "warmrun.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            # A file, not a pipe nobody reads: a full pipe would stall the server's logging.
            stderr=(home / "serve.log").open("wb"),
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        # Warm-up (connections, caches), not measured.
        asyncio.run(load(base, tokens[-20:], files, len(tokens) - 20, 5, 4))
        cpu_before, own_before, machine_before = cpu_by_program(), os.times(), machine_cpu()
        latencies, errors, elapsed, done = asyncio.run(
            load(base, tokens[:-20], files, 0, args.seconds, args.clients)
        )
        cpu_after, own_after, machine_after = cpu_by_program(), os.times(), machine_cpu()
        idle, steal = idle_share(machine_before, machine_after)
        rate = len(latencies) / elapsed
        own = own_after.user + own_after.system - own_before.user - own_before.system
        used = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_after.items()}
        cpu_ms = {
            "app": sum(used.pop(k) for k in list(used) if k.startswith("python")) - own,
            "clients": own,
            "postgres": used.pop("postgres", 0.0),
            "redis": used.pop("redis-server", 0.0),
            "other": sum(v for v in used.values() if v > 0),
        }
        cpu_ms = {k: round(v * 1e3 / max(len(latencies), 1), 1) for k, v in cpu_ms.items()}
        print(f"CPU per upload (ms): {cpu_ms}; cores idle {idle:.0f} %, stolen {steal:.0f} %")
        print(sorted(((round(v, 2), k) for k, v in used.items() if v > 0), reverse=True)[:8])
        p50, p99 = statistics.median(latencies), pct(latencies, 99)
        print(
            f"{len(latencies)} uploads in {elapsed:.1f} s from {args.clients} clients: "
            f"{rate:.1f}/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms, {errors} not accepted; "
            f"gpxpy alone parses one file in {baseline:.0f} ms (median)"
        )
        result = {
            "uploads_per_s": round(rate, 1),
            "p50_ms": round(p50, 1),
            "p99_ms": round(p99, 1),
            "gpxpy_parse_ms": round(baseline, 1),
            "uploads": len(latencies),
            "errors": errors,
            "clients": args.clients,
            "workers": args.workers,
            "fit_share": round(sum(1 for i in done if i % 2) / max(len(done), 1), 3),
            "postgres_fsync": pg["fsync"],
            "synchronous_commit": pg["synchronous_commit"],
            "cpu_ms_per_upload": cpu_ms,
            "cpu_idle_pct": round(idle, 1),
            "cpu_steal_pct": round(steal, 1),
        }
        if not args.skip_hostile:
            result.update(asyncio.run(hostile_uploads(base, tokens[-20:])))
        print(json.dumps(result))
        return 0 if errors == 0 else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if pg_dir is not None:
            subprocess.run([str(ROOT / "scripts/postgres"), "stop", str(pg_dir)], check=False)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
