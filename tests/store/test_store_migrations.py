"""`upgrade` from an empty database creates every table of the models, on SQLite and
PostgreSQL, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from yibao.store.db import make_engine, upgrade
from yibao.store.models import Base


def _tables_after_upgrade(url: str) -> tuple[set[str], str]:
    upgrade(url)
    upgrade(url)  # at head already: a no-op
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        return set(inspect(engine).get_table_names()), str(head)
    finally:
        engine.dispose()


def test_upgrade_from_empty_sqlite(tmp_path: Path) -> None:
    tables, head = _tables_after_upgrade(f"sqlite:///{tmp_path / 'empty.db'}")
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert head


def test_upgrade_from_empty_postgresql(empty_pg_url: str) -> None:
    tables, head = _tables_after_upgrade(empty_pg_url)
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert head
