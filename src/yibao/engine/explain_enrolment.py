"""Explaining a person-year's enrolment terms: benefit start and the incentive cap ladder."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from yibao.engine.enrollment import History, benefit_starts
from yibao.engine.explain_types import Step
from yibao.engine.incentives import ladder
from yibao.engine.person_years import in_region
from yibao.money import fen_to_yuan
from yibao.policy import Policy

WAITING_KEYS = ["enrollment.concentrated_period", "enrollment.waiting.fixed_months",
                "enrollment.waiting.per_break_year_months", "enrollment.waiting.free_break_years",
                "enrollment.waiting.long_break_years", "enrollment.waiting.long_break_min_months",
                "enrollment.waiting.exempt_categories", "enrollment.waiting.employee_grace_months"]


def enrolment_steps(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
                    history: History, person_id: str, year: int) -> list[Step]:
    """The benefit start of the person-year and how its effective major cap was reached."""
    own = in_region(policy, enrollments).filter(
        (pl.col("person_id") == person_id) & (pl.col("year") == year))
    if own.height == 0:
        return [Step("参保 enrolment", f"no resident enrolment in {policy.region} for {year}")]
    on = policy.resolve(dt.date(year, 1, 1))
    params = [on.provenance(k) for k in WAITING_KEYS if on.has(k)]
    steps = []
    for s in benefit_starts(policy, persons, own, history, [year]).iter_rows(named=True):
        steps.append(Step("待遇享受 benefit start",
                          f"enrolled in {s['region']} for {year}: {s['waiting_reason']}, "
                          f"{s['waiting_months']} month(s) → benefits from {s['benefit_start']}",
                          None, params))
    base = on.provenance("major.cap")
    if not on.has("major.incentives") or year < on.get("major.incentives").count_from:
        steps.append(Step("大病保险封顶线 major-illness cap",
                          f"base cap {fen_to_yuan(base.value)}: no incentives in force in {year}",
                          base.value, [base]))
        return steps
    row = int(np.flatnonzero((persons["person_id"] == person_id).to_numpy())[0])
    lines = []
    for t in ladder(policy, history, row, year):
        if t.after_break[0]:
            lines.append(f"{t.year}: re-enrolled after a break → {fen_to_yuan(int(t.cap[0]))}")
            continue
        lines.append(
            f"{t.year}: {t.consecutive[0]} consecutive year(s) → continuity "
            f"{fen_to_yuan(int(t.continuity[0]))}; {t.zero_claim_years[0]} zero-claim year(s) → "
            f"{fen_to_yuan(int(t.zero_claim[0]))}; cap {fen_to_yuan(t.base_cap)} → "
            f"{fen_to_yuan(int(t.cap[0]))}")
    steps.append(Step("大病保险封顶线 effective major-illness cap (incentive ladder)",
                      "; ".join(lines), None, [base, on.provenance("major.incentives")]))
    return steps
