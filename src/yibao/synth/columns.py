"""Arrow/Polars columns built straight from NumPy buffers, and synth's year bounds.

Synthetic frames have millions of rows: ids, dates and code columns are assembled from byte
matrices and index arrays here, never from a Python object per row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from yibao.days import day_number

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.signedinteger[Any]]


def year_days(year: int) -> tuple[int, int]:
    """1 January as days since 1970-01-01, and the number of days in the year."""
    jan1 = day_number(dt.date(year, 1, 1))
    return jan1, day_number(dt.date(year + 1, 1, 1)) - jan1


#: "0000" .. "9999" as little-endian uint32 words: four ASCII digits per table look-up
_FOUR_DIGITS = np.array(
    [int.from_bytes(f"{i:04d}".encode(), "little") for i in range(10_000)], dtype=np.uint32
)


def put_digits(out: U8, values: Ints, start: int, width: int) -> None:
    """Write values zero-padded to width ASCII digits into columns start.. of out."""
    chunks = -(-width // 4)
    digits = np.empty((len(values), chunks * 4), dtype=np.uint8)
    words = digits.view(np.uint32)
    # unsigned 32-bit division is several times faster than 64-bit where the values fit
    small = len(values) == 0 or int(values.max()) < 2**32
    v: npt.NDArray[Any] = values.astype(np.uint32 if small else np.uint64)
    base: Any = v.dtype.type(10_000)
    for j in range(chunks - 1, -1, -1):  # a loop over 4-digit chunks, not over rows
        q = v // base
        words[:, j] = _FOUR_DIGITS[v - q * base]
        v = q
    out[:, start : start + width] = digits[:, chunks * 4 - width :]


def ascii_series(name: str, buf: U8, valid: BOOL | None = None) -> pl.Series:
    """Rows of a (n, width) ASCII byte matrix as a Utf8 series, without a Python str per row."""
    n, width = buf.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    data = pa.py_buffer(np.ascontiguousarray(buf))
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), data, bitmap)
    return pl.Series(name, arr, dtype=pl.String)


def numbered(name: str, prefix: str, numbers: Ints, width: int) -> pl.Series:
    """prefix + zero-padded number (P360400 + 00000042): fixed width, so text order is numeric."""
    pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
    buf = np.empty((len(numbers), len(pre) + width), dtype=np.uint8)
    buf[:, : len(pre)] = pre
    put_digits(buf, numbers, len(pre), width)
    return ascii_series(name, buf)


def coded(name: str, codes: tuple[str, ...], index: Ints) -> pl.Series:
    """codes[index] as a Utf8 series; a negative index gives null."""
    missing = index < 0
    idx = pa.array(index.astype(np.int32), mask=missing if missing.any() else None)
    return pl.Series(name, codes, dtype=pl.String).gather(pl.Series(idx).cast(pl.UInt32))


def list_series(name: str, member: BOOL, names: tuple[str, ...]) -> pl.Series:
    """A (n, k) membership matrix as a List(Utf8) series, names in column order."""
    offsets = np.zeros(member.shape[0] + 1, dtype=np.int64)
    np.cumsum(member.sum(axis=1), out=offsets[1:])
    values = pa.array(names, pa.large_string()).take(pa.array(np.nonzero(member)[1]))
    arr = pa.LargeListArray.from_arrays(pa.array(offsets), values)
    return pl.Series(name, arr, dtype=pl.List(pl.String))


def dates(name: str, day: Ints, jan1: int, valid: BOOL | None = None) -> pl.Series:
    """Day indexes of the year as a Date series; rows where valid is False are null."""
    days = day.astype(np.int32) + np.int32(jan1)
    mask = None if valid is None else ~valid
    return pl.Series(name, pa.array(days, pa.int32(), mask=mask).cast(pa.date32()), dtype=pl.Date)


def cdf(weights: F64) -> F64:
    """Cumulative weights along the last axis, each row ending at 1."""
    c = np.cumsum(weights, axis=-1)
    return np.asarray(c / c[..., -1:], dtype=np.float64)


def pick(rng: np.random.Generator, table: F64, group: Ints) -> I64:
    """One option per row from the cumulative weights table[group] (each row ends at 1)."""
    u = rng.random(len(group))
    out = np.empty(len(group), dtype=np.int64)
    for g in range(table.shape[0]):  # a handful of groups, vectorised within each
        rows = np.flatnonzero(group == g)
        out[rows] = np.searchsorted(table[g], u[rows], side="right")
    picked: I64 = np.minimum(out, table.shape[1] - 1)
    return picked


def uniform_days(rng: np.random.Generator, lo: Ints, hi: Ints) -> I64:
    """A day drawn uniformly from lo .. hi (inclusive), row by row."""
    span = np.asarray(hi, dtype=np.int64) - lo + 1
    drawn: I64 = lo + np.floor(rng.random(len(span)) * span).astype(np.int64)
    return drawn
