"""ISO-8601 timestamps as found in GPX and TCX files, to POSIX seconds."""

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
            if (
                (raw[:, 4] == 45).all()
                and (raw[:, 7] == 45).all()
                and (raw[:, 10] == 84).all()
                and (raw[:, 13] == 58).all()
                and (raw[:, 16] == 58).all()
                and (raw[:, width - 1] == 90).all()
            ):
                digits = raw.astype(np.int64) - 48
                cols = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
                if ((digits[:, cols] >= 0) & (digits[:, cols] <= 9)).all():
                    return _from_digits(digits, width)
    return np.array([iso_to_posix(v.decode("utf-8", "replace")) for v in values])


def _from_digits(digits: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.float64]:
    y = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    mo = digits[:, 5] * 10 + digits[:, 6]
    d = digits[:, 8] * 10 + digits[:, 9]
    h = digits[:, 11] * 10 + digits[:, 12]
    mi = digits[:, 14] * 10 + digits[:, 15]
    s = digits[:, 17] * 10 + digits[:, 18]
    out = (_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s).astype(np.float64)
    bad = (mo < 1) | (mo > 12) | (d < 1) | (d > 31) | (h > 23) | (mi > 59) | (s > 60)
    if width > 21 and digits.shape[1] > 20:
        frac_digits = digits[:, 20 : width - 1]
        if ((frac_digits >= 0) & (frac_digits <= 9)).all():
            scale = 10.0 ** -np.arange(1, frac_digits.shape[1] + 1)
            out += frac_digits @ scale
        else:
            bad |= True
    out[bad] = np.nan
    result: npt.NDArray[np.float64] = out
    return result
