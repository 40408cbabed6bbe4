"""FIT field values decoded a column at a time, with the meaning fitdecode gave them.

A column is one field of one layout over all of that layout's records. The rules are fitdecode
0.11's, because the reader must give the track it gave: an invalid value is absent (None); a
field whose size is a multiple of its type's is an array (a tuple, never a number); scale and
offset turn a number into a float; a ``date_time`` of 0x10000000 or more becomes a datetime
(seconds since 1989-12-31T00:00:00Z), a smaller one stays a number (seconds since power-on).
fitdecode also fails on some values (a time out of datetime's range, a component of an array
holding an invalid element): :func:`value_errors` finds the records where it would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from warmrun.integrations.readers import fit_profile as prof
from warmrun.integrations.readers.fit_format import BASE_TYPES, BYTE, STRING, FieldSpec, Layout

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Offsets = npt.NDArray[np.int64]

SCALAR, ARRAY, BYTES, TEXT = range(4)
FIT_EPOCH = 631065600  # 1989-12-31T00:00:00Z in POSIX seconds
DATETIME_MIN = 0x10000000  # below: seconds since the device powered on
POSIX_MAX = 253402300799  # 9999-12-31T23:59:59Z: datetime's last second
POSIX_MIN = -62135596800  # 0001-01-01T00:00:00Z
_EXACT_MICROSECONDS = 2**53


@dataclass
class Column:
    """One field over a layout's records."""

    kind: int
    present: Bools  # fitdecode's value is not None
    values: npt.NDArray[Any]  # SCALAR: (n,), int64/uint64/float64; ARRAY: (n, length)
    floating: bool
    elements: Bools | None = None  # ARRAY: which elements are valid


def read_column(data: bytes, starts: Offsets, spec: FieldSpec, big_endian: bool) -> Column:
    """The field ``spec`` of the records starting at ``starts``."""
    at = starts + spec.offset
    code, width, invalid = BASE_TYPES[spec.base]
    if spec.base == BYTE:
        rows = _rows(data, spec.length)[at]
        return Column(BYTES, (rows != 0xFF).any(axis=1), rows, False)
    if spec.base == STRING:
        first = np.frombuffer(data, dtype=np.uint8)[at]
        return Column(TEXT, first != 0, first, False)
    dtype = np.dtype((">" if big_endian else "<") + code)
    floating = code[0] == "f"
    wide = np.float64 if floating else np.uint64 if code == "u8" else np.int64
    if spec.length == 1:
        strided = np.ndarray((len(data) - width + 1,), dtype=dtype, buffer=data, strides=(1,))
        values = strided[at].astype(wide)
        present = values == values if floating else values != invalid
        return Column(SCALAR, present, values, floating)
    values = _rows(data, spec.length * width)[at].view(dtype).astype(wide)
    elements = values == values if floating else values != invalid
    return Column(ARRAY, np.ones(len(at), dtype=np.bool_), values, floating, elements)


def _rows(data: bytes, width: int) -> npt.NDArray[np.uint8]:
    return np.ndarray((len(data) - width + 1, width), dtype=np.uint8, buffer=data, strides=(1, 1))


class Latest:
    """What one name ends with in fitdecode's ``{name: value}`` of each record: later fields of
    that name replace earlier ones, unless their value is None. ``ok`` is the test the reader
    applies to the value (a number, an integer, a datetime); ``value`` is it as a float."""

    def __init__(self, n: int) -> None:
        self.present = np.zeros(n, dtype=np.bool_)
        self.ok = np.zeros(n, dtype=np.bool_)
        self.value = np.full(n, np.nan)

    def put(self, present: Bools, ok: Bools | bool, value: Floats | float) -> None:
        self.present |= present
        np.copyto(self.ok, ok, where=present)
        np.copyto(self.value, value, where=present)

    def result(self) -> Floats:
        """The value where it passes the test, NaN elsewhere."""
        return np.where(self.present & self.ok, self.value, np.nan)


def numbers(col: Column, scale: float = 0, offset: float = 0) -> tuple[Bools, bool, Floats]:
    """(present, is an integer, value as float) after scale and offset; only scalars are
    numbers (the value is NaN otherwise)."""
    if col.kind != SCALAR:
        return col.present, False, np.full(len(col.present), np.nan)
    value = col.values.astype(np.float64)
    if scale:
        value = value / scale
    if offset:
        value = value - offset
    return col.present, not (col.floating or scale or offset), value


def date_times(col: Column) -> tuple[Bools, Bools, Floats, Bools]:
    """A ``date_time`` field: (present, became a datetime, POSIX seconds, fitdecode fails)."""
    n = len(col.present)
    if col.kind != SCALAR:
        return col.present, np.zeros(n, dtype=np.bool_), np.full(n, np.nan), col.present
    v = col.values
    late = col.present & (v >= DATETIME_MIN)
    if col.floating:
        posix, error = from_timestamp(FIT_EPOCH + v.astype(np.float64))
        error &= late
    else:
        error = late & (v > POSIX_MAX - FIT_EPOCH)
        posix = v.astype(np.float64) + FIT_EPOCH
    return col.present, late & ~error, posix, error


