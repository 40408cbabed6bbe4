"""Residents' runs: upload, list, detail, map, original file; impact, points, data export."""

from __future__ import annotations

import asyncio
import json
import tempfile
import zipfile
from collections.abc import AsyncIterator
from typing import IO, Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response, StreamingResponse

from warmrun.platform import (
    families,
    ingest,
    maps,
    privacy_zones,
    run_places,
    run_results,
    runs,
    views,
)
from warmrun.platform.accounts import Identity
from warmrun.platform.coordinates import Choice, parse_choice
from warmrun.platform.errors import InvalidInput, NotFound
from warmrun.platform.privacy import Policy, Zone
from warmrun.platform.uploads import Parser, Upload
from warmrun.web import forms, metrics, ratelimit
from warmrun.web.endpoints import Access, Ctx, to_jsonable
from warmrun.web.presenters import file_dict, run_dict, track_gpx, track_svg
from warmrun.web.routes import api

MAX_FILES = 20


@api.route(
    "POST",
    "/api/v1/runs",
    access=Access.RESIDENT,
    tag="runs",
    multipart=True,
    summary="Upload one or more run files (GPX, TCX, FIT, zip); one outcome per file",
)
async def upload(ctx: Ctx) -> Any:
    """200 with one outcome per activity file; 422 with them when every file was refused.
    ``coords`` (auto, wgs84, gcj02; default auto) says what system the files' points are in;
    ``for_resident_id`` names a child in the resident's care whose runs these are."""
    await ratelimit.check(ctx.redis, ratelimit.UPLOAD, str(ctx.resident_id()))
    uploads, coords, whose = await _uploads(ctx)
    results = await import_files(ctx.parser, whose, uploads, ctx.lang, coords)
    refused = [r for r in results if r["status"] == "error"]
    if len(refused) == len(results):
        return JSONResponse({"error": refused[0]["error"], "files": results}, status_code=422)
    return {"files": results}


async def import_files(
    parser: Parser,
    resident_id: int,
    uploads: list[Upload],
    lang: str,
    coords: Choice = Choice.AUTO,
) -> list[dict[str, Any]]:
    """Import a request's files (the API's and the upload form's): one result per activity
    file, each with its outcome in ``lang``."""
    with metrics.timed_upload():
        items = await ingest.import_uploads(
            parser=parser, resident_id=resident_id, uploads=uploads, coords=coords
        )
    metrics.count_uploads(items)
    return [file_dict(i, lang, _error_of(i, lang)) for i in items]


async def _uploads(ctx: Ctx) -> tuple[list[Upload], Choice, int]:
    try:
        form = await ctx.request.form(max_files=MAX_FILES, max_fields=10)
    except HTTPException as exc:  # Starlette's answer to malformed or oversized multipart
        raise InvalidInput(
            "files",
            f"{exc.detail} (at most {MAX_FILES} files)",
            f"上传格式不正确（最多 {MAX_FILES} 个文件）",
        ) from exc
    try:
        whose = await runner_of(ctx.resident_id(), form)
        return await uploads_of(form), coords_of(form), whose
    finally:
        await form.close()


async def uploads_of(form: FormData) -> list[Upload]:
    """The files of a submitted form (a form sent with none chosen holds one without a name
    and without bytes: that is no file)."""
    files = [
        f for f in form.getlist("files") if isinstance(f, UploadFile) and (f.filename or f.size)
    ]
    if not files:
        raise InvalidInput("files", "choose at least one file", "请至少选择一个文件")
    if len(files) > MAX_FILES:
        raise InvalidInput("files", f"at most {MAX_FILES} files", f"最多 {MAX_FILES} 个文件")
    return [Upload(name=_file_name(f.filename), data=await f.read()) for f in files]


async def runner_of(resident_id: int, form: FormData) -> int:
    """Whose runs the form's files are: the resident's, or a child's in their care."""
    raw = form.get("for_resident_id")
    if not isinstance(raw, str) or not raw.strip():
        return resident_id
    if not raw.strip().isdigit() or len(raw.strip()) > 9:
        raise NotFound("child", "孩子")
    return await families.acting_for(resident_id=resident_id, for_resident=int(raw))


def coords_of(form: FormData) -> Choice:
    """The form's word on the files' coordinates: auto (the default), wgs84 or gcj02."""
    value = form.get("coords")
    choice = parse_choice(value if isinstance(value, str) else None)
    if choice is None:
        raise InvalidInput(
            "coords", "one of auto, wgs84, gcj02", "须为 auto（自动）、wgs84 或 gcj02"
        )
    return choice


