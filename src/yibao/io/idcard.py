"""身份证号 (citizen identity number, GB 11643-1999): check digit, embedded birth date, masking.

An 18-character number is 6 region digits, 8 birth-date digits (YYYYMMDD), 3 sequence digits
and a check character: with weights W = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 over the first 17
digits, the check is "10X98765432"[Σ dᵢ·Wᵢ mod 11]. A number is personal data: messages show it
only through `mask_id_number`.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.days import yyyymmdd as days_yyyymmdd

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_FORMAT = re.compile(r"[0-9]{17}[0-9X]")


def mask_id_number(s: str) -> str:
    """Keep the first 6 and last 4 characters: '11010119900307123X' -> '110101********123X'.

    Anything of 10 characters or fewer is masked entirely (keeping 6 + 4 would show all of it).
    """
    s = s.strip()
    if len(s) <= 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def check_char(first17: str) -> str:
    """The GB 11643 check character for 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def valid_id_number(s: str) -> bool:
    """True when ``s`` is 17 digits and the right check character (lower-case x accepted).

    Only the format and the check digit are tested; the embedded birth date is compared with a
    person's birth_date by the persons reader.
    """
    s = s.strip().upper()
    return bool(_FORMAT.fullmatch(s)) and check_char(s[:17]) == s[17]


def digit_matrix(numbers: pl.Series) -> npt.NDArray[np.uint8]:
    """Numbers of exactly 18 bytes each (no nulls) as an (18, n) byte matrix: row i holds the
    i-th character of every number, so each step below is one pass over contiguous memory.

    Joining the column into one string and viewing its bytes avoids a Python loop per number.
    """
    if numbers.len() == 0:
        return np.empty((18, 0), dtype=np.uint8)
    joined = numbers.str.join("").item()
    flat = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8).reshape(-1, 18)
    return np.ascontiguousarray(flat.T)


def _digits(row: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.asarray(row - np.uint8(ord("0")))  # wraps below "0": a non-digit is > 9


def well_formed(matrix: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Per number (column) of ``digit_matrix``: 17 digits and a digit or X."""
    ok = _digits(matrix[17]) <= 9
    ok |= matrix[17] == ord("X")
    for i in range(17):
        ok &= _digits(matrix[i]) <= 9
    return ok


def check_digits_ok(matrix: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Per well-formed number of ``digit_matrix``: is the 18th the right check character?"""
    total = np.zeros(matrix.shape[1], dtype=np.uint16)
    for i, weight in enumerate(WEIGHTS):
        total += _digits(matrix[i]).astype(np.uint16) * np.uint16(weight)
    expected = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)[total % 11]
    return np.asarray(matrix[17] == expected)


def embedded_birth(matrix: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Per well-formed number of ``digit_matrix``: characters 7–14 as the integer YYYYMMDD."""
    value = np.zeros(matrix.shape[1], dtype=np.int64)
    for i in range(6, 14):
        value = value * 10 + _digits(matrix[i])
    return value


def yyyymmdd(days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 as the integer YYYYMMDD (proleptic Gregorian), `days.yyyymmdd`."""
    out: npt.NDArray[np.int64] = days_yyyymmdd(np.asarray(days, np.int64))
    return out


def dates_yyyymmdd(days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """`yyyymmdd` through a table over the span of ``days`` (dates cover a few centuries at
    most, so the table is small and the lookup is one gather)."""
    if len(days) == 0:
        return np.empty(0, dtype=np.int64)
    first = int(days.min())
    table = yyyymmdd(np.arange(first, int(days.max()) + 1, dtype=np.int64))
    return np.asarray(table[days - first])
