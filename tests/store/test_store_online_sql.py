"""The settlement statements over the driver's connection (``store.online_sql``) on PostgreSQL:
a settlement that ends its own transaction (the API's way) posts what the session's way
posts, and statements deallocated behind its back are prepared again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from store_support import YEAR, claims, in_date_order, registry

from yibao.policy import load_policy
from yibao.store.db import make_engine, sessions, upgrade
from yibao.store.models import AuditEntry, Posting
from yibao.store.online import Outcome, SettlementService
from yibao.store.online_sql import Unprepared, settling_session


def _own(engine: Engine, service: SettlementService, body: dict[str, Any]) -> Outcome:
    with settling_session(engine, sessions(engine)) as session:
        outcome = service.settle(session, body, "clerk", commit=True)
        session.commit()
    return outcome


def test_committing_settlement_posts_as_the_session_does(pg_url: str, tmp_path: Path) -> None:
    engine = make_engine(pg_url)
    registry(engine, tmp_path)
    service = SettlementService(load_policy("360400"))
    bodies = in_date_order(claims(YEAR, 3, seed=11))
    rows = []
    for i, body in enumerate(bodies):  # every other claim each way, in date order
        if i % 2:
            with sessions(engine).begin() as s:
                rows.append(service.settle(s, body, "clerk").row)
        else:
            rows.append(_own(engine, service, body).row)
    for body, row in zip(bodies, rows, strict=True):  # a replay gives the first posting
        assert _own(engine, service, body).row == row
    with sessions(engine)() as s:
        posted = {p.claim_id: p for p in s.scalars(select(Posting)).all()}
        logged = s.scalars(select(AuditEntry.target).where(AuditEntry.action == "settle")).all()
    assert sorted(posted) == sorted(b["claim_id"] for b in bodies)
    assert sorted(logged) == sorted(b["claim_id"] for b in bodies)  # every write audited
    for row in rows:
        assert posted[row["claim_id"]].basic == row["basic"]
    engine.dispose()


def test_statements_prepared_again_after_deallocate(empty_pg_url: str, tmp_path: Path) -> None:
    upgrade(empty_pg_url)
    engine = make_engine(empty_pg_url)
    registry(engine, tmp_path)
    service = SettlementService(load_policy("360400"))
    bodies = in_date_order(claims(YEAR, 1, seed=3))[:3]
    assert not _own(engine, service, bodies[0]).replayed  # prepares on the connection
    with engine.connect() as conn:  # the pool's one connection, as settling uses it alone
        conn.exec_driver_sql("DEALLOCATE ALL")
    with pytest.raises(Unprepared):
        _own(engine, service, bodies[1])
    assert not _own(engine, service, bodies[1]).replayed  # prepared again; nothing had landed
    assert not _own(engine, service, bodies[2]).replayed
    engine.dispose()
