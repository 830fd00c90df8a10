"""Property-based: schemathesis generates requests from the app's own OpenAPI schema, both
valid and invalid ones, and sends them in-process (ASGI); no answer may be a server error,
and every answer must be documented: its status, content type and body schema (so the
error shape is what the schema says, everywhere).

One test per operation and mode, each bounded to a few dozen examples, so the whole run takes
well under a minute per database; requests carry an admin token so they reach the handlers.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from yibao.api import create_app

MAX_EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
MODES = {"valid": schemathesis.GenerationMode.POSITIVE,
         "invalid": schemathesis.GenerationMode.NEGATIVE}
OPERATIONS = [(method.upper(), path)
              for path, item in create_app("sqlite://").openapi()["paths"].items()
              for method in item]
# /v1/health takes no input at all: there is no invalid request to make of it
CASES = [(m, p, mode) for m, p in OPERATIONS for mode in MODES
         if (p, mode) != ("/v1/health", "invalid")]


@pytest.fixture(scope="session")
def api_schema(app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("method,path,mode", CASES)
def test_no_server_error(api_schema: Any, auth: dict[str, dict[str, str]], method: str,
                         path: str, mode: str) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(MODES[mode]))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def one_request(case: Any) -> None:
        case.call_and_validate(headers=auth["admin"], checks=CHECKS)

    one_request()


def test_every_operation_is_covered() -> None:
    assert len(OPERATIONS) == 17  # 12, and the 5 of /v1/fund
