"""Plausibility rules on synthetic tracks with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from warmrun.config import Limits
from warmrun.integrations.readers import read_track
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform.geo import gcj02_to_wgs84, wgs84_to_gcj02
from warmrun.platform.plausibility import Verdict, analyse
from warmrun.platform.tracks import Track, TrackPoint, points_fingerprint

NOW = datetime(2026, 11, 21, tzinfo=UTC)
T0 = datetime(2025, 11, 1, 0, 0, tzinfo=UTC)


def straight(speed: float, seconds: int, *, sport: str | None = None, dt: int = 1) -> Track:
    pts = [
        TrackPoint(time=T0 + timedelta(seconds=i), lat=31.3 + speed * i / 111_195.0, lon=120.6)
        for i in range(0, seconds, dt)
    ]
    return Track.from_points(pts, sport=sport)


def test_realistic_run_is_accepted() -> None:
    s = analyse(read_track(synthetic_run_gpx(points=1800), Limits()), now=NOW)
    assert s.verdict == Verdict.ACCEPTED
    assert 0.9 * s.distance_m < s.credited_distance_m <= s.distance_m


def test_car_speed_is_rejected() -> None:
    s = analyse(straight(15.0, 600), now=NOW)
    assert s.verdict == Verdict.REJECTED
    assert "vehicle_speed" in s.reasons


def test_bike_speed_over_a_minute_is_rejected() -> None:
    s = analyse(straight(8.0, 600), now=NOW)
    assert "vehicle_speed" in s.reasons


def test_one_gps_spike_is_not_credited_and_does_not_reject_the_run() -> None:
    track = read_track(synthetic_run_gpx(points=1200), Limits())
    base = analyse(track, now=NOW)
    track.lat[600] += 0.01  # ~1.1 km away for one second
    s = analyse(track, now=NOW)
    assert "vehicle_speed" not in s.reasons
    assert s.credited_distance_m < base.credited_distance_m + 50


def test_distance_across_a_long_gap_is_not_credited() -> None:
    pts = [
        TrackPoint(time=T0 + timedelta(seconds=i), lat=31.3 + 3 * i / 111_195.0, lon=120.6)
        for i in range(300)
    ]
    jump = [
        TrackPoint(time=T0 + timedelta(seconds=900 + i), lat=31.32 + 3 * i / 111_195.0, lon=120.6)
        for i in range(300)
    ]
    s = analyse(Track.from_points(pts + jump), now=NOW)
    assert s.gap_distance_m > 1000
    assert s.credited_distance_m < 2000


def test_walk_claimed_at_running_speed_is_flagged() -> None:
    s = analyse(straight(3.5, 600, sport="walk"), now=NOW)
    assert "walk_too_fast" in s.reasons


def test_perfectly_regular_track_is_flagged_as_synthetic() -> None:
    s = analyse(straight(3.0, 600, sport="run"), now=NOW)
    assert "synthetic_regularity" in s.reasons
    assert s.verdict == Verdict.FLAGGED


def test_future_times_are_rejected() -> None:
    s = analyse(straight(3.0, 100), now=T0 - timedelta(days=1))
    assert "future_time" in s.reasons


def test_treadmill_without_gps_earns_no_credit() -> None:
    track = Track(sport="run", device_distance_m=5000.0, device_elapsed_s=1800.0, has_gps=False)
    s = analyse(track, now=NOW)
    assert s.verdict == Verdict.REJECTED and s.reasons == ("no_gps",)
    assert s.credited_distance_m == 0


def test_fingerprint_ignores_export_precision() -> None:
    track = read_track(synthetic_run_gpx(points=300), Limits())
    rounded = Track(
        lat=np.round(track.lat, 6),
        lon=np.round(track.lon, 6),
        ele=track.ele,
        t=track.t,
        hr=track.hr,
        segment_starts=track.segment_starts,
    )
    assert points_fingerprint(track) == points_fingerprint(rounded)


def test_gcj02_round_trip_is_below_a_millimetre() -> None:
    lat, lon = 31.2989, 120.5853
    glat, glon = wgs84_to_gcj02(lat, lon)
    assert abs(glat - lat) > 1e-4  # the shift is real (hundreds of metres)
    back = gcj02_to_wgs84(glat, glon)
    assert abs(back[0] - lat) < 1e-8 and abs(back[1] - lon) < 1e-8


def test_gcj02_import_option_moves_points_back_to_wgs84() -> None:
    track = read_track(synthetic_run_gpx(points=60), Limits())
    shifted = Track(
        lat=track.lat.copy(),
        lon=track.lon.copy(),
        ele=track.ele,
        t=track.t,
        hr=track.hr,
        segment_starts=track.segment_starts,
    )
    for i in range(len(shifted)):
        shifted.lat[i], shifted.lon[i] = wgs84_to_gcj02(track.lat[i], track.lon[i])
    back = shifted.converted_from_gcj02()
    assert np.allclose(back.lat, track.lat, atol=1e-7)


def test_simplified_line_keeps_corners_and_drops_jitter() -> None:
    from warmrun.platform.geo import decode_polyline, encode_polyline, simplify

    line = [(31.3 + i * 1e-4 + (1e-6 if i % 2 else 0), 120.6) for i in range(50)]
    corner = [(31.3 + 49e-4, 120.6 + i * 1e-4) for i in range(1, 50)]
    kept = simplify(line + corner, 5.0)
    assert len(kept) == 3  # start, the corner, the end
    decoded = decode_polyline(encode_polyline(kept))
    assert all(
        abs(a - b) < 1e-5
        for p, q in zip(kept, decoded, strict=True)
        for a, b in zip(p, q, strict=True)
    )
