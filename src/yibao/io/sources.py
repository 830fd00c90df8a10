"""Raw frames from CSV, Parquet and JSON Lines files, and where each row came from.

A `Source` holds the file's records as read (CSV and JSONL: every value a trimmed string,
empty meaning absent; Parquet: the stored types, ids untrimmed since a program wrote them,
while codes and enums are trimmed later through their distinct values) and a `locate`
function naming a row
`file:line` (CSV: the header is line 1; JSONL: the first record is line 1) or `file:row N`
(Parquet). Line numbers are only worked out for the rows that are reported. Whatever the
file holds (binary junk, another encoding, ragged lines), reading ends in an InputError.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.errors import InputError
from yibao.io.report import Locate, file_error

Fmt = Literal["csv", "parquet", "jsonl"]
_FORMATS: dict[str, Fmt] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_BOM = b"\xef\xbb\xbf"
_READ_ERRORS = (Exception, pl.exceptions.PanicException)


def file_format(path: Path) -> Fmt:
    """The format named by the file's extension; anything else is an InputError."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise file_error(
            "BAD_FORMAT",
            f"extension {path.suffix!r} is not .csv, .parquet, .jsonl or .ndjson",
            path.name,
        )
    return fmt


@dataclass
class Source:
    """A file's rows before validation."""

    label: str  # the file as named in records
    fmt: Fmt
    frame: pl.DataFrame
    locate: Locate
    #: money columns read as Int64 fen: Parquet Decimal(p ≤ 18, 2)'s unscaled integers
    fen: frozenset[str] = frozenset()
    #: the file's columns, when ``frame`` holds only some of them
    columns: tuple[str, ...] = ()


def load(path: str | Path, expected: Sequence[str] | None = None,
         money: Sequence[str] = (), only: Sequence[str] | None = None) -> Source:
    """Read ``path``; with ``expected`` column names, JSONL keys outside them are reported.

    Without ``expected`` (`read_frame_any`) CSV values stay untrimmed strings and JSONL types
    are inferred. Parquet ``money`` columns stored as Decimal(p ≤ 18, 2) come as their
    unscaled Int64 integers, the fen (`Source.fen`), never as Polars' 128-bit decimals.
    ``only``: of a Parquet file, just these columns (those it has) are read.
    """
    path = Path(path)
    label = path.name
    fmt = file_format(path)
    if not path.exists():
        raise file_error("FILE_NOT_FOUND", f"no such file: {str(path)!r}", label)
    if not path.is_file():
        raise file_error("FILE_UNREADABLE", "not a regular file", label)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise file_error("FILE_UNREADABLE", exc.strerror or "cannot read the file", label) from None
    if size == 0 and fmt != "jsonl":
        raise file_error("EMPTY_FILE", "the file is empty (no header)", label)
    if fmt == "parquet":
        return _parquet(path, label, money, only)
    if fmt == "csv":
        return _csv(path, label, clean=expected is not None)
    return _jsonl(path, label, expected)


def _is_fen(dtype: pl.DataType | None) -> bool:
    return isinstance(dtype, pl.Decimal) and dtype.scale == 2 and (dtype.precision or 38) <= 18


def _parquet(path: Path, label: str, money: Sequence[str],
             only: Sequence[str] | None) -> Source:
    # the streaming engine makes fen of the decimals one morsel at a time: at 20 M claims
    # the three amounts never exist as 128-bit columns (0.9 GB, then 0.5 GB of Int64 copies)
    try:
        scan = pl.scan_parquet(path)
        names = tuple(scan.collect_schema().names())
        if only is not None:
            scan = scan.select(c for c in names if c in only)
        schema = scan.collect_schema()
        fen = frozenset(c for c in money if _is_fen(schema.get(c)))
        frame = scan.with_columns(pl.col(c).to_physical().cast(pl.Int64) for c in fen).collect()
    except _READ_ERRORS:
        raise file_error("FILE_UNREADABLE", "not a readable Parquet file", label) from None

    def locate(rows: npt.NDArray[np.int64]) -> list[str]:
        return [f"{label}:row {int(r) + 1}" for r in rows]

    return Source(label, "parquet", frame, locate, fen, names if only is not None else ())


# --- CSV -------------------------------------------------------------------------------------


def _csv(path: Path, label: str, clean: bool) -> Source:
    try:
        frame = pl.read_csv(path, infer_schema=False, raise_if_empty=True)
    except pl.exceptions.NoDataError:
        raise file_error("EMPTY_FILE", "the file is empty (no header)", label) from None
    except _READ_ERRORS as exc:
        raise _csv_error(path, label, str(exc)) from None
    kept: npt.NDArray[np.int64] | None = None
    if clean:
        frame = frame.rename({c: c.strip() for c in frame.columns if c != c.strip()})
        frame, kept = _trim(frame)

    def locate(rows: npt.NDArray[np.int64]) -> list[str]:
        lines = _csv_lines(path, kept[rows] if kept is not None else rows)
        return [f"{label}:{n}" for n in lines]

    return Source(label, "csv", frame, locate)


def _clean(frame: pl.DataFrame) -> pl.DataFrame:
    """Trim every (string) value and make empty ones null."""
    return frame.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in frame.columns)


def _trim(frame: pl.DataFrame) -> tuple[pl.DataFrame, npt.NDArray[np.int64] | None]:
    """`_clean`, then drop blank lines; return the kept rows' indices (None: all kept)."""
    if frame.width == 0:
        return frame, None
    frame = _clean(frame)
    blank = frame.select(pl.all_horizontal(pl.all().is_null())).to_series()
    if not blank.any():
        return frame, None
    keep = ~blank
    return frame.filter(keep), np.flatnonzero(keep.to_numpy()).astype(np.int64)


