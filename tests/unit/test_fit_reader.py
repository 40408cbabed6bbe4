"""The FIT reader gives what the fitdecode-based reader before it gave (``tests/fit_oracle.py``):
the same Track, or the same error, on every real file, on odd files made to order and on
thousands of damaged ones; hostile files end in a Track or a typed error, quickly."""

from __future__ import annotations

import math
import random
import struct
import time
from collections.abc import Callable
from pathlib import Path

import fitdecode
import fitdecode.utils
import numpy as np
import pytest
from fitdecode import profile

from tests import hostile_fit as hf
from tests.conftest import DATA
from tests.fit_oracle import read_fit_fitdecode
from warmrun.config import Limits
from warmrun.integrations.readers import fit_profile
from warmrun.integrations.readers.fit import is_fit, read_fit
from warmrun.integrations.readers.fit_format import crc16
from warmrun.integrations.readers.fit_walk import WalkLimits, _Walker
from warmrun.platform.errors import InvalidTrack
from warmrun.platform.tracks import CYCLE, OTHER, RUN, WALK, Track

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "tracks" / "fit"
REAL = {p.name: p for d in (DATA / "fit", SHARED) if d.is_dir() for p in sorted(d.glob("*.fit"))}
VALID = sorted(name for name in REAL if "invalid" not in name)
COLUMNS = ("lat", "lon", "ele", "t", "hr", "segment_starts")
META = ("sport", "name", "source_format", "device_distance_m", "device_elapsed_s", "has_gps")
Reader = Callable[[bytes, Limits], Track]


def outcome(read: Reader, data: bytes, limits: Limits | None = None) -> Track | str:
    """The Track, or the code of the typed error; anything else raised fails the test."""
    try:
        return read(data, limits or Limits())
    except InvalidTrack as exc:
        return exc.code


def oracle(data: bytes, limits: Limits | None = None) -> Track | str:
    """fitdecode's answer; where fitdecode leaks an exception of its own (an OSError from
    datetime for a time past the year 2**31), the file is corrupt."""
    try:
        return outcome(read_fit_fitdecode, data, limits)
    except OSError:
        return "corrupt_file"


def assert_same(ours: Track | str, expected: Track | str) -> None:
    if isinstance(ours, str) or isinstance(expected, str):
        assert ours == expected
        return
    for name in COLUMNS:
        assert np.array_equal(getattr(ours, name), getattr(expected, name), equal_nan=True), name
    for name in META:
        a, b = getattr(ours, name), getattr(expected, name)
        assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), name


# --- real files ----------------------------------------------------------------------------------


def test_the_corpus_is_there() -> None:
    assert len(REAL) >= 12 and len(VALID) >= 10


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_file_reads_as_fitdecode_read_it(name: str) -> None:
    data = REAL[name].read_bytes()
    assert_same(outcome(read_fit, data), oracle(data))


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if REAL[n].stat().st_size > 200_000 else n
        for n in VALID
    ],
)
def test_real_file_in_the_other_byte_order_reads_the_same(name: str) -> None:
    data = REAL[name].read_bytes()
    copy = hf.byte_swapped_copy(data)
    assert copy != data and len(copy) == len(data)
    assert_same(outcome(read_fit, copy), outcome(read_fit, data))


def test_too_many_points_is_refused_like_fitdecode() -> None:
    data = REAL["fitdecode__garmin-edge-500-activity.fit"].read_bytes()
    limits = Limits(points=5000)
    assert outcome(read_fit, data, limits) == "too_large" == oracle(data, limits)


def test_crc_is_the_fit_sdk_crc_on_every_real_file_and_slice() -> None:
    rng = random.Random(7)
    for name in VALID:
        data = REAL[name].read_bytes()
        assert crc16(data, 0, len(data) - 2) == struct.unpack("<H", data[-2:])[0]
        for _ in range(10):
            a = rng.randrange(len(data))
            b = min(len(data), a + 1 + rng.randrange(8000))
            assert crc16(data, a, b) == fitdecode.utils.compute_crc(data, start=a, end=b)


