"""Which coordinate system a file is in (the app that wrote it, or the resident's choice), the
conversion to WGS-84 as files are read, and the city a run starts in: pure rules."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.gcj02_files import farthest_m, tcx, to_gcj02, track_of, written_by
from warmrun.config import Limits
from warmrun.integrations.parsing import job_prepare, job_track
from warmrun.integrations.readers.origin import gpx_origin
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform.coordinates import (
    Basis,
    Choice,
    Datum,
    Reading,
    app_named,
    detect_app,
    note,
    parse_choice,
    reading_of,
    stored_datum,
    stored_format,
)
from warmrun.platform.geo import (
    CityArea,
    city_at,
    gcj02_to_wgs84,
    gcj02_to_wgs84_arrays,
    wgs84_to_gcj02,
)
from warmrun.platform.uploads import ParseOptions

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TRUE = synthetic_run_gpx(points=900, seed=11)  # Suzhou, 2025-11-01


@pytest.mark.parametrize(
    ("text", "app"),
    [
        ("Keep", "keep"),
        ("Keep 7.21.0 Android", "keep"),
        ("keep.com", "keep"),
        ("https://www.gotokeep.com", "keep"),
        ("Codoon", "codoon"),
        ("咕咚运动", "codoon"),
        ("Joyrun", "joyrun"),
        ("thejoyrun.com", "joyrun"),
        ("悦跑圈 iOS", "joyrun"),
        ("KeepFitBuilder", None),  # another tool's name that starts with the word
        ("keep-training-coach", None),
        ("Keep going", None),  # a run's name, not the app
        ("enjoyrunning", None),
        ("StravaGPX", None),
        ("", None),
    ],
)
def test_an_app_is_recognised_by_its_own_name_only(text: str, app: str | None) -> None:
    found = app_named(text)
    assert (found.code if found else None) == app


def test_the_named_writer_decides_and_hints_count_only_without_one() -> None:
    # running_page re-exports Keep's runs already converted, as gpx.py, naming the track
    # "gpx from keep": the writer is gpx.py, so the file is not Keep's.
    assert detect_app(["gpx.py -- https://github.com/tkrajina/gpxpy"], ["Keep"]) is None
    keep = detect_app([], ["Morning run", "Keep"])
    assert keep is not None and keep.code == "keep"
    codoon = detect_app(["Codoon", "Connect Api"], [])  # TCX: Creator, then Author
    assert codoon is not None and codoon.code == "codoon"


def test_the_choice_overrides_the_app_and_auto_without_an_app_is_wgs84() -> None:
    t = datetime(2025, 11, 1, tzinfo=UTC).timestamp()
    assert reading_of(Choice.AUTO, ["Keep"], [], t) == Reading(Datum.GCJ02, Basis.APP, "keep")
    assert reading_of(Choice.WGS84, ["Keep"], [], t) == Reading(Datum.WGS84, Basis.CHOICE, "keep")
    assert reading_of(Choice.GCJ02, ["Garmin"], [], t) == Reading(Datum.GCJ02, Basis.CHOICE)
    assert reading_of(Choice.AUTO, ["Garmin Connect"], [], t) == Reading()


def test_codoon_runs_are_gcj02_only_before_it_moved_to_wgs84() -> None:
    before = datetime(2014, 3, 23, tzinfo=UTC).timestamp()
    after = datetime(2014, 3, 25, tzinfo=UTC).timestamp()
    assert reading_of(Choice.AUTO, ["Codoon"], [], before).datum is Datum.GCJ02
    later = reading_of(Choice.AUTO, ["Codoon"], [], after)
    assert later == Reading(Datum.WGS84, Basis.APP, "codoon")
    assert note(later, "en") == "Recorded by Codoon in WGS-84 coordinates: stored as is."
    assert note(later, "zh-CN").startswith("由咕咚以 WGS-84")


def test_choices_parse_from_forms_and_flags() -> None:
    assert parse_choice(None) is Choice.AUTO
    assert parse_choice("") is Choice.AUTO
    assert parse_choice("WGS-84") is Choice.WGS84
    assert parse_choice("gcj_02") is Choice.GCJ02
    assert parse_choice("bd09") is None


def test_the_stored_format_keeps_the_system_within_eight_characters() -> None:
    for fmt in ("gpx", "tcx", "fit"):
        stored = stored_format(fmt, Datum.GCJ02)
        assert len(stored) <= 8 and stored_datum(stored) == (fmt, Datum.GCJ02)
        assert stored_format(fmt, Datum.WGS84) == fmt
        assert stored_datum(fmt) == (fmt, Datum.WGS84)


def test_gpx_origin_reads_the_creator_and_the_metadata_names() -> None:
    gpx = (
        b'<?xml version="1.0"?><gpx version="1.1" creator="Keep &amp; co" '
        b'xmlns="http://www.topografix.com/GPX/1/1"><metadata><name>Morning</name>'
        b'<author><name>Keep</name></author><link href="https://gotokeep.com"><text>K</text>'
        b"</link></metadata><trk><name>Not metadata</name><trkseg></trkseg></trk></gpx>"
    )
    writers, hints = gpx_origin(gpx)
    assert writers == ("Keep & co",)
    assert hints == ("Morning", "Keep", "K", "https://gotokeep.com")


def test_gpx_origin_reads_gbk_and_utf16_heads() -> None:
    gbk = '<?xml version="1.0" encoding="GBK"?><gpx creator="咕咚"><trk></trk></gpx>'
    assert gpx_origin(gbk.encode("gbk"))[0] == ("咕咚",)
    utf16 = '<?xml version="1.0"?><gpx creator="悦跑圈"><trk></trk></gpx>'.encode("utf-16")
    assert gpx_origin(utf16)[0] == ("悦跑圈",)


def test_gpx_origin_is_linear_on_a_hostile_head() -> None:
    hostile = b'<gpx creator="x"><metadata>' + b"<name>" * 200_000 + b"<link href=" * 50_000
    started = time.perf_counter()
    assert gpx_origin(hostile) == (("x",), ())
    assert time.perf_counter() - started < 0.5


def test_both_gpx_readers_and_the_tcx_reader_say_who_wrote_the_file() -> None:
    keep = written_by(TRUE, "Keep")
    assert track_of(keep).writers == ("Keep",)  # the vectorised scanner
    exact = keep.replace(b"<trk>", b"<trk><!-- exact path -->", 1)
    assert track_of(exact).writers == ("Keep",)  # expat
    codoon = tcx(track_of(TRUE), creator="Codoon")
    assert track_of(codoon).writers == ("Codoon", "Connect Api")


def test_a_keep_file_is_converted_as_it_is_read_and_a_wgs84_choice_keeps_it() -> None:
    true = track_of(TRUE)
    shifted = to_gcj02(written_by(TRUE, "Keep"))
    assert farthest_m(track_of(shifted), true) > 300  # what GCJ-02 does in Suzhou
    auto = job_prepare(shifted, "k.gpx", "gpx", Limits(), ParseOptions(now=NOW))
    assert auto.reading == Reading(Datum.GCJ02, Basis.APP, "keep")
    assert auto.summary is not None and auto.summary.start is not None
    reread = job_track(shifted, "gpx+gcj", Limits())  # maps and event days re-read it so
    assert reread is not None and farthest_m(reread, true) < 0.01
    start_shift = gcj02_to_wgs84(*wgs84_to_gcj02(true.lat[0], true.lon[0]))
    assert auto.summary.start == pytest.approx(start_shift, abs=1e-7)
    kept = job_prepare(
        shifted, "k.gpx", "gpx", Limits(), ParseOptions(now=NOW, coords=Choice.WGS84)
    )
    assert kept.reading == Reading(Datum.WGS84, Basis.CHOICE, "keep")
    assert kept.summary is not None and kept.summary.start == (
        pytest.approx(track_of(shifted).lat[0]),
        pytest.approx(track_of(shifted).lon[0]),
    )


def test_a_file_from_an_unknown_app_is_read_as_is() -> None:
    other = to_gcj02(written_by(TRUE, "SomeTracker 2.0"))
    done = job_prepare(other, "o.gpx", "gpx", Limits(), ParseOptions(now=NOW))
    assert done.reading == Reading()
    assert done.summary is not None and done.summary.start == (
        pytest.approx(track_of(other).lat[0]),
        pytest.approx(track_of(other).lon[0]),
    )


@given(st.lists(st.tuples(st.floats(18.0, 53.0), st.floats(74.0, 134.0)), min_size=1, max_size=50))
def test_the_vectorised_inverse_matches_the_pointwise_one_to_a_millimetre(
    points: list[tuple[float, float]],
) -> None:
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    glat, glon = zip(*(wgs84_to_gcj02(a, b) for a, b in points), strict=True)
    wlat, wlon = gcj02_to_wgs84_arrays(np.array(glat), np.array(glon))
    assert np.abs(wlat - lat).max() < 1e-8 and np.abs(wlon - lon).max() < 1e-8  # ~1 mm
    for i, (a, b) in enumerate(zip(glat, glon, strict=True)):
        assert (wlat[i], wlon[i]) == pytest.approx(gcj02_to_wgs84(a, b), abs=1e-8)


def test_points_outside_china_are_not_moved() -> None:
    lat, lon = np.array([51.5, 40.7]), np.array([-0.12, -74.0])
    out = gcj02_to_wgs84_arrays(lat, lon)
    assert (out[0] == lat).all() and (out[1] == lon).all()


SUZHOU = CityArea(2, 31.2989, 120.5853, 60_000)
WUXI = CityArea(3, 31.4912, 120.3119, 60_000)
CHENGDU = CityArea(4, 30.5728, 104.0668, 60_000)


def test_a_start_lies_in_the_city_of_the_nearest_centre_within_its_radius() -> None:
    cities = [SUZHOU, WUXI, CHENGDU]
    assert city_at(31.30, 120.58, cities) == SUZHOU.id
    assert city_at(31.45, 120.35, cities) == WUXI.id  # in both areas, nearer Wuxi
    assert city_at(30.66, 104.06, cities) == CHENGDU.id
    assert city_at(39.90, 116.40, cities) is None  # Beijing: in no campaign city's area
    small = CityArea(5, 31.2989, 120.5853, 1_000)
    assert city_at(31.35, 120.58, [small]) is None  # 5.7 km out of a 1 km area


def test_the_import_command_takes_the_same_choice_and_gcj02_still_works() -> None:
    from warmrun.cli import build_parser

    def coords(*flags: str) -> str:
        return str(build_parser().parse_args(["import", "a.gpx", "--resident", "1", *flags]).coords)

    assert coords() == "auto"
    assert coords("--gcj02") == "gcj02"
    assert coords("--coords", "wgs84") == "wgs84"
    with pytest.raises(SystemExit):
        coords("--coords", "bd09")
