"""Helpers shared by the API tests: ids, a claim body, audit and row counts."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from yibao.store.models import AuditEntry

FACILITY, OTHER_FACILITY = "F1", "F2"
SECRET = "correct horse battery"
POSTGRES = os.environ.get("YIBAO_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration; dropped afterwards."""
    name = f"yibao_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the API tests and is not reachable at "
                    f"{POSTGRES} ({exc}); start it or set YIBAO_TEST_POSTGRES", pytrace=False)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextlib.contextmanager
def empty_database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    with postgres_database() as url:
        yield url


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def claim(person_id: str, claim_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A 2023 inpatient claim at F1 (level 3) with no self-pay."""
    return {"claim_id": claim_id or new_id("C"), "person_id": person_id,
            "facility_id": FACILITY, "facility_level": 3, "visit_type": "inpatient",
            "admit_date": "2023-03-01", "settle_date": "2023-03-05", "total": "10000.00",
            "self_pay": "0", "class_b_self_pay": 0, "out_of_region": False,
            "diagnosis": "K35.8", **fields}


def audits(db: sessionmaker[Session], target: str, action: str | None = None) -> list[AuditEntry]:
    with db.begin() as s:
        query = select(AuditEntry).where(AuditEntry.target == target)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(s.scalars(query.order_by(AuditEntry.id)).all())


def count(db: sessionmaker[Session], model: Any) -> int:
    with db.begin() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)
