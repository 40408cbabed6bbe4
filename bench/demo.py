"""How long `warmrun demo` takes to build its mid-campaign from nothing, as the README's first
command runs it (embedded defaults: a SQLite file and the bundled redis-server).

Runs `warmrun demo` in a fresh home ``--rounds`` times, one after the other, and reports the
median, fastest and slowest wall time against the 60 s target, with what each build holds
(residents, children, runs credited and held for review, warm packs per city, check-ins,
redemptions, ratings), read from the demo's SQLite file.

Last line: JSON with ``median_s``, ``min_s``, ``max_s``, ``target_s`` and ``ratio_to_target``
(median over target: at most 1 meets it) and the counts.

Usage: python bench/demo.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WARMRUN = Path(sys.executable).with_name("warmrun")
TARGET_S = 60.0


def build(home: Path) -> tuple[float, str]:
    env = {**os.environ, "WARMRUN_HOME": str(home / ".warmrun")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    started = time.perf_counter()
    proc = subprocess.run(
        [str(WARMRUN), "demo"], cwd=home, env=env, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"warmrun demo failed:\n{proc.stdout}\n{proc.stderr}")
    return took, proc.stdout


def holds(home: Path, out: str) -> dict[str, Any]:
    db = sqlite3.connect(next((home / ".warmrun").glob("*.sqlite3")))
    one = lambda q: db.execute(q).fetchone()[0]  # noqa: E731
    packs = [int(x) for x in re.findall(r"│ (\d+) \+ \d+%", out)]
    return {
        "residents": one("SELECT COUNT(*) FROM resident WHERE guardian_id IS NULL"),
        "children": one("SELECT COUNT(*) FROM resident WHERE guardian_id IS NOT NULL"),
        "runs_credited": one("SELECT COUNT(*) FROM run WHERE verdict = 'accepted'"),
        "runs_in_review": one("SELECT COUNT(*) FROM run WHERE verdict = 'flagged'"),
        "warm_packs_per_city": packs[:-1],
        "check_ins": one("SELECT COUNT(*) FROM check_in"),
        "redemptions": one("SELECT COUNT(*) FROM redemption"),
        "ratings": one("SELECT COUNT(*) FROM rating"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times, counts = [], {}
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="warmrun-demo-bench-") as tmp:
            took, out = build(Path(tmp))
            counts = holds(Path(tmp), out)
        times.append(took)
        print(f"round {n + 1}: {took:.1f} s")
    median = statistics.median(times)
    print(f"warmrun demo: median {median:.1f} s (fastest {min(times):.1f}, slowest "
          f"{max(times):.1f}) against {TARGET_S:.0f} s; {counts}")  # fmt: skip
    result = {
        "median_s": round(median, 2),
        "min_s": round(min(times), 2),
        "max_s": round(max(times), 2),
        "target_s": TARGET_S,
        "ratio_to_target": round(median / TARGET_S, 3),
        "cpus": os.cpu_count(),
        **counts,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