def test_profile_facts_match_fitdecodes_profile() -> None:
    kinds = {"date_time": "D", "local_date_time": "L", "localtime_into_day": "T"}
    times: dict[int, dict[int, str]] = {}
    components: dict[int, dict[int, bool]] = {}
    for num, mesg in profile.MESSAGE_TYPES.items():
        for field_num, field in mesg.fields.items():
            if field.type.name in kinds:
                times.setdefault(num, {})[field_num] = kinds[field.type.name]
            if field.components:
                assert field.components[0].bit_offset == 0
                acc = any(c.accumulate for c in field.components)
                components.setdefault(num, {})[field_num] = acc
    assert times == fit_profile.TIME_FIELDS
    assert components == fit_profile.COMPONENT_FIELDS
    sports = profile.FIELD_TYPES["sport"].enum
    assert {k: sports[k] for k in fit_profile.SPORT_NAMES} == fit_profile.SPORT_NAMES
    assert profile.FIELD_TYPES["file"].enum[fit_profile.FILE_ACTIVITY] == "activity"
    for mesg, names in fit_profile.DEVELOPER_FIELD_NAMES.items():
        fields = profile.MESSAGE_TYPES[mesg].fields
        assert {num: fields[num].name for num in names} == names


def test_is_fit_sniffs_the_header() -> None:
    assert is_fit(hf.activity(3)) and is_fit(hf.activity(3)[:12])
    assert not is_fit(b"<gpx></gpx>") and not is_fit(hf.activity(3)[:11])


# --- odd files made to order ---------------------------------------------------------------------


def _header_without_crc() -> bytes:
    data = hf.activity(20)
    body = data[14:-2]
    head = struct.pack("<BBHI4s", 12, 0x20, 2132, len(body), b".FIT")
    return head + body + struct.pack("<H", hf.crc16(head + body))


def _with_header_crc(data: bytes, crc: int) -> bytes:
    return data[:12] + struct.pack("<H", crc) + data[14:]


def _with_file_crc(data: bytes, delta: int) -> bytes:
    crc = struct.unpack("<H", data[-2:])[0] ^ delta
    return data[:-2] + struct.pack("<H", crc)


def _developer_heart_rate() -> bytes:
    """A developer field named heart_rate: it overrides the native one in fitdecode's dict."""
    b = hf.FitBuilder()
    b.define(0, hf.FILE_ID, [(0, 1, hf.ENUM)]).record(0, 4)
    b.define(1, hf.DEVELOPER_DATA_ID, [(3, 1, hf.UINT8)]).record(1, 0)
    description = [(0, 1, hf.UINT8), (1, 1, hf.UINT8), (2, 1, hf.UINT8), (3, 12, hf.STRING)]
    b.define(1, hf.FIELD_DESCRIPTION, description).record(1, 0, 7, hf.UINT16, "heart_rate")
    b.define(2, hf.RECORD, hf.RECORD_FIELDS, dev=[(7, 2, 0)])
    for i in range(10):
        b.record(2, hf.START + i, 373000000 + i, 1438000000, 3000, 120, hf.pack(hf.UINT16, 170))
    return b.build()


def _typed(fields: list[tuple[int, int, int]], *values: object, mesg: int = hf.RECORD) -> bytes:
    """Ten records (or other messages) with oddly typed fields, and a session."""
    b = hf.FitBuilder()
    b.define(0, mesg, fields)
    for _ in range(10):
        b.record(0, *values)
    b.define(1, hf.SESSION, [(5, 1, hf.ENUM), (9, 4, hf.UINT32)]).record(1, 1, 1000)
    return b.build()


_GPS = [(0, 4, hf.SINT32), (1, 4, hf.SINT32)]
_POS = (373000000, 1438000000)


