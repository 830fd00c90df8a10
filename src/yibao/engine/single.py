"""One claim through the settlement kernel, without frames: the online door into the engine.

``settle`` (``engine.settlement``) takes frames and finds persons, orders claims and works out
terms vectorised; for one claim of one person that machinery costs milliseconds of per-call
overhead around a kernel pass of microseconds. Here the kernel's small NumPy inputs are built
directly from the claim's typed values, the person's few fields, the person-year's stored
terms (benefit start, effective 大病 cap) and opening accumulators, and the cached term tables
(``engine.terms.policy_terms``); then the very same ``kernel.settle_sorted`` runs the claim as
a person-year group of one. Nothing of the rules is written here: the tilt and assistance
rows come from ``group_terms``, every figure from the kernel.

Tests settle a synthetic city claim by claim through this door, each claim from the previous
one's closing accumulators, and compare every row with one batch ``settle`` of the city.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from yibao.days import day_number
from yibao.engine import kernel as K
from yibao.engine.codes import small_ints, strict_codes
from yibao.engine.settlement import _NO_DEATH, _maternity_problems, covered_region
from yibao.engine.terms import group_terms, policy_terms
from yibao.policy import Policy
from yibao.policy.model import CATEGORIES

_ONE = np.zeros(1, np.int64)
#: the claim's place in settlement order and its packed key, int32 as ``sorted_claims`` gives
#: them for small inputs (the kernel is then the very specialisation the batch compiled)
_ORDER = np.zeros(1, np.int32)
_GROUP = np.array([0, 1], np.int64)
_TRUE = np.ones(1, np.bool_)


@dataclass(frozen=True)
class PersonYear:
    """What the kernel needs of the claim's person and year, as the store holds it.

    ``enrolled``: a resident enrolment in the policy's region that year (``enrolled_in``);
    ``benefit_start`` / ``major_cap``: the person-year's stored terms (None: 1 January and the
    year's base cap, as ``settle`` without ``person_years``); ``opening``: the accumulators in
    ``kernel.ACCUMULATORS`` order; ``chronic_raw``: opening chronic accumulators by disease."""

    categories: Sequence[str]
    chronic: Sequence[str]
    death_date: dt.date | None
    enrolled: bool
    benefit_start: dt.date | None
    major_cap: int | None
    opening: Sequence[int]
    chronic_raw: Mapping[str, int]


@dataclass(frozen=True)
class OneSettled:
    """The result row (``settlement.RESULT_COLUMNS``, fen) and the closing accumulators."""

    row: dict[str, Any]
    closing: dict[str, int]
    chronic_raw: dict[str, int]


def enrolled_in(policy: Policy, enrolments: Iterable[tuple[str | None, str | None]]) -> bool:
    """Whether any (scheme, region) is a resident enrolment inside the policy's region — the
    test ``settle`` applies to a person-year's enrolments."""
    prefix = covered_region(policy.region)
    return any(scheme == "resident" and region is not None and region.startswith(prefix)
               for scheme, region in enrolments)


def _bits(held: Iterable[str], codes: Sequence[str]) -> int:
    """Bit i set for each held code equal to codes[i] (``terms.list_mask`` of one row)."""
    index = {c: i for i, c in enumerate(codes)}
    return sum({1 << index[v] for v in held if v in index})


def _index(value: str | None, known: Sequence[str]) -> int:
    return known.index(value) if value is not None and value in known else -1


def _i64(value: int) -> np.ndarray:
    return np.array([value], np.int64)


