"""Write a frame as CSV, Parquet or JSON Lines in the file conventions of SPEC §5.

Money columns go from Int64 fen to yuan with two decimals: the string "1234.50" in CSV and
JSONL, Decimal(18, 2) in Parquet (exact: the fen integers become the decimal's unscaled
value; stored as Parquet INT64, which Decimal(18, 2) allows, straight from the Int64
buffer). Dates are YYYY-MM-DD, booleans true/false, list columns `;`-joined in CSV (arrays
in JSONL and Parquet). The file is written beside its target and renamed into place, so a failed
write leaves no half-written file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

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


def yuan_decimal(fen: pl.Series) -> pl.Series:
    """Int64 fen as Decimal(18, 2) yuan: the fen are the decimal's unscaled integers, laid out
    as little-endian 128-bit two's complement words (low word, then the sign extension)."""
    nulls = fen.null_count()
    values = (fen.fill_null(0) if nulls else fen).cast(pl.Int64).to_numpy()
    words = np.empty(2 * len(values), dtype=np.int64)
    words[0::2] = values
    np.right_shift(values, 63, out=words[1::2])
    bitmap = None
    if nulls:
        bitmap = pa.py_buffer(np.packbits(fen.is_not_null().to_numpy(), bitorder="little"))
    arr = pa.Array.from_buffers(pa.decimal128(18, 2), len(values), [bitmap, pa.py_buffer(words)])
    return pl.Series(fen.name, arr, dtype=pl.Decimal(18, 2))


def _decimal64(fen: pl.Series) -> pa.Array:
    """Int64 fen as an Arrow decimal64(18, 2) over the same buffers (no copy)."""
    arr = fen.cast(pl.Int64).to_arrow()
    return pa.Array.from_buffers(pa.decimal64(18, 2), len(arr), arr.buffers()[:2],
                                 null_count=arr.null_count, offset=arr.offset)


#: A text column is dictionary-encoded when its first rows repeat values this much; ids
#: (claim_id, person_id) are not, and trying a dictionary on them costs more than it saves.
_DICT_SAMPLE, _DICT_MAX_SHARE = 65_536, 16


def _dictionary_columns(df: pl.DataFrame, money_columns: Sequence[str]) -> list[str]:
    chosen = []
    for name, dtype in df.schema.items():
        if name in money_columns:
            continue
        head = df[name].head(_DICT_SAMPLE)
        if dtype != pl.String or head.n_unique() * _DICT_MAX_SHARE <= max(head.len(), 1):
            chosen.append(name)
    return chosen


def _write_parquet(df: pl.DataFrame, path: Path, money_columns: Sequence[str]) -> None:
    """Parquet through PyArrow: measured on 5 M settlement results about twice as fast as
    Polars' writer with the 128-bit Decimal conversion, for a file of the same size (zstd
    level 1; snappy writes 10 M results ~20 % faster but twice as large, see
    docs/decisions.md). The Arrow schema is not stored, so readers see plain strings and
    Decimal(18, 2)."""
    table = pa.table(
        [_decimal64(df[c]) if c in money_columns
         else df[c].to_arrow(compat_level=pl.CompatLevel.newest()) for c in df.columns],
        names=df.columns)
    repeating = _dictionary_columns(df, money_columns)
    # min/max statistics on id columns prune nothing and cost ~10 % of the write
    ids = [c for c, t in df.schema.items() if t == pl.String and c not in repeating]
    # money as DELTA_BINARY_PACKED (then zstd): the encoder bit-packs the fen, which leaves
    # zstd a quarter of the bytes to compress; 15–20 % less CPU for the results file,
    # ~9 % more bytes (docs/decisions.md)
    money = [c for c in money_columns if c in df.columns]
    pq.write_table(table, path, compression="zstd", compression_level=1,
                   use_dictionary=repeating,
                   column_encoding=dict.fromkeys(money, "DELTA_BINARY_PACKED") or None,
                   write_statistics=[c for c in df.columns if c not in ids],
                   store_decimal_as_integer=True, store_schema=False)


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
        low, high = df[name].min(), df[name].max()
        if any(isinstance(v, int) and abs(v) > _MAX_DECIMAL_FEN for v in (low, high)):
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
    except (OSError, pa.ArrowException, pl.exceptions.PolarsError,
            pl.exceptions.PanicException) as exc:
        tmp.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise file_error(
            "FILE_UNWRITABLE", f"cannot write {str(path)!r}: {reason}", path.name
        ) from None
