"""Write a frame as CSV, Parquet or JSON Lines in the file conventions of SPEC §5.

Money columns go from Int64 fen to yuan with two decimals: the string "1234.50" in CSV and
JSONL, Decimal(18, 2) in Parquet (exact: the fen integers become the decimal's unscaled
value; stored as Parquet INT64, which Decimal(18, 2) allows). Dates are YYYY-MM-DD, booleans
true/false, list columns `;`-joined in CSV (arrays in JSONL and Parquet). The file is written
beside its target and renamed into place, so a failed write leaves no half-written file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from yibao.io.report import file_error
from yibao.io.sources import file_format

#: Decimal(18, 2) holds at most 16 digits of yuan.
_MAX_DECIMAL_FEN = 10**18 - 1


def yuan_text(name: str) -> pl.Expr:
    """Int64 fen as yuan text with two decimals, vectorised: 123450 -> "1234.50", -5 -> "-0.05"."""
    fen = pl.col(name).cast(pl.Int64)
    size = fen.abs()
    sign = pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    cents = (size % 100).cast(pl.String).str.zfill(2)
    return pl.concat_str([sign, (size // 100).cast(pl.String), pl.lit("."), cents]).alias(name)


def yuan_decimal_of(name: str) -> pl.Expr:
    """Int64 fen as Decimal(18, 2) yuan: the fen are the decimal's unscaled integers."""
    return pl.col(name).cast(pl.Int128).reinterpret(dtype=pl.Decimal(18, 2))


def yuan_decimal(fen: pl.Series) -> pl.Series:
    """`yuan_decimal_of` on a series."""
    return fen.to_frame().select(yuan_decimal_of(fen.name)).to_series()


def _write_parquet(df: pl.DataFrame, path: Path, money_columns: Sequence[str]) -> None:
    """Parquet through Polars' streaming writer, which encodes on every core: 20 M settlement
    results in ≈ 1.9 s on two cores against ≈ 3.2 s for PyArrow's one thread (3.6 against
    3.1 CPU-s, docs/benchmarks.md, session 7). Money goes from fen to Decimal(18, 2) one
    morsel at a time (Polars' decimals are 128-bit, so a whole-column conversion would cost
    16 bytes a row) and is stored as INT64, zstd level 1. Polars stores its Arrow schema, so
    PyArrow readers see large_string and decimal128(18, 2)."""
    df.lazy().with_columns(yuan_decimal_of(c) for c in money_columns).sink_parquet(
        path, compression="zstd", compression_level=1)


def _checked_money(df: pl.DataFrame, money_columns: Sequence[str], label: str) -> None:
    for name in money_columns:
        if name not in df.columns:
            raise file_error(
                "MISSING_COLUMN", f"money column {name!r} is not in the frame", label, name
            )
        if not df.schema[name].is_integer():
            raise file_error(
                "BAD_TYPE", f"money column {name!r} must hold integer fen", label, name
            )
    # every column's bounds in one query, on the threads (20 M results: 0.05 s, not 0.1)
    bounds = df.select(pl.concat_list(pl.col(c).min(), pl.col(c).max()).alias(c)
                       for c in money_columns)
    for name in money_columns:
        if any(isinstance(v, int) and abs(v) > _MAX_DECIMAL_FEN for v in bounds[name][0]):
            raise file_error(
                "MONEY_TOO_LARGE", f"column {name!r} exceeds Decimal(18, 2)", label, name
            )


def write_frame(df: pl.DataFrame, path: str | Path, money_columns: Sequence[str]) -> None:
    """Write ``df`` to ``path`` (.csv, .parquet, .jsonl/.ndjson); see the module docstring."""
    path = Path(path)
    fmt = file_format(path)
    _checked_money(df, money_columns, path.name)
    dates = [c for c, t in df.schema.items() if t == pl.Date]
    out = df
    if fmt != "parquet":
        out = df.with_columns(
            *(yuan_text(c) for c in money_columns),
            *(pl.col(c).dt.strftime("%Y-%m-%d") for c in dates),
        )
    if fmt == "csv":
        lists = [c for c, t in out.schema.items() if isinstance(t, pl.List)]
        out = out.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join(";") for c in lists)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if fmt == "parquet":
            _write_parquet(out, tmp, money_columns)
        elif fmt == "csv":
            out.write_csv(tmp)
        else:
            out.write_ndjson(tmp)
        os.replace(tmp, path)
    except (OSError, pl.exceptions.PolarsError,
            pl.exceptions.PanicException) as exc:
        tmp.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise file_error(
            "FILE_UNWRITABLE", f"cannot write {str(path)!r}: {reason}", path.name
        ) from None
