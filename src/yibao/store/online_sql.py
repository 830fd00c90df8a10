"""The statements of online settlement, sent over the database driver's own connection.

A settlement reads and writes a handful of rows by key; through the ORM that cost more than
the kernel. Here the statements are plain SQL on the DBAPI connection of the session's
transaction (psycopg 3 on PostgreSQL, sqlite3 on SQLite), grouped as the settlement needs
them: one batch reads (the caller's token, the person-year's accumulator row created if new and
locked, its stored terms, the person and the year's enrolments, the claim as held and its
postings), one batch writes (the claim, its posting, the audit entry, the new accumulators and,
if asked, COMMIT). On PostgreSQL each batch is one query string, one round trip, of
``EXECUTE``s of statements this module prepares once per connection. On SQLite the statements
run one after the other in the database lock taken at BEGIN.

Everything that differs by database is in ``Driver``: the placeholder, the row lock, the
pipeline, and how dates, times and JSON travel (SQLite holds them as SQLAlchemy writes them:
ISO text and JSON text).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from yibao.engine.kernel import ACCUMULATORS
from yibao.engine.settlement import RESULT_COLUMNS
from yibao.io import CLAIMS

Step = tuple[str, Sequence[Any]]
_CLAIMS = CLAIMS.names  # (a property that builds the tuple on each call)


class Retry(Exception):
    """The settlement's transaction was lost before its writes; settling again is safe."""


class Disconnected(Retry):
    """The database connection broke (e.g. the server restarted)."""


class Unprepared(Retry):
    """The connection no longer holds the prepared statements (something deallocated them);
    they are prepared again on the next batch."""


_ACC = ", ".join(f"a.{name}" for name in ACCUMULATORS)
_CLAIM = ", ".join(f"c.{name}" for name in CLAIMS.names)
_RESULT = ", ".join(f"o.{name}" for name in RESULT_COLUMNS)
_POSTING = ["claim_id", "kind", *RESULT_COLUMNS[1:], "region", "deltas", "created_at",
            "created_by"]
_AUDIT = ["at", "username", "action", "target", "detail"]


def _insert(table: str, columns: Sequence[str]) -> str:
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})")


TOKEN = ("SELECT t.expires_at, u.username, u.role, u.facility_id, u.active FROM tokens t "
         "JOIN users u ON u.username = t.username WHERE t.token_hash = %s")
CREATE = (f"INSERT INTO accumulators (person_id, year, {', '.join(ACCUMULATORS)}, chronic_raw) "
          f"VALUES (%s, %s, {', '.join(['0'] * len(ACCUMULATORS))}, '{{}}') "
          "ON CONFLICT DO NOTHING")
#: The person-year's accumulators (null when it has none) and its stored terms under a policy
#: key, taken only while the count of settled years before it is the one they were worked out
#: with; ``{join}`` is JOIN when the row is locked (it exists), LEFT JOIN otherwise.
OPENING = (f"SELECT {_ACC}, a.chronic_raw, t.person_id, t.benefit_start, t.major_cap "
           "FROM (SELECT CAST(%s AS VARCHAR(64)) AS person_id, CAST(%s AS INTEGER) AS year) k "
           "{join} accumulators a ON a.person_id = k.person_id AND a.year = k.year "
           "LEFT JOIN person_year_terms t ON t.person_id = k.person_id AND t.year = k.year "
           "AND t.policy = %s AND t.settled_before = "
           "(SELECT count(*) FROM settled_years s WHERE s.year < k.year)")
PERSON = ("SELECT p.categories, p.chronic, p.death_date, e.scheme, e.region FROM persons p "
          "LEFT JOIN enrollments e ON e.person_id = p.person_id AND e.year = %s "
          "WHERE p.person_id = %s")
HELD = (f"SELECT {_CLAIM}, o.kind, o.region, o.deltas, {_RESULT} FROM claims c "
        "LEFT JOIN postings o ON o.claim_id = c.claim_id WHERE c.claim_id = %s ORDER BY o.id")
SETTLED = "SELECT person_id, year FROM postings WHERE claim_id = %s AND kind = %s"
INSERT_CLAIM = _insert("claims", CLAIMS.names)
INSERT_POSTING = _insert("postings", _POSTING)
INSERT_AUDIT = _insert("audit_log", _AUDIT)
UPDATE = (f"UPDATE accumulators SET {', '.join(f'{n} = %s' for n in ACCUMULATORS)}, "
          "chronic_raw = %s WHERE person_id = %s AND year = %s")


OPENING_LOCKED = OPENING.format(join="JOIN") + " FOR UPDATE OF a"
OPENING_FREE = OPENING.format(join="LEFT JOIN")
STATEMENTS = [TOKEN, CREATE, PERSON, HELD, SETTLED, INSERT_CLAIM, INSERT_POSTING, INSERT_AUDIT,
              UPDATE]
IDLE = TransactionStatus.IDLE
#: ``Driver.info`` key: statement text → name of the prepared statement on the connection.
_PREPARED = "yibao_prepared"


