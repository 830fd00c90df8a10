"""Indicators of the hand-worked year in ``fund_year`` (its docstring gives the inputs and the
parameters); each expected figure below says how it was worked out. Money in fen."""

from __future__ import annotations

from fractions import Fraction

import pytest
from fund_year import Y, claims, enrollments, persons, results, targets

from yibao.fund import Indicators, from_frames, indicators, to_json
from yibao.policy import load_policy

POLICY = load_policy("360400")


@pytest.fixture(scope="module")
def ind() -> Indicators:
    inputs = from_frames(POLICY, 2023, persons(), enrollments(), claims(), results(),
                         targets=targets(), opening={"360400": 100000 * Y})
    return indicators(inputs)


def test_monthly_income_and_expenditure(ind: Indicators) -> None:
    region = [m for m in ind.monthly if m.region == "360400"]
    # subsidy 3 × 640 = 1920 a year → 160 a month; transfer 3 × 80 = 240 → 20 a month
    assert [m.income_total for m in region[:3]] == [
        (380 + 380 + 160) * Y,  # January: PA's and PC's advance payments
        160 * Y,  # February: the subsidy only
        (130 + 250 + 160) * Y]  # March: PB's late payment and its assisted part
    assert region[0].income["subsidy_central"] == 3 * 384 * Y // 12
    # February: basic 5000 (C1) + 20000 (C3) + transfer 20; March: 65 + 20; May: C4 uncovered
    assert [m.expenditure for m in region[:5]] == [20 * Y, 25020 * Y, 85 * Y, 20 * Y, 20 * Y]
    assert sum(m.income_total for m in region) == (760 + 130 + 250 + 1920) * Y


def test_balance_and_months_payable(ind: Indicators) -> None:
    jan, feb = [m for m in ind.monthly if m.region == "360400"][:2]
    assert jan.current_balance == 900 * Y and jan.accumulated_balance == 100900 * Y
    assert jan.months_payable == Fraction(100900, 20)  # balance ÷ January's expenditure
    assert feb.accumulated_balance == (100900 + 160 - 25020) * Y  # 76040
    assert feb.months_payable == Fraction(76040 * 2, 20 + 25020)  # ÷ mean of Jan and Feb


def test_counties(ind: Indicators) -> None:
    assert ind.counties == ["360402", "360403"]
    income = {c: sum(m.income_total for m in ind.monthly if m.region == c) for c in ind.counties}
    # 360402: 380 + 130 + 250 + 2 × 640; 360403: 380 + 640
    assert income == {"360402": 2040 * Y, "360403": 1020 * Y}
    # no county opening balance was given: no accumulated balance for a county
    assert all(m.accumulated_balance is None for m in ind.monthly if m.region != "360400")


def test_spending_ratio_and_oop_share(ind: Indicators) -> None:
    every = next(r for r in ind.spending if r.region == "360400" and r.visit_type == "all")
    assert (every.claims, every.covered_claims) == (4, 3)
    assert every.basic == 25065 * Y and every.major == 1000 * Y
    assert every.oop == (32419 + 35 + 19000) * Y + 3241901
    # over covered claims only: (32419 + 35 + 19000) ÷ (37419 + 100 + 40000)
    assert every.oop_share == Fraction(51454, 77519)
    ratio = {(r.region, r.visit_type, r.facility_level): r.ratio for r in ind.ratios}
    assert ratio["360400", "inpatient", 0] == Fraction(25000, 39000)
    assert ratio["360400", "inpatient", 3] == Fraction(5000, 9000)
    assert ratio["360400", "outpatient", 0] == Fraction(65, 100)  # C4 uncovered: left out
    assert ratio["360403", "inpatient", 0] == Fraction(20000, 30000)


def test_coverage(ind: Indicators) -> None:
    cov = {(r.region, r.category): (r.enrolled, r.target, r.rate) for r in ind.coverage}
    assert cov["360400", "all"] == (3, 4, Fraction(3, 4))  # target: the counties' sum
    assert cov["360403", "all"] == (1, 2, Fraction(1, 2))
    assert cov["360402", "low_income"] == (1, 1, Fraction(1))
    assert cov["360402", "dibao"] == (1, None, None)  # no target given for dibao


def test_high_cost_list(ind: Indicators) -> None:
    # threshold 1.0 × 32419 yuan; PA's 32419.00 is not over it, PD's 32419.01 is
    assert ind.high_cost_threshold == 32419 * Y
    [pd] = ind.high_cost
    assert pd.person_id == "PD" and pd.oop == 3241901
    assert pd.id_number == "360403********1235"
    assert pd.uncovered_oop == 3241901 and pd.out_of_scope == 0
    assert pd.oop_by_visit == {"outpatient": 3241901}
    assert pd.top_claims[0]["claim_id"] == "C4"


def test_json_shows_yuan_and_four_places(ind: Indicators) -> None:
    body = to_json(ind)
    jan = body["monthly"][0]
    assert jan["income_total"] == "920.00" and jan["months_payable"] == "5045.0000"
    assert body["high_cost"][0]["oop"] == "32419.01"
    assert body["high_cost"][0]["top_diagnoses"] == [{"diagnosis": "K35", "oop": "32419.01"}]


def test_results_matched_by_claim_id_in_any_order() -> None:
    base = from_frames(POLICY, 2023, persons(), enrollments(), claims(), results(),
                       targets=targets())
    shuffled = from_frames(POLICY, 2023, persons(), enrollments(), claims(),
                           results().reverse(), targets=targets())
    assert indicators(base).spending == indicators(shuffled).spending
