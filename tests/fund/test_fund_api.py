"""/v1/fund over the store (SQLite here; the schemathesis suite in tests/api runs every
/v1/fund operation on SQLite and PostgreSQL): the figures come from the live postings — a
reversed settlement counts for nothing — and a clerk may not read them."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fund_year import claims, enrollments, persons, results

from yibao.api import create_app
from yibao.store.auth import add_user
from yibao.store.db import upgrade
from yibao.store.models import Claim, Enrollment, Person, Posting

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402

SECRET = "correct horse battery"


def _store(session: Any) -> None:
    for p in persons().iter_rows(named=True):
        session.add(Person(**{**p, "categories": ";".join(p["categories"]),
                              "chronic": ";".join(p["chronic"])}))
    session.flush()
    for e in enrollments().iter_rows(named=True):
        session.add(Enrollment(**e))
    for c in claims().iter_rows(named=True):
        session.add(Claim(**c))
    session.flush()
    now = dt.datetime.now(dt.UTC)
    for r in results().iter_rows(named=True):
        if r["claim_id"] not in ("C1", "C3"):
            continue
        row = {**r, "region": "360400", "deltas": {}, "created_at": now, "created_by": "t"}
        session.add(Posting(kind="settlement", **row))
        if r["claim_id"] == "C3":  # 冲销: the reversal carries the negated amounts
            money = ("policy_scope", "deductible", "basic", "major", "assistance", "oop")
            session.add(Posting(kind="reversal", **{**row, **{k: -row[k] for k in money}}))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('fund')) / 'fund.db'}"
    upgrade(url)
    app = create_app(url, "360400")
    with app.state.yibao.sessions.begin() as s:
        _store(s)
        for role in ("admin", "analyst", "auditor", "clerk"):
            add_user(s, role, role, SECRET, "F1" if role == "clerk" else None)
    with TestClient(app) as c:
        yield c
    app.state.yibao.engine.dispose()


def _auth(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/v1/auth/token", json={"username": user, "secret": SECRET})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_live_postings_only(client: TestClient) -> None:
    r = client.get("/v1/fund/indicators?year=2023&opening_balance=100000",
                   headers=_auth(client, "analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    every = next(s for s in body["spending"] if s["region"] == "360400"
                 and s["visit_type"] == "all")
    assert every["basic"] == "5000.00" and every["claims"] == 1  # C3 reversed, C2/C4 unposted
    assert body["monthly"][0]["accumulated_balance"] == f"{100000 + 900}.00"


@pytest.mark.parametrize("path", ["indicators", "alerts", "high-cost", "projection"])
def test_roles(client: TestClient, path: str) -> None:
    for user in ("admin", "analyst", "auditor"):
        assert client.get(f"/v1/fund/{path}?year=2023",
                          headers=_auth(client, user)).status_code == 200
    denied = client.get(f"/v1/fund/{path}?year=2023", headers=_auth(client, "clerk"))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "FORBIDDEN"
    assert client.get(f"/v1/fund/{path}?year=2023").status_code == 401


def test_projection_is_seeded(client: TestClient) -> None:
    url = "/v1/fund/projection?year=2023&years=3&replicates=30&seed=7&opening_balance=100"
    headers = _auth(client, "analyst")
    first, second = (client.get(url, headers=headers).json() for _ in range(2))
    assert first == second and len(first["years"]) == 4


def test_what_if_gives_the_python_what_if(client: TestClient) -> None:
    # the endpoint's figures are to_json of what_if on the store's frames, under the one change
    from yibao.fund import from_frames, indicators, to_json, what_if
    from yibao.fund.store_inputs import store_frames
    from yibao.fund.whatif import one_change

    app_state = client.app.state.yibao  # type: ignore[attr-defined]
    url = ("/v1/fund/what-if?year=2023&key=basic.inpatient.deductible"
           "&value={1: 0, 2: 0, 3: 0}&replicates=20&seed=3&opening_balance=100000")
    r = client.get(url, headers=_auth(client, "auditor"))
    assert r.status_code == 200, r.text
    with app_state.sessions() as session:
        frames = store_frames(session, 2023)
    policy = app_state.policy
    inputs = from_frames(policy, 2023, *frames, opening={"360400": 100000 * 100})
    changed = one_change(policy, "basic.inpatient.deductible", "{1: 0, 2: 0, 3: 0}",
                         dt.date(2023, 1, 1), "what-if requested over the API")
    want = to_json(what_if(inputs, indicators(inputs), changed, *frames[:3], replicates=20,
                           seed=3))
    assert r.json() == want
    inpatient = next(p for p in want["payers"] if p["visit_type"] == "inpatient"
                     and p["payer"] == "basic")
    assert inpatient["difference"] != "0.00"  # C1's deductible is now paid by the fund


@pytest.mark.parametrize("query,code", [
    ("key=major.cap&value=[unclosed", "BAD_VALUE"),
    ("key=major.no_such_key&value=1", None),
])
def test_what_if_refuses_a_bad_change(client: TestClient, query: str, code: str | None) -> None:
    r = client.get(f"/v1/fund/what-if?year=2023&{query}", headers=_auth(client, "analyst"))
    assert r.status_code == 422, r.text
    if code is not None:
        assert r.json()["error"]["code"] == code


def test_what_if_roles(client: TestClient) -> None:
    url = "/v1/fund/what-if?year=2023&key=major.cap&value=500000&replicates=0"
    assert client.get(url, headers=_auth(client, "clerk")).status_code == 403
    assert client.get(url).status_code == 401