def settle_one(policy: Policy, claim: Mapping[str, Any], person: PersonYear) -> OneSettled:
    """Settle one validated claim (``CLAIMS`` columns, money in fen) from the person-year's
    opening accumulators; the kernel of the batch, on a group of one."""
    settle_date: dt.date = claim["settle_date"]
    year = settle_date.year
    terms = policy_terms(policy, year, settle_date)
    diseases, yt, ep = terms.diseases, terms.years, terms.epochs
    visit = claim["visit_type"]
    level = claim["facility_level"]
    if visit not in K.VISIT_CODES or not (isinstance(level, int) and 1 <= level <= 3):
        ids = pl.Series([claim["claim_id"]])  # the batch's checks raise the batch's errors
        strict_codes(pl.Series([visit], dtype=pl.String), K.VISIT_CODES, ids, "visit_type")
        small_ints(pl.Series([level]), 1, 3, ids, "facility_level")
    day = day_number(settle_date)
    year_start = np.array([day_number(dt.date(year, 1, 1)), day_number(dt.date(year + 1, 1, 1))],
                          np.int64)
    start = year_start[:1] if person.benefit_start is None else _i64(
        day_number(person.benefit_start))
    base_cap = int(yt.major_cap[0])
    cap = base_cap if person.benefit_start is None or person.major_cap is None else int(
        person.major_cap)
    gt = group_terms(yt, _ONE, _i64(_bits(person.categories, CATEGORIES)), _i64(cap))
    acc = np.array([list(person.opening)], np.int64)
    chronic_acc = np.array([[int(person.chronic_raw.get(code, 0)) for code in diseases]
                            or [0]], np.int64)
    death = _NO_DEATH if person.death_date is None else day_number(person.death_date)

    scope, deductible, basic, major, assistance, oop, major_cap = (np.empty(1, np.int64)
                                                                  for _ in range(7))
    reason, out_year, cap_valid = np.empty(1, np.int8), np.empty(1, np.int32), np.empty(1, np.bool_)
    no_lump = np.empty(1, np.int64)
    missing = K.settle_sorted(
        _ORDER, _ORDER, 1, day, year, _GROUP, _ONE, _ONE,
        _TRUE if person.enrolled else ~_TRUE, start, gt.major_deductible, gt.major_cap,
        gt.major_delta, gt.assist_row, acc, chronic_acc,
        np.array([death], np.int32), _i64(_bits(person.chronic, diseases)),
        np.array([K.VISIT_CODES.index(visit)], np.int16), np.array([level], np.int8),
        np.array([bool(claim["out_of_region"])], np.bool_),
        _i64(claim["total"]), _i64(claim["self_pay"]), _i64(claim["class_b_self_pay"]),
        np.array([_index(claim["chronic_disease"], diseases)], np.int16),
        np.array([_index(claim["maternity_kind"], ep.lump_kinds)], np.int16),
        np.array([day_number(claim["admit_date"])], np.int32),
        ep.start_day, ep.deductible, ep.ratio, ep.oor_deductible, ep.oor_delta,
        ep.op_deductible, ep.op_ratio, ep.chronic_ratio, ep.factors, ep.n_factors,
        ep.lump_table, ep.has_lump_sum,
        yt.basic_cap, yt.outpatient_limit, yt.chronic_deductible, yt.chronic_limit,
        yt.bracket_upper, yt.bracket_ratio, yt.n_brackets, yt.cumulative_basis,
        yt.include_basic_deductible, yt.major_visit, yt.assist_visit, yt.assist_terms,
        reason, out_year, scope, deductible, basic, major, assistance, oop, major_cap, cap_valid,
        np.zeros((1, K.TRACE_WIDTH), np.int64), False, no_lump)
    if missing:
        frame = pl.DataFrame({"claim_id": [claim["claim_id"]],
                              "maternity_kind": [claim["maternity_kind"]]})
        epoch = np.searchsorted(ep.start_day, [day], "right") - 1
        raise _maternity_problems(ep, np.zeros(1, np.int64), 1, frame, epoch)
    code = int(reason[0])
    row = {"claim_id": claim["claim_id"], "person_id": claim["person_id"], "year": year,
           "covered": code == 0, "reason": K.REASONS[code], "policy_scope": int(scope[0]),
           "deductible": int(deductible[0]), "basic": int(basic[0]), "major": int(major[0]),
           "assistance": int(assistance[0]), "oop": int(oop[0]),
           "major_cap": int(major_cap[0]) if cap_valid[0] else None}
    closing = {name: int(acc[0, k]) for k, name in enumerate(K.ACCUMULATORS)}
    chronic = {code_: int(chronic_acc[0, d]) for d, code_ in enumerate(diseases)}
    return OneSettled(row, closing, chronic)


__all__ = ["OneSettled", "PersonYear", "enrolled_in", "settle_one"]
