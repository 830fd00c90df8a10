"""Stores for the store tests: a SQLite file per test and a PostgreSQL database per module.

PostgreSQL is not optional: the CI machine has it, so an unreachable server fails the tests
instead of skipping them. ``YIBAO_TEST_PG`` names another server (default: the local one,
trust auth, administered through its ``test`` database).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from yibao.store.db import make_engine, upgrade
from yibao.synth import write_synth

SERVER = os.environ.get("YIBAO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/")
TABLES = ("audit_log", "postings", "accumulators", "claims", "enrollments", "persons",
          "tokens", "users", "facilities", "person_year_terms", "settled_years")


@contextmanager
def pg_database(prefix: str = "yibao_store") -> Iterator[str]:
    """A new, empty PostgreSQL database; its URL; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(SERVER + "test", autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is unreachable at {SERVER}test (the store tests need it): "
                    f"{exc}", pytrace=False)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield SERVER + name
    finally:
        with psycopg.connect(SERVER + "test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A new PostgreSQL database without any schema, for this test only."""
    with pg_database("yibao_empty") as url:
        yield url


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the module."""
    with pg_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated store: a fresh SQLite file, or the module's PostgreSQL database
    emptied (TRUNCATE fires no row triggers, so the append-only postings go too)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'yibao.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    if request.param == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def synth_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """persons, enrollments and claims of 200 synthetic persons (360400, 2023) per format."""
    root = tmp_path_factory.mktemp("synth")
    return {fmt: write_synth(root / fmt, "360400", 2023, persons=200, fmt=fmt)
            for fmt in ("csv", "parquet", "jsonl")}