def _developer_sport(value: int) -> bytes:
    """A session whose sport a developer field named "sport" overrides (raw: no profile names)."""
    b = hf.FitBuilder()
    b.define(0, hf.RECORD, _GPS).record(0, *_POS)
    b.define(1, hf.DEVELOPER_DATA_ID, [(3, 1, hf.UINT8)]).record(1, 0)
    description = [(0, 1, hf.UINT8), (1, 1, hf.UINT8), (2, 1, hf.UINT8), (3, 8, hf.STRING)]
    b.define(1, hf.FIELD_DESCRIPTION, description).record(1, 0, 3, hf.UINT8, "sport")
    b.define(2, hf.SESSION, [(5, 1, hf.ENUM), (9, 4, hf.UINT32)], dev=[(3, 1, 0)])
    return b.record(2, 1, 1000, bytes((value,))).build()


def _hr_without_start() -> bytes:
    b = hf.FitBuilder()
    b.define(0, hf.RECORD, hf.RECORD_FIELDS).record(0, hf.START, *_POS, 3000, 120)
    b.define(1, hf.HR, [(10, 15, hf.BYTE)]).record(1, bytes(range(15)))
    return b.build()


def _undefined_local() -> bytes:
    return hf.FitBuilder().define(0, hf.RECORD, _GPS).record(0, *_POS).raw(b"\x05").build()


def _record_past_body() -> bytes:
    data = bytearray(hf.activity(5))
    data[4:8] = struct.pack("<I", len(data) - 14 - 2 - 3)
    data[12:14] = struct.pack("<H", hf.crc16(bytes(data[:12])))
    return bytes(data)


ODD: dict[str, Callable[[], bytes]] = {
    "compressed timestamps": lambda: hf.activity(100, compressed=True),
    "compressed timestamps, big-endian": lambda: hf.activity(70, compressed=True, big_endian=True),
    "developer fields": lambda: hf.activity(30, developer=True),
    "developer fields, big-endian": lambda: hf.activity(30, developer=True, big_endian=True),
    "developer field named heart_rate": _developer_heart_rate,
    "heart-rate messages": lambda: hf.activity(60, heart_rate_messages=True),
    "hr event times without a start": _hr_without_start,
    "chained files": lambda: hf.activity(10) + hf.activity(12, sport=2),
    "chained files, mixed byte orders": lambda: hf.activity(5) + hf.activity(9, big_endian=True),
    "sport generic": lambda: hf.activity(5, sport=0),
    "sport unknown": lambda: hf.activity(5, sport=200),
    "sport walking": lambda: hf.activity(5, sport=11),
    "12-byte header": _header_without_crc,
    "header CRC zero": lambda: _with_header_crc(hf.activity(5), 0),
    "header CRC wrong": lambda: _with_header_crc(hf.activity(5), 0x1234),
    "file CRC wrong": lambda: _with_file_crc(hf.activity(5), 0x0100),
    "trailing zeros": lambda: hf.activity(5) + bytes(12),
    "trailing byte": lambda: hf.activity(5) + b"\x0e",
    "undefined local type": _undefined_local,
    "record past the body": _record_past_body,
    "not an activity file": lambda: _typed([(0, 1, hf.ENUM)], 5, mesg=hf.FILE_ID),
    "no records": lambda: hf.FitBuilder().build(),
    "empty": lambda: b"",
    "time as float64": lambda: _typed([(253, 8, hf.FLOAT64), *_GPS], 1.1e9 + 0.123456789, *_POS),
    "time as float32": lambda: _typed([(253, 4, hf.FLOAT32), *_GPS], 1.1e9, *_POS),
    "time past year 9999": lambda: _typed([(253, 8, hf.UINT64), *_GPS], 2**40, *_POS),
    "time as an array": lambda: _typed([(253, 8, hf.UINT32), *_GPS], (hf.START, 1), *_POS),
    "time since power-on": lambda: _typed([(253, 4, hf.UINT32), *_GPS], 1000, *_POS),
    "position as float": lambda: _typed([(0, 4, hf.FLOAT32), (1, 4, hf.SINT32)], 37.0, _POS[1]),
    "position as uint64": lambda: _typed([(0, 8, hf.UINT64), (1, 4, hf.SINT32)], 5, _POS[1]),
    "position twice": lambda: _typed([*_GPS, (0, 4, hf.SINT32)], *_POS, 0x7FFFFFFF),
    "altitude as bytes": lambda: _typed([*_GPS, (2, 3, hf.UINT16)], *_POS, b"\x10\x27\x00"),
    "altitude as array, invalid": lambda: _typed([*_GPS, (2, 4, hf.UINT16)], *_POS, (1, 0xFFFF)),
    "altitude as array": lambda: _typed([*_GPS, (2, 4, hf.UINT16)], *_POS, (3000, 2)),
    "altitude as string": lambda: _typed([*_GPS, (2, 4, hf.STRING)], *_POS, "abc"),
    "altitude as sint32": lambda: _typed([*_GPS, (2, 4, hf.SINT32)], *_POS, -5),
    "enhanced over plain altitude": lambda: _typed(
        [*_GPS, (78, 4, hf.UINT32), (2, 2, hf.UINT16)], *_POS, 5000, 3000
    ),
    "heart rate as float": lambda: _typed([*_GPS, (3, 4, hf.FLOAT32)], *_POS, 151.5),
    "size not a multiple of the type": lambda: _typed([*_GPS, (3, 3, hf.UINT16)], *_POS, b"abc"),
    "unknown base type": lambda: _typed([*_GPS, (3, 1, 0x44)], *_POS, b"\x99"),
    "zero-size field": lambda: _typed([*_GPS, (3, 0, hf.UINT8)], *_POS),
    "negative time of day": lambda: _typed([(28, 4, hf.SINT32)], -5, mesg=3),
    "time of day as float": lambda: _typed([(28, 4, hf.FLOAT32)], 5.5, mesg=3),
    "local time as uint64": lambda: _typed([(6, 8, hf.UINT64)], 2**40, mesg=28),
    "developer sport zero": lambda: _developer_sport(0),
    "developer sport one": lambda: _developer_sport(1),
}


