"""The statements that record a run: the stored runs an upload is checked against, and the
run row with its original file, start city and energy (platform/runs.py decides)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from warmrun.platform import clock, sql
from warmrun.platform.geo import CityArea, city_at
from warmrun.platform.models import Resident, Run
from warmrun.platform.plausibility import TrackSummary, Verdict
from warmrun.platform.run_checks import OVERLAP_S, SAME_RUN_START, Decision, NewRun, Seen
from warmrun.platform.tracks import kcal

# Every stored run an upload is checked against: any run with the same points (anyone's), and
# the resident's runs with the same file, starting near the same time (the same run from
# another source) or overlapping it while credited. A NULL bound matches nothing.
_SEEN = """
SELECT id, resident_id, file_sha256, points_sha256, source, started_at, ended_at, distance_m,
       verdict, reasons
FROM run
WHERE points_sha256 = ?
   OR (resident_id = ? AND (file_sha256 = ?
       OR (started_at >= ? AND started_at <= ?)
       OR (verdict = ? AND started_at < ? AND ended_at > ?)))
ORDER BY id
"""


async def seen(
    conn: BaseDBAsyncClient,
    resident_id: int,
    digest: str,
    fingerprint: str,
    summary: TrackSummary,
) -> list[Seen]:
    """The stored runs an upload must be checked against (see _SEEN)."""
    start, end = summary.start_time, summary.end_time
    near = (start - SAME_RUN_START, start + SAME_RUN_START) if start else (None, None)
    window = timedelta(seconds=OVERLAP_S)
    overlap = (end - window, start + window) if start and end else (None, None)
    rows = await sql.rows(
        conn,
        _SEEN,
        fingerprint,
        resident_id,
        digest,
        *near,
        Verdict.ACCEPTED.value,
        *overlap,
    )
    typed = ("started_at", "ended_at", "reasons")  # text on SQLite
    return [Seen(**r | {k: sql.field_value(Run, k, r[k]) for k in typed}) for r in rows]


async def insert(
    conn: BaseDBAsyncClient, up: NewRun, decision: Decision, resident: Resident
) -> Run:
    """The run row and its original file."""
    s = up.summary
    row = await sql.row(
        conn,
        _INSERT_RUN,
        up.resident_id,
        up.source,
        up.file_name[:255],
        up.digest,
        up.fingerprint,
        s.start_time,
        s.end_time,
        s.sport,
        round(s.distance_m),
        round(s.credited_distance_m),
        round(s.moving_time_s),
        round(s.elapsed_time_s),
        round(s.elevation_gain_m),
        s.points,
        None if s.device_distance_m is None else round(s.device_distance_m),
        decision.verdict.value,
        sql.db_value(Run, "reasons", decision.reasons),
        await _start_city(conn, s.start),
        up.line,
        clock.now(),
        _run_kcal(resident, s),
    )
    run = sql.instance(Run, row)
    await sql.execute(
        conn,
        "INSERT INTO run_file (run_id, format, size, data) VALUES (?, ?, ?, ?)",
        run.id,
        up.file_format,
        len(up.data),
        up.compressed,
    )
    return run


_INSERT_RUN = """
INSERT INTO run (resident_id, source, file_name, file_sha256, points_sha256, started_at, ended_at,
                 sport, distance_m, credited_m, moving_s, elapsed_s, elevation_gain_m, points,
                 device_distance_m, verdict, reasons, start_city_id, line, created_at,
                 kcal, review_note)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')
RETURNING *
"""


# The run's own energy, shown on its page: the resident's body mass, or this default. What a
# campaign credits uses that campaign's defaults and is on its contributions.
DEFAULT_BODY_MASS_KG = 60


def _run_kcal(resident: Resident, summary: TrackSummary) -> int:
    mass = resident.body_mass_kg or DEFAULT_BODY_MASS_KG
    return round(
        kcal(metres=summary.credited_distance_m, sport=summary.sport or "", body_mass_kg=mass)
    )


# Every city with a position; geo.city_at places the upload's start in one of them (its rule).
_CITIES = "SELECT id, lat, lon, radius_m FROM city WHERE lat IS NOT NULL AND lon IS NOT NULL"


async def _start_city(conn: BaseDBAsyncClient, start: tuple[float, float] | None) -> int | None:
    if start is None:
        return None
    areas = [
        CityArea(int(c["id"]), float(c["lat"]), float(c["lon"]), float(c["radius_m"]))
        for c in await sql.rows(conn, _CITIES)
    ]
    return city_at(start[0], start[1], areas)


# --- what became of stored runs (read for their outcomes) ---------------------------------------

# What each run brought to each campaign, net of reversals.
_CREDITS = """
SELECT c.run_id, c.campaign_id, ca.name, SUM(c.metres) AS metres, SUM(c.kcal) AS kcal,
       SUM(c.value_fen) AS value_fen
FROM contribution c JOIN campaign ca ON ca.id = c.campaign_id
WHERE c.kind IN ('run', 'reversal') AND c.run_id IN ({ids})
GROUP BY c.run_id, c.campaign_id, ca.name
ORDER BY c.run_id, c.campaign_id
"""
# Points a run earned, net: its awards are keyed run:<id>:campaign:<campaign>[:r<n>]:points,
# their reversals reverse:<that key>.
_POINTS = "SELECT idempotency_key, delta FROM points_entry WHERE {keys}"
_NAMED = "SELECT id, name, timezone, starts_on, ends_on FROM campaign WHERE id IN ({ids})"


def _marks(n: int) -> str:
    return ", ".join("?" * n)


async def credits_of(
    conn: BaseDBAsyncClient, run_ids: list[int]
) -> dict[int, dict[int, dict[str, Any]]]:
    """Per run and campaign: the campaign's name, and the metres, kcal, fen and points the run
    brought there (net of reversals)."""
    if not run_ids:
        return {}
    out: dict[int, dict[int, dict[str, Any]]] = {}
    for r in await sql.rows(conn, _CREDITS.format(ids=_marks(len(run_ids))), *run_ids):
        out.setdefault(int(r["run_id"]), {})[int(r["campaign_id"])] = {
            "name": r["name"],
            "metres": int(r["metres"]),
            "kcal": int(r["kcal"]),
            "value_fen": int(r["value_fen"]),
            "points": 0,
        }
    keys = " OR ".join(["idempotency_key LIKE ? OR idempotency_key LIKE ?"] * len(run_ids))
    patterns = [p for i in run_ids for p in (f"run:{i}:campaign:%", f"reverse:run:{i}:campaign:%")]
    for r in await sql.rows(conn, _POINTS.format(keys=keys), *patterns):
        parts = str(r["idempotency_key"]).removeprefix("reverse:").split(":")
        run_id, campaign_id = int(parts[1]), int(parts[3])
        found = out.setdefault(run_id, {}).get(campaign_id)
        if found is not None:
            found["points"] += int(r["delta"])
    return out


async def campaigns_named(conn: BaseDBAsyncClient, ids: set[int]) -> list[dict[str, Any]]:
    """The campaigns with these ids: name, timezone and dates."""
    if not ids:
        return []
    rows = await sql.rows(conn, _NAMED.format(ids=_marks(len(ids))), *sorted(ids))
    return [r | {k: sql.as_date(r[k]) for k in ("starts_on", "ends_on")} for r in rows]
