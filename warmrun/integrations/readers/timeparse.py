"""Values as found in GPX and TCX text: ISO-8601 timestamps to POSIX seconds, and numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

_fromiso = datetime.fromisoformat


def iso_to_posix(text: str) -> float:
    """Seconds since the epoch; a time without offset is UTC (as GPX and TCX specify).

    Returns NaN for text that is not a time, so one bad point never rejects a whole file.
    """
    text = text.strip()
    try:
        dt = _fromiso(text)
    except ValueError:
        return math.nan
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.timestamp()
    except (OverflowError, OSError, ValueError):
        return math.nan


def number(text: str) -> float:
    """A finite float, or NaN for text that is not one (``nan`` and ``inf`` included)."""
    try:
        v = float(text)
    except ValueError:
        return math.nan
    return v if math.isfinite(v) else math.nan


def _days_from_civil(
    y: npt.NDArray[np.int64], m: npt.NDArray[np.int64], d: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 for proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days: npt.NDArray[np.int64] = era * 146097 + doe - 719468
    return days


def times_to_posix(values: list[bytes]) -> npt.NDArray[np.float64]:
    """Vectorised parse of UTC times written the way devices write them
    (``YYYY-MM-DDTHH:MM:SSZ`` with optional fraction, all the same width); anything else is
    parsed one by one with :func:`iso_to_posix`."""
    n = len(values)
    if n == 0:
        return np.empty(0)
    width = len(values[0])
    if width >= 20 and values[0][-1:] == b"Z":
        joined = b"".join(values)
        if len(joined) == n * width:
            raw = np.frombuffer(joined, dtype=np.uint8).reshape(n, width)
            seps = raw[:, [4, 7, 10, 13, 16, width - 1]]
            digits = raw[:, _DIGIT_COLUMNS]
            if (seps == _SEPARATORS).all() and ((digits >= 48) & (digits <= 57)).all():
                del seps, digits
                return _from_digits(raw, width)
    return np.array([iso_to_posix(v.decode("utf-8", "replace")) for v in values])


_DIGIT_COLUMNS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_SEPARATORS = np.array([45, 45, 84, 58, 58, 90], dtype=np.uint8)  # - - T : : Z
_FRACTION_DIGITS = 9


def _from_digits(raw: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.float64]:
    """Column-wise arithmetic on the ASCII bytes (one int64 column alive at a time)."""

    def num(*cols: int) -> npt.NDArray[np.int64]:
        out = np.zeros(raw.shape[0], dtype=np.int64)
        for c in cols:
            out *= 10
            out += raw[:, c]
            out -= 48
        return out

    y, mo, d = num(0, 1, 2, 3), num(5, 6), num(8, 9)
    h, mi, s = num(11, 12), num(14, 15), num(17, 18)
    bad = (mo < 1) | (mo > 12) | (d < 1) | (d > 31) | (h > 23) | (mi > 59) | (s > 60)
    secs = (_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s).astype(np.float64)
    del y, mo, d, h, mi, s
    if width > 21:
        frac = raw[:, 20 : width - 1]
        if raw[0, 19] == 46 and ((frac >= 48) & (frac <= 57)).all():
            # Nine digits (nanoseconds) are below a double's resolution at today's epoch
            # seconds; converting more would cost 16 bytes of floats per digit of a hostile
            # 20 MB fraction.
            frac = frac[:, :_FRACTION_DIGITS]
            scale = 10.0 ** -np.arange(1, frac.shape[1] + 1)
            secs += (frac.astype(np.float64) - 48.0) @ scale
        else:
            bad |= True
    secs[bad] = np.nan
    return secs
