"""Validate a raw `Source` against a `Table`: columns, every value, then the table's own rules.

Order: the header (missing, unknown or repeated columns stop here, since row checks would
only repeat the same news), then each column's values (`parse.py`, `amounts.py`), then the
cross-field rules and unique keys (`rules.py`). Every problem found is reported at once; a
frame is returned only when there are none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import polars as pl

from yibao.io import rules
from yibao.io.amounts import parse_fen, parse_money
from yibao.io.lists import parse_list
from yibao.io.parse import (
    Parser,
    as_text,
    empty_lists,
    no_empties,
    nulls,
    parse_bool,
    parse_date,
    parse_enum,
    parse_icd10,
    parse_int,
    parse_region,
    parse_text,
)
from yibao.io.report import Problems
from yibao.io.schemas import KEYS, Column, Table
from yibao.io.sources import Source

_DUPLICATED = re.compile(r"^(.*)_duplicated_\d+$")


def _id_text(s: pl.Series, col: Column, out: Problems) -> pl.Series:
    """身份证号 as text with a final lower-case x made X; the number is checked in `rules.py`."""
    t = as_text(s, col, out)
    if t is None:
        return nulls(col, s.len())
    t = no_empties(t)
    if t.str.ends_with("x").any():
        t = t.str.replace(r"x$", "X")
    return t


PARSERS: dict[str, Parser] = {
    "text": parse_text,
    "enum": parse_enum,
    "date": parse_date,
    "region": parse_region,
    "money": parse_money,
    "int": parse_int,
    "bool": parse_bool,
    "list": parse_list,
    "id_number": _id_text,
    "icd10": parse_icd10,
}


def check_header(source: Source, table: Table) -> None:
    """MISSING_COLUMN, UNKNOWN_COLUMN and DUPLICATE_COLUMN, raised at once."""
    out = Problems(source.label, source.locate)
    names = list(source.columns) or source.frame.columns
    if names and not set(names) & set(table.names):
        out.file("MISSING_HEADER", f"line 1 names none of the columns of {table.name}")
        out.raise_if_any()
    for name in names:
        repeated = _DUPLICATED.match(name)
        if repeated and repeated.group(1) in names:
            out.file(
                "DUPLICATE_COLUMN",
                f"column {repeated.group(1)!r} appears more than once",
                repeated.group(1),
            )
        elif name not in table.names:
            out.file("UNKNOWN_COLUMN", f"unknown column {name!r}", name)
    for col in table.columns:
        if col.required and col.name not in names:
            out.file("MISSING_COLUMN", f"required column {col.name!r} is missing", col.name)
    out.raise_if_any()


def _absent(col: Column, n: int) -> pl.Series:
    """An optional column the file does not have: its default, an empty list, or nulls."""
    if col.kind == "list":
        return empty_lists(col.name, n)
    return pl.repeat(col.default, n, dtype=col.dtype, eager=True).alias(col.name)


def _column(raw: pl.DataFrame, col: Column, out: Problems, *, fen: bool = False) -> pl.Series:
    if col.name not in raw.columns:
        return _absent(col, raw.height)
    value = (parse_fen if fen else PARSERS[col.kind])(raw[col.name], col, out)
    if col.default is not None:
        value = value.fill_null(col.default)
    return value.cast(col.dtype).alias(col.name)


Job = Callable[[Problems], Any]


def _threads(jobs: Sequence[Job], forks: Sequence[Problems]) -> list[Any]:
    """Run jobs on threads (Polars and NumPy release the GIL), each with its own collector."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), pl.thread_pool_size()))) as pool:
        return list(pool.map(lambda job, fork: job(fork), jobs, forks))


def _in_parallel(jobs: Sequence[Job], out: Problems) -> list[Any]:
    """`_threads`, then the problems merged in job order, so the report does not depend on
    timing."""
    forks = [out.fork() for _ in jobs]
    results = _threads(jobs, forks)
    for fork in forks:
        out.merge(fork)
    return results


def check_columns(source: Source, table: Table, names: Sequence[str]) -> dict[str, Problems]:
    """The problems `validate` would find in columns ``names`` (their own values only), by
    column, the typed values let go: a reader returning some columns checks the others
    first, then hands these to `validate(..., checked=)`, which reports them in their place."""
    cols = [table.column(n) for n in names]
    forks = [Problems(source.label, source.locate) for _ in cols]
    _threads([partial(_column, source.frame, c, fen=c.name in source.fen) for c in cols], forks)
    return dict(zip(names, forks, strict=True))


def _merge(problems: Problems, out: Problems) -> None:
    out.merge(problems)


def _early_key_check(raw: pl.DataFrame, table: Table) -> Job | None:
    """The unique-key hash check on the raw key column, to run alongside the parsers.

    Sound only for a single text key: parsing text changes no value except blanking empty and
    over-long ones, so distinct raw values stay distinct. Other keys are normalised by parsing
    ("2024.0" is 2024), so they are checked after it.
    """
    key = KEYS[table.name]
    if len(key) != 1 or table.column(key[0]).kind != "text" or key[0] not in raw.columns:
        return None
    if raw.schema[key[0]] != pl.String:
        return None
    return lambda _out: rules.maybe_duplicated(raw.select(key))


def validate(source: Source, table: Table,
             checked: dict[str, Problems] | None = None) -> pl.DataFrame:
    """The typed frame of ``table`` from ``source``, or an InputError listing every problem.

    ``checked``: columns `check_columns` has checked, left out of the frame (and of
    ``source``); their problems are reported where theirs would be.
    """
    check_header(source, table)
    raw = source.frame
    out = Problems(source.label, source.locate)
    done = checked or {}
    jobs: list[Job] = [partial(_merge, done[col.name]) if col.name in done
                       else partial(_column, raw, col, fen=col.name in source.fen)
                       for col in table.columns]
    early = _early_key_check(raw, table)
    # the longest job first, so that it overlaps the others
    results = _in_parallel([early, *jobs] if early else jobs, out)
    maybe = results.pop(0) if early else None
    frame = pl.DataFrame([r for c, r in zip(table.columns, results, strict=True)
                          if c.name not in done])
    table_rules = rules.TABLE_RULES[table.name]
    _in_parallel(
        [partial(rules.unique_key, frame, table.name, maybe=maybe), partial(table_rules, frame)],
        out,
    )
    out.raise_if_any()
    return frame
