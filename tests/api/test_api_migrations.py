"""The migrations from an empty database: every table, and postings and the audit log
append-only by trigger (an UPDATE or DELETE fails in the database itself)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from api_support import empty_database
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError

from yibao.store.db import make_engine, sessions, upgrade
from yibao.store.models import AuditEntry, Claim, Person, Posting

TABLES = {"facilities", "persons", "enrollments", "claims", "postings", "accumulators", "users",
          "tokens", "audit_log", "alembic_version"}


def test_upgrade_from_empty(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as url:
        upgrade(url)
        upgrade(url)  # at head: nothing to do, no error
        engine = make_engine(url)
        try:
            assert set(inspect(engine).get_table_names()) >= TABLES
            with engine.connect() as c:
                if backend == "sqlite":
                    triggers = c.execute(text(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
                else:
                    triggers = c.execute(text(
                        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars()
                names = set(triggers)
            assert {t for t in names if t.startswith(("postings", "audit_log"))}, names
            db = sessions(engine)
            now = dt.datetime.now(dt.UTC)
            with db.begin() as s:
                s.add(Person(person_id="P", id_number=None, sex="M",
                             birth_date=dt.date(1980, 1, 1), death_date=None, region="360402",
                             categories="", chronic=""))
                s.flush()
                s.add(Claim(claim_id="C", person_id="P", facility_id="F1", facility_level=1,
                            visit_type="outpatient", chronic_disease=None, maternity_kind=None,
                            admit_date=dt.date(2023, 1, 1), settle_date=dt.date(2023, 1, 1),
                            total=100, self_pay=0, class_b_self_pay=0, out_of_region=False,
                            diagnosis="J06.9", procedure=None, procedure_kind=None))
                s.flush()
                s.add(Posting(claim_id="C", kind="settlement", person_id="P", year=2023,
                              region="360400", covered=True, reason="", policy_scope=100,
                              deductible=0, basic=65, major=0, assistance=0, oop=35,
                              major_cap=None, deltas={}, created_at=now, created_by="t"))
                s.add(AuditEntry(at=now, username="t", action="settle", target="C", detail={}))
            for statement in ("UPDATE postings SET basic = 0", "DELETE FROM postings",
                              "UPDATE audit_log SET username = 'x'", "DELETE FROM audit_log"):
                with pytest.raises(DatabaseError, match="append-only"), db.begin() as s:
                    s.execute(text(statement))
            with db.begin() as s:
                assert s.execute(text("SELECT basic FROM postings")).scalar_one() == 65
        finally:
            engine.dispose()
