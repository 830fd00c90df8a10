"""SPEC §5 settlement as the "obvious" per-row Python loop: sorted rows, dicts of accumulators.

This is the baseline a programmer writes first: sort the claims by (person, settle_date,
claim_id), walk them one at a time, and keep each person-year's running sums in a dict. It
is written independently of ``yibao.engine`` (only the resolved parameters are shared, via
``settle_rules.py``) so that agreeing with the engine to the fen means something.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from settle_rules import BP, Layer, Rules


def mul_bp(fen: int, bp: int) -> int:
    """fen × bp / 10000 rounded half-up (fen ≥ 0)."""
    return (2 * fen * bp + BP) // (2 * BP)


def round_bp(scaled: int) -> int:
    return (2 * scaled + BP) // (2 * BP)


def capped_step(limit: int | None, before: int, after: int) -> int:
    if limit is None:
        return after - before
    return min(limit, after) - min(limit, before)


def major_g(rules: Rules, s: int, deductible: int, delta: int, cap: int | None) -> int:
    total = 0
    lo = 0
    for upto, ratio in rules.brackets:
        if rules.cumulative_basis:
            a, z = max(lo, deductible), s if upto is None else min(upto, s)
        else:
            a, z = lo, s - deductible if upto is None else min(upto, s - deductible)
        if z > a:
            total += min(BP, ratio + delta) * (z - a)
        if upto is None:
            break
        lo = upto
    if cap is not None:
        total = min(total, cap * BP)
    return round_bp(total)


def assist_h(layer: Layer, s: int) -> int:
    total = layer.ratio * max(0, s - layer.deductible)
    if layer.cap is not None:
        total = min(total, layer.cap * BP)
    return round_bp(total)


Person = tuple[dt.date | None, frozenset[str], frozenset[str]]   # death_date, categories, chronic
# claim_id, person_id, visit_type, facility_level, out_of_region, chronic_disease, maternity_kind,
# admit_date, settle_date, total, self_pay, class_b_self_pay
Claim = tuple[str, str, str, int, bool, str | None, str | None, dt.date, dt.date, int, int, int]
Result = tuple[str, str, int, bool, str, int, int, int, int, int, int, int | None]


def settle_rows(rules: Rules, persons: dict[str, Person], enrolled: set[tuple[str, int]],
                claims: Iterable[Claim]) -> list[Result]:
    """Settle ``claims`` (any order); results in settlement order."""
    rows = sorted(claims, key=lambda c: (c[1], c[8], c[0]))
    accs: dict[tuple[str, int], dict[str, Any]] = {}
    out: list[Result] = []
    for (claim_id, pid, visit, level, oor, disease, kind, admit, settle,
         total, self_pay, class_b) in rows:
        y = settle.year
        p = total - self_pay - class_b
        death, categories, chronic = persons[pid]
        if (pid, y) not in enrolled:
            reason = "NOT_ENROLLED"
        elif death is not None and admit > death:
            reason = "AFTER_DEATH"
        elif settle < dt.date(y, 1, 1):     # benefit_start: 1 January, as settle() defaults
            reason = "WAITING_PERIOD"
        elif visit == "chronic" and (disease not in rules.chronic or disease not in chronic):
            reason = "NOT_CERTIFIED"
        else:
            reason = ""
        tilt = rules.tilt_for(categories)
        cap = None if tilt is not None and tilt.no_cap else rules.major_cap
        if reason:
            out.append((claim_id, pid, y, False, reason, p, 0, 0, 0, 0, total, None))
            continue
        acc = accs.get((pid, y))
        if acc is None:
            acc = {"admissions": 0, "basic_raw": 0, "outpatient_raw": 0, "chronic_scope": 0,
                   "chronic_raw": {}, "burden": 0, "assist1": 0, "assist2": 0}
            accs[(pid, y)] = acc

        d = 0
        raw = 0
        basic = 0
        to_cap = False
        if visit == "outpatient":
            ded = rules.op_deductible.get(level)
            ratio = 0 if ded is None else rules.op_ratio[level]
            d = min(p, ded or 0)
            raw = mul_bp(p - d, ratio)
            before = acc["outpatient_raw"]
            acc["outpatient_raw"] = before + raw
            basic = capped_step(rules.op_limit, before, before + raw)
        elif visit == "chronic":
            assert disease is not None
            before = acc["chronic_scope"]
            acc["chronic_scope"] = before + p
            d = capped_step(rules.chronic_deductible, before, before + p)
            ratio, limit = rules.chronic[disease]
            own = mul_bp(p - d, ratio)
            c_before = acc["chronic_raw"].get(disease, 0)
            acc["chronic_raw"][disease] = c_before + own
            raw = capped_step(limit, c_before, c_before + own)
            to_cap = True
        elif visit == "maternity" and rules.lump_sum is not None:
            assert kind is not None
            raw = min(p, rules.lump_sum[kind])
            to_cap = True
        else:   # inpatient, and maternity without a lump sum
            acc["admissions"] += 1
            factors = rules.repeat_factor
            factor = factors[min(acc["admissions"], len(factors)) - 1]
            base = rules.oor_deductible if oor else rules.inpatient_deductible[level]
            ratio = rules.inpatient_ratio[level]
            if oor:
                ratio = max(ratio - rules.oor_delta, 0)
            d = min(p, mul_bp(base, factor))
            raw = mul_bp(p - d, ratio)
            to_cap = True
        if to_cap:
            before = acc["basic_raw"]
            acc["basic_raw"] = before + raw
            basic = capped_step(rules.basic_cap, before, before + raw)

        major = 0
        if visit in rules.major_visits:
            e = p - basic - (0 if rules.include_basic_deductible else d)
            before = acc["burden"]
            acc["burden"] = before + e
            m_ded = rules.major_deductible if tilt is None else mul_bp(
                rules.major_deductible, tilt.deductible_factor)
            delta = 0 if tilt is None else tilt.ratio_delta
            major = (major_g(rules, before + e, m_ded, delta, cap)
                     - major_g(rules, before, m_ded, delta, cap))

        assistance = 0
        terms = rules.assist_for(categories)
        if terms is not None and visit in rules.assist_visits:
            r = p - basic - major
            before = acc["assist1"]
            acc["assist1"] = before + r
            first = assist_h(terms.first, before + r) - assist_h(terms.first, before)
            second = 0
            if terms.second is not None:
                r2 = r - first
                before = acc["assist2"]
                acc["assist2"] = before + r2
                second = assist_h(terms.second, before + r2) - assist_h(terms.second, before)
            assistance = first + second
        out.append((claim_id, pid, y, True, "", p, d, basic, major, assistance,
                    total - basic - major - assistance, cap))
    return out
