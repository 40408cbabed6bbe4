"""Hostile and odd files end in a typed error with a stable code, never a crash."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from tests.conftest import DATA
from warmrun.config import Limits
from warmrun.integrations.readers import read_any, read_track
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform.errors import InvalidTrack, UploadTooLarge

RUN = (DATA / "gpx/togeojson__run.gpx").read_bytes()


def code_of(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(InvalidTrack) as info:
        read_track(data, limits or Limits())
    return info.value.code


def test_billion_laughs_is_refused_as_dtd() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><gpx><trk><trkseg>'
        b'<trkpt lat="1" lon="1"><name>&b;</name></trkpt></trkseg></trk></gpx>'
    )
    assert code_of(bomb) == "dtd_forbidden"


def test_external_entity_is_refused() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE TrainingCenterDatabase [<!ENTITY x SYSTEM '
        b'"file:///etc/passwd">]><TrainingCenterDatabase>&x;</TrainingCenterDatabase>'
    )
    assert code_of(xxe) == "dtd_forbidden"


def test_random_bytes_are_not_a_track() -> None:
    assert code_of(b"hello, this is a text file") == "not_a_track"


def test_truncated_gpx_is_corrupt() -> None:
    assert code_of(RUN[: len(RUN) // 2]) == "corrupt_file"


def test_upload_over_the_size_cap_is_too_large() -> None:
    assert code_of(RUN, Limits(upload_bytes=1000)) == "too_large"


def test_too_many_points_is_too_large() -> None:
    assert code_of(synthetic_run_gpx(points=300), Limits(points=200)) == "too_large"


def test_deep_nesting_is_too_large() -> None:
    deep = b"<gpx>" + b"<a>" * 200 + b"</a>" * 200 + b"</gpx>"
    assert code_of(deep) == "too_large"


def test_declared_latin1_is_decoded() -> None:
    data = RUN.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"', 1)
    data = data.replace(b"<trk>", "<trk><name>Läufchen</name>".encode("latin-1"), 1)
    track = read_track(data, Limits())
    assert len(track) == 206


def test_declared_gbk_is_transcoded() -> None:
    data = RUN.replace(b'encoding="UTF-8"', b'encoding="GBK"', 1)
    data = data.replace(b"<trk>", "<trk><name>晨跑</name>".encode("gbk"), 1)
    assert len(read_track(data, Limits())) == 206


def test_unknown_encoding_is_refused() -> None:
    data = b'<?xml version="1.0" encoding="x-klingon"?><gpx></gpx>'
    assert code_of(data) == "unsupported_encoding"


def test_latitude_out_of_range_is_dropped_not_summed() -> None:
    data = synthetic_run_gpx(points=100)
    bad = data.replace(b'<trkpt lat="31.29', b'<trkpt lat="100.29', 1)
    assert len(read_track(bad, Limits())) == 99


def test_nan_coordinates_are_dropped() -> None:
    data = synthetic_run_gpx(points=50).replace(b'lon="120.58', b'lon="nan', 1)
    assert len(read_track(data, Limits())) == 49


def test_zip_export_yields_every_member() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.gpx", RUN)
        zf.writestr("b/c.fit", (DATA / "fit/fitdecode__garmin-fenix-5-run.fit").read_bytes())
        zf.writestr("README.txt", "not a track")
    files = read_any(buf.getvalue(), "export.zip", Limits())
    assert [f.format for f in files] == ["gpx", "fit"]
    assert all(f.track is not None for f in files)


def test_zip_bomb_is_too_large() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.gpx", b"<gpx>" + b" " * (3 * 1024 * 1024) + b"</gpx>")
    with pytest.raises(UploadTooLarge) as info:
        read_any(buf.getvalue(), "bomb.zip", Limits(decompressed_bytes=1024 * 1024))
    assert info.value.code == "upload_too_large"


def test_gzipped_fit_from_a_bulk_export_is_read() -> None:
    data = gzip.compress((DATA / "fit/fitdecode__garmin-fenix-5-run.fit").read_bytes())
    (file,) = read_any(data, "1234.fit.gz", Limits())
    assert file.format == "fit" and file.track is not None


def test_zip_without_tracks_is_an_empty_archive() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(InvalidTrack) as info:
        read_any(buf.getvalue(), "x.zip", Limits())
    assert info.value.code == "empty_archive"


def test_error_messages_exist_in_both_languages() -> None:
    with pytest.raises(InvalidTrack) as info:
        read_track(b"junk", Limits())
    assert info.value.message("en") != info.value.message("zh-CN")
    assert info.value.message("zh-CN")
