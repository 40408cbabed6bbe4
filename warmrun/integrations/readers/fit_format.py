"""FIT wire format: base types, the CRC, definition layouts and raw field values.

The rules are those of fitdecode 0.11, the reader this code replaced, so that a file reads as it
did: a base type the SDK does not know, or a field whose size is not a multiple of its base
type's, reads as bytes; a developer field reads as many whole values of its type as fit in its
declared size; an invalid value is None.
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

Offsets = npt.NDArray[np.int64]

BYTE, STRING = 0x0D, 0x07
# Base type: (numpy type code, size in bytes, value meaning "invalid"; None: NaN or per-byte).
BASE_TYPES: dict[int, tuple[str, int, int | None]] = {
    0x00: ("u1", 1, 0xFF),
    0x01: ("i1", 1, 0x7F),
    0x02: ("u1", 1, 0xFF),
    0x83: ("i2", 2, 0x7FFF),
    0x84: ("u2", 2, 0xFFFF),
    0x85: ("i4", 4, 0x7FFFFFFF),
    0x86: ("u4", 4, 0xFFFFFFFF),
    STRING: ("u1", 1, None),
    0x88: ("f4", 4, None),
    0x89: ("f8", 8, None),
    0x0A: ("u1", 1, 0),
    0x8B: ("u2", 2, 0),
    0x8C: ("u4", 4, 0),
    BYTE: ("u1", 1, None),
    0x8E: ("i8", 8, 0x7FFFFFFFFFFFFFFF),
    0x8F: ("u8", 8, 0xFFFFFFFFFFFFFFFF),
    0x90: ("u8", 8, 0),
}
_STRUCT_CODES = dict(zip(BASE_TYPES, "BbBhHiIsfdBHIBqQQ", strict=True))


def resolve_base(base_type: int, size: int) -> tuple[int, int]:
    """The base type a field is read as, and how many values (bytes, for byte and string)."""
    base = base_type if base_type in BASE_TYPES else BYTE
    width = BASE_TYPES[base][1]
    if size % width:
        return BYTE, size
    return base, size // width


# --- CRC ----------------------------------------------------------------------------------------
# The FIT CRC is CRC-16/ARC (reflected 0xA001, initial value 0): linear, and unchanged by leading
# zero bytes, so it is computed as a tree: the CRC of every 2-byte word by table, then pairs of
# neighbours combined (the left one advanced over the right one's length by a table per level).


def _byte_table() -> list[int]:
    table = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ (0xA001 if c & 1 else 0)
        table.append(c)
    return table


_T8 = _byte_table()
_T8_NP = np.array(_T8, dtype=np.uint16)
_REG = np.arange(65536, dtype=np.uint16)
_REG = _T8_NP[_REG & 0xFF] ^ (_REG >> 8)
_T16 = _T8_NP[_REG & 0xFF] ^ (_REG >> 8)  # the register after two bytes
_T16_LIST: list[int] = _T16.tolist()
_ADVANCE = [_T16]  # _ADVANCE[j]: the register after 2 ** (j + 1) zero bytes
_ZERO16 = np.zeros(1, dtype=np.uint16)
_SMALL_CRC = 2048


def crc16(data: bytes, start: int, end: int) -> int:
    """CRC of ``data[start:end]`` as the FIT SDK computes it."""
    crc = 0
    if (end - start) & 1:
        crc = _T8[data[start]]
        start += 1
    words = (end - start) >> 1
    if words == 0:
        return crc
    if end - start < _SMALL_CRC:
        table = _T16_LIST
        for w in struct.unpack_from(f"<{words}H", data, start):
            crc = table[crc ^ w]
        return crc
    level = np.take(_T16, np.frombuffer(data, dtype="<u2", count=words, offset=start))
    level[0] ^= _T16[crc]
    j = 0
    while level.size > 1:
        if level.size & 1:
            level = np.concatenate((_ZERO16, level))
        while len(_ADVANCE) <= j:
            _ADVANCE.append(np.take(_ADVANCE[-1], _ADVANCE[-1]))
        level = np.take(_ADVANCE[j], level[0::2]) ^ level[1::2]
        j += 1
    return int(level[0])


# --- layouts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DevField:
    """A developer field of a definition, typed by the field description in force then."""

    num: int
    name: Any  # the description's field_name value (None, or whatever the file put there)
    base: int
    length: int  # whole values of its base type that its declared size holds


class Layout:
    """One definition message's layout, shared by every identical definition in the stream."""

    __slots__ = (
        "_fields",
        "_starts",
        "big_endian",
        "dev",
        "global_num",
        "native",
        "readable",
        "size",
    )

    def __init__(
        self, global_num: int, big_endian: bool, native: bytes, dev: tuple[DevField, ...]
    ) -> None:
        self.global_num = global_num
        self.big_endian = big_endian
        self.native = native  # 3 bytes per field: number, size, base type
        self.dev = dev
        sizes = native[1::3]
        # A field of zero bytes: fitdecode fails on every data record of this layout.
        self.readable = 0 not in sizes and all(d.length for d in dev)
        self._starts = list(accumulate(sizes, initial=1))  # of native fields, then the dev part
        self.size = self._starts[-1] + sum(d.length * BASE_TYPES[d.base][1] for d in dev)
        self._fields: dict[Collection[int], list[FieldSpec]] = {}

    def fields(self, nums: Collection[int] = range(256)) -> list[FieldSpec]:
        """The native fields numbered in ``nums``, then every developer field, in the order
        fitdecode reads them."""
        found = self._fields.get(nums)
        if found is None:
            found = self._fields[nums] = self._find(nums)
        return found

    def _find(self, nums: Collection[int]) -> list[FieldSpec]:
        native, starts = self.native, self._starts
        specs = []
        for i, num in enumerate(native[0::3]):
            if num in nums:
                base, length = resolve_base(native[3 * i + 2], native[3 * i + 1])
                specs.append(FieldSpec(num, starts[i], base, length, False, None, i))
        at, i = starts[-1], len(starts) - 1
        for d in self.dev:
            specs.append(FieldSpec(d.num, at, d.base, d.length, True, d.name, i))
            at += d.length * BASE_TYPES[d.base][1]
            i += 1
        return specs