def from_timestamp(d: Floats) -> tuple[Floats, Bools]:
    """``datetime.fromtimestamp(d, UTC).timestamp()`` for floats, and where it raises: CPython
    rounds to the microsecond, half to even, from the fraction ``modf`` leaves."""
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(d)
        d = np.where(finite, d, 0.0)
        whole = np.trunc(d)
        micro = np.rint((d - whole) * 1e6)
        whole += (micro >= 1e6).astype(np.float64) - (micro < 0)
        micro = np.where(micro >= 1e6, micro - 1e6, np.where(micro < 0, micro + 1e6, micro))
        error = ~finite | (whole > POSIX_MAX) | (whole < POSIX_MIN)
        whole = np.where(error, 0.0, whole)
        total = whole.astype(np.int64) * 1_000_000 + micro.astype(np.int64)
        posix = total / 1e6
        for i in np.flatnonzero(np.abs(total) > _EXACT_MICROSECONDS):
            posix[i] = int(total[i]) / 1_000_000
    return posix, error


def altitude_component(col: Column) -> tuple[Bools, bool, Floats]:
    """The ``enhanced_altitude`` that a record's ``altitude`` expands into: its low 16 bits
    (of the little-endian number its bytes make, for bytes and arrays), scale 5, offset 500.
    A float stays as it is; a string stays a string (not a number)."""
    n = len(col.present)
    if col.kind == TEXT:
        return col.present, False, np.full(n, np.nan)
    if col.kind == SCALAR and col.floating:
        return col.present, True, col.values.astype(np.float64) / 5 - 500
    if col.kind == SCALAR:
        low = col.values & np.asarray(0xFFFF, dtype=col.values.dtype)
    else:
        digits = col.values.astype(np.uint64) if col.kind == ARRAY else col.values
        low = digits[:, 0].astype(np.uint64)
        if digits.shape[1] > 1:
            low = (low + digits[:, 1].astype(np.uint64) * np.uint64(256)) & np.uint64(0xFFFF)
    return col.present, True, low.astype(np.float64) / 5 - 500


def value_errors(data: bytes, layout: Layout, starts: Offsets) -> Bools | None:
    """The records of ``layout`` on which fitdecode's decoding raises (None: none can): a time
    it cannot turn into a datetime or time of day, or a component of a value that is no integer.
    """
    checked = _CHECKED.get(layout.global_num)
    if checked is None:
        return None
    times = prof.TIME_FIELDS.get(layout.global_num, {})
    components = prof.COMPONENT_FIELDS.get(layout.global_num, {})
    errors = None
    for spec in layout.fields(checked):
        if spec.dev:
            continue
        kind, accumulates = times.get(spec.num), components.get(spec.num)
        if not _may_fail(spec, kind, accumulates):
            continue
        col = read_column(data, starts, spec, layout.big_endian)
        if errors is None:
            errors = np.zeros(len(starts), dtype=np.bool_)
        if kind is not None:
            errors |= _time_errors(col, kind)
        if accumulates is not None:
            errors |= _component_errors(col, accumulates)
    return errors


_CHECKED = {
    mesg: frozenset(prof.TIME_FIELDS.get(mesg, ())) | frozenset(prof.COMPONENT_FIELDS.get(mesg, ()))
    for mesg in {*prof.TIME_FIELDS, *prof.COMPONENT_FIELDS}
}


def _may_fail(spec: FieldSpec, kind: str | None, accumulates: bool | None) -> bool:
    """False where no value of this field can make fitdecode fail (saves reading it)."""
    if spec.base == BYTE:
        return kind is not None  # a tuple is no time; its components unpack as bytes
    if spec.base == STRING:
        return kind is not None or bool(accumulates)
    if spec.length > 1:
        return True  # a tuple is no time; a component of an invalid element or float fails
    code = BASE_TYPES[spec.base][0]
    if kind is None:
        return False
    if code[0] == "f" or code[1] == "8":
        return True
    return kind == "T" and code[0] == "i"  # 32-bit times fit datetime; negative days do not


def _time_errors(col: Column, kind: str) -> Bools:
    if col.kind != SCALAR:
        return col.present
    v = col.values
    if kind == "D":
        return date_times(col)[3]
    if kind == "T":
        return col.present & ~(v >= 86400) if col.floating else col.present & (v < 0)
    if col.floating:
        return col.present & from_timestamp(FIT_EPOCH + v.astype(np.float64))[1]
    return col.present & ((v > POSIX_MAX - FIT_EPOCH) | (v < POSIX_MIN - FIT_EPOCH))


def _component_errors(col: Column, accumulates: bool) -> Bools:
    if col.kind == ARRAY and col.elements is not None:
        if col.floating:
            return col.present
        invalid = np.asarray(~col.elements.all(axis=1), dtype=np.bool_)
        return invalid
    if col.kind == TEXT and accumulates:
        return col.present
    return np.zeros(len(col.present), dtype=np.bool_)
