"""Track import benchmark: warmrun's readers + metrics + plausibility against gpxpy, expat and
fitdecode, and the hostile files' cost per MB against canonical files of the same size.

Reader figures are in-process (the reader alone); the same pipeline through the sandbox's
worker processes (what an upload pays) is reported in fields of its own. Prints each figure,
then one JSON line with the headline numbers. Every baseline is measured in the same run on the
same bytes. Usage: python bench/import_tracks.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.parsers import expat

import fitdecode
import gpxpy

from warmrun import db
from warmrun.config import Limits, Sandbox
from warmrun.integrations.parsing import SandboxedParser, job_prepare
from warmrun.integrations.readers import read_track
from warmrun.integrations.readers.fit import read_fit
from warmrun.integrations.synthetic import synthetic_run_fit, synthetic_run_gpx
from warmrun.platform import campaigns, ingest
from warmrun.platform.errors import WarmrunError
from warmrun.platform.models import CampaignState
from warmrun.platform.plausibility import analyse
from warmrun.platform.uploads import ParseOptions, Upload

NOW = datetime(2026, 11, 21, tzinfo=UTC)
LIMITS = Limits(points=200_000)
IGNORE = fitdecode.ErrorHandling.IGNORE
ROOT = Path(__file__).resolve().parents[1]
FIT = ROOT / "tests/data/tracks/fit"


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def warmrun_pipeline(data: bytes) -> None:
    analyse(read_track(data, LIMITS), now=NOW)


def gpxpy_pipeline(data: bytes) -> None:
    gpx = gpxpy.parse(data)
    gpx.length_2d()
    gpx.get_moving_data()


def expat_floor(data: bytes) -> None:
    """Bare expat tokenizing: the C parser over the bytes with no Python handlers."""
    parser = expat.ParserCreate()
    parser.Parse(data, True)


def expat_floor_chunked(data: bytes) -> None:
    """The same fed in 64 KiB chunks (faster than one call on large documents)."""
    parser = expat.ParserCreate()
    view = memoryview(data)
    for offset in range(0, len(view), 1 << 16):
        parser.Parse(view[offset : offset + (1 << 16)], False)
    parser.Parse(b"", True)


def peak_bytes(data: bytes) -> int:
    gc.collect()
    tracemalloc.start()
    warmrun_pipeline(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def fit_ratios(repeat: int) -> tuple[float, float, float]:
    """(median per-file ratio of records/s, ours over a plain fitdecode loop; our records/s
    and fitdecode's over the whole corpus)."""
    files = [
        p.read_bytes()
        for p in sorted(FIT.glob("*.fit"))
        if "invalid" not in p.name and "Settings" not in p.name
    ]
    ratios, ours_s, theirs_s, records = [], 0.0, 0.0, 0
    for data in files:
        with fitdecode.FitReader(io.BytesIO(data), error_handling=IGNORE) as r:
            n = sum(1 for f in r if isinstance(f, fitdecode.FitDataMessage) and f.name == "record")

        def plain(d: bytes = data) -> None:
            with fitdecode.FitReader(io.BytesIO(d), error_handling=IGNORE) as r:
                for _ in r:
                    pass

        ours = median_time(lambda d=data: read_fit(d, LIMITS), repeat)  # type: ignore[misc]
        theirs = median_time(plain, max(1, repeat // 2))
        ratios.append(theirs / ours)
        ours_s, theirs_s, records = ours_s + ours, theirs_s + theirs, records + n
    return statistics.median(ratios), records / ours_s, records / theirs_s


def cpu_per_mb(data: bytes, repeat: int) -> float:
    """CPU seconds per MB to read ``data`` to a Track or to its typed refusal."""
    times = []
    for _ in range(repeat):
        t = time.process_time()
        try:
            read_track(data, LIMITS)
        except WarmrunError:
            pass
        times.append(time.process_time() - t)
    return min(times) / (len(data) / 1e6)


def hostile(size: int, repeat: int) -> tuple[str, float, dict[str, float]]:
    """The worst hostile file's CPU per MB over a canonical file of the same format and size."""
    sys.path.insert(0, str(ROOT))
    from tests import hostile_files, hostile_fit

    canonical = {
        "gpx": cpu_per_mb(hostile_files.canonical_gpx(size), repeat),
        "tcx": cpu_per_mb(hostile_files.canonical_tcx(size), repeat),
        "fit": cpu_per_mb(hostile_fit.canonical_fit(size), repeat),
    }
    ratios = {}
    for fmt, catalogue in (
        ("gpx", hostile_files.GPX_CATALOGUE),
        ("tcx", hostile_files.TCX_CATALOGUE),
        ("fit", hostile_fit.GENERATORS),
    ):
        for name, make in catalogue.items():
            ratios[f"{fmt}:{name}"] = cpu_per_mb(make(size), repeat) / canonical[fmt]
    worst = max(ratios, key=lambda k: ratios[k])
    return worst, ratios[worst], canonical


def via_pool(data: bytes, repeat: int) -> tuple[float, float]:
    """(median seconds for the reader pipeline through a sandbox worker, the same in-process)."""
    parser = SandboxedParser(Sandbox(workers=1), LIMITS)
    parser.warm()
    options = ParseOptions(now=NOW)
    try:
        pooled = median_time(
            lambda: parser.pool.call(job_prepare, data, "r.gpx", "gpx", LIMITS, options), repeat
        )
    finally:
        parser.close()
    local = median_time(lambda: job_prepare(data, "r.gpx", "gpx", LIMITS, options), repeat)
    return pooled, local


async def full_import(repeat: int) -> tuple[float, float]:
    """Median seconds for a whole import of a 3,600-point run into SQLite, and gpxpy parse."""
    home = Path(tempfile.mkdtemp(prefix="warmrun-bench-"))
    url = f"sqlite://{home / 'bench.sqlite3'}"
    await db.connect(url)
    try:
        partner = await campaigns.create_partner(name="bench")
        pack = await campaigns.create_item(
            code="pack", name_zh="温暖包", name_en="pack", unit_price_fen=36_500
        )
        city = await campaigns.create_city(
            code="SZ", name_zh="苏州", name_en="Suzhou", lat=31.2989, lon=120.5853
        )
        compound = await campaigns.create_compound(city_id=city.id, name="c", households=100)
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
        await campaigns.set_points_rule(campaign_id=c.id, points_per_km=10)
        await campaigns.add_pledge(campaign_id=c.id, sponsor="s", cap_fen=10**12)
        await campaigns.advance(campaign_id=c.id, to=CampaignState.ACTIVE)
        resident = await campaigns.create_resident(compound_id=compound.id, display_name="r")
        files = [
            synthetic_run_gpx(
                points=3600, seed=i, start=datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=3 * i)
            )
            for i in range(repeat + 1)
        ]
        parser = SandboxedParser(Sandbox(workers=1), LIMITS)
        parser.warm()

        async def one(data: bytes, name: str) -> ingest.FileOutcome:
            (outcome,) = await ingest.import_uploads(
                parser=parser, resident_id=resident.id, uploads=[Upload(name=name, data=data)]
            )
            return outcome

        await one(files[-1], "warm.gpx")
        times = []
        for data in files[:-1]:
            t0 = time.perf_counter()
            outcome = await one(data, "r.gpx")
            times.append(time.perf_counter() - t0)
            assert outcome.outcome is not None and outcome.outcome.value_fen > 0
        parser.close()
        gpx_times = [median_time(lambda d=d: gpxpy.parse(d), 1) for d in files[:-1]]
        return statistics.median(times), statistics.median(gpx_times)
    finally:
        await db.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    result: dict[str, object] = {}
    for n in (10_000, 100_000):
        data = synthetic_run_gpx(points=n)
        ours = median_time(lambda d=data: warmrun_pipeline(d), repeat)
        theirs = median_time(lambda d=data: gpxpy_pipeline(d), max(1, repeat // 2))
        # The floor is whichever way of feeding expat is faster on this size.
        floor = min(
            median_time(lambda d=data: expat_floor(d), repeat),
            median_time(lambda d=data: expat_floor_chunked(d), repeat),
        )
        print(
            f"{n:>7} points ({len(data) / 1e6:.1f} MB): warmrun {ours * 1e3:8.1f} ms "
            f"({n / ours:,.0f} pts/s) | gpxpy {theirs * 1e3:8.1f} ms ({n / theirs:,.0f} pts/s) "
            f"| bare expat {floor * 1e3:6.1f} ms | ratio {theirs / ours:.1f}x, "
            f"fraction of expat {floor / ours:.2f}"
        )
        if n == 100_000:
            result.update(
                points_per_s=round(n / ours),
                gpxpy_points_per_s=round(n / theirs),
                ratio_vs_gpxpy=round(theirs / ours, 2),
                fraction_of_expat=round(floor / ours, 3),
            )
            result["peak_bytes_per_point_100k"] = round(peak_bytes(data) / n, 1)
            print(
                f"peak memory (tracemalloc, input bytes excluded): "
                f"{result['peak_bytes_per_point_100k']} bytes/point"
            )
    fit_ratio, ours_fit, plain_fit = fit_ratios(repeat)
    print(
        f"FIT corpus: warmrun {ours_fit:,.0f} records/s | plain fitdecode loop {plain_fit:,.0f} "
        f"records/s | median per-file ratio {fit_ratio:.1f}x"
    )
    result["fit_records_per_s"] = round(ours_fit)
    result["fit_ratio_vs_fitdecode"] = round(fit_ratio, 1)
    one_hour = synthetic_run_fit(points=3600)
    ours_1h = median_time(lambda: read_fit(one_hour, LIMITS), repeat)
    print(f"one-hour FIT run (3,600 records): read in {ours_1h * 1e3:.2f} ms")
    result["fit_one_hour_ms"] = round(ours_1h * 1e3, 2)
    data = synthetic_run_gpx(points=3600)
    pooled, local = via_pool(data, repeat * 3)
    print(
        f"one-hour GPX run through a sandbox worker: {pooled * 1e3:.1f} ms, in-process "
        f"{local * 1e3:.1f} ms (the pool adds {(pooled - local) * 1e3:.2f} ms)"
    )
    result["pool_overhead_ms"] = round((pooled - local) * 1e3, 2)
    result["gpx_one_hour_via_pool_ms"] = round(pooled * 1e3, 2)
    worst, ratio, canonical = hostile(1 << 20, 3)
    print(
        f"hostile files of 1 MiB: worst {worst} costs {ratio:.2f}x the CPU per MB of a canonical "
        f"file (canonical ms/MB: "
        + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in canonical.items())
        + ")"
    )
    result["hostile_worst"] = worst
    result["hostile_worst_cpu_per_mb_ratio"] = round(ratio, 2)
    full, gpx_parse = asyncio.run(full_import(repeat * 2 + 1))
    print(
        f"full import of a 3,600-point run into SQLite: {full * 1e3:.1f} ms | gpxpy parse "
        f"alone: {gpx_parse * 1e3:.1f} ms | ratio {gpx_parse / full:.2f}"
    )
    result["full_import_ratio_vs_gpxpy_parse"] = round(gpx_parse / full, 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
