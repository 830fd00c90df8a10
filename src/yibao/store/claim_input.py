"""One claim of an API body validated by the file readers' own rules, in microseconds.

``yibao.io.records_frame`` validates a body as a one-row file: every column parser and the
claims' cross-field rules, vectorised, on threads; for one row that is ~20 ms of per-call
overhead. Here the same parsers run without threads, and their verdict on a value is
remembered: a column parser judges each row's value by itself alone (no rule of a column
looks at another row), so the typed value it gave for a raw value once is the one it gives
again. Three forms that are new on many claims — an id of printable ASCII, an amount
written the usual way ("1234.50") and an ICD-10 code already in its normal form — are typed
without the parsers, on a conservative subset
where the parser's verdict is plain (the id itself; the digits as fen); any other form goes to
the parsers. The cross-field rules (``yibao.io.rules.claims``) are asked of the typed row
only whether any fires. Any doubt or any problem at all, and the body goes through
``records_frame`` itself, which raises the very error a file row would get; so a body is
accepted, typed and rejected exactly as by the readers (Hypothesis-checked), only faster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import polars as pl

from yibao.io import CLAIMS, Column, icd, records_frame
from yibao.io.records import _text as raw_text
from yibao.io.report import Problems
from yibao.io.schemas import MAX_TEXT_BYTES
from yibao.io.validate import _column as parse_column
from yibao.money import MAX_FEN

POINTER = "/claim"
#: Values remembered per column; the memory is emptied when a column holds more.
MEMO_SIZE = 4096
#: Columns whose values are never the same twice: not remembered.
UNIQUE = frozenset({"claim_id"})
_ORDER = CLAIMS.names  # (a property that builds the tuple on each call)
_NAMES = frozenset(_ORDER)
_memo: dict[str, dict[str | None, Any]] = {name: {} for name in CLAIMS.names}
#: Text the text parser keeps as it is: printable ASCII without blanks, 1 to 64 bytes (no
#: whitespace to strip, not empty, not too long).
_PLAIN_TEXT = re.compile(rf"[!-~]{{1,{MAX_TEXT_BYTES}}}")
#: An amount in the money parser's usual form (``amounts._USUAL``), without blanks.
_PLAIN_MONEY = re.compile(r"([0-9]{1,12})(?:\.([0-9]{0,2}))?")
#: An ICD-10 code as the parser leaves it (already upper-case, no blanks): ``icd.PATTERN``.
_PLAIN_ICD = re.compile(icd.PATTERN.removeprefix("^").removesuffix("$"))
_KINDS = {c.name: c.kind for c in CLAIMS.columns}


def _rule(name: str) -> Column:
    """The column's rule: its ``Column`` with the name taken out."""
    return replace(CLAIMS.column(name), name="value")


#: Columns parsed together: those whose rule is the same.
_GROUPS: dict[str, Column] = {name: _rule(name) for name in CLAIMS.names}


def _locate(rows: object) -> list[str]:
    return [POINTER]


def _plain(kind: str, text: str | None) -> Any:
    """The parser's typed value for a plain form of ``text``; None when not plain."""
    if text is None:
        return None
    if kind == "text":
        return text if _PLAIN_TEXT.fullmatch(text) else None
    if kind == "icd10":
        plain = _PLAIN_ICD.fullmatch(text) and text[:3] in icd.who_categories()
        return text if plain else None
    if kind == "money":
        m = _PLAIN_MONEY.fullmatch(text)
        if m is None:
            return None
        fen = int(m.group(1)) * 100 + int((m.group(2) or "").ljust(2, "0"))
        return fen if fen <= MAX_FEN else None
    return None


def _parse(rule: Column, values: list[str | None]) -> list[Any] | None:
    """The typed values of raw values by ``rule``'s parser, or None if it objects to any."""
    raw = (pl.Series(rule.name, values, pl.String).to_frame()
           .with_columns(pl.all().str.strip_chars().replace("", None)))
    out = Problems(POINTER, _locate)
    typed = parse_column(raw, rule, out)
    return None if out else typed.to_list()


def _values(body: Mapping[str, object]) -> dict[str, Any] | None:
    """The body's typed values in ``CLAIMS`` order, or None if a parser objects."""
    texts = {name: raw_text(body.get(name)) for name in _ORDER}
    typed: dict[str, Any] = {}
    todo: dict[Column, list[str]] = {}
    for name, text in texts.items():
        plain = _plain(_KINDS[name], text)
        if plain is not None:
            typed[name] = plain
            continue
        memo = _memo[name]
        if name not in UNIQUE and text in memo:
            typed[name] = memo[text]
        else:
            todo.setdefault(_GROUPS[name], []).append(name)
    for rule, names in todo.items():
        parsed = _parse(rule, [texts[n] for n in names])
        if parsed is None:
            return None
        for name, value in zip(names, parsed, strict=True):
            typed[name] = value
            if name not in UNIQUE:
                memo = _memo[name]
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                memo[texts[name]] = value
    return {name: typed[name] for name in _ORDER}


def _any_rule_fires(v: Mapping[str, Any]) -> bool:
    """Whether a cross-field rule of ``rules.claims`` fires on the typed row (a null operand
    fires nothing there, as here)."""
    if any(v[k] is None for k in ("self_pay", "class_b_self_pay", "total", "admit_date",
                                   "settle_date")):
        return True  # not expected after the parsers; records_frame decides
    visit = v["visit_type"]
    return ((v["self_pay"] + v["class_b_self_pay"] > v["total"])
            or v["admit_date"] > v["settle_date"]
            or (visit == "chronic" and v["chronic_disease"] is None)
            or (visit == "maternity" and v["maternity_kind"] is None))


def claim_row(body: Mapping[str, object]) -> dict[str, Any]:
    """The body's claim as ``CLAIMS`` column → typed value (money in fen, dates), or the
    InputError that ``records_frame`` raises for it (errors point at ``/claim``)."""
    values = _values(body) if _NAMES.issuperset(body) else None
    if values is not None and not _any_rule_fires(values):
        return values
    return records_frame([body], CLAIMS, POINTER).row(0, named=True)  # raises the readers' error


def claim_frame(values: Mapping[str, Any]) -> pl.DataFrame:
    """A typed claim row as the one-row frame the readers give."""
    return pl.DataFrame([values], schema=CLAIMS.schema, orient="row")


def validate_claim(body: Mapping[str, object]) -> pl.DataFrame:
    """The body's claim as a one-row frame of ``CLAIMS`` (money in fen), or the InputError
    that ``records_frame`` raises for it."""
    return claim_frame(claim_row(body))


__all__ = ["claim_frame", "claim_row", "validate_claim"]