class FieldSpec(NamedTuple):
    """Where one field of a layout is and how it reads."""

    num: int
    offset: int  # from the record's header byte
    base: int
    length: int  # values (bytes, for byte and string)
    dev: bool
    name: Any  # a developer field's name (from its description)
    position: int  # among the layout's fields, developer fields after native ones


def raw_value(data: bytes, at: int, base: int, count: int, big_endian: bool) -> Any:
    """One field's raw value as fitdecode gives it: None when invalid, a tuple for an array or
    bytes, a str for a string."""
    code = _STRUCT_CODES[base]
    values = struct.unpack_from(f"{'>' if big_endian else '<'}{count}{code}", data, at)
    if base == BYTE:
        return None if all(b == 0xFF for b in values) else values
    if len(values) > 1:
        return tuple(_parse(base, v) for v in values)
    return _parse(base, values[0])


def _parse(base: int, value: Any) -> Any:
    if base == STRING:
        end = value.find(b"\x00")
        return (value if end < 0 else value[:end]).decode("utf-8", errors="replace") or None
    invalid = BASE_TYPES[base][2]
    if invalid is None:
        return None if value != value else value
    return None if value == invalid else value


def message_values(data: bytes, at: int, layout: Layout, names: dict[int, str]) -> list[Any]:
    """(name, raw value) of every field of the record at ``at``, in fitdecode's order: native
    fields named by ``names`` (others None), then developer fields."""
    return [
        (
            f.name if f.dev else names.get(f.num),
            raw_value(data, at + f.offset, f.base, f.length, layout.big_endian),
        )
        for f in layout.fields()
    ]
