"""Platform results → plain dicts for JSON and templates, and small SVG renderings."""

from __future__ import annotations

import io
import math
from typing import Any
from xml.sax.saxutils import escape

import segno

from warmrun.platform import coordinates
from warmrun.platform.accounts import Identity
from warmrun.platform.coordinates import Reading
from warmrun.platform.ingest import FileOutcome
from warmrun.platform.outcome_texts import rule, sentence
from warmrun.platform.outcomes import Outcome
from warmrun.platform.run_places import Place
from warmrun.platform.views import RunView


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def account_dict(account: Identity) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "role": str(account.role),
        "resident_id": account.resident_id,
        "partner_id": account.partner_id,
        "locale": account.locale,
    }


def run_dict(
    run: RunView, outcome: Outcome | None = None, lang: str = "zh-CN", place: Place | None = None
) -> dict[str, Any]:
    """A run; with its outcome, what it earned and what happened to it, in ``lang``; with its
    place, the city it started in and the coordinate system its file was in.

    ``points`` is the number of GPS points (as ever); what the run earned is ``points_earned``.
    """
    out = {
        "id": run.id,
        "file_name": run.file_name,
        "source": run.source,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "sport": run.sport,
        "distance_m": run.distance_m,
        "credited_m": run.credited_m,
        "moving_s": run.moving_s,
        "elapsed_s": run.elapsed_s,
        "kcal": run.kcal,
        "points": run.points,
        "gps_points": run.points,
        "verdict": run.verdict,
        "reasons": run.reasons,
        "review_note": run.review_note,
    }
    if outcome is not None:
        out["points_earned"] = outcome.points
        out["outcome"] = outcome_dict(outcome, lang)
    if place is not None:
        city = None if place.city_id is None else {"id": place.city_id, "name": place.city(lang)}
        out["start_city"] = city  # where it was run; money goes to the resident's own city
        out["coordinates"] = place.coords or None
    return out


def reading_dict(reading: Reading | None, lang: str) -> dict[str, Any] | None:
    """The coordinate system an uploaded file was read in: ``system`` (wgs84, gcj02; what is
    stored is WGS-84 either way), ``basis`` (app, choice, default), the app recognised, and
    what the resident is told of it (empty when nothing needs saying)."""
    if reading is None:
        return None
    return {
        "system": reading.datum.value,
        "converted": reading.converted,
        "basis": reading.basis.value,
        "app": reading.app,
        "app_name": reading.app_name(lang) or None,
        "message": coordinates.note(reading, lang),
    }


def outcome_dict(o: Outcome, lang: str) -> dict[str, Any]:
    """What happened to an upload or a run and why: its kind, its status (credited,
    not_counted, in_review), the sentence in ``lang``, and what the sentence names."""
    c = o.campaign
    return {
        "kind": o.kind.value,
        "status": o.status.value,
        "message": sentence(o, lang),
        "credited_m": o.credited_m,
        "kcal": o.kcal,
        "points": o.points,
        "value_fen": o.value_fen,
        "campaigns": [
            {
                "id": x.campaign_id,
                "name": x.name,
                "credited_m": x.metres,
                "kcal": x.kcal,
                "value_fen": x.value_fen,
                "points": x.points,
            }
            for x in o.counted
        ],
        "limits": [
            {"kind": x.kind.value, "campaign": x.campaign, "cap": x.cap, "got": x.got}
            for x in (o.after or o).limits
        ],
        "rules": [{"code": r, "message": rule(r, lang)} for r in o.rules],
        "campaign": None
        if c is None
        else {
            "id": c.id,
            "name": c.name,
            "starts_on": c.starts_on.isoformat(),
            "ends_on": c.ends_on.isoformat(),
        },
        "day": o.day.isoformat() if o.day else None,
        "run_id": o.run_id,
        "note": o.note,
        "code": o.code or None,
        "after": None if o.after is None else outcome_dict(o.after, lang),
    }


