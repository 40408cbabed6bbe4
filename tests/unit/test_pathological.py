"""Pathological GPX and TCX files end in a Track or a typed refusal, and every reader's cost
grows linearly with their size (tests/hostile_files.py makes them)."""

from __future__ import annotations

import random
import re
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from tests.hostile_files import (
    CANONICAL,
    GENERATORS,
    GPX,
    TCX,
    huge_attribute,
    huge_name,
    huge_number,
    huge_text,
    huge_time,
    one_line,
    unclosed_comment,
)
from warmrun.config import Limits
from warmrun.integrations.readers import read_track, xmlsafe
from warmrun.integrations.readers.gpx import read_gpx_exact
from warmrun.integrations.readers.gpx_scan import _without_links, scan_canonical
from warmrun.integrations.readers.timeparse import times_to_posix
from warmrun.platform.errors import InvalidTrack
from warmrun.platform.tracks import Track

SIZE = 256 * 1024
MB = 1024 * 1024
SLOW = pytest.mark.slow

# The outcome where it is clear: "track", or the code the file must be refused with.
EXPECTED = {
    "deep_nesting": "too_large",
    "many_namespaces": "too_large",
    "namespaces_on_one_tag": "too_large",
    "unclosed_points": "too_large",
    "unclosed_times": "too_large",
    "unclosed_elevations": "too_large",
    "truncated": "corrupt_file",
    "unclosed_declaration": "corrupt_file",
    "repeated_encoding": "corrupt_file",
    "unclosed_cdata": "corrupt_file",
    "unclosed_comment": "corrupt_file",
    "unclosed_instruction": "corrupt_file",
    "nesting_at_limit": "track",
    "tiny_elements": "track",
    "huge_attribute": "track",
    "many_attributes": "track",
    "long_attribute_names": "track",
    "one_line": "track",
    "huge_text": "track",
    "huge_name": "track",
    "huge_time": "track",
    "huge_number": "track",
    "many_times_in_a_point": "track",
    "entity_references": "track",
    "empty_segments": "track",
    "one_point_segments": "track",
}


def outcome(read: Callable[[bytes, Limits], Track], data: bytes) -> str:
    """The word "track", or the code of the typed error; anything else raised fails the test."""
    try:
        read(data, Limits())
    except InvalidTrack as exc:
        return exc.code
    return "track"


