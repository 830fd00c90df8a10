"""结算 / 预结算 / 冲销 through the API, with the figures worked by hand.

Parameters: 360400 (九江) in force in 2023 (`yibao policy show 360400 --date 2023-06-30`):
inpatient deductible at level 3 600, repeat factors [1, 0.5, 0], ratio at level 3 0.65,
basic cap 150000; 大病 deductible 15000, brackets above the deductible 0.60 to 50000, 0.65 to
100000, 0.75 above, cap 350000; tilt for dibao: half deductible, +0.05, no cap; 医疗救助 for
dibao: deductible 0, ratio 0.75, cap 50000.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api_support import claim, count
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from yibao.store.models import Accumulator, AuditEntry, Claim, Posting

# Claim A, no category, first admission, level 3, total 10000, no self-pay:
#   policy_scope 10000; deductible 600 × 1 = 600; basic (10000 − 600) × 0.65 = 6110.00;
#   大病 burden e = 10000 − 6110 = 3890 < 15000 → major 0; no assistance category;
#   oop = 10000 − 6110 = 3890.00; major_cap 350000 (no incentive before 2025).
A = {"total": "10000.00", "settle_date": "2023-03-05"}
A_RESULT = {"covered": True, "reason": "", "year": 2023, "policy_scope": "10000.00",
            "deductible": "600.00", "basic": "6110.00", "major": "0.00", "assistance": "0.00",
            "oop": "3890.00", "major_cap": "350000.00"}
# Claim B, same person, second admission, total 60000, self_pay 1000, class_b 500:
#   policy_scope 60000 − 1000 − 500 = 58500; deductible 600 × 0.5 = 300;
#   basic (58500 − 300) × 0.65 = 37830.00; e = 58500 − 37830 = 20670, S = 3890 + 20670 = 24560;
#   major = (24560 − 15000) × 0.60 − 0 = 5736.00; oop = 60000 − 37830 − 5736 = 16434.00.
B = {"total": 60000, "self_pay": "1000", "class_b_self_pay": "500.00",
     "admit_date": "2023-04-01", "settle_date": "2023-04-10"}
B_RESULT = {"policy_scope": "58500.00", "deductible": "300.00", "basic": "37830.00",
            "major": "5736.00", "assistance": "0.00", "oop": "16434.00"}
# After A and B: 2 admissions, basic_raw 6110 + 37830 = 43940.00, major_burden 24560.00.


def settle(client: TestClient, headers: dict[str, str], body: dict[str, Any],
           query: str = "") -> Any:
    return client.post(f"/v1/settlements{query}", json={"claim": body}, headers=headers)


def accumulators(client: TestClient, headers: dict[str, str], person_id: str) -> Any:
    r = client.get(f"/v1/persons/{person_id}/accumulators?year=2023", headers=headers)
    assert r.status_code == 200, r.text
    return {k: v for k, v in r.json().items() if k != "person_id"}


def test_settle_by_hand(client: TestClient, auth: dict[str, dict[str, str]],
                        make_person: Callable[..., str]) -> None:
    p = make_person()
    r = settle(client, auth["clerk"], claim(p, **A))
    assert r.status_code == 201, r.text
    assert r.json() | A_RESULT == r.json()
    assert "explanation" not in r.json()
    r = settle(client, auth["clerk"], claim(p, **B))
    assert r.status_code == 201
    assert r.json() | B_RESULT == r.json()
    acc = accumulators(client, auth["admin"], p)
    assert (acc["admissions"], acc["basic_raw"], acc["major_burden"]) == (2, "43940.00",
                                                                          "24560.00")


def test_dibao_gets_tilt_and_assistance(client: TestClient, auth: dict[str, dict[str, str]],
                                        make_person: Callable[..., str]) -> None:
    # policy_scope 50000, deductible 600: basic (50000 − 600) × 0.65 = 32110.00;
    # e = 50000 − 32110 = 17890; tilt: D = 15000 × 0.5 = 7500, ratio 0.60 + 0.05:
    #   major = (17890 − 7500) × 0.65 = 6753.50, no cap (major_cap null);
    # 救助: r = 50000 − 32110 − 6753.50 = 11136.50; × 0.75 = 8352.375 → 8352.38 (half-up);
    # oop = 50000 − 32110 − 6753.50 − 8352.38 = 2784.12.
    p = make_person("dibao")
    r = settle(client, auth["admin"], claim(p, total="50000"))
    assert r.status_code == 201
    assert r.json() | {"basic": "32110.00", "major": "6753.50", "assistance": "8352.38",
                       "oop": "2784.12", "major_cap": None} == r.json()


def test_same_body_twice_is_the_same_settlement(client: TestClient,
                                                auth: dict[str, dict[str, str]],
                                                make_person: Callable[..., str],
                                                db: sessionmaker[Session]) -> None:
    body = claim(make_person(), **A)
    first = settle(client, auth["clerk"], body)
    postings = count(db, Posting)
    again = settle(client, auth["clerk"], body)
    # the same amounts written differently are the same claim
    as_numbers = settle(client, auth["admin"], {**body, "total": 10000, "self_pay": 0.0})
    assert (first.status_code, again.status_code, as_numbers.status_code) == (201, 200, 200)
    assert first.json() == again.json() == as_numbers.json()
    assert count(db, Posting) == postings


def test_different_body_for_a_settled_claim_is_409(client: TestClient,
                                                   auth: dict[str, dict[str, str]],
                                                   make_person: Callable[..., str]) -> None:
    body = claim(make_person(), **A)
    assert settle(client, auth["clerk"], body).status_code == 201
    r = settle(client, auth["clerk"], {**body, "total": "10000.01"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CLAIM_CONFLICT"
    assert r.json()["error"]["field"] == "claim_id"


def test_reversal_gives_back_exactly_what_was_consumed(client: TestClient,
                                                       auth: dict[str, dict[str, str]],
                                                       make_person: Callable[..., str]) -> None:
    p, q = make_person(), make_person()
    assert settle(client, auth["clerk"], claim(p, **A)).status_code == 201
    b = claim(p, **B)
    assert settle(client, auth["clerk"], b).status_code == 201
    r = client.post(f"/v1/settlements/{b['claim_id']}/reversal", headers=auth["clerk"])
    assert r.status_code == 201, r.text
    assert r.json() | {k: "-" + v for k, v in B_RESULT.items() if v != "0.00"} == r.json()
    again = client.post(f"/v1/settlements/{b['claim_id']}/reversal", headers=auth["clerk"])
    assert (again.status_code, again.json()) == (200, r.json())
    assert settle(client, auth["clerk"], claim(q, **A)).status_code == 201
    assert accumulators(client, auth["admin"], p) == accumulators(client, auth["admin"], q)
    # and the next claim settles as if B had never been: the second admission again
    after_p = settle(client, auth["clerk"], claim(p, **B))
    after_q = settle(client, auth["clerk"], claim(q, **B))
    drop = ("claim_id", "person_id")
    assert {k: v for k, v in after_p.json().items() if k not in drop} == \
        {k: v for k, v in after_q.json().items() if k not in drop}
    assert after_p.json() | B_RESULT == after_p.json()
    # a reversed claim_id cannot be settled again
    r = settle(client, auth["clerk"], b)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "CLAIM_REVERSED")
    got = client.get(f"/v1/settlements/{b['claim_id']}", headers=auth["auditor"]).json()
    assert got["reversed"] is True and got["basic"] == "37830.00"


def test_preview_writes_nothing(client: TestClient, auth: dict[str, dict[str, str]],
                                make_person: Callable[..., str],
                                db: sessionmaker[Session]) -> None:
    p = make_person()
    body = claim(p, **A)
    tables = (Claim, Posting, Accumulator, AuditEntry)
    before = [count(db, t) for t in tables]
    r = client.post("/v1/settlements/preview", json={"claim": body}, headers=auth["clerk"])
    assert r.status_code == 200, r.text
    assert [count(db, t) for t in tables] == before
    assert client.get(f"/v1/settlements/{body['claim_id']}",
                      headers=auth["admin"]).status_code == 404
    settled = settle(client, auth["clerk"], body)
    assert settled.json() == r.json() | {"claim_id": body["claim_id"]}
    assert r.json() | A_RESULT == r.json()


def test_explanations(client: TestClient, auth: dict[str, dict[str, str]],
                      make_person: Callable[..., str]) -> None:
    body = claim(make_person(), **A)
    preview = client.post("/v1/settlements/preview?explain=true", json={"claim": body},
                          headers=auth["clerk"])
    first = settle(client, auth["clerk"], body, "?explain=true")
    replay = settle(client, auth["clerk"], body, "?explain=true")
    stored = client.get(f"/v1/settlements/{body['claim_id']}/explanation",
                        headers=auth["analyst"])
    assert stored.status_code == 200, stored.text
    steps = stored.json()["steps"]
    assert [s["title"] for s in steps] == [s["title"] for s in first.json()["explanation"]["steps"]]
    assert preview.json()["explanation"] == first.json()["explanation"] == \
        replay.json()["explanation"] == stored.json()
    deductible = next(s for s in steps if "起付线" in s["title"])
    assert deductible["amount"] == "600.00"
    param = deductible["parameters"][0]
    assert {"key", "value", "region", "region_name", "from", "source"} <= set(param)


def test_explaining_a_reversed_claim_is_409(client: TestClient,
                                            auth: dict[str, dict[str, str]],
                                            make_person: Callable[..., str]) -> None:
    p = make_person()
    a, b = claim(p, **A), claim(p, **B)
    for body in (a, b):
        assert settle(client, auth["admin"], body).status_code == 201
    client.post(f"/v1/settlements/{a['claim_id']}/reversal", headers=auth["admin"])
    r = client.get(f"/v1/settlements/{a['claim_id']}/explanation", headers=auth["admin"])
    assert (r.status_code, r.json()["error"]["code"]) == (409, "CLAIM_REVERSED")


def test_uncovered_claim(client: TestClient, auth: dict[str, dict[str, str]],
                         make_person: Callable[..., str]) -> None:
    # not enrolled at all: covered false, every payer 0, oop = total (SPEC §5.1)
    p = make_person(enrollments=[])
    r = settle(client, auth["clerk"], claim(p, **A))
    assert r.status_code == 201
    assert r.json() | {"covered": False, "reason": "NOT_ENROLLED", "basic": "0.00",
                       "oop": "10000.00", "deductible": "0.00"} == r.json()