def _csv_lines(path: Path, rows: npt.NDArray[np.int64]) -> list[int]:
    """1-based line numbers of data rows (0-based), allowing for newlines inside quotes."""
    data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    newlines = np.flatnonzero(data == ord("\n"))
    if not (data == ord('"')).any():
        return [int(r) + 2 for r in rows]
    quotes_before = np.cumsum(data == ord('"'))[newlines]
    # a newline ends a record when an even number of quotes precede it
    ends = np.flatnonzero(quotes_before % 2 == 0)
    # data row r starts on the physical line after the (r+1)-th record end (the header's is the 1st)
    return [int(ends[r]) + 2 if r < len(ends) else int(r) + 2 for r in rows]


def _csv_error(path: Path, label: str, detail: str) -> InputError:
    if "utf-8" in detail.lower() or "utf8" in detail.lower():
        return _encoding_error(path, label)
    if "more fields" in detail:
        return _ragged_error(path, label)
    if "could not parse" in detail:
        return file_error("BAD_CSV", "malformed CSV (an unclosed quote?)", label)
    return file_error("FILE_UNREADABLE", "not a readable CSV file", label)


def _encoding_error(path: Path, label: str) -> InputError:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return file_error(
            "BAD_ENCODING", "not UTF-8 (GBK? save the file as UTF-8)", f"{label}:{line}"
        )
    return file_error("BAD_ENCODING", "not UTF-8 (GBK? save the file as UTF-8)", label)


def _ragged_error(path: Path, label: str) -> InputError:
    """Find the first line with more fields than the header (this is the error path only)."""
    text = path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    width = len(next(reader, []))
    for fields in reader:
        if len(fields) > width:
            return file_error(
                "BAD_CSV",
                f"{len(fields)} fields where the header has {width}",
                f"{label}:{reader.line_num}",
            )
    return file_error("BAD_CSV", "a line has more fields than the header", label)


# --- JSON Lines ------------------------------------------------------------------------------


def _jsonl(path: Path, label: str, expected: Sequence[str] | None) -> Source:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise file_error("FILE_UNREADABLE", exc.strerror or "cannot read the file", label) from None
    data = data.removeprefix(_BOM)
    lines = _JsonLines(data)

    def locate(rows: npt.NDArray[np.int64]) -> list[str]:
        return [f"{label}:{n}" for n in lines.numbers(rows)]

    if not data.strip():
        frame = pl.DataFrame(schema=dict.fromkeys(expected or (), pl.String()))
        return Source(label, "jsonl", frame, locate)
    if expected is None:
        try:
            return Source(label, "jsonl", pl.read_ndjson(data, infer_schema_length=None), locate)
        except _READ_ERRORS as exc:
            _json_keys(data, label, str(exc))  # raises where a line is bad
            raise file_error("BAD_JSON", "a field's values have clashing types", label) from None
    try:  # every key of every line: inference only, nothing materialised
        keys = pl.scan_ndjson(data, infer_schema_length=None).collect_schema().names()
    except _READ_ERRORS as exc:
        keys = _json_keys(data, label, str(exc))  # raises where a line is bad
    unknown = [k for k in keys if k not in expected]
    if unknown:
        raise InputError(
            [
                p
                for k in unknown
                for p in file_error("UNKNOWN_COLUMN", f"unknown field {k!r}", label, k).problems
            ]
        )
    try:
        frame = _clean(pl.read_ndjson(data, schema=dict.fromkeys(expected, pl.String())))
    except _READ_ERRORS:
        raise file_error("BAD_JSON", "not readable as JSON Lines", label) from None
    # `{}` is a record, not a blank line: it stays, and its required fields are reported
    return Source(label, "jsonl", frame, locate)


class _JsonLines:
    """Line numbers of the non-blank lines (the records), computed on first use."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._starts: npt.NDArray[np.int64] | None = None

    def numbers(self, rows: npt.NDArray[np.int64]) -> list[int]:
        if self._starts is None:
            buf = np.frombuffer(self._data, dtype=np.uint8)
            ends = np.append(np.flatnonzero(buf == ord("\n")), len(buf))
            starts = np.concatenate(([0], ends[:-1] + 1))
            # count of non-blank bytes up to each position tells whether a line has content
            solid = np.concatenate(([0], np.cumsum(~np.isin(buf, (9, 10, 13, 32)))))
            self._starts = np.flatnonzero(solid[ends] - solid[starts] > 0).astype(np.int64)
        return [int(self._starts[r]) + 1 if r < len(self._starts) else int(r) + 1 for r in rows]


def _json_keys(data: bytes, label: str, detail: str) -> list[str]:
    """Keys of every record, found line by line; the first bad line is an InputError."""
    keys: dict[str, None] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        where = f"{label}:{number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise file_error(
                "BAD_ENCODING", "not UTF-8 (GBK? save the file as UTF-8)", where
            ) from None
        try:
            record = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise file_error("BAD_JSON", "not valid JSON", where) from None
        if not isinstance(record, dict):
            raise file_error(
                "BAD_JSON", f"a line must hold a JSON object, not {type(record).__name__}", where
            )
        keys.update(dict.fromkeys(record))
    if "utf" in detail.lower():
        raise file_error("BAD_ENCODING", "not UTF-8 (GBK? save the file as UTF-8)", label)
    if "supertype" in detail or "cannot parse" in detail:
        return list(keys)  # mixed types in a field: the field's own checks will report them
    raise file_error("BAD_JSON", "not readable as JSON Lines (a number out of range?)", label)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")
