"""FIT files made to order: ordinary activities, odd ones and hostile ones, with valid CRCs.

:class:`FitBuilder` writes definitions and records; :func:`activity` makes a plain run (in either
byte order, with compressed timestamps, developer fields, heart-rate messages...);
:func:`byte_swapped_copy` re-encodes a real file in the other byte order. The hostile generators
take a target size in bytes and return a file of about that size, so one attack can be timed at
N and 4N bytes or made ~1 MB for a benchmark; :func:`canonical_fit` is an ordinary recording of
the same size to compare with. ``GENERATORS`` names them all.
"""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import fitdecode

# Base types (FIT SDK numbers).
ENUM, SINT8, UINT8, SINT16, UINT16, SINT32, UINT32 = 0x00, 0x01, 0x02, 0x83, 0x84, 0x85, 0x86
STRING, FLOAT32, FLOAT64, UINT8Z, UINT16Z, UINT32Z, BYTE = 0x07, 0x88, 0x89, 0x0A, 0x8B, 0x8C, 0x0D
SINT64, UINT64, UINT64Z = 0x8E, 0x8F, 0x90
_CODES = {
    ENUM: "B", SINT8: "b", UINT8: "B", SINT16: "h", UINT16: "H", SINT32: "i", UINT32: "I",
    FLOAT32: "f", FLOAT64: "d", UINT8Z: "B", UINT16Z: "H", UINT32Z: "I", BYTE: "B",
    SINT64: "q", UINT64: "Q", UINT64Z: "Q", STRING: "s",
}  # fmt: skip
FILE_ID, SESSION, RECORD, HR = 0, 18, 20, 132
FIELD_DESCRIPTION, DEVELOPER_DATA_ID = 206, 207
FIT_EPOCH = 631065600
START = 1_100_000_000  # FIT seconds: 2024-11-08
SEMICIRCLES = 2**31 / 180.0