@pytest.mark.parametrize("case", sorted(ODD))
def test_odd_file_reads_as_fitdecode_read_it(case: str) -> None:
    data = ODD[case]()
    assert_same(outcome(read_fit, data), oracle(data))


@pytest.mark.parametrize("case", sorted(ODD))
def test_odd_file_over_the_point_limit_is_refused_as_fitdecode_refused_it(case: str) -> None:
    data = ODD[case]()
    limits = Limits(points=4)
    assert_same(outcome(read_fit, data, limits), oracle(data, limits))


def test_a_stretch_of_like_records_is_walked_in_one_step() -> None:
    walker = _Walker(hf.activity(5000), WalkLimits(messages=10**6, definitions=10**4))
    walker.run()
    assert max(len(piece) for piece in walker.pieces) > 4900


def test_big_endian_activity_reads_as_the_little_endian_one() -> None:
    for options in ({}, {"compressed": True}, {"developer": True}):
        ours = outcome(read_fit, hf.activity(50, big_endian=True, **options))
        assert isinstance(ours, Track) and len(ours) == 50
        assert_same(ours, outcome(read_fit, hf.activity(50, **options)))


def _compressed_offsets(offsets: list[int]) -> bytes:
    """A full timestamp, then compressed-timestamp records with these 5-bit offsets."""
    b = hf.FitBuilder()
    b.define(0, hf.RECORD, [(253, 4, hf.UINT32), *_GPS]).record(0, hf.START, *_POS)
    b.define(1, hf.RECORD, _GPS)
    for offset in offsets:
        b.record(1, *_POS, offset=offset)
    return b.build()


