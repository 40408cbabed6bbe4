"""Strava activities as tracks: an activity with its streams (``key_by_type=true``), and the
canonical JSON record warmrun stores of them (format ``strava``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np

from warmrun.platform.errors import InvalidTrack
from warmrun.platform.tracks import Track

SPORTS = {"Run": "run", "TrailRun": "run", "Walk": "walk", "Hike": "walk"}
MAX_POINTS = 200_000


def track_from(activity: dict[str, Any], streams: dict[str, Any]) -> Track:
    """A Track from an activity and its streams (``key_by_type=true``)."""

    def data(key: str) -> list[Any] | None:
        block = streams.get(key)
        values = block.get("data") if isinstance(block, dict) else None
        return values if isinstance(values, list) else None

    latlng, times = data("latlng"), data("time")
    if not latlng or not times or len(latlng) != len(times) or len(times) > MAX_POINTS:
        raise InvalidTrack()
    try:
        start = datetime.fromisoformat(str(activity["start_date"]).replace("Z", "+00:00"))
        ll = np.asarray(latlng, dtype=np.float64).reshape(-1, 2)
        t = np.asarray(times, dtype=np.float64) + start.astimezone(UTC).timestamp()
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidTrack() from exc
    n = len(t)

    def column(key: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        values = data(key)
        if values is None or len(values) != n:
            return np.full(n, np.nan)
        try:
            return np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            return np.full(n, np.nan)

    distance = activity.get("distance")
    elapsed = activity.get("elapsed_time")
    return Track(
        lat=ll[:, 0].copy(),
        lon=ll[:, 1].copy(),
        ele=column("altitude"),
        t=t,
        hr=column("heartrate"),
        segment_starts=np.zeros(1, dtype=np.int64),
        sport=SPORTS.get(str(activity.get("sport_type") or activity.get("type") or "")),
        name=str(activity.get("name") or "")[:200],
        source_format="strava",
        device_distance_m=float(distance) if isinstance(distance, int | float) else None,
        device_elapsed_s=float(elapsed) if isinstance(elapsed, int | float) else None,
    )


def strava_record(activity: dict[str, Any], streams: dict[str, Any]) -> bytes:
    """What is kept of the activity (for the owner's export and for audit): canonical JSON."""
    keep = {
        k: activity.get(k)
        for k in (
            "id",
            "name",
            "sport_type",
            "type",
            "start_date",
            "distance",
            "moving_time",
            "elapsed_time",
            "manual",
            "trainer",
            "flagged",
        )
    }
    return json.dumps(
        {"activity": keep, "streams": streams}, sort_keys=True, separators=(",", ":")
    ).encode()


def track_from_record(data: bytes) -> Track:
    """The Track of a stored Strava record (what ``_record`` wrote)."""
    try:
        record = json.loads(data)
        return track_from(record["activity"], record["streams"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidTrack() from exc