Generator = Callable[[int], bytes]


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xA001 if crc & 1 else 0)
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """The FIT CRC (CRC-16/ARC), one byte at a time: the tests' own, independent of the reader's."""
    crc, table = 0, _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def pack(base: int, value: object, *, big_endian: bool = False, size: int | None = None) -> bytes:
    """One field's bytes: a number, a sequence of numbers (an array), or bytes as they are."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    order = ">" if big_endian else "<"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return struct.pack(f"{order}{len(value)}{_CODES[base]}", *value)
    if base == STRING:
        text = str(value).encode()
        return text.ljust(size or len(text) + 1, b"\x00")
    return struct.pack(order + _CODES[base], value)


@dataclass
class FitBuilder:
    """Definitions and records of one FIT file, in the order written."""

    big_endian: bool = False
    body: bytearray = field(default_factory=bytearray)
    layouts: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)

    def define(
        self,
        local: int,
        global_num: int,
        fields: Sequence[tuple[int, int, int]],
        *,
        dev: Sequence[tuple[int, int, int]] = (),
        big_endian: bool | None = None,
    ) -> FitBuilder:
        """``fields``: (number, size, base type); ``dev``: (number, size, developer index)."""
        big = self.big_endian if big_endian is None else big_endian
        head = 0x40 | (0x20 if dev else 0) | local
        self.body += bytes((head, 0, 1 if big else 0))
        self.body += global_num.to_bytes(2, "big" if big else "little")
        self.body += bytes((len(fields),)) + b"".join(bytes(f) for f in fields)
        if dev:
            self.body += bytes((len(dev),)) + b"".join(bytes(d) for d in dev)
        self.layouts[local] = list(fields)
        return self

    def record(self, local: int, *values: object, offset: int | None = None) -> FitBuilder:
        """A data record: one value per field of the local type's definition (bytes as they
        are), then developer fields' bytes; ``offset`` writes a compressed-timestamp header
        instead (local types 0-3)."""
        head = local if offset is None else 0x80 | local << 5 | (offset & 31)
        self.body.append(head)
        fields = self.layouts[local]
        for (_, size, base), value in zip(fields, values, strict=False):
            self.body += pack(base, value, big_endian=self.big_endian, size=size)
        for value in values[len(fields) :]:  # developer fields, as bytes
            self.body += pack(BYTE, value)
        return self

    def raw(self, data: bytes) -> FitBuilder:
        self.body += data
        return self

    def build(self, *, header_size: int = 14, body_size: int | None = None) -> bytes:
        size = len(self.body) if body_size is None else body_size
        header = struct.pack("<BBHI4s", header_size, 0x20, 2132, size, b".FIT")
        if header_size == 14:
            header += struct.pack("<H", crc16(header))
        data = header + bytes(self.body)
        return data + struct.pack("<H", crc16(data))


RECORD_FIELDS = [(253, 4, UINT32), (0, 4, SINT32), (1, 4, SINT32), (2, 2, UINT16), (3, 1, UINT8)]


def activity(
    points: int = 60,
    *,
    big_endian: bool = False,
    compressed: bool = False,
    developer: bool = False,
    heart_rate_messages: bool = False,
    sport: int = 1,
) -> bytes:
    """A run: file_id, one record a second, a session; options add what some watches write."""
    b = FitBuilder(big_endian=big_endian)
    b.define(0, FILE_ID, [(0, 1, ENUM), (1, 2, UINT16), (4, 4, UINT32)])
    b.record(0, 4, 1, START)
    if developer:
        b.define(1, DEVELOPER_DATA_ID, [(3, 1, UINT8), (1, 16, BYTE)])
        b.record(1, 0, bytes(range(16)))
        b.define(
            1, FIELD_DESCRIPTION, [(0, 1, UINT8), (1, 1, UINT8), (2, 1, UINT8), (3, 16, STRING)]
        )
        b.record(1, 0, 0, UINT16, "Power")
        b.record(1, 0, 1, FLOAT32, "Form")
        b.define(2, RECORD, RECORD_FIELDS, dev=[(0, 2, 0), (1, 4, 0)])
    else:
        b.define(2, RECORD, RECORD_FIELDS)
    if compressed:
        b.define(3, RECORD, [(0, 4, SINT32), (1, 4, SINT32), (3, 1, UINT8)])
    for i in range(points):
        t = START + i
        lat = round((31.2989 + i * 2e-5) * SEMICIRCLES)
        lon = round((120.5853 + i * 2e-5) * SEMICIRCLES)
        alt = round((30.0 + (i % 7) + 500) * 5)
        if compressed and i % 10:
            b.record(3, lat, lon, 120 + i % 30, offset=t)
            continue
        extra: list[object] = []
        if developer:
            extra = [
                pack(UINT16, 200 + i, big_endian=big_endian),
                pack(FLOAT32, 1.5, big_endian=big_endian),
            ]
        b.record(2, t, lat, lon, alt, 120 + i % 30, *extra)
        if heart_rate_messages and i % 20 == 0:
            b.define(4, HR, [(253, 4, UINT32), (9, 4, UINT32)] if i == 0 else [(10, 15, BYTE)])
            b.record(4, t, 1024 * i) if i == 0 else b.record(4, bytes(range(15)))
    b.define(5, SESSION, [(253, 4, UINT32), (5, 1, ENUM), (7, 4, UINT32), (9, 4, UINT32)])
    b.record(5, START + points, sport, points * 1000, points * 270)
    return b.build()


def byte_swapped_copy(data: bytes) -> bytes:
    """``data`` re-encoded with every definition in the other byte order (its values swapped
    to match); the header and file CRCs are rewritten, everything else is kept."""
    out = bytearray()
    file_start = 0
    with fitdecode.FitReader(
        io.BytesIO(data),
        keep_raw_chunks=True,
        check_crc=fitdecode.CrcCheck.DISABLED,
        error_handling=fitdecode.ErrorHandling.IGNORE,
    ) as reader:
        for frame in reader:
            chunk = bytearray(frame.chunk.bytes)
            if frame.frame_type == fitdecode.FIT_FRAME_HEADER:
                file_start = len(out)
                if len(chunk) == 14:
                    chunk[12:14] = struct.pack("<H", crc16(bytes(chunk[:12])))
            elif frame.frame_type == fitdecode.FIT_FRAME_DEFINITION:
                big = frame.endian == "<"
                chunk[2] = 1 if big else 0
                chunk[3:5] = frame.global_mesg_num.to_bytes(2, "big" if big else "little")
            elif frame.frame_type == fitdecode.FIT_FRAME_DATA:
                at = 1
                for fdef in frame.def_mesg.all_field_defs:
                    width = fdef.base_type.size
                    size = width * int(fdef.size / width)
                    if width > 1:
                        for i in range(at, at + size, width):
                            chunk[i : i + width] = chunk[i : i + width][::-1]
                    at += size
            elif frame.frame_type == fitdecode.FIT_FRAME_CRC:
                chunk = bytearray(struct.pack("<H", crc16(bytes(out[file_start:]))))
            out += chunk
    return bytes(out)


# --- hostile files (each about ``size`` bytes) ---------------------------------------------------


def _fill(b: FitBuilder, size: int, unit: Callable[[int], None]) -> bytes:
    i = 0
    while len(b.body) < size:
        unit(i)
        i += 1
    return b.build()


def canonical_fit(size: int) -> bytes:
    """An ordinary one-record-a-second run of about ``size`` bytes (18 bytes a point)."""
    return activity(max(1, size // 18))


def definition_before_every_record(size: int) -> bytes:
    """Every record redefines its local type first (some exporters do; a cache must absorb it)."""
    b = FitBuilder()

    def unit(i: int) -> None:
        b.define(0, RECORD, RECORD_FIELDS)
        b.record(0, START + i, 373000000 + i, 1438000000 + i, 2650, 130)

    return _fill(b, size, unit)


def alternating_definitions(size: int) -> bytes:
    """Two definitions of one local type by turns, each followed by one record."""
    b = FitBuilder()

    def unit(i: int) -> None:
        fields = RECORD_FIELDS if i % 2 else RECORD_FIELDS[::-1]
        b.define(0, RECORD, fields)
        values = [START + i, 373000000 + i, 1438000000 + i, 2650, 130]
        b.record(0, *(values if i % 2 else values[::-1]))

    return _fill(b, size, unit)


def distinct_definitions(size: int) -> bytes:
    """A new definition (a different unknown message) before every record: nothing to cache."""
    b = FitBuilder()

    def unit(i: int) -> None:
        b.define(i % 16, 0xFF00 + i % 0xFF, [(i % 200, 1, UINT8), (253, 4, UINT32)])
        b.record(i % 16, 1, START + i)

    return _fill(b, size, unit)


def wide_definitions(size: int) -> bytes:
    """A definition of 255 fields of 255 bytes (65 KB records), then records of it."""
    b = FitBuilder()
    b.define(0, RECORD, [(n, 255, BYTE) for n in range(255)])
    record = bytes(255 * 255)
    return _fill(b, size, lambda i: b.raw(b"\x00" + record))


def tiny_records(size: int) -> bytes:
    """One-byte records of a field-less definition, all alike (millions per file)."""
    b = FitBuilder()
    b.define(0, RECORD, [])
    b.raw(bytes(max(0, size - len(b.body))))
    return b.build()


def tiny_records_mixed(size: int) -> bytes:
    """One-byte records of sixteen field-less local types in a jumble: no two alike in a row."""
    b = FitBuilder()
    for local in range(16):
        b.define(local, 0xFF00 + local, [])
    rng = random.Random(size)
    heads = [0]
    for _ in range(4095):
        heads.append((heads[-1] + rng.randrange(1, 16)) & 15)
    heads[-1] = 1 if heads[-2] != 1 else 2  # differs from its neighbour and from heads[0]
    room = max(0, size - len(b.body))
    return b.raw((bytes(heads) * (room // 4096 + 1))[:room]).build()


def tiny_definitions(size: int) -> bytes:
    """Field-less definitions and one-byte records by turns, local types in a jumble (the
    definitions repeat, so each is parsed once, but every one is a step of the walk)."""
    b = FitBuilder()
    state = 7
    while len(b.body) < size:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        local = (state >> 16) & 15
        b.define(local, 0xFF00 + (state & 15), [])
        b.raw(bytes((local,)))
    return b.build()


def absurd_sizes(size: int) -> bytes:
    """A definition whose fields claim 65 KB per record, in a file far too short for one."""
    b = FitBuilder()
    b.define(0, RECORD, [(n, 255, UINT8) for n in range(255)])
    b.raw(b"\x00" * max(0, size - len(b.body)))
    return b.build()


def body_larger_than_file(size: int) -> bytes:
    """A header that declares a body of 4 GB over ordinary records."""
    data = bytearray(canonical_fit(size))
    data[4:8] = struct.pack("<I", 0xFFFFFFF0)
    data[12:14] = struct.pack("<H", crc16(bytes(data[:12])))
    return bytes(data)


def zero_size_fields(size: int) -> bytes:
    """A definition with a field of zero bytes, then records of it."""
    b = FitBuilder()
    b.define(0, RECORD, [(253, 4, UINT32), (3, 0, UINT8)])
    return _fill(b, size, lambda i: b.raw(struct.pack("<BI", 0, START + i)))


def chained_files(size: int) -> bytes:
    """As many tiny chained FIT files as fit, each one record."""
    one = activity(1)
    return one * max(1, size // len(one))


def developer_field_storm(size: int) -> bytes:
    """Field descriptions over and over, each redefining the developer field of the records."""
    b = FitBuilder()
    b.define(1, DEVELOPER_DATA_ID, [(3, 1, UINT8)])
    b.record(1, 0)
    b.define(2, FIELD_DESCRIPTION, [(0, 1, UINT8), (1, 1, UINT8), (2, 1, UINT8)])

    def unit(i: int) -> None:
        b.record(2, 0, 0, (UINT8, UINT16, UINT32, BYTE)[i % 4])
        b.define(0, RECORD, [(253, 4, UINT32)], dev=[(0, 4, 0)])
        b.record(0, START + i, bytes(4))

    return _fill(b, size, unit)


GENERATORS: dict[str, Generator] = {
    "fit/canonical": canonical_fit,
    "fit/definition_before_every_record": definition_before_every_record,
    "fit/alternating_definitions": alternating_definitions,
    "fit/distinct_definitions": distinct_definitions,
    "fit/wide_definitions": wide_definitions,
    "fit/tiny_records": tiny_records,
    "fit/tiny_records_mixed": tiny_records_mixed,
    "fit/tiny_definitions": tiny_definitions,
    "fit/absurd_sizes": absurd_sizes,
    "fit/body_larger_than_file": body_larger_than_file,
    "fit/zero_size_fields": zero_size_fields,
    "fit/chained_files": chained_files,
    "fit/developer_field_storm": developer_field_storm,
}
