"""The app's warm-up: before the first request it previews the latest stored claim once (so
no clerk pays for loading the kernels) and writes nothing; with no claim it does nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from api_support import claim, count
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from yibao.api import create_app
from yibao.api.app import warm_up
from yibao.store.db import upgrade
from yibao.store.models import Accumulator, AuditEntry, Claim, Posting

MODELS = (Claim, Posting, Accumulator, AuditEntry)


def test_warm_up_previews_the_latest_claim_and_writes_nothing(
        app: FastAPI, client: TestClient, auth: dict[str, dict[str, str]],
        db: sessionmaker[Session], make_person: Callable[..., str]) -> None:
    body = claim(make_person(), total="800.00", settle_date="2023-04-01")
    r = client.post("/v1/settlements", json={"claim": body}, headers=auth["clerk"])
    assert r.status_code == 201, r.text
    before = [count(db, m) for m in MODELS]
    assert warm_up(app.state.yibao) is True
    assert [count(db, m) for m in MODELS] == before


def test_warm_up_on_an_empty_store_does_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    app = create_app(url, "360400")
    try:
        assert warm_up(app.state.yibao) is False
        assert count(app.state.yibao.sessions, Claim) == 0
    finally:
        app.state.yibao.engine.dispose()


def test_warm_up_on_an_unmigrated_store_leaves_it_to_the_first_request(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'bare.db'}", "360400")
    try:
        assert warm_up(app.state.yibao) is False
    finally:
        app.state.yibao.engine.dispose()