def _file_name(name: str | None) -> str:
    """The name as sent, without control characters (PostgreSQL text holds no NUL)."""
    return "".join(c for c in (name or "") if c >= " " and c != "\x7f")[:255] or "upload"


def _error_of(item: ingest.FileOutcome, lang: str) -> dict[str, Any] | None:
    if item.error is None:
        return None
    error = item.error.as_dict(lang)
    if "run_id" in item.error.params:  # a duplicate names the existing run
        error["run_id"] = item.error.params["run_id"]
    return error


@api.route(
    "GET",
    "/api/v1/runs",
    access=Access.RESIDENT,
    tag="runs",
    query=forms.Page,
    summary="My runs, newest first",
)
async def my_runs(ctx: Ctx) -> dict[str, Any]:
    q: forms.Page = ctx.query
    items, total = await views.runs_of(
        resident_id=ctx.resident_id(), offset=q.offset, limit=q.limit
    )
    told = await run_results.outcomes_of(items)
    places = await run_places.places_of([r.id for r in items])
    return {
        "items": [run_dict(r, told[r.id], ctx.lang, places.get(r.id)) for r in items],
        "total": total,
        "offset": q.offset,
        "limit": q.limit,
    }


@api.route(
    "GET", "/api/v1/runs/{run_id:int}", access=Access.SIGNED_IN, tag="runs", summary="One run"
)
async def one_run(ctx: Ctx) -> dict[str, Any]:
    """The run, what it earned and its outcome: what happened to it and why; the city it
    started in and the coordinate system its file was in."""
    run = await views.readable_run(ctx.me(), run_id=ctx.path["run_id"])
    place = await run_places.place_of(run_id=run.id)
    return run_dict(run, await run_results.outcome_of(run), ctx.lang, place)


@api.route(
    "GET",
    "/api/v1/runs/{run_id:int}/map.svg",
    access=Access.SIGNED_IN,
    tag="runs",
    produces="image/svg+xml",
    summary="The run's map, without what lies near its start, end or the owner's home zones",
)
async def run_map(ctx: Ctx) -> Response:
    run = await views.readable_run(ctx.me(), run_id=ctx.path["run_id"])
    shown = await maps.shown_segments(parser=ctx.parser, run_id=run.id, owner_id=run.resident_id)
    svg = track_svg(shown, title=run.file_name or f"run {run.id}")
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"}
    )


@api.route(
    "GET",
    "/api/v1/runs/{run_id:int}/file",
    access=Access.SIGNED_IN,
    tag="runs",
    produces="application/octet-stream",
    summary="The original file for its owner; for staff, the track as GPX without its ends",
)
async def run_file(ctx: Ctx) -> Response:
    run = await views.readable_run(ctx.me(), run_id=ctx.path["run_id"])
    if ctx.me().resident_id == run.resident_id:
        name = "".join(c for c in (run.file_name or f"run-{run.id}") if c.isalnum() or c in "._-")
        data = await runs.original_bytes(run_id=run.id)
        media, filename = "application/octet-stream", name or "run"
    else:
        data = await _trimmed_gpx(ctx, run)
        media, filename = "application/gpx+xml", f"run-{run.id}-trimmed.gpx"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _trimmed_gpx(ctx: Ctx, run: views.RunView) -> bytes:
    """Staff review a run by its shape, never by where the runner lives: the original (first
    point at the front door, times, heart rate) stays with its owner."""
    shown = await maps.shown_segments(parser=ctx.parser, run_id=run.id, owner_id=run.resident_id)
    if not shown:  # erased, or no part of it far enough from home
        raise NotFound("track", "轨迹")
    return track_gpx(shown, name=run.file_name or f"run {run.id}")


@api.route(
    "GET",
    "/api/v1/me/impact",
    access=Access.RESIDENT,
    tag="runs",
    summary="My kilometres, kcal, money and warm packs per campaign",
)
async def my_impact(ctx: Ctx) -> dict[str, Any]:
    return {"campaigns": await views.impact(resident_id=ctx.resident_id())}


@api.route(
    "GET",
    "/api/v1/me/points",
    access=Access.RESIDENT,
    tag="rewards",
    query=forms.Page,
    summary="My points balance and history",
)
async def my_points(ctx: Ctx) -> dict[str, Any]:
    q: forms.Page = ctx.query
    p = await views.points_of(resident_id=ctx.resident_id(), offset=q.offset, limit=q.limit)
    return {
        "balance": p.balance,
        "items": p.entries,
        "total": p.total,
        "offset": q.offset,
        "limit": q.limit,
    }


