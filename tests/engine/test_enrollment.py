"""Benefit start and waiting periods (SPEC §6.2), every path worked out by hand.

Unless a test says otherwise the policy is the test city (tests/fixtures/test_city.yaml):
concentrated period 09-01 .. 12-31 of the year before, fixed 3 months, 1 month per break
year beyond the first (free_break_years 1), breaks of ≥ 4 years keep ≥ 6 months after repair,
newborns exempt, 3 grace months after 职工医保 ends. Each case's working is in its comment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.engine.enrollment import benefit_starts, build_history
from yibao.engine.person_years import settle_claims
from yibao.errors import InputError
from yibao.io import ENROLLMENTS, PERSONS
from yibao.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "test_city.yaml"
CITY = "999900"
D = dt.date

PERSON_SCHEMA: dict[str, Any] = dict(PERSONS.schema)  # the readers' dtypes
ENROLLMENT_SCHEMA: dict[str, Any] = dict(ENROLLMENTS.schema)


ADULT = dt.date(1980, 5, 1)


def person(pid: str, birth: dt.date = ADULT, categories: tuple[str, ...] = (),
           **kw: Any) -> dict[str, Any]:
    return {"person_id": pid, "id_number": None, "sex": "F", "birth_date": birth,
            "death_date": None, "region": CITY, "categories": list(categories),
            "chronic": [], **kw}


def enrol(pid: str, year: int, paid: dt.date | None = None, *, scheme: str = "resident",
          repaid: int = 0, employee_end: dt.date | None = None,
          region: str = CITY) -> dict[str, Any]:
    """An enrolment; by default paid on 1 November of the year before (in the window)."""
    return {"person_id": pid, "year": year, "region": region, "scheme": scheme,
            "paid_date": paid or D(year - 1, 11, 1), "contribution_paid": 38000,
            "repaid_years": repaid, "employee_end_date": employee_end}


def frames(persons: list[dict[str, Any]],
           enrollments: list[dict[str, Any]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (pl.DataFrame(persons, schema=PERSON_SCHEMA),
            pl.DataFrame(enrollments, schema=ENROLLMENT_SCHEMA))


def derived_policy(tmp_path: Path, **params: Any) -> Policy:
    """The test city with some parameters replaced (one entry from 2023-01-01, YAML units)."""
    doc = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    for key, value in params.items():
        doc["parameters"][key.replace("__", ".")] = [
            {"from": D(2023, 1, 1), "value": value, "source": "test override"}]
    path = tmp_path / "derived.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_policy(path)


def starts(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
           year: int) -> dict[str, tuple[dt.date, int, str]]:
    history = build_history(persons, enrollments)
    out = benefit_starts(policy, persons, enrollments, history, [year])
    return {r["person_id"]: (r["benefit_start"], r["waiting_months"], r["waiting_reason"])
            for r in out.iter_rows(named=True)}


@pytest.fixture(scope="module")
def city() -> Policy:
    return load_policy(FIXTURE)


@dataclass
class Case:
    """One person's enrolments; the last listed is the enrolment under test."""

    enrollments: list[dict[str, Any]]
    expected: tuple[dt.date, int, str]
    person: dict[str, Any] = field(default_factory=lambda: person("P"))