def _numbered(sql: str) -> str:
    """``%s`` placeholders as PostgreSQL's ``$1``, ``$2``, …"""
    parts = sql.split("%s")
    return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "")
                   for i, part in enumerate(parts))


@contextmanager
def settling_session(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for a settlement that ends its own transaction (``settle(commit=True)``). On
    PostgreSQL its connection is in the driver's autocommit mode, so that the BEGIN goes with
    the read batch instead of in a round trip of its own (``Driver.run``); SQLAlchemy puts
    the mode back when the connection returns to the pool."""
    if engine.dialect.name != "postgresql":
        with sessions() as session:
            yield session
        return
    with engine.connect() as connection, sessions(
            bind=connection.execution_options(isolation_level="AUTOCOMMIT")) as session:
        yield session


class Driver:
    """The session's DBAPI connection and what differs between the two databases."""

    def __init__(self, session: Session):
        session.flush()  # pending ORM writes go first, in the same transaction
        connection = session.connection()
        self.raw: Any = connection.connection.driver_connection
        self.pg = connection.dialect.name == "postgresql"
        self.info = connection.connection.info  # kept for the DBAPI connection's life
        self.session = session

    def sql(self, text: str) -> str:
        return text if self.pg else text.replace("%s", "?")

    def opening(self, lock: bool) -> str:
        """OPENING locked (PostgreSQL: ``FOR UPDATE``; SQLite: the database lock of BEGIN)."""
        if not lock:
            return OPENING_FREE
        return OPENING_LOCKED if self.pg else OPENING.format(join="JOIN")

    def run(self, steps: Sequence[Step], commit: bool = False) -> list[list[tuple[Any, ...]]]:
        """Send the statements in one batch (and COMMIT after them, in the same batch; the
        session's own commit then has nothing left to do); each one's rows."""
        try:
            if self.pg:
                return self._run_pg(steps, commit)
            return self._run_sqlite(steps, commit)
        except psycopg.errors.InvalidSqlStatementName as exc:
            self.info.pop(_PREPARED, None)
            raise Unprepared("the prepared statements were deallocated") from exc
        except psycopg.OperationalError as exc:
            if self.raw.broken:
                raise Disconnected("the connection to the database broke") from exc
            raise

    def _run_pg(self, steps: Sequence[Step], commit: bool) -> list[list[tuple[Any, ...]]]:
        """All the statements in one query string, the values bound by psycopg on the client
        (``ClientCursor``): one round trip, one result set per statement. Once the
        connection has them prepared (``_prepare``), each is sent as ``EXECUTE``, so the
        server does not parse and plan it again."""
        # in autocommit mode (``settling_session``) BEGIN goes with the first batch
        begin = self.raw.autocommit and self.raw.info.transaction_status == IDLE
        if begin:
            self._prepare()
        prepared = self.info.get(_PREPARED, {})
        texts = [sql if sql not in prepared else f"EXECUTE {prepared[sql]}"
                 + (f"({', '.join(['%s'] * len(params))})" if params else "")
                 for sql, params in steps]
        text = ";\n".join(["BEGIN"] * begin + texts + ["COMMIT"] * commit)
        cursor = psycopg.ClientCursor(self.raw)
        try:
            cursor.execute(text, [v for _, params in steps for v in params])
            if begin:
                cursor.nextset()
            out = []
            for sql, _ in steps:  # (``description`` would build each column's object)
                out.append(cursor.fetchall() if sql.startswith("SELECT") else [])
                cursor.nextset()
            return out
        finally:
            cursor.close()

    def _prepare(self) -> None:
        """Prepare every statement of this module on the connection, once in its life, in a
        round trip of its own outside any transaction."""
        if _PREPARED in self.info:
            return
        names = {sql: f"yibao_{hashlib.sha1(sql.encode()).hexdigest()[:16]}"
                 for sql in [*STATEMENTS, OPENING_LOCKED, OPENING_FREE]}
        with psycopg.ClientCursor(self.raw) as cursor:
            cursor.execute(";\n".join(f"PREPARE {name} AS {_numbered(sql)}"
                                      for sql, name in names.items()))
        self.info[_PREPARED] = names

    def _run_sqlite(self, steps: Sequence[Step], commit: bool) -> list[list[tuple[Any, ...]]]:
        out = []
        for text, params in steps:
            cursor = self.raw.execute(self.sql(text), params)
            out.append(cursor.fetchall() if text.startswith("SELECT") else [])
            cursor.close()
        if commit:
            self.raw.execute("COMMIT")
        return out

    # --- values in and out ----------------------------------------------------------------

    def json_in(self, value: Any) -> Any:
        if self.pg:
            from psycopg.types.json import Json

            return Json(value)
        return json.dumps(value)

    def json_out(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def date_in(self, value: dt.date | None) -> Any:
        return value if self.pg or value is None else value.isoformat()

    def date_out(self, value: Any) -> dt.date | None:
        return dt.date.fromisoformat(value) if isinstance(value, str) else value

    def time_in(self, value: dt.datetime) -> Any:
        if self.pg:
            return value
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def time_out(self, value: Any) -> dt.datetime:
        got = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(got, dt.datetime)
        return got if got.tzinfo is not None else got.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Opening:
    """A person-year's accumulators as stored (zero, and ``stored`` false, when it has no
    row yet)."""

    values: list[int]
    chronic_raw: dict[str, int]
    stored: bool


@dataclass(frozen=True)
class Held:
    """What the read batch found: the token's row, the opening accumulators and stored terms
    (``terms`` None: none stored), the person's row and enrolments, the claim as stored and
    its postings (kind, region, deltas, result row)."""

    token: tuple[Any, ...] | None
    opening: Opening
    terms: tuple[dt.date | None, int | None] | None
    person: tuple[str, str, dt.date | None] | None
    enrolments: list[tuple[str | None, str | None]]
    claim: dict[str, Any] | None
    postings: list[tuple[str, str, dict[str, Any], dict[str, Any]]]


def read(driver: Driver, person_id: str, year: int, key: str, claim_id: str | None, *,
         lock: bool, token_hash: str | None = None) -> Held:
    """The read batch; with ``lock``, the person-year's row is created if new and locked."""
    d = driver
    steps: list[Step] = []
    if token_hash is not None:
        steps.append((TOKEN, [token_hash]))
    if lock:
        steps.append((CREATE, [person_id, year]))
    steps += [(d.opening(lock), [person_id, year, key]), (PERSON, [year, person_id])]
    if claim_id is not None:
        steps.append((HELD, [claim_id]))
    got = d.run(steps)
    token_rows = got.pop(0) if token_hash is not None else []
    token = token_rows[0] if token_rows else None
    if lock:
        got.pop(0)
    opening_rows, person_rows = got[0], got[1]
    n = len(ACCUMULATORS)
    acc: Sequence[Any] = opening_rows[0] if opening_rows else (None,) * (n + 4)
    opening = (Opening([0] * n, {}, False) if acc[0] is None else
               Opening([int(v) for v in acc[:n]],
                       {k: int(v) for k, v in (d.json_out(acc[n]) or {}).items()}, True))
    terms = None if acc[n + 1] is None else (d.date_out(acc[n + 2]), acc[n + 3])
    person = None if not person_rows else (
        person_rows[0][0], person_rows[0][1], d.date_out(person_rows[0][2]))
    enrolments = [(r[3], r[4]) for r in person_rows]
    claim, postings = None, []
    if claim_id is not None and got[2]:
        claim = _claim(d, got[2][0][:len(_CLAIMS)])
        for r in got[2]:
            kind, region, deltas, *result = r[len(_CLAIMS):]
            if kind is not None:
                row = dict(zip(RESULT_COLUMNS, result, strict=True))
                row["covered"] = bool(row["covered"])
                postings.append((kind, region, d.json_out(deltas), row))
    return Held(token, opening, terms, person, enrolments, claim, postings)


def _claim(d: Driver, row: Sequence[Any]) -> dict[str, Any]:
    claim = dict(zip(_CLAIMS, row, strict=True))
    for name in ("admit_date", "settle_date"):
        claim[name] = d.date_out(claim[name])
    claim["out_of_region"] = bool(claim["out_of_region"])
    return claim


def settled_key(driver: Driver, claim_id: str, kind: str) -> tuple[str, int] | None:
    """The person-year of the claim's posting of ``kind``, if any."""
    rows = driver.run([(SETTLED, [claim_id, kind])])[0]
    return None if not rows else (rows[0][0], int(rows[0][1]))


def write(driver: Driver, *, claim: dict[str, Any] | None, posting: dict[str, Any],
          log: dict[str, Any], person_id: str, year: int, accumulators: Sequence[int],
          chronic_raw: dict[str, int], commit: bool) -> None:
    """The write batch: the claim (if new), the posting, the audit entry, the person-year's
    new accumulators; COMMIT with it when ``commit``."""
    d = driver
    steps: list[Step] = []
    if claim is not None:
        steps.append((INSERT_CLAIM, [d.date_in(claim[k]) if k in ("admit_date", "settle_date")
                                     else claim[k] for k in _CLAIMS]))
    values = {**posting, "deltas": d.json_in(posting["deltas"]),
              "created_at": d.time_in(posting["created_at"])}
    steps.append((INSERT_POSTING, [values[k] for k in _POSTING]))
    entry = {**log, "at": d.time_in(log["at"]), "detail": d.json_in(log["detail"])}
    steps.append((INSERT_AUDIT, [entry[k] for k in _AUDIT]))
    steps.append((UPDATE, [*accumulators, d.json_in(chronic_raw), person_id, year]))
    d.run(steps, commit=commit)
    d.session.expire_all()  # ORM objects of these rows are stale now


__all__ = [
    "Disconnected",
    "Driver",
    "Held",
    "Opening",
    "Retry",
    "Unprepared",
    "read",
    "settled_key",
    "settling_session",
    "write",
]
