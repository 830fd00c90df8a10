"""Day numbers (days since 1970-01-01) in the proleptic Gregorian calendar, as NumPy's
datetime64 counts them, for Numba kernels and vectorised code alike (H. Hinnant's
civil_from_days and days_from_civil, in integer arithmetic)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from numba import njit

EPOCH = dt.date(1970, 1, 1)


def day_number(d: dt.date) -> int:
    """The day number of a date."""
    return (d - EPOCH).days


@njit(cache=True)
def civil(z: int) -> tuple[int, int, int]:
    """(year, month, day) of day number ``z``."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


@njit(cache=True)
def from_civil(year: int, month: int, day: int) -> int:
    """Day number of (year, month, day)."""
    y = year - (1 if month <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


@njit(cache=True)
def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """Each day number as the integer YYYYMMDD."""
    out = np.empty(days.shape[0], np.int64)
    for i in range(days.shape[0]):
        year, month, day = civil(days[i])
        out[i] = year * 10000 + month * 100 + day
    return out
