"""API test fixtures: every test runs against SQLite (a temporary file) and PostgreSQL.

PostgreSQL is the local server (``YIBAO_TEST_POSTGRES``, default
``postgresql://postgres@127.0.0.1:5432/test``): each session creates a uniquely named
database, migrates it and drops it at the end. If the server cannot be reached the tests
fail — they do not skip — because CI has it and the service runs on it in production.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_support import FACILITY, OTHER_FACILITY, SECRET, empty_database, new_id
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from yibao.api import create_app
from yibao.store.auth import add_user
from yibao.store.db import upgrade
from yibao.store.models import Enrollment, Person

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402  (after the warning filter)

ROLES = {"admin": None, "clerk": FACILITY, "clerk2": OTHER_FACILITY, "analyst": None,
         "auditor": None}


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with empty_database(backend, tmp_path_factory.mktemp("db")) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[FastAPI]:
    application = create_app(database_url, "360400")
    yield application
    application.state.yibao.engine.dispose()


@pytest.fixture(scope="session")
def db(app: FastAPI) -> sessionmaker[Session]:
    makers: sessionmaker[Session] = app.state.yibao.sessions
    return makers


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def auth(client: TestClient, db: sessionmaker[Session]) -> dict[str, dict[str, str]]:
    """Authorization headers per role name (``clerk`` at F1, ``clerk2`` at F2)."""
    with db.begin() as s:
        for name, facility in ROLES.items():
            add_user(s, name, name.rstrip("2"), SECRET, facility)
    headers = {}
    for name in ROLES:
        r = client.post("/v1/auth/token", json={"username": name, "secret": SECRET})
        assert r.status_code == 200, r.text
        headers[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return headers


@pytest.fixture
def make_person(db: sessionmaker[Session]) -> Callable[..., str]:
    """A person enrolled for 2023 in 九江 (paid in the concentrated period); returns the id."""

    def make(categories: str = "", id_number: str | None = None,
             enrollments: list[dict[str, Any]] | None = None,
             birth_date: dt.date = dt.date(1960, 5, 1)) -> str:
        person_id = new_id("P")
        with db.begin() as s:
            s.add(Person(person_id=person_id, id_number=id_number, sex="F",
                         birth_date=birth_date, death_date=None, region="360402",
                         categories=categories, chronic=""))
            s.flush()
            for e in enrollments if enrollments is not None else [{}]:
                s.add(Enrollment(**{
                    "person_id": person_id, "year": 2023, "region": "360400",
                    "scheme": "resident", "paid_date": dt.date(2022, 10, 1),
                    "contribution_paid": 38000, "repaid_years": 0,
                    "employee_end_date": None, **e}))
        return person_id

    return make
