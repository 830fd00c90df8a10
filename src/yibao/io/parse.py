"""Vectorised parsing of one column into its SPEC §4 dtype, reporting each bad value.

Each parser takes the column as read (strings from CSV/JSONL; the stored type from Parquet),
reports REQUIRED and bad values into `Problems`, and returns the typed column with bad values
null (so later cross-field rules skip them). No parser loops over rows in Python, and the
common case costs one pass: low-cardinality columns (enums, codes, booleans) are judged on
their distinct values, found through a 64-bit hash of each row; ranges are checked with min
and max before any per-row mask is built. Money is in `amounts.py`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

import polars as pl

from yibao.io import icd
from yibao.io.report import Problems
from yibao.io.schemas import MAX_TEXT_BYTES, MAX_YEAR, MIN_YEAR, Column

Parser = Callable[[pl.Series, Column, Problems], pl.Series]
Normalise = Callable[[pl.Series], pl.Series]
_MIN_DATE, _MAX_DATE = dt.date(MIN_YEAR, 1, 1), dt.date(MAX_YEAR, 12, 31)
_INTEGER = r"^[+-]?[0-9]+(\.0*)?$"


def blank(s: pl.Series, mask: pl.Series) -> pl.Series:
    """``s`` with null where ``mask`` is true."""
    return s.set(mask.fill_null(False), None)


def nulls(col: Column, n: int) -> pl.Series:
    return pl.repeat(None, n, dtype=col.dtype, eager=True).alias(col.name)


def empty_lists(name: str, n: int) -> pl.Series:
    return pl.repeat(pl.lit([], dtype=pl.List(pl.String)), n, eager=True).alias(name)


def require(s: pl.Series, col: Column, out: Problems) -> None:
    """REQUIRED where a required column is empty (``s`` has empty values as null)."""
    if col.required and s.null_count():
        out.rows("REQUIRED", col.name, s.is_null(), "required value is empty")


def as_text(s: pl.Series, col: Column, out: Problems, ints: bool = True) -> pl.Series | None:
    """The column as strings (ids stored as integers too, if ``ints``); None, after a BAD_TYPE
    problem, when it cannot be text. Empty strings are left to the caller."""
    dtype = s.dtype
    if dtype == pl.String:
        return s
    if (
        dtype in (pl.Null, pl.Categorical)
        or isinstance(dtype, pl.Enum)
        or (ints and dtype.is_integer())
    ):
        return s.cast(pl.String)
    out.file("BAD_TYPE", f"column {col.name!r} has type {dtype}, expected text", col.name)
    return None


def no_empties(t: pl.Series) -> pl.Series:
    """Empty strings as null (Parquet; text formats arrive that way already)."""
    return t.replace("", None) if (t == "").any() else t


def checked_codes(
    t: pl.Series,
    col: Column,
    out: Problems,
    normalise: Normalise,
    ok: Normalise,
    code: str,
    en: str,
) -> pl.Series:
    """Normalise and check a low-cardinality text column through its distinct values.

    The distinct values are found by hashing each row once (with a random seed, so that
    nobody can craft a bad value whose hash collides with a good one); a value that normalises
    to "" is absent. REQUIRED and ``code`` problems are reported; bad values become null.
    """
    sparse = t.null_count() > t.len() // 2  # e.g. procedure_kind: hash only the values
    seen = t.drop_nulls() if sparse else t
    hashes = seen.hash(seed=secrets.randbits(32))
    first = hashes.arg_unique()
    distinct, distinct_hashes = seen.gather(first), hashes.gather(first)
    new = normalise(distinct)
    new = blank(new, new == "")
    changed = (distinct != new).fill_null(False) | (distinct.is_not_null() & new.is_null())
    good = ok(new).fill_null(False) | new.is_null()
    shown = t
    if changed.any():
        t = t.replace(distinct.filter(changed), new.filter(changed))
    require(t, col, out)
    if not good.all():
        if sparse:
            bad = shown.is_in(distinct.filter(~good).implode()).fill_null(False)
        else:
            bad = hashes.is_in(distinct_hashes.filter(~good).implode())
        out.rows(code, col.name, bad, en, shown)
        t = blank(t, bad)
    return t


def parse_text(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    t = as_text(s, col, out)
    if t is None:
        return nulls(col, s.len())
    lengths = t.str.len_bytes()
    if lengths.min() == 0:
        t = blank(t, lengths == 0)
    require(t, col, out)
    longest = lengths.max()
    if isinstance(longest, int) and longest > MAX_TEXT_BYTES:
        long = lengths > MAX_TEXT_BYTES
        out.rows("TOO_LONG", col.name, long, f"longer than {MAX_TEXT_BYTES} bytes", t)
        t = blank(t, long)
    return t


def parse_enum(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    t = as_text(s, col, out, ints=False)
    if t is None:
        return nulls(col, s.len())
    allowed = sorted(col.values or ())

    def normalise(u: pl.Series) -> pl.Series:
        u = u.str.strip_chars()
        return u.str.to_uppercase() if col.upper else u.str.to_lowercase()

    return checked_codes(
        t,
        col,
        out,
        normalise,
        lambda u: u.is_in(allowed),
        "BAD_ENUM",
        f"must be one of {', '.join(allowed)}",
    )


def parse_region(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    t = as_text(s, col, out)
    if t is None:
        return nulls(col, s.len())
    pad = s.dtype.is_integer()
    return checked_codes(
        t,
        col,
        out,
        lambda u: u.str.zfill(6) if pad else u.str.strip_chars(),
        lambda u: u.str.contains(r"^[0-9]{6}$"),
        "BAD_REGION",
        "must be 6 digits",
    )


def parse_icd10(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    t = as_text(s, col, out, ints=False)
    if t is None:
        return nulls(col, s.len())
    return checked_codes(
        t,
        col,
        out,
        icd.normalise,
        icd.valid,
        "BAD_ICD10",
        "not an ICD-10 code with a WHO category (e.g. K35, K35.8, K35.800X001)",
    )


def parse_bool(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    dtype = s.dtype
    en = "must be true or false (or 1/0)"
    if dtype == pl.Boolean:
        require(s, col, out)
        return s
    if dtype.is_integer():
        require(s, col, out)
        bad = ~s.is_in([0, 1])
        out.rows("BAD_BOOL", col.name, bad, en, s)
        return blank(s == 1, bad).alias(col.name)
    t = as_text(s, col, out, ints=False)
    if t is None:
        return nulls(col, s.len())
    t = checked_codes(
        t,
        col,
        out,
        lambda u: u.str.strip_chars().str.to_lowercase(),
        lambda u: u.is_in(["true", "false", "1", "0"]),
        "BAD_BOOL",
        en,
    )
    return t.is_in(["true", "1"]).set(t.is_null(), None).alias(col.name)


def parse_date(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    dtype = s.dtype
    if dtype == pl.Date:
        require(s, col, out)
        d = s
    elif isinstance(dtype, pl.Datetime):
        require(s, col, out)
        d = s.dt.date()
        timed = s != s.dt.truncate("1d")
        if timed.any():
            out.rows("BAD_DATE", col.name, timed, "has a time of day; a date is expected", s)
            d = blank(d, timed)
    else:
        t = as_text(s, col, out, ints=False)
        if t is None:
            return nulls(col, s.len())
        t = no_empties(t)
        require(t, col, out)
        shaped = t.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$").fill_null(False)
        d = blank(t, ~shaped).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        unreal = t.is_not_null() & d.is_null()
        out.rows("BAD_DATE", col.name, unreal, "not a real date in the form YYYY-MM-DD", t)
    lo, hi = d.min(), d.max()
    if (isinstance(lo, dt.date) and lo < _MIN_DATE) or (isinstance(hi, dt.date) and hi > _MAX_DATE):
        outside = (d < _MIN_DATE) | (d > _MAX_DATE)
        out.rows("BAD_DATE", col.name, outside, f"outside {_MIN_DATE} .. {_MAX_DATE}", d)
        d = blank(d, outside)
    return d.alias(col.name)


def _int_values(s: pl.Series, col: Column, out: Problems) -> tuple[pl.Series, pl.Series, pl.Series]:
    """(Int64 values, rows too big for Int64, the values as shown in messages)."""
    dtype = s.dtype
    if dtype.is_integer():
        require(s, col, out)
        if dtype != pl.UInt64:
            return s, pl.repeat(False, s.len(), eager=True), s
        v = s.cast(pl.Int64, strict=False)
        return v, s.is_not_null() & v.is_null(), s  # a UInt64 beyond Int64
    if dtype.is_float():
        require(s, col, out)
        integral = (s.is_finite() & (s == s.round(0))).fill_null(True)
        too_big = integral & (s.abs() >= 2.0**62)
        out.rows("BAD_INTEGER", col.name, ~integral, "not an integer", s)
        return blank(s, ~integral | too_big).cast(pl.Int64), too_big, s
    t = as_text(s, col, out, ints=False) if dtype != pl.Boolean else None
    if t is None:
        if dtype == pl.Boolean:
            out.file(
                "BAD_TYPE", f"column {col.name!r} has type Boolean, expected an integer", col.name
            )
        empty = nulls(col, s.len()).cast(pl.Int64)
        return empty, empty.is_not_null(), s
    t = no_empties(t)
    require(t, col, out)
    v = t.cast(pl.Int64, strict=False)  # digits with an optional sign
    failed = t.is_not_null() & v.is_null()
    if not failed.any():
        return v, pl.repeat(False, t.len(), eager=True), t
    rest = blank(t, ~failed)  # "2024.0", too many digits, or not a number
    shaped = rest.str.contains(_INTEGER)
    out.rows("BAD_INTEGER", col.name, ~shaped, "not an integer", t)
    whole = rest.str.replace(r"\.0*$", "").str.strip_prefix("+").cast(pl.Int64, strict=False)
    return v.fill_null(whole), shaped.fill_null(False) & whole.is_null(), t


def parse_int(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    v, too_big, shown = _int_values(s, col, out)
    lo, hi = v.min(), v.max()
    low = col.lo is not None and isinstance(lo, int) and lo < col.lo
    high = col.hi is not None and isinstance(hi, int) and hi > col.hi
    if low or high or too_big.any():
        outside = too_big
        if col.lo is not None:
            outside = outside | (v < col.lo)
        if col.hi is not None:
            outside = outside | (v > col.hi)
        out.rows("OUT_OF_RANGE", col.name, outside, f"must lie in {col.lo}..{col.hi}", shown)
        v = blank(v, outside)
    return v.cast(col.dtype, strict=False).alias(col.name)  # in [lo, hi]: it fits
