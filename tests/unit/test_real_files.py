"""Every real file in tests/data/tracks: imported with the right distance, or rejected with the
right code. References: gpxpy's length_2d over valid points, or the haversine / device figures
listed in SOURCES.md."""

from __future__ import annotations

from datetime import UTC, datetime

import gpxpy
import numpy as np
import pytest

from tests.conftest import DATA
from warmrun.config import Limits
from warmrun.integrations.readers import read_track
from warmrun.integrations.readers.gpx import read_gpx_exact
from warmrun.integrations.readers.gpx_scan import scan_canonical
from warmrun.platform.errors import InvalidTrack
from warmrun.platform.plausibility import analyse

NOW = datetime(2026, 11, 21, tzinfo=UTC)

# File → the error code it must be rejected with (file-level: nothing to analyse).
REJECTED = {
    "gpx/gpxpy__gpx_with_garmin_extension.gpx": "not_an_activity",
    "gpx/gpxpy__route.gpx": "not_an_activity",
    "gpx/gpxpy__unicode_with_bom.gpx": "not_an_activity",
    "gpx/togeojson__empty_trk.gpx": "not_an_activity",
    "gpx/togeojson__trek_no_rtept.gpx": "not_an_activity",
    "gpx/gpxpy__track-with-extremes.gpx": "no_timestamps",
    "gpx/gpxpy__track_with_dilution_errors.gpx": "no_timestamps",
    "fit/fitdecode__Settings.fit": "not_an_activity",
    "fit/fitdecode__invalid__activity-filecrc.fit": "corrupt_file",
    "fit/fitdecode__invalid__activity-settings-corruptheader.fit": "corrupt_file",
}
# Haversine totals (metres) of TCX and FIT files from SOURCES.md, and device totals.
REFERENCE = {
    "tcx/tcxreader__cross-country-skiing_activity_1.tcx": (5_660, 5_692),
    "tcx/tcxreader__mapmyride_biking.tcx": (16_961, 15_350),
    "tcx/tcxreader__sup_activity_1.tcx": (1_138, 1_158),
    "fit/fitdecode__garmin-fenix-5-run.fit": (161, 158),
    "fit/fitdecode__garmin-fenix-5-bike.fit": (460, 460),
    "fit/fitdecode__garmin-fenix-5-walk.fit": (68, 68),
    "fit/fitdecode__garmin-edge-500-activity.fit": (92_828, 92_622),
    "fit/fitdecode__2019-02-17-062644-ELEMNT-297E-195-0.fit": (81_155, 78_941),
    "fit/fitdecode__activity-large-fenxi2-multisport.fit": (69_634, 69_831),
    "fit/fitdecode__sample-activity.fit": (85_441, 88_797),
    "fit/fitdecode__Activity.fit": (6, 6),
    "fit/fitparse__coros-pace-2-cycling-misaligned-fields.fit": (33_098, 32_146),
}
# Verdicts worth pinning: real runs pass, rides and impossible times do not.
VERDICTS = {
    "gpx/togeojson__run.gpx": "accepted",
    "fit/fitdecode__garmin-fenix-5-run.fit": "accepted",
    "fit/fitdecode__garmin-fenix-5-walk.fit": "accepted",
    "gpx/gpxpy__Mojstrovka.gpx": "rejected",
    "fit/fitdecode__garmin-edge-500-activity.fit": "rejected",
    "tcx/tcxreader__mapmyride_biking.tcx": "rejected",
}

ALL = sorted(str(p.relative_to(DATA)) for p in DATA.glob("*/*") if p.suffix != ".md")


def test_every_shared_file_is_covered() -> None:
    assert len(ALL) == 42


def _gpxpy_length(data: bytes) -> float:
    gpx = gpxpy.parse(data.decode("utf-8-sig"))
    total = 0.0
    for track in gpx.tracks:
        for seg in track.segments:
            seg.points = [
                p for p in seg.points if -90 <= p.latitude <= 90 and -180 <= p.longitude <= 180
            ]
            total += seg.length_2d()
    return float(total)


@pytest.mark.parametrize("rel", ALL)
def test_real_file_is_read_within_tolerance_or_rejected_with_its_code(rel: str) -> None:
    data = (DATA / rel).read_bytes()
    if rel in REJECTED:
        with pytest.raises(InvalidTrack) as info:
            analyse(read_track(data, Limits()), now=NOW)
        assert info.value.code == REJECTED[rel]
        return
    summary = analyse(read_track(data, Limits()), now=NOW)
    if rel.startswith("gpx/"):
        ref = _gpxpy_length(data)
        assert summary.distance_m == pytest.approx(ref, rel=0.01, abs=1.0)
    else:
        haversine, device = REFERENCE[rel]
        close_to_points = abs(summary.distance_m - haversine) <= 0.01 * haversine + 1
        close_to_device = abs(summary.distance_m - device) <= 0.03 * device + 1
        assert close_to_points or close_to_device, (summary.distance_m, haversine, device)
    if rel in VERDICTS:
        assert summary.verdict.value == VERDICTS[rel]
    assert summary.credited_distance_m <= summary.distance_m + 1


def test_multi_track_gpsbabel_export_counts_every_track() -> None:
    data = (DATA / "gpx/gpxpy__cerknicko-jezero.gpx").read_bytes()
    track = read_track(data, Limits())
    assert len(track) == 296
    assert len(track.segment_starts) == 7  # 8 tracks, the first one empty


def test_bike_ride_is_rejected_as_vehicle_and_sport() -> None:
    data = (DATA / "fit/fitdecode__garmin-edge-500-activity.fit").read_bytes()
    summary = analyse(read_track(data, Limits()), now=NOW)
    assert "sport_not_eligible" in summary.reasons


def test_broken_1901_times_are_rejected_as_implausible() -> None:
    data = (DATA / "gpx/gpxpy__Mojstrovka.gpx").read_bytes()
    summary = analyse(read_track(data, Limits()), now=NOW)
    assert "implausible_time" in summary.reasons


def test_device_total_caps_credited_distance() -> None:
    data = (DATA / "fit/fitdecode__garmin-fenix-5-run.fit").read_bytes()
    summary = analyse(read_track(data, Limits()), now=NOW)
    assert summary.device_distance_m is not None
    assert summary.credited_distance_m <= summary.device_distance_m


@pytest.mark.parametrize("rel", [r for r in ALL if r.startswith("gpx/")])
def test_fast_scanner_agrees_with_the_exact_reader(rel: str) -> None:
    data = (DATA / rel).read_bytes()
    fast = scan_canonical(data, Limits())
    if fast is None:
        return  # not canonical: the exact reader is used
    exact = read_gpx_exact(data, Limits())
    for column in ("lat", "lon", "ele", "t", "hr", "segment_starts"):
        assert np.array_equal(getattr(fast, column), getattr(exact, column), equal_nan=True)


def test_fast_scanner_is_used_for_watch_style_files() -> None:
    from warmrun.integrations.synthetic import synthetic_run_gpx

    data = synthetic_run_gpx(points=500)
    fast = scan_canonical(data, Limits())
    assert fast is not None
    exact = read_gpx_exact(data, Limits())
    for column in ("lat", "lon", "ele", "t", "hr"):
        assert np.array_equal(getattr(fast, column), getattr(exact, column), equal_nan=True)
