"""What fitdecode carried from one message to the next, replayed over whole columns.

Two things: the compressed-timestamp accumulator (any message's field 253 sets it, zero at a
file's start; a record with a compressed header adds its 5-bit offset, rolling over when the
offset is below the previous low bits) and the start of heart-rate event times (an hr message's
``event_timestamp_12`` counts from the last timestamp seen when an hr ``event_timestamp`` last
came; fitdecode fails without one). Each is computed for all messages at once: the events are
sorted by offset and carried forward with cumulative operations.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from warmrun.integrations.readers import fit_profile as prof
from warmrun.integrations.readers.fit_format import Layout
from warmrun.integrations.readers.fit_values import (
    DATETIME_MIN,
    FIT_EPOCH,
    POSIX_MAX,
    SCALAR,
    Column,
    from_timestamp,
    read_column,
)

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Offsets = npt.NDArray[np.int64]
Layouts = list[tuple[Layout, Offsets]]
# Compressed-timestamp records: offset, the time is a datetime, POSIX seconds, fitdecode fails.
CompressedTimes = tuple[Offsets, Bools, Floats, Bools]

_FIELD_SLOTS = 512  # orders the fields of a record: key = offset * 512 + field position
_TIMESTAMP = frozenset((prof.TIMESTAMP,))
_EVENT_TIMESTAMP_12 = frozenset((prof.HR_EVENT_TIMESTAMP_12,))
_EVENT_TIMES = frozenset((prof.HR_EVENT_TIMESTAMP, prof.HR_EVENT_TIMESTAMP_12))


def _timestamps(data: bytes, layout: Layout, starts: Offsets) -> list[tuple[int, Column]]:
    """Every field numbered 253 (native or developer) and its position in the record."""
    return [
        (spec.position, read_column(data, starts, spec, layout.big_endian))
        for spec in layout.fields(_TIMESTAMP)
        if spec.num == prof.TIMESTAMP
    ]


def compressed_times(data: bytes, layouts: Layouts, file_starts: Offsets) -> CompressedTimes:
    """Every compressed-timestamp record: (offset, its time is a datetime, POSIX seconds,
    fitdecode fails on it: the last timestamp was no integer, or the time is past datetime)."""
    u8 = np.frombuffer(data, dtype=np.uint8)
    keys = [file_starts * 2]
    bases = [np.zeros(len(file_starts), dtype=np.int64)]
    good = [np.ones(len(file_starts), dtype=np.bool_)]
    c_keys, c_offsets = [], []
    for layout, starts in layouts:
        head = u8[starts]
        at = head >= 0x80
        c_keys.append(starts[at] * 2 + 1)
        c_offsets.append((head[at] & 31).astype(np.int64))
        columns = _timestamps(data, layout, starts)
        if not columns:
            continue
        present = np.zeros(len(starts), dtype=np.bool_)
        value = np.zeros(len(starts), dtype=np.int64)
        integer = np.zeros(len(starts), dtype=np.bool_)
        for _, col in columns:
            whole = col.kind == SCALAR and not col.floating
            if whole:  # past 2**62 every time is out of range: no need to keep more
                np.copyto(value, np.minimum(col.values, 2**62).astype(np.int64), where=col.present)
            np.copyto(integer, whole, where=col.present)
            present |= col.present
        keys.append(starts[present] * 2)
        bases.append(value[present])
        good.append(integer[present])
    n_base = sum(len(k) for k in keys)
    key = np.concatenate([*keys, *c_keys])
    order = np.argsort(key, kind="stable")
    is_c = (np.arange(len(key)) >= n_base)[order]
    base = np.concatenate([*bases, np.zeros(len(key) - n_base, dtype=np.int64)])[order]
    ok = np.concatenate([*good, np.zeros(len(key) - n_base, dtype=np.bool_)])[order]
    offset = np.concatenate([np.zeros(n_base, dtype=np.int64), *c_offsets])[order]
    idx = np.arange(len(key))
    last_base = np.maximum.accumulate(np.where(is_c, 0, idx))
    low = np.where(is_c, offset, base & 31)
    wrap = is_c[1:] & (offset[1:] < low[:-1])
    wraps = np.concatenate(([0], np.cumsum(wrap)))
    acc = (base[last_base] & ~31) + offset + 32 * (wraps - wraps[last_base])
    acc, good_base, c_key = acc[is_c], ok[last_base][is_c], key[order][is_c]
    late = acc >= DATETIME_MIN
    errors = ~good_base | (late & (acc > POSIX_MAX - FIT_EPOCH))
    return c_key // 2, late & ~errors, acc.astype(np.float64) + FIT_EPOCH, errors


def heart_rate_failure(data: bytes, layouts: Layouts, file_starts: Offsets) -> int | None:
    """Where fitdecode fails dating an hr message's ``event_timestamp_12``: no earlier hr
    ``event_timestamp`` in the file, or the last timestamp then was no positive number; or an
    event_timestamp_12 that is None or a float, or an event_timestamp beside it that is no
    number. None if nowhere."""
    hr = [
        (lay, s)
        for lay, s in layouts
        if lay.global_num == prof.HR and any(not f.dev for f in lay.fields(_EVENT_TIMESTAMP_12))
    ]
    if not hr:
        return None
    # Events in stream order: 0 a file starts, 1 a timestamp, 2 an hr event_timestamp (its
    # start is the last timestamp), 3 an hr event_timestamp_12 (needs a start > 0).
    keys = [file_starts * _FIELD_SLOTS]
    kinds = [np.zeros(len(file_starts), dtype=np.int8)]
    oks = [np.zeros(len(file_starts), dtype=np.bool_)]
    for layout, starts in layouts:
        for i, col in _timestamps(data, layout, starts):
            positive = col.present & (col.values > 0) if col.kind == SCALAR else col.present
            keys.append(starts[col.present] * _FIELD_SLOTS + i)
            kinds.append(np.ones(int(col.present.sum()), dtype=np.int8))
            oks.append(positive[col.present] & (col.kind == SCALAR))
        if layout.global_num == prof.HR:
            for spec in layout.fields(_EVENT_TIMES):
                if not spec.dev:
                    keys.append(starts * _FIELD_SLOTS + spec.position)
                    event = 2 if spec.num == prof.HR_EVENT_TIMESTAMP else 3
                    kinds.append(np.full(len(starts), event, dtype=np.int8))
                    oks.append(np.zeros(len(starts), dtype=np.bool_))
    key = np.concatenate(keys)
    order = np.argsort(key, kind="stable")
    key, kind, ok = key[order], np.concatenate(kinds)[order], np.concatenate(oks)[order]
    idx = np.arange(len(key))
    last_time = np.maximum.accumulate(np.where(kind <= 1, idx, 0))
    start_ok = np.where(kind == 2, ok[last_time], False)
    last_start = np.maximum.accumulate(np.where((kind == 0) | (kind == 2), idx, 0))
    failures = [key[(kind == 3) & ~start_ok[last_start]] // _FIELD_SLOTS]
    for layout, starts in hr:
        failures.append(starts[_event_errors(data, layout, starts)])
    first = np.concatenate(failures)
    return int(first.min()) if first.size else None


def _event_errors(data: bytes, layout: Layout, starts: Offsets) -> Bools:
    errors = np.zeros(len(starts), dtype=np.bool_)
    for spec in layout.fields(_EVENT_TIMES):
        if spec.dev:
            continue
        col = read_column(data, starts, spec, layout.big_endian)
        if spec.num == prof.HR_EVENT_TIMESTAMP_12:
            errors |= ~col.present | (col.kind == SCALAR and col.floating)
        elif col.kind != SCALAR:
            errors |= True
        else:
            errors |= ~col.present
            if col.floating:
                errors |= from_timestamp(FIT_EPOCH + col.values.astype(np.float64) / 1024)[1]
    return errors
