"""Who may do what: a clerk only at their facility, analyst and auditor never write, every
write in the audit log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_support import OTHER_FACILITY, audits, claim, count
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from yibao.store.models import Posting


def test_clerk_of_another_facility_is_403_everywhere(client: TestClient,
                                                     auth: dict[str, dict[str, str]],
                                                     make_person: Callable[..., str]) -> None:
    body = claim(make_person())  # at F1
    other = auth["clerk2"]  # a clerk at F2
    for path in ("/v1/settlements/preview", "/v1/settlements"):
        r = client.post(path, json={"claim": body}, headers=other)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "FACILITY_FORBIDDEN"), path
    assert client.post("/v1/settlements", json={"claim": body},
                       headers=auth["clerk"]).status_code == 201
    cid = body["claim_id"]
    for method, path in (("GET", f"/v1/settlements/{cid}/explanation"),
                         ("GET", f"/v1/settlements/{cid}"),
                         ("POST", f"/v1/settlements/{cid}/reversal")):
        r = client.request(method, path, headers=other)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "FACILITY_FORBIDDEN"), path
        assert client.request(method, path, headers=auth["clerk"]).status_code in (200, 201)
    # their own facility's claims are theirs to settle
    own = claim(make_person(), facility_id=OTHER_FACILITY)
    assert client.post("/v1/settlements", json={"claim": own}, headers=other).status_code == 201


@pytest.mark.parametrize("role", ["analyst", "auditor"])
def test_readers_cannot_write(client: TestClient, auth: dict[str, dict[str, str]],
                              make_person: Callable[..., str], db: sessionmaker[Session],
                              role: str) -> None:
    body = claim(make_person())
    postings = count(db, Posting)
    r = client.post("/v1/settlements", json={"claim": body}, headers=auth[role])
    assert (r.status_code, r.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert count(db, Posting) == postings
    assert client.post("/v1/settlements", json={"claim": body},
                       headers=auth["admin"]).status_code == 201
    cid = body["claim_id"]
    r = client.post(f"/v1/settlements/{cid}/reversal", headers=auth[role])
    assert (r.status_code, r.json()["error"]["code"]) == (403, "FORBIDDEN")
    # but they read everything
    for path in (f"/v1/settlements/{cid}", f"/v1/settlements/{cid}/explanation",
                 f"/v1/persons/{body['person_id']}",
                 f"/v1/persons/{body['person_id']}/enrollments",
                 f"/v1/persons/{body['person_id']}/accumulators?year=2023",
                 f"/v1/persons/{body['person_id']}/financing?year=2023",
                 "/v1/policies/360400?date=2023-06-30"):
        assert client.get(path, headers=auth[role]).status_code == 200, path
    preview = client.post("/v1/settlements/preview", json={"claim": claim(make_person())},
                          headers=auth[role])
    assert preview.status_code == 200


def test_writes_are_audited(client: TestClient, auth: dict[str, dict[str, str]],
                            make_person: Callable[..., str], db: sessionmaker[Session]) -> None:
    body = claim(make_person())
    cid = body["claim_id"]
    client.post("/v1/settlements/preview", json={"claim": body}, headers=auth["clerk"])
    assert audits(db, cid) == []
    client.post("/v1/settlements", json={"claim": body}, headers=auth["clerk"])
    client.post("/v1/settlements", json={"claim": body}, headers=auth["clerk"])  # a replay
    client.post(f"/v1/settlements/{cid}/reversal", headers=auth["admin"])
    entries = audits(db, cid)
    assert [(e.action, e.username) for e in entries] == [("settle", "clerk"),
                                                          ("reverse", "admin")]
    # in fen: basic (10000 − 600) × 0.65 = 6110.00, oop 3890.00 (test_api_settlements, claim A)
    assert entries[0].detail == {"basic": 611000, "major": 0, "assistance": 0, "oop": 389000}
    assert entries[0].at <= entries[1].at
