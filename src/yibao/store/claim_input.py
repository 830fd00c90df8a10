"""One claim of an API body validated by the file readers' own rules, in a millisecond.

``yibao.io.records_frame`` validates a body as a one-row file: every column parser and the
claims' cross-field rules, vectorised, on threads; for one row that is ~20 ms of per-call
overhead. Here the same parsers run without threads, and their verdict on a value is
remembered: a column parser judges each row's value by itself alone (no rule of a column
looks at another row), so the typed value it gave for a raw value once is the one it gives
again. Values not seen before are parsed together, one parser call for all the columns that
share a rule (total, self_pay and class_b_self_pay are one three-row money column). The
cross-field rules (``yibao.io.rules``) then run on the typed row. Any problem at all, and
the body goes through ``records_frame`` itself, which raises the very error a file row would
get; so a body is accepted, typed and rejected exactly as before, only faster when good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import polars as pl

from yibao.io import CLAIMS, Column, records_frame, rules
from yibao.io.records import _text as raw_text
from yibao.io.report import Problems
from yibao.io.validate import _column as parse_column

POINTER = "/claim"
#: Values remembered per column; the memory is emptied when a column holds more.
MEMO_SIZE = 4096
#: Columns whose values are never the same twice: not remembered.
UNIQUE = frozenset({"claim_id"})
_NAMES = frozenset(CLAIMS.names)
_memo: dict[str, dict[str | None, pl.Series]] = {name: {} for name in CLAIMS.names}


def _rule(name: str) -> Column:
    """The column's rule: its ``Column`` with the name taken out."""
    return replace(CLAIMS.column(name), name="value")


#: Columns parsed together: those whose rule is the same.
_GROUPS: dict[str, Column] = {name: _rule(name) for name in CLAIMS.names}


def _locate(rows: object) -> list[str]:
    return [POINTER]


def _parse(rule: Column, values: list[str | None]) -> pl.Series | None:
    """The typed series of raw values by ``rule``'s parser, or None if it objects to any."""
    raw = (pl.Series(rule.name, values, pl.String).to_frame()
           .with_columns(pl.all().str.strip_chars().replace("", None)))
    out = Problems(POINTER, _locate)
    typed = parse_column(raw, rule, out)
    return None if out else typed


def _columns(body: Mapping[str, object]) -> list[pl.Series] | None:
    """The body's typed one-row columns in ``CLAIMS`` order, or None if a parser objects."""
    texts = {name: raw_text(body.get(name)) for name in CLAIMS.names}
    typed: dict[str, pl.Series] = {}
    todo: dict[Column, list[str]] = {}
    for name, text in texts.items():
        hit = None if name in UNIQUE else _memo[name].get(text)
        if hit is None:
            todo.setdefault(_GROUPS[name], []).append(name)
        else:
            typed[name] = hit
    for rule, names in todo.items():
        parsed = _parse(rule, [texts[n] for n in names])
        if parsed is None:
            return None
        for i, name in enumerate(names):
            one = parsed.slice(i, 1).alias(name)
            typed[name] = one
            if name not in UNIQUE:
                memo = _memo[name]
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                memo[texts[name]] = one
    return [typed[name] for name in CLAIMS.names]


def validate_claim(body: Mapping[str, object]) -> pl.DataFrame:
    """The body's claim as a one-row frame of ``CLAIMS`` (money in fen), or the InputError
    that ``records_frame`` raises for it (errors point at ``/claim``)."""
    columns = _columns(body) if _NAMES.issuperset(body) else None
    if columns is not None:
        frame = pl.DataFrame(columns)
        out = Problems(POINTER, _locate)
        rules.claims(frame, out)
        if not out:
            return frame
    return records_frame([body], CLAIMS, POINTER)  # raises the readers' error


__all__ = ["validate_claim"]
