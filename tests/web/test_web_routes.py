"""Every console route: who may open it, CSRF on every POST form, masking and its audit."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_support import SECRET, City, csrf_of, login

from yibao.store.db import make_engine, sessions
from yibao.store.models import AuditEntry, Posting

PAGES = ["/console/", "/console/persons", "/console/persons?q=P", "/console/settlements",
         "/console/settlements/new", "/console/policy"]


def _column(city: City, column: Any, where: Any) -> list[str]:
    engine = make_engine(city.url)
    try:
        with sessions(engine).begin() as s:
            return list(s.scalars(select(column).where(where)))
    finally:
        engine.dispose()


def audit_actions(city: City, target: str) -> list[str]:
    return _column(city, AuditEntry.action, AuditEntry.target == target)


def postings(city: City, claim_id: str) -> list[str]:
    return _column(city, Posting.kind, Posting.claim_id == claim_id)


@pytest.mark.parametrize("path", [*PAGES, "/console/import", "/console/persons/P1",
                                  "/console/settlements/C1"])
def test_every_page_needs_a_login(anonymous: TestClient, path: str) -> None:
    r = anonymous.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/login?next=")


def test_root_leads_to_the_console(anonymous: TestClient) -> None:
    r = anonymous.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/console/"


@pytest.mark.parametrize("role", ["admin", "clerk", "analyst", "auditor"])
@pytest.mark.parametrize("path", PAGES)
def test_pages_open_for_every_role(clients: dict[str, TestClient], role: str, path: str) -> None:
    r = clients[role].get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("clerk", 403), ("analyst", 403),
                                              ("auditor", 403)])
def test_only_an_admin_imports(clients: dict[str, TestClient], role: str, status: int) -> None:
    r = clients[role].get("/console/import")
    assert r.status_code == status
    if status == 403:
        assert "FORBIDDEN" in r.text


def test_login_sets_an_httponly_strict_cookie_and_audits(city: City,
                                                         anonymous: TestClient) -> None:
    page = anonymous.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert csrf is not None
    r = anonymous.post("/console/login", data={"username": "auditor", "secret": SECRET,
                                               "csrf": csrf.group(1)}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "yibao_token=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "login" in audit_actions(city, "auditor")
    anonymous.cookies.clear()


def test_login_refuses_a_wrong_secret_and_audits_it(city: City, anonymous: TestClient) -> None:
    page = anonymous.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert csrf is not None
    r = anonymous.post("/console/login", data={"username": "analyst", "secret": "wrong wrong",
                                               "csrf": csrf.group(1)})
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert "login_failed" in audit_actions(city, "analyst")
    anonymous.cookies.clear()


def test_login_says_when_the_username_is_locked(anonymous: TestClient) -> None:
    """After five failures in a row the console says the username is locked (LOGIN_LOCKED),
    not that the secret is wrong."""
    answers = []
    for _ in range(6):
        page = anonymous.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
        assert csrf is not None
        r = anonymous.post("/console/login", data={"username": "locked-out-user",
                                                   "secret": "wrong wrong",
                                                   "csrf": csrf.group(1)})
        answers.append((r.status_code, "登录失败次数过多" in r.text, "用户名或密码错误" in r.text))
    assert answers == [(401, False, True)] * 5 + [(401, True, False)]
    anonymous.cookies.clear()


def test_login_without_its_csrf_cookie_is_refused(anonymous: TestClient) -> None:
    anonymous.cookies.clear()
    r = anonymous.post("/console/login", data={"username": "admin", "secret": SECRET,
                                               "csrf": "forged"})
    assert r.status_code == 403 and "CSRF_FAILED" in r.text


def test_next_never_leaves_the_console(city: City, anonymous: TestClient) -> None:
    page = anonymous.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert csrf is not None
    r = anonymous.post("/console/login", data={
        "username": "analyst", "secret": SECRET, "csrf": csrf.group(1),
        "next": "//evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/console/"
    anonymous.cookies.clear()


@pytest.mark.parametrize("action", ["preview", "settle", "reverse"])
def test_post_forms_need_the_csrf_field(city: City, clients: dict[str, TestClient],
                                        action: str) -> None:
    r = clients["admin"].post(f"/console/settlements/{city.claim_id}/{action}",
                              data={"csrf": "0" * 64})
    assert r.status_code == 403 and "CSRF_FAILED" in r.text
    assert postings(city, city.claim_id) == []


def test_new_claim_and_import_and_logout_need_the_csrf_field(
        clients: dict[str, TestClient]) -> None:
    admin = clients["admin"]
    assert admin.post("/console/settlements/new", data={"action": "settle"}).status_code == 403
    r = admin.post("/console/import", data={"kind": "persons"},
                   files={"file": ("p.csv", b"person_id\n")})
    assert r.status_code == 403
    assert admin.post("/console/logout", data={}).status_code == 403
    assert admin.get("/console/").status_code == 200  # still logged in


def test_a_clerk_cannot_open_another_facilitys_claim(city: City,
                                                      clients: dict[str, TestClient]) -> None:
    clerk = clients["clerk"]
    assert clerk.get(f"/console/settlements/{city.claim_id}").status_code == 200
    r = clerk.get(f"/console/settlements/{city.other_claim_id}")
    assert r.status_code == 403 and "FACILITY_FORBIDDEN" in r.text
    token = csrf_of(clerk)
    for action in ("preview", "settle", "reverse"):
        r = clerk.post(f"/console/settlements/{city.other_claim_id}/{action}",
                       data={"csrf": token})
        assert r.status_code == 403, action
    assert postings(city, city.other_claim_id) == []


def test_a_clerk_lists_only_their_facilitys_claims(city: City,
                                                   clients: dict[str, TestClient]) -> None:
    page = clients["clerk"].get("/console/settlements?status=all").text
    assert city.facility in page and city.other_facility not in page


def test_analyst_and_auditor_may_not_settle(city: City, clients: dict[str, TestClient]) -> None:
    for role in ("analyst", "auditor"):
        client = clients[role]
        page = client.get(f"/console/settlements/{city.claim_id}").text
        assert f"/console/settlements/{city.claim_id}/settle" not in page
        r = client.post(f"/console/settlements/{city.claim_id}/settle",
                        data={"csrf": csrf_of(client)})
        assert r.status_code == 403 and "FORBIDDEN" in r.text
    assert postings(city, city.claim_id) == []


def test_the_id_number_is_unmasked_only_for_admin_and_auditor_and_audited(
        city: City, clients: dict[str, TestClient]) -> None:
    masked = city.id_number[:6] + "********" + city.id_number[-4:]
    for role in ("clerk", "analyst"):
        page = clients[role].get(f"/console/persons/{city.person_id}?unmasked=true").text
        assert city.id_number not in page and masked in page
    assert "read_id_number" not in audit_actions(city, city.person_id)
    page = clients["auditor"].get(f"/console/persons/{city.person_id}").text
    assert city.id_number not in page and "unmasked=true" in page
    page = clients["auditor"].get(f"/console/persons/{city.person_id}?unmasked=true").text
    assert city.id_number in page
    assert audit_actions(city, city.person_id).count("read_id_number") == 1


def test_search_by_full_or_masked_id_number_shows_it_masked(
        city: City, clients: dict[str, TestClient]) -> None:
    masked = city.id_number[:6] + "********" + city.id_number[-4:]
    for q in (city.id_number, masked, city.id_number[:6] + "*" + city.id_number[-4:]):
        page = clients["admin"].get("/console/persons", params={"q": q}).text
        assert f"/console/persons/{city.person_id}" in page, q
        assert city.id_number not in page


def test_english_on_request_and_remembered(clients: dict[str, TestClient]) -> None:
    client = clients["analyst"]
    r = client.get("/console/policy?lang=en")
    assert "Policy" in r.text and 'lang="en"' in r.text
    assert "yibao_lang=en" in r.headers["set-cookie"]
    assert 'lang="en"' in client.get("/console/").text
    client.get("/console/?lang=zh")
    assert 'lang="zh-CN"' in client.get("/console/").text


def test_policy_compare_marks_differences(clients: dict[str, TestClient]) -> None:
    page = clients["analyst"].get("/console/policy", params={
        "region": "360400", "date": "2023-06-30", "date_b": "2021-06-30"}).text
    # 个人缴费标准 380 (2023) against 320 (2021), SPEC §3 table
    row = re.search(r'<tr class="diff">\s*<th scope="row"><code>'
                    r'financing.individual_contribution</code>.*?</tr>', page, re.S)
    assert row is not None and "380" in row.group(0) and "320" in row.group(0)


def test_plotly_is_served_locally(anonymous: TestClient) -> None:
    r = anonymous.get("/console/static/plotly.min.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert len(r.content) > 1_000_000


def test_logout_ends_the_token(city: City, clients: dict[str, TestClient]) -> None:
    client = clients["clerk2"]
    r = client.post("/console/logout", data={"csrf": csrf_of(client)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/console/", follow_redirects=False).status_code == 303
    login(client, "clerk2")


def test_import_checks_then_lands_and_its_page_answers_while_the_store_is_locked(
        city: City, clients: dict[str, TestClient]) -> None:
    admin = clients["admin"]
    r = admin.post("/console/import", data={"kind": "persons", "csrf": csrf_of(admin)},
                   files={"file": ("persons.csv", city.files["persons"].read_bytes())},
                   follow_redirects=False)
    assert r.status_code == 303
    job = r.headers["location"]
    deadline = time.monotonic() + 20
    while "校验通过" not in (page := admin.get(job).text):
        assert time.monotonic() < deadline and "校验未通过" not in page
        time.sleep(0.1)
    assert "300</strong>" in page  # 300 persons checked, nothing landed yet
    # another writer holds SQLite's write lock: the polled page still answers at once
    engine = make_engine(city.url)
    try:
        with sessions(engine).begin():
            start = time.monotonic()
            assert admin.get(job).status_code == 200
            assert time.monotonic() - start < 5
    finally:
        engine.dispose()
    assert admin.post(job + "/commit", data={"csrf": csrf_of(admin)},
                      follow_redirects=False).status_code == 303
    while "导入完成" not in (page := admin.get(job).text):
        assert time.monotonic() < deadline and "导入失败" not in page
        time.sleep(0.1)
    assert "import_persons" in audit_actions(city, "persons.csv")
    # a second commit of the same job is refused
    assert admin.post(job + "/commit", data={"csrf": csrf_of(admin)}).status_code == 422
    # another admin's job is not visible to a clerk, nor are jobs to anyone but their owner
    assert clients["clerk"].get(job).status_code == 403