@api.route(
    "GET",
    "/api/v1/me/export",
    access=Access.RESIDENT,
    tag="runs",
    produces="application/zip",
    summary="All my data: JSON and my original files",
)
async def export(ctx: Ctx) -> Response:
    """Written to a temporary file one original at a time (compressed on a worker thread),
    then streamed: an export's size never sits in memory, and the event loop never packs it."""
    resident_id = ctx.resident_id()
    await ratelimit.check(ctx.redis, ratelimit.EXPORT, str(ctx.me().id))
    all_runs, _ = await views.runs_of(resident_id=resident_id, offset=0, limit=100_000)
    data = await _export_data(ctx.me(), resident_id, all_runs)
    spool, size = await _spooled(data, all_runs)
    return StreamingResponse(
        _stream(spool),
        media_type="application/zip",
        headers={
            "Content-Disposition": 'attachment; filename="warmrun-export.zip"',
            "Content-Length": str(size),
        },
    )


async def _export_data(
    account: Identity, resident_id: int, all_runs: list[views.RunView]
) -> dict[str, Any]:
    """What ``warmrun.json`` in the export holds."""
    points = await views.points_of(resident_id=resident_id, offset=0, limit=100_000)
    return {
        "account": {
            "email": account.email,
            "locale": account.locale,
            "created_at": account.created_at,
        },
        "runs": [run_dict(r) for r in all_runs],
        "impact": await views.impact(resident_id=resident_id),
        "points": {"balance": points.balance, "debt": points.debt, "entries": points.entries},
        "redemptions": await views.redemptions(resident_id=resident_id),
        "children": await _children_data(resident_id),
    }


async def _children_data(guardian_id: int) -> list[dict[str, Any]]:
    """The children in the resident's care and their runs: exported with the guardian's."""
    out = []
    for c in await families.children(guardian_id=guardian_id):
        runs, _ = await views.runs_of(resident_id=c.id, offset=0, limit=100_000)
        out.append({"child": c, "runs": [run_dict(r) for r in runs]})
    return out


async def _spooled(data: dict[str, Any], all_runs: list[views.RunView]) -> tuple[IO[bytes], int]:
    """The export written to a temporary file (closed again if writing fails), and its size."""
    spool = tempfile.TemporaryFile()
    try:
        return spool, await _write_export(spool, data, all_runs)
    except BaseException:
        spool.close()
        raise


async def _write_export(spool: IO[bytes], data: dict[str, Any], all_runs: list[Any]) -> int:
    archive = zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED)
    text = json.dumps(to_jsonable(data), ensure_ascii=False, indent=2)
    await asyncio.to_thread(archive.writestr, "warmrun.json", text)
    for r in all_runs:
        try:
            original = await runs.original_bytes(run_id=r.id)
        except NotFound:
            continue
        safe = "".join(c for c in r.file_name if c.isalnum() or c in "._-") or "run"
        await asyncio.to_thread(archive.writestr, f"files/{r.id}-{safe}", original)
    await asyncio.to_thread(archive.close)
    size = spool.tell()
    spool.seek(0)
    return size


async def _stream(spool: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(spool.read, 1 << 16):
            yield chunk
    finally:
        spool.close()


@api.route(
    "GET",
    "/api/v1/me/privacy",
    access=Access.RESIDENT,
    tag="runs",
    summary="What of my tracks others may not see: the radius around start and end, home zones",
)
async def my_privacy(ctx: Ctx) -> dict[str, Any]:
    return privacy_dict(await privacy_zones.policy_of(resident_id=ctx.resident_id()))


@api.route(
    "PUT",
    "/api/v1/me/privacy",
    access=Access.RESIDENT,
    tag="runs",
    body=forms.PrivacySettings,
    summary="Set the radius hidden around my tracks' ends (200-2000 m) and up to 5 home zones",
)
async def set_my_privacy(ctx: Ctx) -> dict[str, Any]:
    b: forms.PrivacySettings = ctx.body
    policy = await privacy_zones.set_policy(
        resident_id=ctx.resident_id(),
        radius_m=b.radius_m,
        zones=[Zone(lat=z.lat, lon=z.lon, radius_m=z.radius_m) for z in b.zones],
    )
    return privacy_dict(policy)


def privacy_dict(policy: Policy) -> dict[str, Any]:
    return {
        "radius_m": policy.radius_m,
        "zones": [{"lat": z.lat, "lon": z.lon, "radius_m": z.radius_m} for z in policy.zones],
    }
