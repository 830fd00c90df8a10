"""Money columns: yuan in files -> Int64 fen, with the rules of `yibao.money.to_fen`, vectorised.

Accepted: strings of plain decimal notation (CSV, JSONL; trailing zeros beyond two decimals
are fine, as in `to_fen`: "12.300" is 1230 fen), JSON numbers, and Parquet decimals, integers
(read as yuan) and floats. A float must stand for a value with at most two decimals: x·100 must
be within a rounding error of an integer. Rejected: more than two decimals (MONEY_DECIMALS),
a negative amount (NEGATIVE), more than MAX_FEN (MONEY_TOO_LARGE), anything else (BAD_MONEY).
Scientific notation in text ("1e3") is BAD_MONEY: nobody writes an amount that way on purpose.
"""

from __future__ import annotations

import polars as pl

from yibao.io.parse import as_text, blank, no_empties, nulls, require
from yibao.io.report import Problems
from yibao.io.schemas import Column
from yibao.io.writers import yuan_decimal
from yibao.money import MAX_FEN

_MAX_YUAN = MAX_FEN // 100
_PLAIN = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
#: The form nearly every file uses: up to 12 digits, then maybe a dot and up to 2 decimals.
_USUAL = r"^[0-9]{1,12}(?:\.[0-9]{0,2})?$"
#: Relative tolerance for floats: far above float64 error (~1e-16) and far below one fen.
_FLOAT_TOLERANCE = 1e-9