def file_dict(item: FileOutcome, lang: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """One uploaded activity file: its status as before, and its outcome in ``lang``."""
    told = outcome_dict(item.told, lang)
    coords = reading_dict(item.reading, lang)
    if item.outcome is None:
        return {
            "file": item.name,
            "status": "error",
            "error": error,
            "outcome": told,
            "coordinates": coords,
        }
    r = item.outcome.run
    return {
        "file": item.name,
        "status": "existing" if item.outcome.existing else str(r.verdict),
        "run_id": r.id,
        "distance_m": r.distance_m,
        "credited_m": item.outcome.credited_m,
        "value_fen": item.outcome.value_fen,
        "points": item.outcome.points,
        "verdict": str(r.verdict),
        "reasons": list(r.reasons),
        "outcome": told,
        "coordinates": coords,
    }


def track_svg(
    segments: list[list[tuple[float, float]]],
    *,
    width: int = 320,
    height: int = 240,
    title: str = "",
) -> str:
    """The track's visible segments (privacy zones already applied) as SVG polylines
    (equirectangular, north up)."""
    points = [p for s in segments for p in s]
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_attr(title)}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{width}" height="{height}" fill="#f4f1ea"/>'
    )
    if len(points) < 2:
        return head + "</svg>"
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
    xs = [lon * kx for lon in lons]
    span = max(max(xs) - min(xs), max(lats) - min(lats), 1e-9)
    pad = 12
    scale = min(width, height) - 2 * pad
    ox = (width - (max(xs) - min(xs)) / span * scale) / 2
    oy = (height - (max(lats) - min(lats)) / span * scale) / 2
    x0, y0 = min(xs), min(lats)

    def xy(lat: float, lon: float) -> str:
        x = ox + (lon * kx - x0) / span * scale
        return f"{x:.1f},{height - oy - (lat - y0) / span * scale:.1f}"

    lines = "".join(
        f'<polyline points="{" ".join(xy(la, lo) for la, lo in s)}" fill="none" '
        'stroke="#c0392b" stroke-width="3" stroke-linejoin="round" stroke-linecap="round"/>'
        for s in segments
    )
    first, last = xy(*points[0]).split(","), xy(*points[-1]).split(",")
    return (
        head
        + lines
        + f'<circle cx="{first[0]}" cy="{first[1]}" r="5" fill="#27ae60"/>'
        + f'<circle cx="{last[0]}" cy="{last[1]}" r="5" fill="#2c3e50"/>'
        + "</svg>"
    )


def track_gpx(segments: list[list[tuple[float, float]]], *, name: str) -> bytes:
    """The track's visible segments as a GPX file (no times, no heart rate): what staff get
    instead of the original file."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="warmrun" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk>'
        f"<name>{escape(name)}</name>"
    ]
    for s in segments:
        parts.append("<trkseg>")
        parts.extend(f'<trkpt lat="{la:.6f}" lon="{lo:.6f}"/>' for la, lo in s)
        parts.append("</trkseg>")
    parts.append("</trk></gpx>\n")
    return "".join(parts).encode()


def bar_chart_svg(
    rows: list[tuple[str, int]], *, title: str, unit: str = "", width: int = 480
) -> str:
    """A horizontal bar chart, server-rendered (no script)."""
    bar, gap, label_w = 22, 8, 140
    height = max(len(rows), 1) * (bar + gap) + 30
    top = max((v for _, v in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-label="{_attr(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(rows):
        y = 10 + i * (bar + gap)
        w = max(1, round((width - label_w - 90) * value / top))
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar * 0.7:.0f}" text-anchor="end" '
            f'font-size="13">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar}" fill="#e67e22"/>'
            f'<text x="{label_w + w + 6}" y="{y + bar * 0.7:.0f}" font-size="12">'
            f"{escape(f'{value:,}{unit}')}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart_svg(points: list[tuple[str, int]], *, title: str, width: int = 480) -> str:
    """Cumulative series over days as a line, server-rendered."""
    height, pad = 200, 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-label="{_attr(title)}"><title>{escape(title)}</title>'
    ]
    if points:
        top = max(v for _, v in points) or 1
        n = max(len(points) - 1, 1)
        step, tall = (width - 2 * pad) / n, height - 2 * pad
        coords = " ".join(
            f"{pad + i * step:.1f},{height - pad - v / top * tall:.1f}"
            for i, (_, v) in enumerate(points)
        )
        if len(points) == 1:
            x, y = coords.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="5" fill="#2980b9"/>')
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="#2980b9" stroke-width="2.5"/>'
            f'<text x="{pad}" y="{height - 8}" font-size="12">{escape(points[0][0])}</text>'
            f'<text x="{width - pad}" y="{height - 8}" font-size="12" text-anchor="end">'
            f"{escape(points[-1][0])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def qr_svg(text: str) -> bytes:
    """``text`` as a QR code in SVG (medium error correction, scannable from a phone screen)."""
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        buf, kind="svg", scale=6, border=2, xmldecl=False, svgns=True, title=text
    )
    return buf.getvalue()
