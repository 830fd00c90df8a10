"""Console test fixtures: one small synthetic city per test module (SQLite), clients logged in
per role, and for the browser tests a uvicorn server on a free port and Debian's Chromium."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from web_support import ROLES, City, login, seed_city

from yibao.api import create_app

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402  (after the warning filter)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    return seed_city(tmp_path_factory.mktemp("city"))


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
