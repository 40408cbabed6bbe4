"""The walk over a FIT stream: headers, definitions and where every data record starts.

It follows fitdecode 0.11 (the reader this one replaced), so a stream reads, or is refused, as
it was: a header of 12 or 14 bytes (a non-zero header CRC must match), records up to the
declared body size and not one byte past it, a file CRC that must match, further FIT files
chained after it; developer_data_id and field_description messages type the developer fields
of later definitions as they come.

Walking is sequential (a record's size depends on the definition in force for its local type),
so the loop per record is kept to a few operations: a stretch of records with the same header
is found with numpy and taken in one step, an identical definition is parsed once, and records
are only noted here (their offsets), to be decoded column by column later. Bounds on messages,
definitions, chained files and developer field messages make a hostile stream end early.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from warmrun.integrations.readers import fit_profile as prof
from warmrun.integrations.readers.fit_format import (
    BASE_TYPES,
    BYTE,
    DevField,
    Layout,
    crc16,
    message_values,
)
from warmrun.platform.errors import TooLarge

Offsets = npt.NDArray[np.int64]

# Per header byte: its local message type, or 16 for a definition message.
_LOCAL = tuple(
    (h >> 5) & 3 if h & 0x80 else 16 if h & 0x40 else h & 15 for h in range(256)
)  # fmt: skip
_COMPRESSED_MASK = 0xE0  # the part of a compressed-timestamp header naming its local type


class _Stop(Exception):
    """fitdecode would raise here (``at`` is the offset of the record or header)."""

    def __init__(self, at: int) -> None:
        super().__init__(at)
        self.at = at


@dataclass
class Walk:
    """What a walk over a FIT stream found."""

    layouts: list[tuple[Layout, Offsets]]  # each layout with its data records, in stream order
    file_starts: list[int]  # offset of each chained FIT file's header
    stop: int | None  # offset where reading fails, or None when the stream reads to its end
    compressed: bool  # some record has a compressed-timestamp header


@dataclass(frozen=True)
class WalkLimits:
    """Bounds on the work a stream may cause, whatever it claims (each over is TooLarge)."""

    messages: int  # records and definitions
    definitions: int
    layouts: int = 1024  # distinct definitions (at most 1024: numbered in 10 bits)
    files: int = 256
    developer_messages: int = 4096


_CHECK_EVERY = 1024  # bytes walked between looks for a run (and at the bounds)
# At most one message per BYTES_PER_MESSAGE bytes and one definition per BYTES_PER_DEFINITION
# bytes walked, beyond SLACK of each (the densest real file in the corpus: 22.9 and 854).
BYTES_PER_MESSAGE = 6
BYTES_PER_DEFINITION = 24
SLACK = 4096


class _Walker:
    def __init__(self, data: bytes, limits: WalkLimits) -> None:
        self.data = data
        self.u8 = np.frombuffer(data, dtype=np.uint8)
        self.limits = limits
        self.cache: dict[Any, int] = {}  # definition bytes -> layout number
        self.layouts: list[Layout] = []
        self.file_starts: list[int] = []
        self.starts = array("q")  # data records since the last run
        self.pieces: list[Offsets] = []  # earlier data records, runs whole, in stream order
        self.in_pieces = 0
        # Definitions, each in force from its offset on: offset << 15 | local << 11 | layout.
        self.defined: list[int] = []
        self.fast_size: list[int] = []  # per layout: record size, 0 to take the slow path
        self.developer_messages = 0
        self.generation = 0  # bumped whenever developer field types change
        self._reset()

    def _reset(self) -> None:
        self.size_of = [0] * 17  # per local type: record size, or 0 to take the slow path
        self.layout_of: list[int] = [-1] * 17
        self.dev_types: dict[Any, dict[Any, tuple[Any, int]]] = {}
        self.generation += 1

    def messages(self) -> int:
        return len(self.starts) + self.in_pieces + len(self.defined)

    def _check_bounds(self, p: int) -> None:
        if self.messages() > self.limits.messages:
            raise TooLarge(what="FIT messages", limit=f"{self.limits.messages:,}")
        if len(self.defined) > self.limits.definitions:
            raise TooLarge(what="FIT definitions", limit=f"{self.limits.definitions:,}")
        # Density: real files average 22-56 bytes a message and hundreds of bytes a
        # definition; a stream of one-byte messages or bare definitions would cost the walk a
        # Python step per byte or two, so it is refused once it is clearly one.
        if self.messages() > p // BYTES_PER_MESSAGE + SLACK:
            raise TooLarge(what="FIT messages per byte", limit=f"1 per {BYTES_PER_MESSAGE}")
        if len(self.defined) > p // BYTES_PER_DEFINITION + SLACK:
            raise TooLarge(what="FIT definitions per byte", limit=f"1 per {BYTES_PER_DEFINITION}")

    def run(self) -> None:
        data, n, p = self.data, len(self.data), 0
        while p < n:
            start = p
            header = data[p]
            if n - p < 12 or header < 12 or data[p + 8 : p + 12] != b".FIT":
                raise _Stop(p)
            if header != 12:
                if header != 14 or p + 14 > n:
                    raise _Stop(p)
                header_crc = data[p + 12] | data[p + 13] << 8
                if header_crc and header_crc != crc16(data, p, p + 12):
                    raise _Stop(p)
            body_end = p + header + int.from_bytes(data[p + 4 : p + 8], "little")
            self.file_starts.append(start)
            if len(self.file_starts) > self.limits.files:
                raise TooLarge(what="FIT files", limit=f"{self.limits.files:,}")
            self._reset()
            p = self._body(p + header, min(n, body_end))
            if body_end + 2 > n:  # the body or its CRC is cut short
                raise _Stop(p)
            if crc16(data, start, body_end) != data[body_end] | data[body_end + 1] << 8:
                raise _Stop(body_end)
            p = body_end + 2

    def _body(self, p: int, end: int) -> int:
        data, local_of, size_of, append = self.data, _LOCAL, self.size_of, self.starts.append
        last = len(data) - 1
        lim = min(p, last)  # records ending past it take the slow path below
        while p < end:
            # The bulk of a file: data records whose local type is defined, one step each.
            while True:
                q = p + size_of[local_of[data[p]]]
                if p < q <= lim:
                    append(p)
                    p = q
                    continue
                break
            if p >= end:
                break
            if q > p:  # a data record: look for a run, check the bounds, now and then
                if q > end:
                    raise _Stop(p)
                self._check_bounds(p)
                p = self._run(p, q - p, end)
                lim = min(p if p > q else p + _CHECK_EVERY, end, last)
            else:
                head = data[p]
                p = self._definition(p, head, end) if head & 0xC0 == 0x40 else self._special(p, end)
                lim = p + _CHECK_EVERY
                lim = lim if lim < end else end
                lim = lim if lim < last else last
        return p

    def _run(self, p: int, size: int, end: int) -> int:
        """Take the record at ``p`` and, in one step, the stretch of records that follow it
        ``size`` bytes apart with the same header (most of a file is one message type)."""
        data, head = self.data, self.data[p]
        mask = _COMPRESSED_MASK if head & 0x80 else 0xFF
        if p + 3 * size > end or any(data[p + k * size] & mask != head & mask for k in (1, 2)):
            self.starts.append(p)
            return p + size
        most, count, step = (end - p) // size, 3, 61
        while count < most:
            step = min(step, most - count)
            heads = self.u8[p + count * size : p + (count + step) * size : size]
            mismatch = np.flatnonzero(heads & mask != head & mask)
            if mismatch.size:
                count += int(mismatch[0])
                break
            count += step
            step *= 4
        if self.starts:
            self.pieces.append(np.array(self.starts, dtype=np.int64))
            self.in_pieces += len(self.starts)
            del self.starts[:]
        self.pieces.append(np.arange(p, p + count * size, size, dtype=np.int64))
        self.in_pieces += count
        self._check_bounds(p + count * size)
        return p + count * size

    def _special(self, p: int, end: int) -> int:
        """A data record fitdecode fails on, or must act on at once (developer field types)."""
        number = self.layout_of[_LOCAL[self.data[p]]]
        if number < 0:
            raise _Stop(p)  # no definition for this local type
        layout = self.layouts[number]
        if not layout.readable or p + layout.size > end:
            raise _Stop(p)
        self.starts.append(p)
        self._check_bounds(p)
        self.developer_messages += 1
        if self.developer_messages > self.limits.developer_messages:
            limit = self.limits.developer_messages
            raise TooLarge(what="FIT developer field messages", limit=f"{limit:,}")
        try:
            self._declare(p, layout)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise _Stop(p) from exc
        return p + layout.size

    def _definition(self, p: int, head: int, end: int) -> int:
        data = self.data
        e = p + 6 + 3 * data[p + 5] if p + 6 <= end else end + 1
        if head & 0x20:
            e = e + 1 + 3 * data[e] if e < end else end + 1
        if e > end:
            raise _Stop(p)
        raw = data[p + 1 : e]
        key: Any = (raw, self.generation) if head & 0x20 else raw
        number = self.cache.get(key)
        if number is None:
            number = self.cache[key] = self._new_layout(raw, bool(head & 0x20))
        local = head & 15
        self.layout_of[local] = number
        self.size_of[local] = self.fast_size[number]
        self.defined.append(p << 15 | local << 11 | number)
        if not len(self.defined) & 1023:
            self._check_bounds(p)
        return e

    def _new_layout(self, raw: bytes, developer: bool) -> int:
        fields = raw[4]
        if len(self.layouts) >= self.limits.layouts:
            limit = self.limits.layouts
            raise TooLarge(what="distinct FIT definitions", limit=f"{limit:,}")
        big = raw[1] != 0
        dev: list[DevField] = []
        if developer:
            at = 6 + 3 * fields
            for i in range(at, at + 3 * raw[at - 1], 3):
                name, base = self._dev_type(raw[i + 2], raw[i])
                dev.append(DevField(raw[i], name, base, raw[i + 1] // BASE_TYPES[base][1]))
        global_num = int.from_bytes(raw[2:4], "big" if big else "little")
        layout = Layout(global_num, big, raw[5 : 5 + 3 * fields], tuple(dev))
        special = global_num in (prof.FIELD_DESCRIPTION, prof.DEVELOPER_DATA_ID)
        self.layouts.append(layout)
        self.fast_size.append(layout.size if layout.readable and not special else 0)
        return len(self.layouts) - 1

    def _dev_type(self, index: Any, num: Any) -> tuple[Any, int]:
        """The (name, base type) of a developer field; an undeclared one is added as bytes."""
        fields = self.dev_types.get(index)
        if fields is None:
            fields = self.dev_types[index] = {}
            self.generation += 1
        found = fields.get(num)
        if found is None:
            found = fields[num] = (None, BYTE)
            self.generation += 1
        return found

    def _declare(self, p: int, layout: Layout) -> None:
        """Apply a developer_data_id or field_description message, as fitdecode does."""
        names = prof.DEVELOPER_FIELD_NAMES[layout.global_num]
        values = message_values(self.data, p, layout, names)

        def get(name: str) -> Any:
            return next((value for key, value in values if key == name), _MISSING)

        self.generation += 1
        index = get("developer_data_index")
        if layout.global_num == prof.DEVELOPER_DATA_ID:
            self.dev_types[None if index is _MISSING else int(index)] = {}
            return
        if index is _MISSING:
            index = None
        elif index is not None:
            index = int(index)
        if index not in self.dev_types:
            raise KeyError(index)
        num, base = get("field_definition_number"), get("fit_base_type_id")
        name = get("field_name")
        self.dev_types[index][None if num is _MISSING else num] = (
            None if name is _MISSING else name,
            BYTE if base is _MISSING or base is None else _BASE_IDS[base],
        )

    def grouped(self) -> tuple[list[tuple[Layout, Offsets]], bool]:
        """Every layout with data records, and their offsets (a record's layout is the last
        definition of its local type before it); and whether a record has a compressed
        header."""
        starts = np.concatenate([*self.pieces, np.array(self.starts, dtype=np.int64)])
        if not starts.size:
            return [], False
        heads = self.u8[starts]
        compressed = bool((heads >= 0x80).any())
        if len(self.layouts) == 1:
            return [(self.layouts[0], starts)], compressed
        local = _LOCAL_NP[heads]
        packed = np.array(self.defined, dtype=np.int64)
        locals_defined = packed >> 11 & 15
        if len(set(locals_defined.tolist())) == len(packed):  # no local type defined twice
            table = np.zeros(16, dtype=np.int16)
            table[locals_defined] = packed & 1023
            number = table[local]
        else:
            defined = locals_defined << 40 | packed >> 15
            order = np.argsort(defined)
            found = np.searchsorted(defined[order], local.astype(np.int64) << 40 | starts, "right")
            number = (packed & 1023).astype(np.int16)[order][found - 1]
        in_order = starts[np.argsort(number, kind="stable")]
        ends = np.cumsum(np.bincount(number, minlength=len(self.layouts))).tolist()
        groups = []
        begin = 0
        for layout, end in zip(self.layouts, ends, strict=True):
            if end > begin:
                groups.append((layout, in_order[begin:end]))
            begin = end
        return groups, compressed


_MISSING = object()
_BASE_IDS = {b: b for b in BASE_TYPES}
_LOCAL_NP = np.array(_LOCAL, dtype=np.uint8)


def walk(data: bytes, limits: WalkLimits) -> Walk:
    """Walk a FIT stream (chained files included) up to its end or to where reading fails."""
    walker = _Walker(data, limits)
    stop = None
    try:
        walker.run()
    except _Stop as exc:
        stop = exc.at
    layouts, compressed = walker.grouped()
    return Walk(layouts, walker.file_starts, stop, compressed)
