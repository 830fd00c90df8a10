"""Explaining one claim's settlement step by step, with the clause behind each figure.

The figures come from the kernel's own trace of the claim (``settle(trace=True)``
on the person's claims), never from a second copy of a formula; this module
only puts them in words next to the parameters that produced them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from yibao.engine.enrollment import build_history
from yibao.engine.explain_enrolment import enrolment_steps
from yibao.engine.explain_types import Step
from yibao.engine.person_years import settle_claims
from yibao.errors import InputError, Problem
from yibao.money import bp_to_ratio, fen_to_yuan
from yibao.policy import Policy
from yibao.policy.model import CATEGORIES


@dataclass
class Explanation:
    claim: dict[str, Any]
    result: dict[str, Any]
    steps: list[Step]

    def as_dict(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim["claim_id"],
            "steps": [{
                "title": s.title, "formula": s.formula,
                "amount": None if s.amount is None else fen_to_yuan(s.amount),
                "parameters": [{"key": p.key, "value": p.raw, "region": p.region,
                                "region_name": p.region_name, "from": p.start.isoformat(),
                                "source": p.source} for p in s.params],
            } for s in self.steps],
        }


def _y(fen: int) -> str:
    return fen_to_yuan(int(fen))


def _category(bit: int) -> str:
    return CATEGORIES[bit.bit_length() - 1] if bit else ""


def explain_claim(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
                  claims: pl.DataFrame, claim_id: str, *,
                  history: pl.DataFrame | None = None,
                  opening: pl.DataFrame | None = None) -> Explanation:
    """Settle the claim's person-year with a trace and narrate the claim's steps."""
    row = claims.filter(pl.col("claim_id") == claim_id)
    if row.height == 0:
        raise InputError([Problem("UNKNOWN_CLAIM", f"no claim {claim_id!r} in the claims",
                                  field="claim_id")])
    person = row["person_id"][0]
    own = claims.filter(pl.col("person_id") == person)
    run = settle_claims(policy, persons, enrollments, own, history=history, opening=opening,
                        trace=True)
    assert run.trace is not None
    at = own["claim_id"].to_list().index(claim_id)
    claim = own.row(at, named=True)
    result = run.results.row(at, named=True)
    t = run.trace.row(at, named=True)
    hist = build_history(persons, enrollments, history, through=result["year"])
    steps = enrolment_steps(policy, persons, enrollments, hist, person, result["year"])
    return Explanation(claim, result, steps + _steps(policy, claim, result, t, run.diseases))


def _steps(policy: Policy, c: dict[str, Any], r: dict[str, Any], t: dict[str, Any],
           diseases: tuple[str, ...]) -> list[Step]:
    scope = c["total"] - c["self_pay"] - c["class_b_self_pay"]
    steps = [Step("政策范围内费用 policy scope",
                  f"{_y(c['total'])} − 全自费 {_y(c['self_pay'])} − 乙类先行自付 "
                  f"{_y(c['class_b_self_pay'])} = {_y(scope)}", scope)]
    if not r["covered"]:
        steps.append(Step("不予支付 not covered",
                          f"{r['reason']}: all payers 0, 个人自付 = total {_y(c['total'])}",
                          c["total"]))
        return steps
    on_day = policy.resolve(c["settle_date"])
    annual = policy.resolve(dt.date(r["year"], 1, 1))
    steps += _basic_steps(c, t, on_day, annual, diseases, r["basic"])
    steps.append(_major_step(r, t, annual))
    steps += _assistance_steps(t, annual)
    steps.append(Step("个人自付 out of pocket",
                      f"{_y(c['total'])} − {_y(r['basic'])} − {_y(r['major'])} − "
                      f"{_y(r['assistance'])} = {_y(r['oop'])}", r["oop"]))
    return steps


def _basic_steps(c: dict[str, Any], t: dict[str, Any], on_day: Any, annual: Any,
                 diseases: tuple[str, ...], basic: int) -> list[Step]:
    visit, level = c["visit_type"], c["facility_level"]
    raw = t["raw"]
    if visit == "outpatient":
        general = on_day.provenance("outpatient.general")
        limit = annual.provenance("outpatient.general")
        before = t["outpatient_before"]
        return [
            Step("普通门诊统筹 general outpatient",
                 f"level {level}: (scope − deductible {_y(t['deductible_due'])})⁺ × ratio "
                 f"{bp_to_ratio(general.value.ratio.get(level, 0))} = {_y(raw)}", raw, [general]),
            Step("门诊年度限额 outpatient annual limit",
                 f"min({_y(limit.value.annual_limit)}, {_y(before)} + {_y(raw)}) − "
                 f"min({_y(limit.value.annual_limit)}, {_y(before)}) = {_y(basic)}", basic,
                 [limit]),
        ]
    steps: list[Step] = []
    if visit == "chronic":
        code = diseases[t["disease_index"]]
        table = on_day.provenance("outpatient.chronic.diseases")
        ded = annual.provenance("outpatient.chronic.deductible")
        steps.append(Step(
            f"门诊慢特病 chronic: {table.value[code].name} ({code})",
            f"annual deductible {_y(ded.value)}, consumed before {_y(t['chronic_scope_before'])}, "
            f"this claim bears {_y(t['deductible_due'])}; (scope − that) × "
            f"{bp_to_ratio(table.value[code].ratio)}, within the disease's annual limit "
            f"{_y(annual.get('outpatient.chronic.diseases')[code].annual_limit)} "
            f"(used before {_y(t['chronic_before'])}) = {_y(raw)}", raw, [ded, table]))
    elif visit == "maternity" and on_day.get("maternity.lump_sum") is not None:
        lump = on_day.provenance("maternity.lump_sum")
        steps.append(Step("生育定额 maternity lump sum",
                          f"min(scope, {c['maternity_kind']} lump sum) = {_y(raw)}", raw, [lump]))
    else:
        key = ("basic.inpatient.out_of_region" if c["out_of_region"]
               else "basic.inpatient.deductible")
        factors = on_day.provenance("basic.inpatient.repeat_factor")
        ratio = on_day.provenance("basic.inpatient.ratio")
        params = [on_day.provenance(key), factors, ratio]
        if c["out_of_region"]:
            params.append(on_day.provenance("basic.inpatient.out_of_region"))
        steps.append(Step(
            "住院起付线 inpatient deductible",
            f"admission #{t['rank']} of the year at level {level}"
            f"{' (异地就医 out of region)' if c['out_of_region'] else ''}: deductible "
            f"{_y(t['deductible_due'])}, applied min(scope, it)", t["deductible_due"], params[:2]))
        steps.append(Step("统筹基金 basic (before the annual cap)",
                          f"(scope − deductible) × ratio = {_y(raw)}", raw, params[2:]))
    cap = annual.provenance("basic.annual_cap")
    before = t["basic_before"]
    steps.append(Step("统筹基金年度最高支付限额 basic annual cap",
                      f"min({_y(cap.value)}, {_y(before)} + {_y(raw)}) − "
                      f"min({_y(cap.value)}, {_y(before)}) = {_y(basic)}", basic, [cap]))
    return steps


def _major_step(r: dict[str, Any], t: dict[str, Any], annual: Any) -> Step:
    keys = ["major.visit_types", "major.deductible", "major.brackets", "major.bracket_basis",
            "major.include_basic_deductible", "major.cap"]
    params = [annual.provenance(k) for k in keys]
    tilt = _category(t["tilt_category"])
    if tilt:
        params.append(annual.provenance("major.tilt"))
    cap = "no cap" if t["major_cap_eff"] < 0 else f"cap {_y(t['major_cap_eff'])}"
    tilt_text = f", tilt for {tilt} (+{bp_to_ratio(t['major_delta'])})" if tilt else ""
    before, burden = t["major_before"], t["burden"]
    return Step(
        "大病保险 major illness",
        f"burden e = {_y(burden)}; cumulative S {_y(before)} → {_y(before + burden)}; "
        f"deductible {_y(t['major_deductible_eff'])}"
        f"{tilt_text}, {cap}; "
        f"major = round(G(S_k)) − round(G(S_k−1)) = {_y(r['major'])}", r["major"], params)


def _assistance_steps(t: dict[str, Any], annual: Any) -> list[Step]:
    category = _category(t["assist_category"])
    if not category:
        return [Step("医疗救助 medical assistance", "the person holds no assistance category", 0)]
    params = [annual.provenance("assistance.categories"),
              annual.provenance("assistance.visit_types")]
    terms = annual.get("assistance.categories")[category]
    steps = [Step(
        f"医疗救助 medical assistance ({category})",
        f"r = scope − basic − major = {_y(t['assist_base'])}; cumulative "
        f"{_y(t['assist_first_before'])} → {_y(t['assist_first_before'] + t['assist_base'])}; "
        f"H = min(cap, {bp_to_ratio(terms.ratio)} × (S − {_y(terms.deductible)})⁺) → "
        f"{_y(t['first'])}", t["first"], params)]
    if terms.second is not None:
        s2 = terms.second
        steps.append(Step(
            "二次救助 second layer",
            f"r2 = r − first = {_y(t['assist_second_base'])}; cumulative "
            f"{_y(t['assist_second_before'])} → "
            f"{_y(t['assist_second_before'] + t['assist_second_base'])}; "
            f"{bp_to_ratio(s2.ratio)} × (S − {_y(s2.deductible)})⁺ → {_y(t['second'])}",
            t["second"], params[:1]))
    return steps