def test_compressed_offset_equal_to_the_last_low_bits_does_not_roll_over() -> None:
    low = hf.START & 31
    offsets = [low, low, (low + 3) & 31, (low + 3) & 31, low, 0, 31, 31]
    track = outcome(read_fit, _compressed_offsets(offsets))
    assert isinstance(track, Track)
    assert_same(track, oracle(_compressed_offsets(offsets)))
    expected = [hf.START]
    base, last = hf.START & ~31, low
    for offset in offsets:
        base += 32 if offset < last else 0
        expected.append(base + offset)
        last = offset
    assert np.array_equal(track.t, np.array(expected, dtype=np.float64) + hf.FIT_EPOCH)


def test_compressed_timestamps_roll_over_every_32_seconds() -> None:
    track = outcome(read_fit, hf.activity(100, compressed=True))
    assert isinstance(track, Track)
    expected = hf.START + hf.FIT_EPOCH + np.arange(100)
    assert np.array_equal(track.t, expected)


def test_sports_map_as_before() -> None:
    sports = {1: RUN, 11: WALK, 21: CYCLE, 0: OTHER, 200: OTHER}
    for raw, sport in sports.items():
        track = outcome(read_fit, hf.activity(3, sport=raw))
        assert isinstance(track, Track) and track.sport == sport


def test_developer_heart_rate_overrides_the_native_one() -> None:
    track = outcome(read_fit, _developer_heart_rate())
    assert isinstance(track, Track) and set(track.hr.tolist()) == {170.0}


def test_truncated_at_every_offset_fails_as_fitdecode_fails() -> None:
    data = hf.activity(6, compressed=True) + hf.activity(3, developer=True)
    codes = set()
    for end in range(len(data)):
        ours = outcome(read_fit, data[:end])
        assert_same(ours, oracle(data[:end]))
        codes.add(ours if isinstance(ours, str) else "track")
    assert codes == {"corrupt_file", "not_an_activity", "track"}


# --- hostile files -------------------------------------------------------------------------------

# The outcome where it is clear: "track", or the code the file must be refused with.
HOSTILE = {
    "fit/canonical": "track",
    "fit/definition_before_every_record": "track",
    "fit/alternating_definitions": "track",
    "fit/distinct_definitions": "too_large",
    "fit/wide_definitions": "corrupt_file",
    "fit/tiny_records": "too_large",
    "fit/tiny_records_mixed": "too_large",
    "fit/tiny_definitions": "too_large",
    "fit/absurd_sizes": "corrupt_file",
    "fit/body_larger_than_file": "corrupt_file",
    "fit/zero_size_fields": "corrupt_file",
    "fit/chained_files": "too_large",
    "fit/developer_field_storm": "too_large",
}


def _cpu(data: bytes, reads: int = 3) -> tuple[float, str]:
    """Least CPU time of some reads (the others absorb a neighbour's noise), and the outcome."""
    best = math.inf
    result = ""
    for _ in range(reads):
        start = time.process_time()
        got = outcome(read_fit, data)
        best = min(best, time.process_time() - start)
        result = got if isinstance(got, str) else "track"
    return best, result


def test_every_hostile_generator_has_an_expected_outcome() -> None:
    assert HOSTILE.keys() == hf.GENERATORS.keys()


@pytest.mark.parametrize("name", sorted(hf.GENERATORS))
def test_hostile_file_ends_quickly_in_a_track_or_a_typed_error(name: str) -> None:
    data = hf.GENERATORS[name](256 * 1024)
    seconds, got = _cpu(data)
    assert got == HOSTILE[name]
    assert seconds < 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(hf.GENERATORS))
def test_hostile_file_costs_grow_linearly(name: str) -> None:
    small, _ = _cpu(hf.GENERATORS[name](256 * 1024))
    large, _ = _cpu(hf.GENERATORS[name](1024 * 1024))
    assert large < 8 * small + 0.01  # quadratic would be 16 times


