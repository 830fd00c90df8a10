"""Persons, enrolments (benefit start), accumulators and financing; who sees the 身份证号."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from api_support import audits
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

ID_NUMBER = "11010519491231002X"  # a valid GB 11643 number (check character X)
MASKED = "110105********002X"


@pytest.mark.parametrize("role,shown,audited", [
    ("admin", ID_NUMBER, True), ("auditor", ID_NUMBER, True),
    ("analyst", MASKED, False), ("clerk", MASKED, False),
])
def test_unmasked_only_for_admin_and_auditor_and_audited(
        client: TestClient, auth: dict[str, dict[str, str]], db: sessionmaker[Session],
        make_person: Callable[..., str], role: str, shown: str, audited: bool) -> None:
    p = make_person(id_number=ID_NUMBER, birth_date=dt.date(1949, 12, 31))
    r = client.get(f"/v1/persons/{p}", headers=auth[role])
    assert r.status_code == 200
    assert (r.json()["id_number"], r.json()["id_number_masked"]) == (MASKED, True)
    assert audits(db, p) == []
    r = client.get(f"/v1/persons/{p}?unmasked=true", headers=auth[role])
    assert r.status_code == 200
    assert (r.json()["id_number"], r.json()["id_number_masked"]) == (shown, shown == MASKED)
    entries = audits(db, p, "read_id_number")
    assert [(e.username, e.detail["role"]) for e in entries] == ([(role, role)] if audited else [])
    assert all(ID_NUMBER not in str(e.detail) for e in entries)


def test_person_fields(client: TestClient, auth: dict[str, dict[str, str]],
                       make_person: Callable[..., str]) -> None:
    p = make_person("dibao;student")
    r = client.get(f"/v1/persons/{p}?unmasked=true", headers=auth["admin"])
    assert r.json() == {"person_id": p, "id_number": None, "id_number_masked": False,
                        "sex": "F", "birth_date": "1960-05-01", "death_date": None,
                        "region": "360402", "categories": ["dibao", "student"], "chronic": []}
    r = client.get("/v1/persons/nobody", headers=auth["admin"])
    assert (r.status_code, r.json()["error"]["code"]) == (404, "UNKNOWN_PERSON")


def test_enrollments_with_benefit_start(client: TestClient, auth: dict[str, dict[str, str]],
                                        make_person: Callable[..., str]) -> None:
    # 2022 and 2023 paid in the concentrated period (09-01..12-31 of the year before):
    #   benefits from 1 January, 0 months. Not enrolled 2024 (and the 2024 employee row is
    #   职工医保: no benefit start of its own). 2025 paid late on 2025-02-10 after one break year:
    #   fixed 3 + 1 × max(0, 1 − 1 free) = 3 months → 2025-05-10 (38号 rules from 2025).
    #   Enrolled in 360100 (南昌) for 2026: outside this service's region, no benefit start.
    p = make_person(enrollments=[
        {"year": 2022, "paid_date": dt.date(2021, 11, 3)},
        {"year": 2023, "paid_date": dt.date(2022, 10, 1)},
        {"year": 2024, "scheme": "employee", "paid_date": dt.date(2024, 1, 5)},
        {"year": 2025, "paid_date": dt.date(2025, 2, 10), "contribution_paid": 40000},
        {"year": 2026, "region": "360100", "paid_date": dt.date(2025, 10, 1)},
    ])
    r = client.get(f"/v1/persons/{p}/enrollments", headers=auth["clerk"])
    assert r.status_code == 200, r.text
    got = [(e["year"], e["scheme"], e["benefit_start"], e["waiting_months"],
            e["waiting_reason"]) for e in r.json()]
    assert got == [
        (2022, "resident", "2022-01-01", 0, "CONCENTRATED"),
        (2023, "resident", "2023-01-01", 0, "CONCENTRATED"),
        (2024, "employee", None, None, None),
        (2025, "resident", "2025-05-10", 3, "WAITING_FIXED"),
        (2026, "resident", None, None, None),
    ]
    assert r.json()[3]["contribution_paid"] == "400.00"


def test_accumulators_start_at_zero(client: TestClient, auth: dict[str, dict[str, str]],
                                    make_person: Callable[..., str]) -> None:
    p = make_person()
    r = client.get(f"/v1/persons/{p}/accumulators?year=2023", headers=auth["analyst"])
    assert r.status_code == 200
    body = r.json()
    assert body["admissions"] == 0 and body["basic_raw"] == "0.00"
    assert body["chronic_raw"] == {}
    r = client.get(f"/v1/persons/{p}/accumulators", headers=auth["analyst"])
    assert (r.status_code, r.json()["error"]["code"]) == (422, "REQUIRED")
    assert (r.json()["error"]["record"], r.json()["error"]["field"]) == ("query", "year")


def test_financing(client: TestClient, auth: dict[str, dict[str, str]],
                   make_person: Callable[..., str]) -> None:
    # 2023: standard 380; dibao assisted by the fixed 250 → due 130; paid 95 → owed 35.
    # Subsidy 640: central 640 × 0.6 = 384; provincial (640 − 384) × 0.5 = 128; local 128.
    p = make_person("dibao", enrollments=[{"contribution_paid": 9500}])
    r = client.get(f"/v1/persons/{p}/financing?year=2023", headers=auth["auditor"])
    assert r.status_code == 200, r.text
    assert r.json() == [{
        "person_id": p, "year": 2023, "region": "360400", "standard": "380.00",
        "assisted": "250.00", "assisted_category": "dibao", "due": "130.00", "paid": "95.00",
        "owed": "35.00", "subsidy": "640.00", "subsidy_central": "384.00",
        "subsidy_provincial": "128.00", "subsidy_local": "128.00",
        "benefit_start": "2023-01-01", "waiting_months": 0, "waiting_reason": "CONCENTRATED"}]
    r = client.get(f"/v1/persons/{p}/financing?year=2022", headers=auth["analyst"])
    assert (r.status_code, r.json()["error"]["code"]) == (404, "NOT_ENROLLED")
    r = client.get(f"/v1/persons/{p}/financing?year=2023", headers=auth["clerk"])
    assert (r.status_code, r.json()["error"]["code"]) == (403, "FORBIDDEN")
