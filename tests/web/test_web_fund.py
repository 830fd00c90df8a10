"""基金运行 and 报表 pages: roles, the figures of a settled claim, and the what-if worked by hand.

The store holds one settled claim (tests/api "claim A": level 3 inpatient, total 10000, first
admission of 2023): basic (10000 − 600) × 0.65 = 6110.00, major 0, oop 3890.00.
"""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient
from web_support import City, csrf_of

CLAIM_A = {"claim_id": "FUND-A-1", "facility_level": "3", "visit_type": "inpatient",
           "admit_date": "2023-03-01", "settle_date": "2023-03-05", "total": "10000.00",
           "self_pay": "0", "class_b_self_pay": "0", "diagnosis": "K35.8"}


def ready(client: TestClient, path: str) -> str:
    """The page once the fund figures behind it are current (they are computed off-request)."""
    deadline = time.monotonic() + 60
    while True:
        r = client.get(path)
        assert r.status_code == 200, r.text
        if "正在计算" not in r.text and "重新计算" not in r.text:
            return r.text
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.fixture(scope="module")
def settled(city: City, clients: dict[str, TestClient]) -> str:
    admin = clients["admin"]
    r = admin.post("/console/settlements/new", data={
        **CLAIM_A, "person_id": city.person_id, "facility_id": city.facility,
        "action": "settle", "csrf": csrf_of(admin)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return CLAIM_A["claim_id"]


@pytest.mark.parametrize("path", ["/console/dashboard", "/console/reports",
                                  "/console/reports/fund.html"])
def test_a_clerk_may_not_open_the_fund_pages(clients: dict[str, TestClient], path: str) -> None:
    r = clients["clerk"].get(path)
    assert r.status_code == 403 and "FORBIDDEN" in r.text
    assert "/console/dashboard" not in clients["clerk"].get("/console/").text


def test_the_dashboard_shows_the_settled_claim(settled: str,
                                               clients: dict[str, TestClient]) -> None:
    page = ready(clients["analyst"], "/console/dashboard?year=2023&opening_balance=1000000")
    spending = re.search(r"<td>inpatient</td>.*?</tr>", page, re.S)
    assert spending is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', spending.group(0))
    # claims, total, policy scope, basic, major, assistance, oop
    assert cells == ["1", "10000.00", "10000.00", "6110.00", "0.00", "0.00", "3890.00"]
    assert 'data-chart="chart-balance"' in page and "/console/static/plotly.min.js" in page
    assert "预警 (" in page


def test_what_if_resettles_under_the_changed_parameter(settled: str,
                                                      clients: dict[str, TestClient]) -> None:
    # basic.inpatient.ratio at level 3 raised to 0.75: basic (10000 − 600) × 0.75 = 7050.00,
    # so the basic fund pays 940.00 more and the oop falls to 10000 − 7050 = 2950.00.
    page = ready(clients["auditor"], "/console/reports?year=2023&key=basic.inpatient.ratio"
                 '&value={1: 0.9, 2: 0.8, 3: 0.75}&start=2023-01-01')
    assert re.search(r'data-payer="basic">7050.00</td><td class="num">940.00<', page)
    assert re.search(r'data-payer="oop">2950.00</td><td class="num">-940.00<', page)
    assert 'data-chart="chart-whatif"' in page


def test_a_bad_what_if_value_is_reported_not_crashed(clients: dict[str, TestClient]) -> None:
    page = ready(clients["admin"], "/console/reports?year=2023&key=major.cap&value=[1, 2")
    assert 'class="error"' in page and "BAD_VALUE" in page


def test_the_fund_report_downloads_as_a_file(settled: str,
                                             clients: dict[str, TestClient]) -> None:
    r = clients["admin"].get("/console/reports/fund.html?year=2023")
    assert r.status_code == 200
    assert r.headers["content-disposition"] == (
        'attachment; filename="fund-report-360400-2023.html"')
    assert "基金运行" in r.text and "Plotly" in r.text


def test_an_opening_balance_beyond_the_money_range_is_a_422(
        clients: dict[str, TestClient]) -> None:
    r = clients["admin"].get("/console/dashboard?year=2023&opening_balance=322499005053")
    assert r.status_code == 422 and "INVALID" in r.text
