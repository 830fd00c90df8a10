"""Continuity and zero-claim incentives of the major-illness cap (SPEC §5.4), by hand.

The ladder policy is the test city (tests/fixtures/test_city.yaml) with small round figures
so that every rule shows within a decade: base cap 20000, incentives counted from 2023,
continuity after 2 years at 1000 a year, 1000 per zero-claim year, at most 20% of the base
cap (4000), break penalty 2000. Money in the assertions is fen (yuan × 100).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.engine.enrollment import build_history
from yibao.engine.incentives import ladder, major_caps
from yibao.engine.person_years import settle_claims
from yibao.io import ENROLLMENTS, PERSONS
from yibao.policy import Policy, load_policy, read_region_file
from yibao.policy.loader import Entry
from yibao.policy.model import parse_value

ROOT = Path(__file__).resolve().parents[2]
BASE = read_region_file(ROOT / "tests" / "fixtures" / "test_city.yaml")
D = dt.date
Y = 100  # fen per yuan

PERSON_SCHEMA: dict[str, Any] = dict(PERSONS.schema)  # the readers' dtypes
ENROLLMENT_SCHEMA: dict[str, Any] = dict(ENROLLMENTS.schema)
RESULT_SCHEMA: dict[str, Any] = {"claim_id": pl.String, "person_id": pl.String, "year": pl.Int32,
                 "basic": pl.Int64, "major": pl.Int64}

INCENTIVES = {"count_from": 2023, "after_years": 2, "continuity_step": 1000,
              "zero_claim_step": 1000, "max_fraction": 0.2, "break_penalty": 2000,
              "zero_claim_reset_on_break": False}


def policy_with(**overrides: Any) -> Policy:
    """The test city with keys replaced from 1 January 2023 (YAML units; ``__`` for ``.``)."""
    params = dict(BASE.parameters)
    for key, raw in overrides.items():
        key = key.replace("__", ".")
        params[key] = (Entry(D(2023, 1, 1), parse_value(key, raw), raw, "test override"),)
    return Policy((dataclasses.replace(BASE, parameters=params),))


def ladder_policy(**incentives: Any) -> Policy:
    return policy_with(major__cap=20000, major__incentives=INCENTIVES | incentives)


def persons_frame(ids: list[str], region: str = "999900") -> pl.DataFrame:
    return pl.DataFrame([{"person_id": p, "id_number": None, "sex": "M",
                          "birth_date": D(1970, 1, 1), "death_date": None, "region": region,
                          "categories": [], "chronic": []} for p in ids], schema=PERSON_SCHEMA)


def enrolments(years: dict[str, list[int]], region: str = "999900") -> pl.DataFrame:
    return pl.DataFrame([{"person_id": p, "year": y, "region": region, "scheme": "resident",
                          "paid_date": D(y - 1, 11, 1), "contribution_paid": 38000,
                          "repaid_years": 0, "employee_end_date": None}
                         for p, ys in years.items() for y in ys], schema=ENROLLMENT_SCHEMA)


def results(rows: list[tuple[str, int, int, int]]) -> pl.DataFrame:
    """Settlement results (person, year, basic yuan, major yuan), one claim each."""
    return pl.DataFrame([{"claim_id": f"{p}-{y}-{i}", "person_id": p, "year": y,
                          "basic": b * Y, "major": m * Y}
                         for i, (p, y, b, m) in enumerate(rows)], schema=RESULT_SCHEMA)


# Person L's history. "O" is another person with a claim every year, so that every year has
# settlement results (a year without any results cannot be a zero-claim year).
L_YEARS = [2023, 2024, 2025, 2026, 2027, 2029, 2030, 2031, 2032]  # no 2028: a break
L_RESULTS = [
    ("L", 2024, 500, 0),       # claims paid by the basic fund: not a zero-claim year
    ("L", 2026, 3000, 24000),  # major 24000 > base cap 20000: the reward was used
    ("L", 2031, 100, 0),
    # 2023, 2025, 2027, 2029, 2030: L has no claim — zero-claim years
    *[("O", y, 50, 0) for y in range(2023, 2033)],
]


def l_history() -> tuple[pl.DataFrame, Any]:
    persons = persons_frame(["L", "O"])
    enrol = enrolments({"L": L_YEARS, "O": list(range(2023, 2033))})
    return persons, build_history(persons, enrol, results(L_RESULTS))


# year: (cap, n consecutive, continuity, zero-claim years counted, zero-claim, after break)
L_LADDER = {
    # n = 1 → continuity 1000 × max(0, 1 − 2) = 0; no year before → 0. cap 20000.
    2023: (20000, 1, 0, 0, 0, False),
    # n = 2 → 0; 2023 zero-claim → 1000. cap 21000.
    2024: (21000, 2, 0, 1, 1000, False),
    # n = 3 → 1000; 2023 yes, 2024 paid → 1 → 1000. cap 22000.
    2025: (22000, 3, 1000, 1, 1000, False),
    # n = 4 → 2000; 2023, 2025 → 2000; 4000 = the ceiling 0.2 × 20000 exactly. cap 24000.
    2026: (24000, 4, 2000, 2, 2000, False),
    # n = 5 → 3000; 2026's major 24000 > 20000 (reward used) clears 2023 and 2025, and 2026
    # had basic payments → 0. cap 23000.
    2027: (23000, 5, 3000, 0, 0, False),
    # not enrolled: the base cap (it applies to no claim); n = 0. 2027 counted: 1 year.
    2028: (20000, 0, 0, 1, 1000, False),
    # re-enrolled after the 2028 break: 20000 − penalty 2000 = 18000, no increase this year
    # (the count is still 1 — 2027 — but gives nothing this year).
    2029: (18000, 1, 0, 1, 0, True),
    # n = 2 (2029, 2030) → 0; zero-claim 2027, 2029 (the break does not reset) → 2000.
    2030: (22000, 2, 0, 2, 2000, False),
    # n = 3 → 1000; + 2030 → 3 → 3000; 4000. cap 24000.
    2031: (24000, 3, 1000, 3, 3000, False),
    # n = 4 → 2000; 2031 paid → still 3 → 3000; 5000 > 4000: the ceiling binds. cap 24000.
    2032: (24000, 4, 2000, 3, 3000, False),
}

# zero_claim_reset_on_break: the 2028 break clears 2027's credit.
L_LADDER_RESET = L_LADDER | {
    # 2028 as before: the years counted are 2023–2027, the break year is not among them.
    # 2029: penalty as before; counting 2023–2028, the 2028 break clears 2027 → 0.
    2029: (18000, 1, 0, 0, 0, True),
    # n = 2 → 0; 2029 → 1 → 1000. cap 21000.
    2030: (21000, 2, 0, 1, 1000, False),
    # n = 3 → 1000; 2029, 2030 → 2000; cap 23000.
    2031: (23000, 3, 1000, 2, 2000, False),
    # n = 4 → 2000; 2031 paid → 2000; 4000 = ceiling. cap 24000.
    2032: (24000, 4, 2000, 2, 2000, False),
}


def _row_terms(policy: Policy, history: Any, year: int) -> tuple[int, int, int, int, int, bool]:
    t = major_caps(policy, history, np.array([0]), year)
    return (int(t.cap[0]), int(t.consecutive[0]), int(t.continuity[0]),
            int(t.zero_claim_years[0]), int(t.zero_claim[0]), bool(t.after_break[0]))


def _fen(row: tuple[int, int, int, int, int, bool]) -> tuple[int, int, int, int, int, bool]:
    cap, n, cont, z, zero, brk = row
    return cap * Y, n, cont * Y, z, zero * Y, brk


def test_ladder_with_reward_used_and_break() -> None:
    policy = ladder_policy()
    _, history = l_history()
    for year, expected in L_LADDER.items():
        assert _row_terms(policy, history, year) == _fen(expected), year


def test_ladder_with_zero_claim_reset_on_break() -> None:
    policy = ladder_policy(zero_claim_reset_on_break=True)
    _, history = l_history()
    for year, expected in L_LADDER_RESET.items():
        assert _row_terms(policy, history, year) == _fen(expected), year


def test_ladder_function_lists_every_year() -> None:
    policy = ladder_policy()
    _, history = l_history()
    steps = ladder(policy, history, 0, 2032)
    assert [t.year for t in steps] == list(range(2023, 2033))
    assert [int(t.cap[0]) for t in steps] == [v[0] * Y for v in L_LADDER.values()]
    assert all(t.base_cap == 20000 * Y for t in steps)


def test_no_break_penalty_by_default() -> None:
    """break_penalty 0 (the national file's choice): re-enrolling gives the base cap."""
    _, history = l_history()
    assert _row_terms(ladder_policy(break_penalty=0), history, 2029)[0] == 20000 * Y


def test_ceiling_binds_after_long_continuous_enrolment() -> None:
    """Enrolled 2023–2030 with no claims at all: in 2030 n = 8 → continuity 1000 × 6 = 6000,
    zero-claim 2023–2029 = 7 → 7000; 13000 > 0.2 × 20000 = 4000 → cap 24000."""
    persons = persons_frame(["Z", "O"])
    history = build_history(persons, enrolments({"Z": list(range(2023, 2031)),
                                                  "O": list(range(2023, 2031))}),
                            results([("O", y, 50, 0) for y in range(2023, 2031)]))
    t = major_caps(ladder_policy(), history, np.array([0, 1]), 2030)
    assert int(t.continuity[0]) == 6000 * Y and int(t.zero_claim[0]) == 7000 * Y
    assert t.cap.tolist() == [24000 * Y, 20000 * Y + 4000 * Y]
    # O claimed every year: only continuity, 6000 → capped at 4000 too
    assert int(t.zero_claim[1]) == 0


def test_year_without_results_is_not_zero_claim() -> None:
    """Results cover 2023 only: 2024 has none, so it cannot count. 2025: n = 3 → 1000;
    zero-claim 2023 → 1000. cap 22000 (with 2024 as well it would be 23000)."""
    persons = persons_frame(["Z", "O"])
    history = build_history(persons, enrolments({"Z": [2023, 2024, 2025], "O": [2023]}),
                            results([("O", 2023, 50, 0)]))
    assert _row_terms(ladder_policy(), history, 2025)[0] == 22000 * Y


def test_not_enrolled_and_before_count_from() -> None:
    """360400: incentives count from 2025 (国办发〔2024〕38号). In 2024 the base cap 350000,
    whatever the history; not enrolled in 2026 → the base cap."""
    policy = load_policy("360400")
    persons = persons_frame(["A"], "360400")
    history = build_history(persons, enrolments({"A": [2020, 2021, 2022, 2023, 2024, 2025]},
                                                "360400"), through=2026)
    rows = np.array([0])
    assert major_caps(policy, history, rows, 2024).cap.tolist() == [350000 * Y]
    # 2025: n counts only years ≥ 2025 → 1 → no continuity; no results → no zero-claim
    t = major_caps(policy, history, rows, 2025)
    assert (t.cap.tolist(), t.consecutive.tolist()) == ([350000 * Y], [1])
    assert major_caps(policy, history, rows, 2026).cap.tolist() == [350000 * Y]


# ── settlement with the incentive cap (360400, 2027) ───────────────────────────────────────

CLAIM_SCHEMA: dict[str, Any] = {
                "claim_id": pl.String, "person_id": pl.String, "facility_id": pl.String,
                "facility_level": pl.Int8, "visit_type": pl.String,
                "chronic_disease": pl.String, "maternity_kind": pl.String,
                "admit_date": pl.Date, "settle_date": pl.Date, "total": pl.Int64,
                "self_pay": pl.Int64, "class_b_self_pay": pl.Int64, "out_of_region": pl.Boolean,
                "diagnosis": pl.String, "procedure": pl.String, "procedure_kind": pl.String}


def test_incentive_cap_raises_major_payment_360400() -> None:
    """九江 (360400) in 2027, both persons enrolled 2025, 2026, 2027, each with one level-3
    admission of 1 200 000 yuan (all policy scope) on 1 March 2027.

    basic: (1 200 000 − 600) × 0.65 = 779 610 → basic cap 150 000.
    e = 1 200 000 − 150 000 = 1 050 000 (the basic deductible counts: include_basic_deductible).
    major before the cap, brackets above the 15 000 deductible: 50 000 × 0.60 = 30 000,
    50 000 × 0.65 = 32 500, (1 050 000 − 15 000 − 100 000) × 0.75 = 701 250; 763 750 in all.
    Z had no claim in 2025 or 2026 (zero-claim years by the results given with history=):
    n = 3 ≤ 4 → continuity 0; zero-claim 2 × 1000 = 2000 ≤ 0.2 × 350 000 = 70 000 →
    cap 352 000 → major 352 000, oop 1 200 000 − 150 000 − 352 000 = 698 000.
    C claimed in 2025 and 2026: cap 350 000 → major 350 000, oop 700 000.
    """
    policy = load_policy("360400")
    persons = persons_frame(["Z", "C"], "360400")
    enrol = enrolments({"Z": [2025, 2026, 2027], "C": [2025, 2026, 2027]}, "360400")
    history = results([("C", 2025, 800, 0), ("C", 2026, 900, 0)])
    claims = pl.DataFrame([
        {"claim_id": f"{p}1", "person_id": p, "facility_id": "H1", "facility_level": 3,
         "visit_type": "inpatient", "chronic_disease": None, "maternity_kind": None,
         "admit_date": D(2027, 2, 1), "settle_date": D(2027, 3, 1), "total": 1_200_000 * Y,
         "self_pay": 0, "class_b_self_pay": 0, "out_of_region": False, "diagnosis": "C34.9",
         "procedure": "32.41", "procedure_kind": "surgery"} for p in ("Z", "C")],
        schema=CLAIM_SCHEMA)
    res = settle_claims(policy, persons, enrol, claims, history=history).results
    by = {r["person_id"]: r for r in res.iter_rows(named=True)}
    assert by["Z"]["basic"] == 150_000 * Y and by["C"]["basic"] == 150_000 * Y
    assert (by["Z"]["major_cap"], by["Z"]["major"], by["Z"]["oop"]) == (
        352_000 * Y, 352_000 * Y, 698_000 * Y)
    assert (by["C"]["major_cap"], by["C"]["major"], by["C"]["oop"]) == (
        350_000 * Y, 350_000 * Y, 700_000 * Y)
    # without the history results no year is known to be zero-claim: the base cap
    plain = settle_claims(policy, persons, enrol, claims).results
    assert plain["major"].to_list() == [350_000 * Y, 350_000 * Y]


# ── property: the effective cap never exceeds 1.2 × the base cap ────────────────────────────

@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[list[bool]], list[tuple[str, int, int,
                                                                                    int]]]:
    incentives = {
        "count_from": draw(st.integers(2023, 2027)),
        "after_years": draw(st.integers(0, 5)),
        "continuity_step": draw(st.sampled_from([0, 100, 1000, 5000])),
        "zero_claim_step": draw(st.sampled_from([0, 100, 1000, 5000])),
        "max_fraction": draw(st.sampled_from([0, 0.1, 0.2, 0.2345, 1])),
        "break_penalty": draw(st.sampled_from([0, 500, 2000])),
        "zero_claim_reset_on_break": draw(st.booleans()),
    }
    n = draw(st.integers(1, 6))
    enrolled = [[draw(st.booleans()) for _ in range(2023, 2032)] for _ in range(n)]
    rows = [(f"P{i}", y, draw(st.sampled_from([0, 0, 100, 5000])),
             draw(st.sampled_from([0, 0, 5000, 30000])))
            for i in range(n) for y in range(2023, 2031) if draw(st.booleans())]
    return incentives, enrolled, rows


