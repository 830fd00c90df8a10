"""Console test fixtures: one small synthetic city per test module (SQLite), clients logged in
per role, and for the browser tests a uvicorn server on a free port and Debian's Chromium."""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from web_support import ROLES, SECRET, City, seed_city  # noqa: E402

from yibao.api import create_app  # noqa: E402

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402  (after the warning filter)

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    return seed_city(tmp_path_factory.mktemp("city"))


def login(client: TestClient, username: str) -> TestClient:
    page = client.get("/console/login")
    token = CSRF.search(page.text)
    assert token is not None
    r = client.post("/console/login", data={"username": username, "secret": SECRET,
                                            "csrf": token.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def csrf_of(client: TestClient, path: str = "/console/") -> str:
    """The CSRF value a page of this login carries."""
    found = CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def clients(city: City) -> Iterator[dict[str, TestClient]]:
    """A logged-in client per role name (``clerk`` at city.facility, ``clerk2`` elsewhere)."""
    app = create_app(city.url, "360400")
    made = {name: TestClient(app, raise_server_exceptions=False) for name in ROLES}
    for name, client in made.items():
        client.__enter__()
        login(client, name)
    yield made
    for client in made.values():
        client.__exit__(None, None, None)
    app.state.yibao.engine.dispose()


@pytest.fixture(scope="module")
def anonymous(city: City) -> Iterator[TestClient]:
    app = create_app(city.url, "360400")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.yibao.engine.dispose()
