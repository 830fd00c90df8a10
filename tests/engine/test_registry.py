"""Registry checks (SPEC §6.3): every finding names both records; a clean registry has none."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from yibao.engine.registry import CHECKS, FINDING_COLUMNS, check_registry
from yibao.io import ENROLLMENTS, PERSONS

D = dt.date
PERSON_SCHEMA: dict[str, Any] = dict(PERSONS.schema)  # the readers' dtypes
ENROLLMENT_SCHEMA: dict[str, Any] = dict(ENROLLMENTS.schema)
ID_1 = "11010119900307123X"
ID_2 = "360402198001011234"


ADULT = dt.date(1980, 1, 1)


def person(pid: str, id_number: str | None = None, birth: dt.date = ADULT,
           death: dt.date | None = None) -> dict[str, Any]:
    return {"person_id": pid, "id_number": id_number, "sex": "M", "birth_date": birth,
            "death_date": death, "region": "360400", "categories": [], "chronic": []}


def enrol(pid: str, year: int, region: str = "360400",
          scheme: str = "resident") -> dict[str, Any]:
    return {"person_id": pid, "year": year, "region": region, "scheme": scheme,
            "paid_date": D(year - 1, 11, 1), "contribution_paid": 38000, "repaid_years": 0,
            "employee_end_date": None}


def check(persons: list[dict[str, Any]], enrolments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = check_registry(pl.DataFrame(persons, schema=PERSON_SCHEMA),
                         pl.DataFrame(enrolments, schema=ENROLLMENT_SCHEMA))
    assert out.columns == FINDING_COLUMNS
    assert set(out["check"]) <= set(CHECKS)
    return list(out.iter_rows(named=True))


def test_duplicate_region() -> None:
    """A enrolled for 2024 in 九江 (row 1) and in 呼和浩特 (row 2)."""
    found = check([person("A")], [enrol("A", 2024), enrol("A", 2024, "150100")])
    assert found == [{"check": "DUPLICATE_REGION", "person_id": "A", "year": 2024,
                      "record_a": "enrollments #1: 360400 resident",
                      "record_b": "enrollments #2: 150100 resident",
                      "detail": "region 360400 / 150100"}]


def test_duplicate_id_number_is_masked() -> None:
    """Two person records, one 身份证号, both enrolled for 2024 (rows 2 and 3)."""
    found = check([person("B", ID_1), person("C", ID_1)],
                  [enrol("B", 2023), enrol("B", 2024), enrol("C", 2024, "150100")])
    assert found == [{"check": "DUPLICATE_ID_NUMBER", "person_id": "B", "year": 2024,
                      "record_a": "enrollments #2: 360400 resident",
                      "record_b": "enrollments #3: 150100 resident",
                      "detail": "person_id B / C (110101********123X)"}]


def test_resident_and_employee() -> None:
    found = check([person("D")], [enrol("D", 2024, scheme="employee"), enrol("D", 2024)])
    assert found == [{"check": "RESIDENT_AND_EMPLOYEE", "person_id": "D", "year": 2024,
                      "record_a": "enrollments #1: 360400 employee",
                      "record_b": "enrollments #2: 360400 resident",
                      "detail": "scheme employee / resident"}]


def test_enrolled_after_death() -> None:
    """Died 30 June 2023: the 2023 enrolment is fine, the 2024 one starts after death."""
    found = check([person("E", death=D(2023, 6, 30))], [enrol("E", 2023), enrol("E", 2024)])
    assert found == [{"check": "ENROLLED_AFTER_DEATH", "person_id": "E", "year": 2024,
                      "record_a": "enrollments #2: 360400 resident", "record_b": None,
                      "detail": "died 2023-06-30"}]


def test_born_after_year() -> None:
    """Born 1 February 2025: enrolled for 2024 is before birth; for 2025 is fine."""
    found = check([person("F", birth=D(2025, 2, 1))], [enrol("F", 2024), enrol("F", 2025)])
    assert found == [{"check": "BORN_AFTER_YEAR", "person_id": "F", "year": 2024,
                      "record_a": "enrollments #1: 360400 resident", "record_b": None,
                      "detail": "born 2025-02-01"}]


def test_every_kind_at_once_sorted() -> None:
    found = check(
        [person("A", ID_2), person("B", ID_1), person("C", ID_1), person("D"),
         person("E", death=D(2023, 6, 30)), person("F", birth=D(2025, 2, 1))],
        [enrol("A", 2024), enrol("A", 2024, "150100"), enrol("B", 2024), enrol("C", 2024),
         enrol("D", 2024, scheme="employee"), enrol("D", 2024), enrol("E", 2024),
         enrol("F", 2024)])
    assert [(f["check"], f["person_id"]) for f in found] == [
        ("BORN_AFTER_YEAR", "F"), ("DUPLICATE_ID_NUMBER", "B"), ("DUPLICATE_REGION", "A"),
        ("ENROLLED_AFTER_DEATH", "E"), ("RESIDENT_AND_EMPLOYEE", "D")]


def test_clean_registry_has_no_findings() -> None:
    """Moving region between years, employee one year and resident the next, several
    persons without a 身份证号, a death inside the enrolled year, a newborn enrolled in the
    birth year: none of it is a finding."""
    found = check(
        [person("A", ID_1), person("B", ID_2), person("C"), person("D"),
         person("E", death=D(2024, 12, 31)), person("F", birth=D(2024, 12, 31))],
        [enrol("A", 2023), enrol("A", 2024, "150100"), enrol("A", 2025, "370100"),
         enrol("B", 2023, scheme="employee"), enrol("B", 2024),
         enrol("C", 2024), enrol("D", 2024), enrol("E", 2024), enrol("F", 2024)])
    assert found == []


def test_empty_registry() -> None:
    assert check([], []) == []
