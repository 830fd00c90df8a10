"""Connecting to the database: SQLite file by default, PostgreSQL via YIBAO_DATABASE_URL,
and applying the Alembic migrations (``yibao db upgrade``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_URL = "sqlite:///yibao.db"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("YIBAO_DATABASE_URL") or DEFAULT_URL


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url``; on SQLite, WAL, foreign keys, a busy timeout and writes that
    take the database lock at BEGIN (so two settlements serialise instead of deadlocking)."""
    url = database_url(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        # no ping before each checkout (a round trip per request): a broken connection is
        # found when used, and the pool is then emptied (SQLAlchemy's disconnect handling;
        # the settlement route retries once, see api.settlements)
        # psycopg's own automatic prepared statements are off: on a ROLLBACK it deallocates
        # every prepared statement of the connection, online settlement's too
        # (store.online_sql prepares its statements itself)
        return create_engine(url, pool_size=40, max_overflow=10,
                             connect_args={"prepare_threshold": None})
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply the migrations up to ``revision``."""
    command.upgrade(alembic_config(url), revision)
