"""`warmrun import` and `warmrun track-stats`: run files, folders or zips from disk."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from rich.progress import Progress
from rich.table import Table

from warmrun.cli.context import console, err
from warmrun.config import Settings
from warmrun.integrations.readers import read_any
from warmrun.platform import clock, coordinates, ingest
from warmrun.platform.coordinates import Choice
from warmrun.platform.errors import InvalidTrack, UploadTooLarge, WarmrunError
from warmrun.platform.ingest import FileOutcome
from warmrun.platform.uploads import Parser, Upload
from warmrun.resources import open_resources


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file())
        else:
            out.append(p)
    return out


def track_stats(paths: list[str], settings: Settings) -> tuple[list[dict[str, Any]], bool]:
    """Parse and analyse only; no database. Returns rows and whether any file failed."""
    from warmrun.platform.plausibility import analyse

    rows: list[dict[str, Any]] = []
    failed = False
    for path in _files(paths):
        try:
            data = path.read_bytes()
            parsed = read_any(data, path.name, settings.limits)
        except OSError as exc:
            rows.append({"file": str(path), "error": {"code": "unreadable", "message": str(exc)}})
            failed = True
            continue
        except InvalidTrack as exc:
            rows.append({"file": str(path), "error": exc.as_dict("en")})
            failed = True
            continue
        for item in parsed:
            label = str(path) if item.name == path.name else f"{path}:{item.name}"
            if item.track is None:
                error = item.error or InvalidTrack()
                rows.append({"file": label, "error": error.as_dict("en")})
                failed = True
                continue
            try:
                summary = analyse(item.track, now=clock.now())
            except InvalidTrack as exc:
                rows.append({"file": label, "error": exc.as_dict("en")})
                failed = True
                continue
            rows.append({"file": label, **summary.as_dict()})
    return rows, failed


def print_outcomes(outcomes: list[FileOutcome], as_json: bool) -> bool:
    """Each file's outcome, as JSON or one line each; returns whether any file failed."""
    failed = False
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        if o.error is not None:
            failed = True
            rows.append({"file": o.name, "error": o.error.as_dict("en")})
        elif o.outcome is not None:
            run = o.outcome.run
            rows.append(
                {
                    "file": o.name,
                    "run_id": run.id,
                    "existing": o.outcome.existing,
                    "verdict": run.verdict,
                    "reasons": run.reasons,
                    "credited_distance_m": run.credited_m,
                    "value_fen": o.outcome.value_fen,
                    "points": o.outcome.points,
                    "coordinates": o.reading.datum.value if o.reading else None,
                    "coordinates_note": coordinates.note(o.reading, "en") if o.reading else "",
                }
            )
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            if "error" in r:
                err.print(f"[red]✗[/] {r['file']}: {r['error']['message']} ({r['error']['code']})")
            else:
                note = " (already imported)" if r["existing"] else ""
                if r["coordinates_note"]:
                    note += f" — {r['coordinates_note']}"
                console.print(
                    f"[green]✓[/] {r['file']}: run #{r['run_id']} {r['verdict']} "
                    f"{r['credited_distance_m'] / 1000:.2f} km, "
                    f"+{r['points']} points{note}"
                )
    return failed


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        files = _files(args.paths)
        outcomes: list[FileOutcome] = []
        async with open_resources(settings, with_redis=False) as res:
            with Progress(console=err, transient=True, disable=args.json) as progress:
                task = progress.add_task("importing", total=len(files))
                for path in files:
                    outcomes += await _import_file(res.parser, path, args)
                    progress.advance(task)
        return 1 if print_outcomes(outcomes, args.json) else 0

    return asyncio.run(go())


async def _import_file(parser: Parser, path: Path, args: argparse.Namespace) -> list[FileOutcome]:
    """One file as one upload (its own request bounds)."""
    try:
        upload = Upload(name=path.name, data=path.read_bytes())
    except OSError as exc:
        err.print(f"[red]✗[/] {path}: {exc}")
        return [FileOutcome(name=str(path), error=WarmrunError(str(exc)))]
    try:
        return await ingest.import_uploads(
            parser=parser, resident_id=args.resident, uploads=[upload], coords=Choice(args.coords)
        )
    except UploadTooLarge as exc:
        return [FileOutcome(name=str(path), error=exc)]


def cmd_track_stats(args: argparse.Namespace, settings: Settings) -> int:
    rows, failed = track_stats(args.paths, settings)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        table = Table("file", "km", "credited km", "moving", "verdict", "reasons")
        for r in rows:
            if "error" in r:
                table.add_row(r["file"], "-", "-", "-", "error", r["error"]["code"])
            else:
                table.add_row(
                    r["file"],
                    f"{r['distance_m'] / 1000:.2f}",
                    f"{r['credited_distance_m'] / 1000:.2f}",
                    f"{r['moving_time_s'] // 60} min",
                    r["verdict"],
                    ", ".join(r["reasons"]),
                )
        console.print(table)
    return 1 if failed else 0