@pytest.mark.slow
@pytest.mark.parametrize("generator", [hf.tiny_records, hf.tiny_records_mixed])
def test_25_mb_of_one_byte_records_is_refused_quickly(generator: Callable[[int], bytes]) -> None:
    data = generator(25 * 1024 * 1024)
    seconds, got = _cpu(data, reads=1)
    assert got == "too_large"
    assert seconds < 2.0


# --- damaged files -------------------------------------------------------------------------------

SEEDS = [
    *(
        REAL[n].read_bytes()
        for n in (
            "fitdecode__Activity.fit",
            "fitdecode__garmin-fenix-5-run.fit",
            "fitdecode__garmin-fenix-5-bike.fit",
            "fitdecode__Settings.fit",
        )
    ),
    hf.activity(40, compressed=True),
    hf.activity(30, compressed=True, big_endian=True, developer=True),
    hf.activity(45, heart_rate_messages=True),
    hf.activity(8) + hf.activity(8, compressed=True, big_endian=True),
]


def _fix_crcs(data: bytes) -> bytes:
    """Recompute the header and file CRCs of the first FIT file, where it has them."""
    b = bytearray(data)
    if len(b) >= 14 and b[0] == 14:
        b[12:14] = struct.pack("<H", hf.crc16(bytes(b[:12])))
    if len(b) >= 12 and b[0] in (12, 14):
        end = b[0] + struct.unpack("<I", b[4:8])[0]
        if end + 2 <= len(b):
            b[end : end + 2] = struct.pack("<H", crc16(bytes(b), 0, end))
    return bytes(b)


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randrange(12, len(b)) if len(b) > 12 else 0
        if op < 0.65 and pos < len(b):
            b[pos] = rng.randrange(256) if op < 0.5 else b[pos] ^ 1 << rng.randrange(8)
        elif op < 0.8:
            del b[pos : pos + rng.randint(1, 16)]
        elif op < 0.92:
            start = rng.randrange(len(b)) if b else 0
            b[pos:pos] = b[start : start + rng.randint(1, 64)]
        else:
            del b[pos:]
    return _fix_crcs(bytes(b)) if rng.random() < 0.75 else bytes(b)


def test_damaged_files_raise_only_typed_errors_and_never_hang() -> None:
    rng = random.Random(20261130)
    counts: dict[str, int] = {}
    for i in range(6000):
        data = mutate(rng, SEEDS[i % len(SEEDS)])
        limits = Limits(points=20) if i % 5 == 0 else Limits()
        start = time.perf_counter()
        got = outcome(read_fit, data, limits)
        assert time.perf_counter() - start < 2.0
        key = got if isinstance(got, str) else "track"
        counts[key] = counts.get(key, 0) + 1
    assert counts.keys() == {"track", "corrupt_file", "too_large", "not_an_activity"}
    assert min(counts.values()) > 50


def test_damaged_files_read_as_fitdecode_read_them() -> None:
    rng = random.Random(1130)
    differences = []
    for i in range(1500):
        data = mutate(rng, SEEDS[i % len(SEEDS)])
        limits = Limits(points=20) if i % 5 == 0 else Limits()
        ours, expected = outcome(read_fit, data, limits), oracle(data, limits)
        try:
            assert_same(ours, expected)
        except AssertionError:
            differences.append(i)
    assert differences == []


def test_a_stream_of_one_byte_messages_is_refused_for_its_density() -> None:
    with pytest.raises(InvalidTrack) as info:
        read_fit(hf.GENERATORS["fit/tiny_records_mixed"](1 << 20), Limits())
    assert info.value.code == "too_large"
    assert "per byte" in info.value.message("en")


def test_a_real_file_is_far_from_the_density_bounds() -> None:
    # The densest corpus file averages 22.9 bytes a message and 850 bytes a definition.
    data = (DATA / "fit" / "fitparse__coros-pace-2-cycling-misaligned-fields.fit").read_bytes()
    assert len(read_fit(data, Limits())) > 0