CASES = {
    # ── first rule: no waiting period, benefits from max(1 January y, birth_date) ──
    # holds "newborn" (an exempt category) — paid late after a 2-year break, still exempt:
    # benefits from 1 January 2025, 0 months, EXEMPT (the category rule comes first).
    "category_exempt": Case(
        [enrol("P", 2022), enrol("P", 2025, D(2025, 6, 10))],
        (D(2025, 1, 1), 0, "EXEMPT"), person("P", D(2024, 3, 1), ("newborn",))),
    # born 15 June 2024, first enrolment 2024, paid 1 July 2024 (after the window, and no
    # category on the record): born in y → NEWBORN, from max(2024-01-01, 2024-06-15)
    # = 15 June 2024 (the birth date), 0 months.
    "newborn_mid_year": Case(
        [enrol("P", 2024, D(2024, 7, 1))], (D(2024, 6, 15), 0, "NEWBORN"),
        person("P", D(2024, 6, 15))),
    # born 20 November 2023, first enrolment 2024 paid 5 March 2024: born in y − 1 → NEWBORN,
    # from max(2024-01-01, 2023-11-20) = 1 January 2024, 0 months.
    "newborn_born_year_before": Case(
        [enrol("P", 2024, D(2024, 3, 5))], (D(2024, 1, 1), 0, "NEWBORN"),
        person("P", D(2023, 11, 20))),
    # born 1 December 2022, first enrolment 2024 paid 5 March 2024: born in y − 2, so not a
    # newborn; first enrolment paid late: break 0, 3 fixed months from the payment,
    # 5 March + 3 months = 5 June 2024, WAITING_FIXED.
    "born_two_years_before_waits": Case(
        [enrol("P", 2024, D(2024, 3, 5))], (D(2024, 6, 5), 3, "WAITING_FIXED"),
        person("P", D(2022, 12, 1))),
    # 职工医保 ended 30 April 2024; grace 3 months → 30 July 2024. Paid 30 July (the last day
    # of the grace): EMPLOYEE_TRANSFER, benefits from 1 January 2024, 0 months.
    "employee_transfer_inside_grace": Case(
        [enrol("P", 2023, scheme="employee"),
         enrol("P", 2024, D(2024, 7, 30), employee_end=D(2024, 4, 30))],
        (D(2024, 1, 1), 0, "EMPLOYEE_TRANSFER")),
    # the same, paid 31 July: one day outside the grace. No resident enrolment before (the
    # employee one does not count), so a first enrolment paid late: 3 fixed months from the
    # payment, 31 July + 3 months = 31 October 2024, WAITING_FIXED.
    "employee_transfer_outside_grace": Case(
        [enrol("P", 2023, scheme="employee"),
         enrol("P", 2024, D(2024, 7, 31), employee_end=D(2024, 4, 30))],
        (D(2024, 10, 31), 3, "WAITING_FIXED")),
    # ── second rule: paid in the window and enrolled in y − 1 (or never before) ──
    # enrolled 2023, paid 31 December 2023 (the window's last day) for 2024: CONCENTRATED,
    # benefits from 1 January 2024, 0 months.
    "concentrated_last_day": Case(
        [enrol("P", 2023), enrol("P", 2024, D(2023, 12, 31))], (D(2024, 1, 1), 0, "CONCENTRATED")),
    # paid 1 January 2024, the day after the window: no break (enrolled 2023) → 3 fixed
    # months from max(paid, 1 January) = 1 January → 1 April 2024, WAITING_FIXED.
    "concentrated_day_after": Case(
        [enrol("P", 2023), enrol("P", 2024, D(2024, 1, 1))], (D(2024, 4, 1), 3, "WAITING_FIXED")),
    # the window opens 1 September 2023: paid on it → CONCENTRATED; paid 31 August, before
    # the window, is not in it: 3 months from 1 January (the later of paid and 1 January).
    "concentrated_first_day": Case(
        [enrol("P", 2023), enrol("P", 2024, D(2023, 9, 1))], (D(2024, 1, 1), 0, "CONCENTRATED")),
    "paid_before_window": Case(
        [enrol("P", 2023), enrol("P", 2024, D(2023, 8, 31))], (D(2024, 4, 1), 3, "WAITING_FIXED")),
    # never enrolled, paid in the window: CONCENTRATED ("or never enrolled before").
    "first_enrolment_in_window": Case(
        [enrol("P", 2024, D(2023, 10, 8))], (D(2024, 1, 1), 0, "CONCENTRATED")),
    # ── third rule: the waiting period ──
    # first enrolment paid late, 20 May 2024: break_years 0 → variable 0, 3 fixed months from
    # the payment: 20 August 2024, WAITING_FIXED.
    "first_enrolment_late": Case(
        [enrol("P", 2024, D(2024, 5, 20))], (D(2024, 8, 20), 3, "WAITING_FIXED")),
    # 31 August + 3 months = 30 November (November has no 31st: the month's last day).
    "31_august_plus_3_months": Case(
        [enrol("P", 2024, D(2024, 8, 31))], (D(2024, 11, 30), 3, "WAITING_FIXED")),
    # 30 November 2023 + 3 months = 29 February 2024 (leap year, no 30 February): paid for
    # 2023 late, enrolled the year before.
    "30_november_plus_3_months_leap": Case(
        [enrol("P", 2022), enrol("P", 2023, D(2023, 11, 30))], (D(2024, 2, 29), 3,
                                                              "WAITING_FIXED")),
    # 1-year break: enrolled 2023, not 2024, paid in the window for 2025. Not enrolled in
    # y − 1, so the window does not help; break_years 1, variable = 1 × max(0, 1 − 1) = 0,
    # 3 months from max(paid, 1 January 2025) = 1 April 2025, WAITING_FIXED.
    "one_year_break": Case(
        [enrol("P", 2023), enrol("P", 2025, D(2024, 11, 15))], (D(2025, 4, 1), 3,
                                                               "WAITING_FIXED")),
    # 2-year break (2024, 2025), paid in the window for 2026: variable = 1 × (2 − 1) = 1,
    # 3 + 1 = 4 months → 1 May 2026, WAITING_VARIABLE.
    "two_year_break": Case(
        [enrol("P", 2023), enrol("P", 2026, D(2025, 12, 1))], (D(2026, 5, 1), 4,
                                                              "WAITING_VARIABLE")),
    # 5-year break (2024–2028) with 2 years repaid, paid in the window for 2029:
    # variable = 1 × max(0, 5 − 1) − 2 = 2; 3 + 2 = 5 months; the break is ≥ 4 years, so the
    # total is raised to the floor of 6 → 1 January 2029 + 6 = 1 July 2029, WAITING_LONG_BREAK.
    "five_year_break_two_repaid": Case(
        [enrol("P", 2023), enrol("P", 2029, D(2028, 10, 10), repaid=2)],
        (D(2029, 7, 1), 6, "WAITING_LONG_BREAK")),
    # the same without repair: 3 + 4 = 7 ≥ 6, the floor does not bind → 1 August 2029,
    # WAITING_VARIABLE.
    "five_year_break_none_repaid": Case(
        [enrol("P", 2023), enrol("P", 2029, D(2028, 10, 10))],
        (D(2029, 8, 1), 7, "WAITING_VARIABLE")),
    # repairing more than the variable months: 4 − 9 → 0 (not below 0), 3 → floor 6.
    "five_year_break_over_repaid": Case(
        [enrol("P", 2023), enrol("P", 2029, D(2028, 10, 10), repaid=9)],
        (D(2029, 7, 1), 6, "WAITING_LONG_BREAK")),
    # the same 5-year break with 2 repaid, paid late on 15 March 2029: 6 months from the
    # payment → 15 September 2029.
    "five_year_break_two_repaid_late": Case(
        [enrol("P", 2023), enrol("P", 2029, D(2029, 3, 15), repaid=2)],
        (D(2029, 9, 15), 6, "WAITING_LONG_BREAK")),
    # a 3-year break (2024–2026) is below the long-break threshold of 4: 3 + 2 − 2 = 3.
    "three_year_break_fully_repaid": Case(
        [enrol("P", 2023), enrol("P", 2027, D(2026, 10, 10), repaid=2)],
        (D(2027, 4, 1), 3, "WAITING_FIXED")),
    # a benefit start spilling into the next year: enrolled 2023, paid for 2024 on
    # 15 November 2024: 3 fixed months from the payment → 15 February 2025.
    "spills_into_next_year": Case(
        [enrol("P", 2023), enrol("P", 2024, D(2024, 11, 15))], (D(2025, 2, 15), 3,
                                                               "WAITING_FIXED")),
    # 4-year break (2024–2027) paid late 31 August 2028: variable 3, 3 + 3 = 6 = the floor,
    # 31 August + 6 months = 28 February 2029 (2029 is no leap year): spills over too.
    "four_year_break_late_spills": Case(
        [enrol("P", 2023), enrol("P", 2028, D(2028, 8, 31))], (D(2029, 2, 28), 6,
                                                              "WAITING_VARIABLE")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_benefit_start(name: str, city: Policy) -> None:
    case = CASES[name]
    persons, enrollments = frames([case.person], case.enrollments)
    year = case.enrollments[-1]["year"]
    assert starts(city, persons, enrollments, year)["P"] == case.expected


def test_category_exempt_by_policy_list(tmp_path: Path) -> None:
    """A city that also exempts 特困: a tekun person paying late after a 2-year break waits 0
    months from 1 January; a dibao person with the same history waits 3 + 1 = 4 months from
    the payment (10 June + 4 = 10 October 2025)."""
    policy = derived_policy(tmp_path, enrollment__waiting__exempt_categories=["newborn", "tekun"])
    persons, enrollments = frames(
        [person("T", categories=("tekun",)), person("B", categories=("dibao",))],
        [enrol("T", 2022), enrol("T", 2025, D(2025, 6, 10)),
         enrol("B", 2022), enrol("B", 2025, D(2025, 6, 10))])
    got = starts(policy, persons, enrollments, 2025)
    assert got["T"] == (D(2025, 1, 1), 0, "EXEMPT")
    assert got["B"] == (D(2025, 10, 10), 4, "WAITING_VARIABLE")


def test_newborn_not_exempt_waits(tmp_path: Path) -> None:
    """With no exempt category, a baby born 15 June 2024 and enrolled (first time) on 1 July
    2024 is a first enrolment paid late: 3 months from 1 July → 1 October 2024."""
    policy = derived_policy(tmp_path, enrollment__waiting__exempt_categories=[])
    persons, enrollments = frames([person("P", D(2024, 6, 15))],
                                  [enrol("P", 2024, D(2024, 7, 1))])
    assert starts(policy, persons, enrollments, 2024)["P"] == (D(2024, 10, 1), 3, "WAITING_FIXED")


def test_newborn_rule_is_for_the_first_enrolment_only(city: Policy) -> None:
    """Born 1 March 2023 and enrolled for 2023 (NEWBORN then), paid late for 2024: no longer
    the first enrolment, so no NEWBORN though born in y − 1; enrolled in y − 1, break 0:
    3 months from the payment 2 February 2024 → 2 May 2024."""
    persons, enrollments = frames(
        [person("P", D(2023, 3, 1))],
        [enrol("P", 2023, D(2023, 3, 20)), enrol("P", 2024, D(2024, 2, 2))])
    assert starts(city, persons, enrollments, 2024)["P"] == (D(2024, 5, 2), 3, "WAITING_FIXED")


def test_window_running_into_the_benefit_year(tmp_path: Path) -> None:
    """A window 09-01 .. 02-28 (end ≤ start: it runs into the benefit year). For 2024: paid
    28 February 2024 → CONCENTRATED from 1 January; paid 29 February → 3 months from the
    payment → 29 May 2024."""
    policy = derived_policy(tmp_path,
                            enrollment__concentrated_period={"start": "09-01", "end": "02-28"})
    persons, enrollments = frames(
        [person("A"), person("B")],
        [enrol("A", 2023), enrol("A", 2024, D(2024, 2, 28)),
         enrol("B", 2023), enrol("B", 2024, D(2024, 2, 29))])
    got = starts(policy, persons, enrollments, 2024)
    assert got["A"] == (D(2024, 1, 1), 0, "CONCENTRATED")
    assert got["B"] == (D(2024, 5, 29), 3, "WAITING_FIXED")


@pytest.mark.parametrize("region", ["000000", "370000"])
def test_qingdao_example(region: str) -> None:
    """SPEC §6.2 (青岛医疗保障 2025): enrolled 2024, not for 2025 and 2026, paid in the window
    for 2027 (10 November 2026): break 2, variable 1 × (2 − 1) = 1, 3 + 1 = 4 months → 1 May
    2027. With one year repaid: variable 1 − 1 = 0, 3 months → 1 April 2027."""
    policy = load_policy(region)
    persons, enrollments = frames(
        [person("A", region=region), person("B", region=region)],
        [enrol("A", 2024, region=region), enrol("A", 2027, D(2026, 11, 10), region=region),
         enrol("B", 2024, region=region),
         enrol("B", 2027, D(2026, 11, 10), repaid=1, region=region)])
    got = starts(policy, persons, enrollments, 2027)
    assert got["A"] == (D(2027, 5, 1), 4, "WAITING_VARIABLE")
    assert got["B"] == (D(2027, 4, 1), 3, "WAITING_FIXED")


def test_enrolled_means_resident_in_any_region(city: Policy) -> None:
    """Enrolled for 2023 in another region (370100), paid in the window for 2024 here: enrolled
    in y − 1 (any region), so CONCENTRATED. An employee enrolment for 2023 does not count:
    after a resident 2022 that is a 1-year break, 3 months from 1 January → 1 April 2024."""
    persons, enrollments = frames(
        [person("A"), person("B")],
        [enrol("A", 2023, region="370100"), enrol("A", 2024),
         enrol("B", 2022), enrol("B", 2023, scheme="employee"), enrol("B", 2024)])
    got = starts(city, persons, enrollments, 2024)
    assert got["A"] == (D(2024, 1, 1), 0, "CONCENTRATED")
    assert got["B"] == (D(2024, 4, 1), 3, "WAITING_FIXED")


def test_rows_follow_the_enrolments_of_the_years_asked(city: Policy) -> None:
    persons, enrollments = frames(
        [person("A"), person("B")],
        [enrol("B", 2024), enrol("A", 2023), enrol("A", 2024, D(2024, 1, 1)),
         enrol("B", 2023, scheme="employee")])
    history = build_history(persons, enrollments)
    out = benefit_starts(city, persons, enrollments, history, [2024])
    assert out.columns == ["person_id", "year", "region", "benefit_start", "waiting_months",
                           "waiting_reason"]
    assert out["person_id"].to_list() == ["B", "A"]
    assert out["waiting_reason"].to_list() == ["CONCENTRATED", "WAITING_FIXED"]
    empty = benefit_starts(city, persons, enrollments, history, [2030])
    assert empty.height == 0 and empty.columns == out.columns


def test_pre_2025_national_rules_have_no_waiting() -> None:
    """000000 before 2025: fixed 0, per break year 0 (stand-in). A 2-year break paid late on
    10 March 2024 waits 0 months: benefits from the payment date itself."""
    policy = load_policy("000000")
    persons, enrollments = frames([person("P", region="000000")],
                                  [enrol("P", 2021, region="000000"),
                                   enrol("P", 2024, D(2024, 3, 10), region="000000")])
    assert starts(policy, persons, enrollments, 2024)["P"] == (D(2024, 3, 10), 0, "WAITING_FIXED")


# ── settlement uses the benefit start ───────────────────────────────────────────────────────

CLAIM_SCHEMA: dict[str, Any] = {
                "claim_id": pl.String, "person_id": pl.String, "facility_id": pl.String,
                "facility_level": pl.Int8, "visit_type": pl.String,
                "chronic_disease": pl.String, "maternity_kind": pl.String,
                "admit_date": pl.Date, "settle_date": pl.Date, "total": pl.Int64,
                "self_pay": pl.Int64, "class_b_self_pay": pl.Int64, "out_of_region": pl.Boolean,
                "diagnosis": pl.String, "procedure": pl.String, "procedure_kind": pl.String}


def claim(cid: str, pid: str, day: dt.date, total: int, level: int = 2) -> dict[str, Any]:
    return {"claim_id": cid, "person_id": pid, "facility_id": "H1", "facility_level": level,
            "visit_type": "inpatient", "chronic_disease": None, "maternity_kind": None,
            "admit_date": day, "settle_date": day, "total": total, "self_pay": 0,
            "class_b_self_pay": 0, "out_of_region": False, "diagnosis": "K35.8",
            "procedure": None, "procedure_kind": "conservative"}


def test_settlement_waits_until_the_benefit_start(city: Policy) -> None:
    """First enrolment paid late on 20 May 2024: benefits from 20 August 2024 (3 months).
    A claim settled 19 August is WAITING_PERIOD (all 5000 yuan out of pocket); one settled on
    20 August is covered: level 2, (5000 − 500) × 0.8 = 3600 basic, oop 1400."""
    persons, enrollments = frames([person("P")], [enrol("P", 2024, D(2024, 5, 20))])
    claims = pl.DataFrame([claim("1", "P", D(2024, 8, 19), 500_000),
                           claim("2", "P", D(2024, 8, 20), 500_000)], schema=CLAIM_SCHEMA)
    res = settle_claims(city, persons, enrollments, claims).results.sort("claim_id")
    assert res["covered"].to_list() == [False, True]
    assert res["reason"].to_list() == ["WAITING_PERIOD", ""]
    assert res["basic"].to_list() == [0, 360_000]
    assert res["oop"].to_list() == [500_000, 140_000]
    # the uncovered claim consumed no rank: the covered one bore the full first deductible
    assert res["deductible"].to_list() == [0, 50_000]


def test_settlement_newborn_from_birth(city: Policy) -> None:
    """Born 15 June 2024, first enrolment paid 1 July 2024: covered from the birth date.
    A claim on 15 June is covered, one on 14 June (before birth — a data error, but the rule
    is plain) is WAITING_PERIOD."""
    persons, enrollments = frames([person("P", D(2024, 6, 15))], [enrol("P", 2024, D(2024, 7, 1))])
    claims = pl.DataFrame([claim("1", "P", D(2024, 6, 14), 100_000),
                           claim("2", "P", D(2024, 6, 15), 100_000)], schema=CLAIM_SCHEMA)
    res = settle_claims(city, persons, enrollments, claims).results.sort("claim_id")
    assert res["reason"].to_list() == ["WAITING_PERIOD", ""]


# ── property: the benefit start is never before 1 January nor, when waiting, the payment ─────

@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    year = 2030
    people, rows = [], []
    for i in range(draw(st.integers(1, 8))):
        pid = f"P{i}"
        birth = D(draw(st.integers(2020, 2030)), draw(st.integers(1, 12)), draw(st.integers(1, 28)))
        cats = draw(st.lists(st.sampled_from(["newborn", "tekun", "student"]), max_size=2,
                             unique=True))
        people.append(person(pid, birth, tuple(cats)))
        for y in range(2023, year):
            if draw(st.booleans()):
                rows.append(enrol(pid, y, scheme=draw(st.sampled_from(["resident", "employee"]))))
        paid = D(year - 1, 9, 1) + dt.timedelta(days=draw(st.integers(-60, 480)))
        end = draw(st.one_of(st.none(), st.dates(D(2028, 1, 1), D(2031, 12, 31))))
        rows.append(enrol(pid, year, paid, repaid=draw(st.integers(0, 8)), employee_end=end))
    return people, rows, year


@given(histories())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_benefit_start_never_too_early(case: tuple[list[dict[str, Any]],
                                                   list[dict[str, Any]], int]) -> None:
    people, rows, year = case
    persons, enrollments = frames(people, rows)
    history = build_history(persons, enrollments)
    out = benefit_starts(load_policy(FIXTURE), persons, enrollments, history, [year])
    paid = {r["person_id"]: r["paid_date"] for r in rows if r["year"] == year}
    birth = {p["person_id"]: p["birth_date"] for p in people}
    for r in out.iter_rows(named=True):
        start, reason = r["benefit_start"], r["waiting_reason"]
        assert start >= D(year, 1, 1)
        if reason.startswith("WAITING"):
            assert start >= paid[r["person_id"]]
            assert r["waiting_months"] >= 3
        elif reason == "CONCENTRATED":
            assert (start, r["waiting_months"]) == (D(year, 1, 1), 0)
        else:
            assert r["waiting_months"] == 0
            assert start == max(D(year, 1, 1), birth[r["person_id"]])


def test_unknown_person_is_an_input_error(city: Policy) -> None:
    """An enrolment or a history result for a person_id not in the persons names it."""
    persons, enrollments = frames([person("P")], [enrol("P", 2024), enrol("X", 2024)])
    with pytest.raises(InputError, match="'X'"):
        build_history(persons, enrollments)
    persons, enrollments = frames([person("P")], [enrol("P", 2024)])
    results = pl.DataFrame({"claim_id": ["1"], "person_id": ["Y"], "year": [2023],
                            "basic": [0], "major": [0]},
                           schema_overrides={"year": pl.Int32})
    with pytest.raises(InputError, match="'Y'"):
        build_history(persons, enrollments, results)
    history = build_history(persons, enrollments)
    _, other = frames([person("P")], [enrol("Z", 2024)])
    with pytest.raises(InputError, match="'Z'"):
        benefit_starts(city, persons, other, history, [2024])
