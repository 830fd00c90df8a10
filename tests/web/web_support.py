"""A small synthetic city in a temporary SQLite store, and a console server on a free port.

Used by the browser tests and by ``make screenshots``: 300 persons of 九江 (360400) for 2023
with their claims imported as ``yibao import`` does, and one user per role (``clerk`` at the
facility with the most claims, ``clerk2`` at another).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import uvicorn

from yibao.api import create_app
from yibao.io import valid_id_number
from yibao.store.auth import add_user
from yibao.store.db import make_engine, sessions, upgrade
from yibao.store.importer import import_files
from yibao.synth import write_synth

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

SECRET = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')
ROLES = ("admin", "clerk", "clerk2", "analyst", "auditor")


@dataclass
class City:
    url: str
    files: dict[str, Path]
    facility: str
    other_facility: str
    person_id: str  # a person with a valid 身份证号 and claims at ``facility``
    id_number: str
    claim_id: str  # an unsettled claim of that person at ``facility``
    other_claim_id: str  # a claim at ``other_facility``


def seed_city(folder: Path, persons: int = 300) -> City:
    """Write, import and return the city; the store is ``folder/yibao.db``."""
    url = f"sqlite:///{folder / 'yibao.db'}"
    files = write_synth(folder / "synth", "360400", 2023, persons=persons, fmt="csv")
    upgrade(url)
    engine = make_engine(url)
    try:
        import_files(engine, [("persons", files["persons"]),
                              ("enrollments", files["enrollments"]),
                              ("claims", files["claims"])])
        claims = pl.read_csv(files["claims"], infer_schema_length=0)
        people = pl.read_csv(files["persons"], infer_schema_length=0)
        by_facility = claims.group_by("facility_id").len().sort(["len", "facility_id"],
                                                                descending=True)
        facility, other = by_facility["facility_id"][0], by_facility["facility_id"][1]
        valid = people.filter(pl.col("id_number").is_not_null()
                              & pl.col("id_number").map_elements(valid_id_number,
                                                                 return_dtype=pl.Boolean))
        # the earliest inpatient claim of a person with an ID number, at the clerk's facility
        pick = (claims.filter((pl.col("facility_id") == facility)
                              & (pl.col("visit_type") == "inpatient")
                              & pl.col("person_id").is_in(valid["person_id"].implode()))
                .sort("settle_date", "claim_id").row(0, named=True))
        other_claim = claims.filter(pl.col("facility_id") == other)["claim_id"][0]
        id_number = valid.filter(pl.col("person_id") == pick["person_id"])["id_number"][0]
        with sessions(engine).begin() as session:
            for name in ROLES:
                fac = facility if name == "clerk" else other if name == "clerk2" else None
                add_user(session, name, name.rstrip("2"), SECRET, fac)
    finally:
        engine.dispose()
    return City(url, files, facility, other, pick["person_id"], id_number, pick["claim_id"],
                other_claim)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(url: str) -> Iterator[str]:
    """The API and console on ``url``'s store, served by uvicorn in a thread; the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(url, "360400"), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


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