def cpu_seconds(data: bytes) -> float:
    """The least CPU time of three reads (the others absorb a neighbour's noise)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        outcome(read_track, data)
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_pathological_file_ends_in_a_track_or_a_typed_refusal(name: str) -> None:
    result = outcome(read_track, GENERATORS[name](SIZE))
    expected = EXPECTED.get(name.partition("/")[2])
    if expected is not None:
        assert result == expected


@pytest.mark.parametrize("name", sorted(n for n in GENERATORS if n.startswith("gpx/")))
def test_exact_gpx_reader_ends_as_read_track_does(name: str) -> None:
    data = GENERATORS[name](SIZE)
    # The fast scanner alone reads the links file (it checks no nesting): expat refuses it.
    expected = "too_large" if name == "gpx/unclosed_links" else outcome(read_track, data)
    assert outcome(read_gpx_exact, data) == expected


@pytest.mark.parametrize("fmt", ["gpx", "tcx"])
def test_file_cut_anywhere_is_refused_as_corrupt_or_not_a_track(fmt: str) -> None:
    data = CANONICAL[fmt](64 * 1024)
    end = data.rindex(b"</")  # any cut before the root's end tag
    cuts = [*range(0, 300, 7), *range(300, end, end // 97)]
    for at in cuts:
        assert outcome(read_track, data[:at]) in {"corrupt_file", "not_a_track"}, at


def test_canonical_files_are_read_whole() -> None:
    assert len(read_track(CANONICAL["gpx"](SIZE), Limits())) > 1000
    assert len(read_track(CANONICAL["tcx"](SIZE), Limits())) > 900


# CPU time appears below to check complexity, not speed: reading 4N bytes costs about 4x
# reading N on a linear path and about 16x on a quadratic one, on any machine. The least of
# three runs keeps a busy neighbour from deciding the ratio. Each attack is timed at sizes
# where a quadratic path of the past shows: the GPX scanner's `<link\b.*?</link>` (54 s for
# 302 KB), expat fed 64 KiB at a time (an unfinished tag or comment re-read on every piece)
# or in one call (pyexpat still cuts it into 1 MiB pieces), and heavy per-segment work.
LINEAR_CASES = [
    ("gpx/unclosed_links", SIZE),
    ("gpx/huge_attribute", SIZE),
    ("gpx/huge_attribute", MB),
    ("tcx/huge_attribute", MB),
    ("gpx/unclosed_comment", MB),
    ("tcx/unclosed_instruction", MB),
    ("gpx/unclosed_declaration", MB),
    ("tcx/repeated_encoding", MB),
    ("tcx/many_attributes", SIZE),
    ("gpx/namespaces_on_one_tag", SIZE),
    ("gpx/one_point_segments", SIZE),
    ("gpx/empty_segments", SIZE),
    ("gpx/tiny_elements", SIZE // 2),
    ("tcx/tiny_elements", SIZE // 2),
    ("gpx/huge_time", MB),
    ("gpx/huge_name", MB),
]


@pytest.mark.parametrize(("name", "size"), LINEAR_CASES)
def test_reading_cost_grows_linearly_with_size(name: str, size: int) -> None:
    generate = GENERATORS[name]
    small = cpu_seconds(generate(size))
    large = cpu_seconds(generate(4 * size))
    assert large < 8 * max(small, 1e-3), (small, large)


class RecordingParser:
    """Stands in for expat: records what each call is handed and re-reads, and holds back
    everything from ``held_from(pos)`` on, as expat does with an unfinished token."""

    def __init__(self, held_from: Callable[[int], int]) -> None:
        self.held_from = held_from
        self.fed = 0
        self.read = 0  # bytes tokenised: the held-back ones again, then the new piece
        self.pieces: list[int] = []

    def Parse(self, data: bytes | memoryview, isfinal: bool = False) -> int:
        self.read += self.fed - self.held_from(self.fed) + len(data)
        self.fed += len(data)
        self.pieces.append(len(data))
        return 1

    @property
    def CurrentByteIndex(self) -> int:
        return self.held_from(self.fed)


def test_unfinished_token_is_re_read_a_bounded_number_of_times() -> None:
    # A comment from byte 0 that never ends: fed 64 KiB at a time, its first 1 MiB was
    # tokenised 8.5 times over (16 pieces, each re-reading all before it).
    parser = RecordingParser(held_from=lambda fed: 0)
    data = bytes(xmlsafe.MAX_TOKEN - 1024)
    xmlsafe._feed(parser, data)  # type: ignore[arg-type]
    assert parser.fed == len(data)
    # Once more at the end, when expat finds the document unfinished.
    assert parser.read < 3 * len(data)


def test_token_over_the_bound_is_refused_after_reading_a_few_times_the_bound() -> None:
    parser = RecordingParser(held_from=lambda fed: 0)
    with pytest.raises(InvalidTrack) as info:
        xmlsafe._feed(parser, bytes(20 * MB))  # type: ignore[arg-type]
    assert info.value.code == "too_large"
    assert parser.read < 4 * xmlsafe.MAX_TOKEN


def test_ordinary_file_is_fed_in_64_kib_pieces() -> None:
    parser = RecordingParser(held_from=lambda fed: fed - fed % 200)  # short tokens
    xmlsafe._feed(parser, bytes(MB))  # type: ignore[arg-type]
    assert parser.pieces == [xmlsafe.CHUNK] * (MB // xmlsafe.CHUNK) + [0]


def test_tag_longer_than_the_token_bound_is_too_large() -> None:
    assert outcome(read_track, huge_attribute(xmlsafe.MAX_TOKEN - 1024, TCX)) == "track"
    assert outcome(read_track, huge_attribute(2 * xmlsafe.MAX_TOKEN, TCX)) == "too_large"
    assert outcome(read_gpx_exact, unclosed_comment(2 * xmlsafe.MAX_TOKEN, GPX)) == "too_large"


def test_link_removal_matches_the_lazy_pattern_it_replaces() -> None:
    lazy = re.compile(rb"<link\b.*?</link>", re.S)
    pieces = [b"<link", b"</link>", b"<linked>", b"<link>", b"<link_", b"x", b" ", b"<type>"]
    rng = random.Random(302)
    for _ in range(20_000):
        head = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert _without_links(head) == lazy.sub(b"", head), head


def test_track_behind_unclosed_links_keeps_its_name_and_sport() -> None:
    track = scan_canonical(GENERATORS["gpx/unclosed_links"](SIZE), Limits())
    assert track is not None
    assert (track.name, track.sport) == ("hostile", "run")


def test_link_type_is_not_taken_for_the_sport() -> None:
    data = CANONICAL["gpx"](4096).replace(
        b"<type>running</type>",
        b'<link href="https://e.example/"><text>club</text><type>text/html</type></link>'
        b"<type>cycling</type>",
        1,
    )
    track = scan_canonical(data, Limits())
    assert track is not None and track.sport == "cycle"


@pytest.mark.parametrize("encoding", ["punycode", "idna", "base64", "zlib_codec", "rot13"])
def test_declared_codec_that_is_no_character_set_is_unsupported(encoding: str) -> None:
    # punycode decodes in quadratic time (14 s for 256 KiB); the bytes-to-bytes codecs made
    # bytes.decode raise a LookupError that escaped as a crash.
    data = CANONICAL["tcx"](SIZE).replace(b"UTF-8", encoding.encode(), 1)
    assert outcome(read_track, data) == "unsupported_encoding"


def test_declared_encoding_is_rewritten_in_the_declaration_only() -> None:
    data = CANONICAL["gpx"](4096).replace(b"UTF-8", b"GBK", 1)
    data = data.replace(b"<name>Morning run</name>", b'<name>encoding="GBK"</name>', 1)
    prepared = xmlsafe.prepare(data)
    assert prepared.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert b'<name>encoding="GBK"</name>' in prepared
    assert read_gpx_exact(data, Limits()).name == 'encoding="GBK"'


def test_long_fraction_of_seconds_is_read_without_a_float_per_digit() -> None:
    value = b"2025-11-01T00:30:00." + b"1" * 1_000_000 + b"Z"
    tracemalloc.start()
    try:
        (seconds,) = times_to_posix([value])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seconds == pytest.approx(1761957000.111111111, abs=1e-6)
    assert peak < 4 * len(value)  # 8 bytes of float per digit before


def test_short_segments_read_together_agree_with_the_exact_reader() -> None:
    # Segments of one to three points, some without elevation, time or heart rate: the
    # scanner converts them in batches and must place every value as the exact reader does.
    rng = random.Random(9000)
    sizes = [rng.randint(1, 3) for _ in range(9000)]
    sizes[4500] = 5000  # one long segment, converted on its own between two batches
    segments = []
    for i, size in enumerate(sizes):
        points = []
        for j in range(size):
            n = 3 * i + j
            ele = b"<ele>%d.5</ele>" % (n % 50) if i % 3 else b""
            when = b"<time>2025-11-01T%02d:%02d:%02dZ</time>" % (
                n // 3600 % 24,
                n // 60 % 60,
                n % 60,
            )
            hr = b"<extensions><hr>%d</hr></extensions>" % (100 + n % 80) if i % 5 else b""
            lat, lon = 31.2 + n * 1e-5, 120.5 + n * 1e-5
            points.append(
                b'<trkpt lat="%.6f" lon="%.6f">%s%s%s</trkpt>'
                % (lat, lon, ele, when if i % 7 else b"", hr)
            )
        segments.append(b"<trkseg>" + b"".join(points) + b"</trkseg>\n")
    data = b'<gpx version="1.1"><trk><type>running</type>%s</trk></gpx>' % b"".join(segments)
    fast = scan_canonical(data, Limits())
    assert fast is not None
    exact = read_gpx_exact(data, Limits())
    for column in ("lat", "lon", "ele", "t", "hr", "segment_starts"):
        assert np.array_equal(getattr(fast, column), getattr(exact, column), equal_nan=True)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(lambda: huge_attribute(20 * MB, GPX), "too_large", id="gpx-attribute"),
        pytest.param(lambda: unclosed_comment(20 * MB, TCX), "too_large", id="tcx-comment"),
        pytest.param(lambda: huge_text(20 * MB, GPX), "track", id="gpx-text"),
        pytest.param(lambda: huge_text(20 * MB, TCX), "track", id="tcx-text"),
        pytest.param(lambda: huge_name(20 * MB, GPX), "track", id="gpx-name"),
        pytest.param(lambda: huge_time(20 * MB, GPX), "track", id="gpx-time"),
        pytest.param(lambda: huge_number(20 * MB, TCX), "track", id="tcx-number"),
        # 20 MB of ordinary points (the GPX one read by both its readers): two to three s.
        pytest.param(lambda: one_line(20 * MB, GPX), "track", id="gpx-line", marks=SLOW),
        pytest.param(lambda: one_line(20 * MB, TCX), "track", id="tcx-line", marks=SLOW),
    ],
)
def test_twenty_megabyte_token_or_line_is_read_or_refused(
    make: Callable[[], bytes], expected: str
) -> None:
    assert outcome(read_track, make()) == expected
