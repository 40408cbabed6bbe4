"""Mutate real files (seeded) and check every failure is a typed InvalidTrack."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from tests.conftest import DATA
from warmrun.config import Limits
from warmrun.integrations.readers import read_any
from warmrun.platform.errors import InvalidTrack
from warmrun.platform.plausibility import analyse

SEEDS = [
    "gpx/togeojson__run.gpx",
    "gpx/gpxpy__cerknicko-jezero.gpx",
    "gpx/opentracks__legacy_gpx_trackpointextensions_incorrect.gpx",
    "tcx/tcxreader__sup_activity_1.tcx",
    "fit/fitdecode__garmin-fenix-5-run.fit",
    "fit/fitdecode__Activity.fit",
    "gpx/togeojson__missing_hr.gpx",
]
MUTANTS = 2400
NOW = datetime(2026, 11, 21, tzinfo=UTC)


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        pos = rng.randrange(len(b)) if b else 0
        if op < 0.4 and b:
            b[pos] = rng.randrange(256)
        elif op < 0.6:
            del b[pos : pos + rng.randint(1, 64)]
        elif op < 0.8:
            b[pos:pos] = rng.choice(
                [
                    b"<",
                    b">",
                    b"&",
                    b'"',
                    b"\x00",
                    b"NaN",
                    b"-1e999",
                    b'<trkpt lat="91" lon="0">',
                    b"</trkseg>",
                    b"\xff\xfe",
                ]
            )
        else:
            start = rng.randrange(len(b)) if b else 0
            b[pos:pos] = b[start : start + rng.randint(1, 200)]
    return bytes(b)


def test_mutated_real_files_raise_only_typed_errors() -> None:
    rng = random.Random(20251101)
    originals = [(DATA / s).read_bytes() for s in SEEDS]
    limits = Limits()
    outcomes = {"ok": 0, "error": 0}
    for i in range(MUTANTS):
        data = mutate(rng, originals[i % len(originals)])
        try:
            files = read_any(data, "mutant", limits)
            for f in files:
                if f.track is not None:
                    analyse(f.track, now=NOW)
                    outcomes["ok"] += 1
                else:
                    outcomes["error"] += 1
        except InvalidTrack:
            outcomes["error"] += 1
    assert outcomes["ok"] > 0 and outcomes["error"] > 0
