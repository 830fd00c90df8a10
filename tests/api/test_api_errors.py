"""One error shape everywhere, every problem listed, and no 身份证号 in logs or errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import pytest
from api_support import claim
from fastapi import FastAPI
from fastapi.testclient import TestClient

from yibao.api.errors import ScrubFilter

ID_NUMBER = "11010519491231002X"


def error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    e = body["error"]
    assert set(e) == {"code", "message", "field", "record", "problems"}
    assert e["problems"] and {k: e[k] for k in ("code", "message", "field", "record")} == \
        e["problems"][0]
    assert " / " in e["message"]  # 中文 / English
    return dict(e)


def post(client: TestClient, headers: dict[str, str], body: Any) -> Any:
    return client.post("/v1/settlements", json=body, headers=headers)


def test_bad_json(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    r = client.post("/v1/settlements", content=b'{"claim": {', headers={
        **auth["clerk"], "Content-Type": "application/json"})
    e = error(r, 400)
    assert (e["code"], e["record"]) == ("BAD_JSON", "/")


def test_three_decimals(client: TestClient, auth: dict[str, dict[str, str]],
                        make_person: Callable[..., str]) -> None:
    p = make_person()
    for amount in ("100.001", 100.001):
        e = error(post(client, auth["clerk"], {"claim": claim(p, total=amount)}), 422)
        assert (e["code"], e["record"], e["field"]) == ("MONEY_DECIMALS", "/claim", "total")
        assert "金额超过两位小数" in e["message"]


def test_unknown_person(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    for path in ("/v1/settlements", "/v1/settlements/preview"):
        r = client.post(path, json={"claim": claim(ID_NUMBER)}, headers=auth["clerk"])
        e = error(r, 422)
        assert (e["code"], e["field"]) == ("UNKNOWN_PERSON", "person_id")
        assert ID_NUMBER not in r.text  # even an id echoed back is masked


def test_unknown_field(client: TestClient, auth: dict[str, dict[str, str]],
                       make_person: Callable[..., str]) -> None:
    e = error(post(client, auth["clerk"], {"claim": {**claim(make_person()), "colour": 1}}), 422)
    assert (e["code"], e["record"], e["field"]) == ("UNKNOWN_FIELD", "/claim", "colour")
    e = error(post(client, auth["clerk"], {"claim": claim(make_person()), "x": 1}), 422)
    assert (e["code"], e["record"], e["field"]) == ("UNKNOWN_FIELD", "/", "x")


def test_every_problem_is_listed(client: TestClient, auth: dict[str, dict[str, str]],
                                 make_person: Callable[..., str]) -> None:
    p = make_person()
    # types: all found at once
    body = claim(p, facility_level="three", visit_type="spa", total={"yuan": 1})
    del body["diagnosis"]
    e = error(post(client, auth["clerk"], {"claim": body}), 422)
    assert {(q["code"], q["field"]) for q in e["problems"]} == {
        ("BAD_INTEGER", "facility_level"), ("BAD_ENUM", "visit_type"), ("BAD_TYPE", "total"),
        ("REQUIRED", "diagnosis")}
    # values, checked as a file's rows are: all found at once
    body = claim(p, total="100.001", self_pay="-1", diagnosis="QQQ", settle_date="2023-02-30")
    e = error(post(client, auth["clerk"], {"claim": body}), 422)
    assert {(q["code"], q["field"]) for q in e["problems"]} >= {
        ("MONEY_DECIMALS", "total"), ("NEGATIVE", "self_pay"), ("BAD_ICD10", "diagnosis"),
        ("BAD_DATE", "settle_date")}
    e = error(post(client, auth["clerk"], {"claim": claim(p, total="10", self_pay="8",
                                                              class_b_self_pay="2.01")}), 422)
    assert e["code"] == "SELF_PAY_EXCEEDS_TOTAL"


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/v1/nowhere", 404, "NOT_FOUND"),
    ("DELETE", "/v1/health", 405, "METHOD_NOT_ALLOWED"),
    ("PUT", "/v1/settlements", 405, "METHOD_NOT_ALLOWED"),
    ("GET", "/v1/settlements/NO-SUCH-CLAIM", 404, "NOT_SETTLED"),
    ("POST", "/v1/settlements/NO-SUCH-CLAIM/reversal", 404, "NOT_SETTLED"),
    ("GET", "/v1/persons/P1/accumulators?year=abc", 422, "BAD_INTEGER"),
    ("GET", "/v1/persons/P1/accumulators?year=1800", 422, "OUT_OF_RANGE"),
    ("GET", "/v1/policies/999999", 404, "POLICY_UNKNOWN_REGION"),
    ("GET", "/v1/policies/36040A", 422, "INVALID"),
    ("GET", "/v1/policies/..%2F..%2Fetc%2Fpasswd", 404, "NOT_FOUND"),
    ("GET", "/v1/policies/360400?date=2023-13-01", 422, "BAD_DATE"),
    ("POST", "/v1/settlements", 422, "REQUIRED"),
])
def test_error_shape(client: TestClient, auth: dict[str, dict[str, str]], method: str,
                     path: str, status: int, code: str) -> None:
    e = error(client.request(method, path, headers=auth["admin"]), status)
    assert e["code"] == code


def test_policy_parameters_with_sources(client: TestClient,
                                        auth: dict[str, dict[str, str]]) -> None:
    r = client.get("/v1/policies/360400?date=2023-06-30", headers=auth["analyst"])
    assert r.status_code == 200
    body = r.json()
    assert [c["region"] for c in body["chain"]] == ["360400", "360000", "000000"]
    params = {p["key"]: p for p in body["parameters"]}
    assert params["basic.inpatient.deductible"]["value"] == {"1": 100, "2": 400, "3": 600}
    assert params["basic.inpatient.deductible"]["region"] == "360400"
    assert params["basic.inpatient.deductible"]["from"] == "2023-01-01"
    assert params["financing.individual_contribution"]["source"].startswith("医保发〔2023〕24号")


def test_health(client: TestClient, backend: str) -> None:
    r = client.get("/v1/health")
    assert r.json() == {"status": "ok", "database": backend, "policy": "360400"}


def test_a_real_bug_is_a_500_in_the_shape_and_logged_masked(
        app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    def boom() -> None:
        raise RuntimeError(f"lookup failed for {ID_NUMBER}")

    app.add_api_route("/v1/test-boom", boom, include_in_schema=False)
    with TestClient(app, raise_server_exceptions=False) as c, \
            caplog.at_level(logging.ERROR, "yibao.api"):
        r = c.get("/v1/test-boom")
    e = error(r, 500)
    assert e["code"] == "INTERNAL_ERROR" and ID_NUMBER not in r.text
    assert "RuntimeError" in caplog.text and "110105********002X" in caplog.text
    assert ID_NUMBER not in caplog.text


def test_log_filter_masks_messages_arguments_and_tracebacks() -> None:
    try:
        raise ValueError(ID_NUMBER)
    except ValueError:
        info = sys.exc_info()
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s" %d', ("1.2.3.4", "GET",
                                                    f"/v1/persons/{ID_NUMBER}", 200), info)
    assert ScrubFilter().filter(record)
    text = logging.Formatter().format(record)
    assert ID_NUMBER not in text and "/v1/persons/110105********002X" in text
    assert "ValueError: 110105********002X" in text


@pytest.mark.parametrize("field", ["claim_id", "person_id", "facility_id", "diagnosis",
                                   "procedure", "maternity_kind"])
def test_control_characters_are_422_not_500(client: TestClient,
                                            auth: dict[str, dict[str, str]],
                                            make_person: Callable[..., str], field: str) -> None:
    body = {**claim(make_person()), field: "A\u0000B"}
    e = error(post(client, auth["admin"], {"claim": body}), 422)
    assert (e["code"], e["field"]) == ("BAD_TEXT", field)