def parse_money(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    dtype = s.dtype
    if dtype != pl.String:
        require(s, col, out)
    if isinstance(dtype, pl.Decimal):
        fen = _from_decimal(s, dtype.scale, col, out)
    elif dtype.is_float():
        fen = _from_float(s, col, out)
    elif dtype.is_integer():
        fen = _from_int(s, col, out)
    elif dtype == pl.Boolean:
        out.file("BAD_TYPE", f"column {col.name!r} has type Boolean, expected an amount", col.name)
        return nulls(col, s.len())
    else:
        t = as_text(s, col, out, ints=False)
        if t is None:
            return nulls(col, s.len())
        t = no_empties(t)
        require(t, col, out)
        fen = _from_text(t, col, out)
    # `_limits` left only values in [0, MAX_FEN]: no overflow check needed (3× faster)
    return fen.cast(pl.Int64, strict=False).alias(col.name)


def parse_fen(fen: pl.Series, col: Column, out: Problems) -> pl.Series:
    """Money already in fen (a Parquet Decimal(p ≤ 18, 2) read as its unscaled Int64, see
    `sources.load`); bad values are quoted as the yuan decimals the file holds."""
    require(fen, col, out)
    return _limits(fen, None, col, out)


def _limits(fen: pl.Series, shown: pl.Series | None, col: Column, out: Problems) -> pl.Series:
    """NEGATIVE and MONEY_TOO_LARGE on a fen column of exact integers (Int64 or Int128);
    min and max first, so a clean column costs two reductions. ``shown`` None: the fen are
    quoted as Decimal(18, 2) yuan."""
    lo, hi = fen.min(), fen.max()
    if not (isinstance(lo, int) and lo < 0) and not (isinstance(hi, int) and hi > MAX_FEN):
        return fen
    if shown is None:
        shown = yuan_decimal(fen)
    negative = fen < 0
    large = fen > MAX_FEN
    out.rows("NEGATIVE", col.name, negative, "amount is negative", shown)
    out.rows("MONEY_TOO_LARGE", col.name, large, f"amount exceeds {_MAX_YUAN} yuan", shown)
    return blank(fen, negative | large)


def _clip_yuan(yuan: pl.Series) -> pl.Series:
    """Clip to just beyond the accepted range, so that × 100 cannot overflow and the sign
    and the "too large" verdict survive."""
    return yuan.clip(-_MAX_YUAN - 1, _MAX_YUAN + 1)


def _from_decimal(s: pl.Series, scale: int | None, col: Column, out: Problems) -> pl.Series:
    raw = s.to_physical()  # the unscaled Int128 integers
    scale = scale or 0
    if scale == 2:  # as write_frame writes it: the unscaled integers are the fen
        fen = raw.cast(pl.Int64, strict=False)
        if fen.null_count() == raw.null_count():  # all fit in Int64: check there, faster
            return _limits(fen, s, col, out)
    if scale > 2:
        step = _i128(10 ** (scale - 2))
        odd = (raw % step) != 0
        out.rows("MONEY_DECIMALS", col.name, odd, "amount has more than 2 decimal places", s)
        raw = blank(raw, odd) // step
    elif scale < 2:
        raw = _clip_yuan(raw) * _i128(10 ** (2 - scale))
    return _limits(raw, s, col, out)


def _i128(value: int) -> pl.Series:
    """An Int128 operand: Polars does Int128 arithmetic only between series."""
    return pl.Series([value], dtype=pl.Int128)


def _from_int(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    yuan = s.cast(pl.Int64, strict=False)
    huge = s.is_not_null() & yuan.is_null()  # a UInt64 beyond Int64
    out.rows("MONEY_TOO_LARGE", col.name, huge, f"amount exceeds {_MAX_YUAN} yuan", s)
    return _limits(_clip_yuan(yuan) * 100, s, col, out)


def _from_float(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    x = s.cast(pl.Float64)
    finite = x.is_finite().fill_null(True)
    out.rows("BAD_MONEY", col.name, ~finite, "not a number", s)
    scaled = _clip_yuan(blank(x, ~finite)) * 100
    nearest = scaled.round(0)
    off = (scaled - nearest).abs() > (nearest.abs() * _FLOAT_TOLERANCE).clip(lower_bound=1e-6)
    out.rows("MONEY_DECIMALS", col.name, off, "amount has more than 2 decimal places", s)
    return _limits(blank(nearest, off).cast(pl.Int64), s, col, out)


def _from_text(t: pl.Series, col: Column, out: Problems) -> pl.Series:
    """Text yuan: the usual form ("1234.50", "12", "7.5") by arithmetic on the digits, any
    other form (signs, leading dot, long fractions, junk) by the general parser."""
    usual = t.str.contains(_USUAL)
    fen = _usual_fen(blank(t, ~usual.fill_null(True)))
    if usual.fill_null(True).all():
        return _limits(fen, t, col, out)
    other = _general_fen(blank(t, usual.fill_null(True)), col, out)
    return _limits(fen.fill_null(other), t, col, out)


def _usual_fen(t: pl.Series) -> pl.Series:
    """Fen of text matching `_USUAL`: the digits without the dot, scaled by the decimals."""
    return (
        pl.DataFrame({"t": t})
        .select(
            digits=pl.col("t").str.replace(".", "", literal=True, n=1).cast(pl.Int64, strict=False),
            decimals=(pl.col("t").str.len_bytes() - pl.col("t").str.find(".", literal=True) - 1)
            .fill_null(0)
            .cast(pl.Int64),
        )
        .select(
            pl.when(pl.col("decimals") == 0)
            .then(pl.col("digits") * 100)
            .when(pl.col("decimals") == 1)
            .then(pl.col("digits") * 10)
            .otherwise(pl.col("digits"))
        )
        .to_series()
    )


def _general_fen(t: pl.Series, col: Column, out: Problems) -> pl.Series:
    parts = pl.DataFrame({"t": t}).select(
        plain=pl.col("t").str.contains(_PLAIN).fill_null(True),
        minus=pl.col("t").str.starts_with("-").fill_null(False),
        whole=pl.col("t").str.extract(r"^[+-]?0*([0-9]*)", 1),
        frac=pl.col("t").str.extract(r"\.([0-9]*)$", 1).fill_null(""),
    )
    plain, minus, whole, frac = parts["plain"], parts["minus"], parts["whole"], parts["frac"]
    out.rows("BAD_MONEY", col.name, ~plain, "not an amount in yuan such as 1234.50", t)
    decimals = plain & frac.str.slice(2).str.contains("[1-9]").fill_null(False)
    out.rows("MONEY_DECIMALS", col.name, decimals, "amount has more than 2 decimal places", t)
    nonzero = (whole != "") | frac.str.contains("[1-9]")
    negative = plain & ~decimals & minus & nonzero
    out.rows("NEGATIVE", col.name, negative, "amount is negative", t)
    long = plain & ~decimals & ~negative & (whole.str.len_chars() > 12)
    out.rows("MONEY_TOO_LARGE", col.name, long, f"amount exceeds {_MAX_YUAN} yuan", t)
    fen = blank(whole, ~plain | decimals | negative | long).replace("", "0").cast(
        pl.Int64, strict=False
    ) * 100 + frac.str.pad_end(2, "0").str.slice(0, 2).cast(pl.Int64, strict=False)
    return fen