@given(cases(), st.integers(2023, 2031))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_cap_never_above_ceiling(case: tuple[dict[str, Any], list[list[bool]],
                                             list[tuple[str, int, int, int]]], year: int) -> None:
    incentives, enrolled, rows = case
    policy = policy_with(major__cap=20000, major__incentives=incentives)
    ids = [f"P{i}" for i in range(len(enrolled))]
    persons = persons_frame(ids)
    years = {p: [2023 + k for k, e in enumerate(flags) if e]
             for p, flags in zip(ids, enrolled, strict=True)}
    history = build_history(persons, enrolments(years), results(rows) if rows else None,
                            through=2031)
    t = major_caps(policy, history, np.arange(len(ids)), year)
    base = 20000 * Y
    ceiling = base + base * incentives["max_fraction"] * 1.0
    assert (t.cap <= round(ceiling)).all()
    assert (t.cap >= base - incentives["break_penalty"] * Y).all()
    assert (t.cap[~t.enrolled] == base).all()
    assert (t.continuity + t.zero_claim >= 0).all()


@given(st.lists(st.lists(st.booleans(), min_size=7, max_size=7), min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 5), st.integers(2025, 2030),
                          st.sampled_from([0, 0, 100, 5000]),
                          st.sampled_from([0, 0, 5000, 400000]))),
       st.integers(2025, 2031))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_shipped_cap_never_above_120_percent(enrolled: list[list[bool]],
                                             rows: list[tuple[int, int, int, int]],
                                             year: int) -> None:
    """360400 (国办发〔2024〕38号 as shipped): whatever the history, cap ≤ 1.2 × 350 000."""
    ids = [f"P{i}" for i in range(len(enrolled))]
    persons = persons_frame(ids, "360400")
    years = {p: [2025 + k for k, e in enumerate(flags) if e]
             for p, flags in zip(ids, enrolled, strict=True)}
    paid = [(f"P{i}", y, b, m) for i, y, b, m in rows if i < len(ids)]
    history = build_history(persons, enrolments(years, "360400"),
                            results(paid) if paid else None, through=2031)
    t = major_caps(load_policy("360400"), history, np.arange(len(ids)), year)
    assert (t.cap <= 350_000 * Y * 12 // 10).all()
    assert (t.cap >= 350_000 * Y).all()  # the shipped break_penalty is 0
