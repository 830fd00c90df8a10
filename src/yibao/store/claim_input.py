"""One claim of an API body validated by the file readers' own rules, in a millisecond.

``yibao.io.records_frame`` validates a body as a one-row file: every column parser and the
claims' cross-field rules, vectorised, on threads; for one row that is ~20 ms of per-call
overhead. Here the same parsers run one column at a time, without threads, and their
verdict on a value is remembered: each column parser judges a value by itself alone (no
rule of a column looks at another row), so the typed value a parser gave for a raw value
once is the one it gives again. The cross-field rules (``yibao.io.rules``) then run on the
typed row. Any problem at all, and the body goes through ``records_frame`` itself, which
raises the very error a file row would get; so a body is accepted, typed and rejected
exactly as before, only faster when it is good.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from yibao.io import CLAIMS, records_frame, rules
from yibao.io.records import _text as raw_text
from yibao.io.report import Problems
from yibao.io.validate import _column as parse_column

POINTER = "/claim"
#: Values remembered per column; the memory is emptied when a column holds more.
MEMO_SIZE = 4096
#: Columns whose values are never the same twice: not remembered.
UNIQUE = frozenset({"claim_id"})
_NAMES = frozenset(CLAIMS.names)
_memo: dict[str, dict[str | None, pl.Series | None]] = {name: {} for name in CLAIMS.names}


def _locate(rows: object) -> list[str]:
    return [POINTER]


def _parse(name: str, value: str | None) -> pl.Series | None:
    """The column's typed one-row series for a raw value, or None if the parser objects."""
    raw = (pl.Series(name, [value], pl.String).to_frame()
           .with_columns(pl.all().str.strip_chars().replace("", None)))
    out = Problems(POINTER, _locate)
    typed = parse_column(raw, CLAIMS.column(name), out)
    return None if out else typed


def _typed(name: str, value: object) -> pl.Series | None:
    text = raw_text(value)
    if name in UNIQUE:
        return _parse(name, text)
    memo = _memo[name]
    if text in memo:
        return memo[text]
    typed = _parse(name, text)
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    memo[text] = typed
    return typed


def validate_claim(body: Mapping[str, object]) -> pl.DataFrame:
    """The body's claim as a one-row frame of ``CLAIMS`` (money in fen), or the InputError
    that ``records_frame`` raises for it (errors point at ``/claim``)."""
    columns: list[pl.Series] = []
    good = _NAMES.issuperset(body)
    for name in CLAIMS.names if good else ():
        typed = _typed(name, body.get(name))
        if typed is None:
            good = False
            break
        columns.append(typed)
    if good:
        frame = pl.DataFrame(columns)
        out = Problems(POINTER, _locate)
        rules.claims(frame, out)
        if not out:
            return frame
    return records_frame([body], CLAIMS, POINTER)  # raises the readers' error


__all__ = ["validate_claim"]
