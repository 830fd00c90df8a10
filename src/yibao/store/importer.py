"""Bulk import of persons, enrolments and claims into the store (``yibao import``).

A file is validated by the engine's own readers (before the transaction begins, so the
store is locked only while it is written), loaded into a temporary staging table
(PostgreSQL: ``COPY`` of CSV that Polars writes; SQLite: ``executemany`` of plain tuples in
big batches) and merged with set-based SQL, all in one transaction: a bad record anywhere
and nothing lands, and the error names the record (``file:line``) and the field.

Re-running an import duplicates nothing. Persons and enrolments are upserted on their keys,
so a corrected record updates the stored one. Claims are insert-if-absent; a claim that is
already held with other values is a ``CLAIM_CONFLICT`` and nothing lands, since a settled
claim must never change silently (a correction is reversed and resubmitted under a new
claim_id, as online).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from yibao.io import (
    CLAIMS,
    ENROLLMENTS,
    PERSONS,
    Table,
    read_claims,
    read_enrollments,
    read_persons,
)
from yibao.io.report import Problems, show
from yibao.io.sources import load
from yibao.store.audit import now
from yibao.store.models import AuditEntry, Base, Posting

Kind = Literal["persons", "enrollments", "claims"]
#: The order in which kinds land when imported together (references point backwards).
KINDS: tuple[Kind, ...] = ("persons", "enrollments", "claims")
#: Rows per executemany batch (SQLite) or per CSV chunk sent through COPY (PostgreSQL).
BATCH = 100_000
#: Problems quoted per error, as the readers do.
SHOWN = 50
#: PostgreSQL advisory lock key ("yibao"): imports run one at a time, so two of them cannot
#: both find a claim absent; a claim settled online meanwhile fails the insert (nothing lands).
IMPORT_LOCK = 0x796962616F
#: SQLite page cache while importing, in KiB (a ceiling: pages are allocated as used).
SQLITE_CACHE_KIB = 256 * 1024
#: Called at the start of each phase of an import with a label for a progress display.
OnPhase = Callable[[str], None]


@dataclass(frozen=True)
class ImportReport:
    """What one file did to the store."""

    kind: Kind
    path: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    seconds: float


@dataclass(frozen=True)
class _Spec:
    table: Table  # the reader's schema
    target: str  # the store's table
    key: tuple[str, ...]
    read: Callable[[Path], pl.DataFrame]
    upsert: bool  # False: insert-if-absent, a differing stored row is a conflict


SPECS: dict[Kind, _Spec] = {
    "persons": _Spec(PERSONS, "persons", ("person_id",), read_persons, True),
    "enrollments": _Spec(ENROLLMENTS, "enrollments", ("person_id", "year", "region", "scheme"),
                         read_enrollments, True),
    "claims": _Spec(CLAIMS, "claims", ("claim_id",), read_claims, False),
}


def import_file(engine: Engine, kind: Kind, path: str | Path, *, username: str = "import",
                on_phase: OnPhase | None = None) -> ImportReport:
    """Import one file of ``kind`` in one transaction; an InputError leaves the store as it was."""
    return import_files(engine, [(kind, path)], username=username, on_phase=on_phase)[0]


def import_files(engine: Engine, files: Iterable[tuple[Kind, str | Path]], *,
                 username: str = "import", on_phase: OnPhase | None = None) -> list[ImportReport]:
    """Import several files in one transaction (persons first, then enrolments, then claims),
    so a claim may name a person of the same batch; any problem and none of them lands."""
    ordered = list(files)
    for kind, _path in ordered:
        if kind not in SPECS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}: {kind!r}")
    ordered.sort(key=lambda item: KINDS.index(item[0]))
    step = on_phase or (lambda _label: None)
    # read and validate before the transaction: the store is locked only while writing
    read = [(kind, Path(path), *_read(kind, Path(path), step)) for kind, path in ordered]
    with engine.begin() as conn, _big_cache(conn):
        if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE serialises already
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({IMPORT_LOCK})")
        return [_merge(conn, kind, path, rows, seconds, username, step)
                for kind, path, rows, seconds in read]


@contextmanager
def _big_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a page cache of up to SQLITE_CACHE_KIB while importing: index pages of a
    million claims stay in memory instead of being written and read again (twice as fast)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def _read(kind: Kind, path: Path, step: OnPhase) -> tuple[pl.DataFrame, float]:
    """The file's rows as the store holds them, validated; and the seconds it took."""
    start = time.perf_counter()
    step(f"读取与校验 read and validate {path.name}")
    rows = _store_rows(kind, SPECS[kind].read(path))
    _fits(SPECS[kind], rows, path)
    return rows, time.perf_counter() - start


def _merge(conn: Connection, kind: Kind, path: Path, rows: pl.DataFrame, seconds: float,
           username: str, step: OnPhase) -> ImportReport:
    spec = SPECS[kind]
    start = time.perf_counter()
    step(f"载入 load {rows.height:,} {kind}")
    staging = _staging(conn, spec)
    _load(conn, staging, rows)
    step(f"核对 check {kind} against the store")
    _check(conn, spec, staging, path)
    step(f"合并 merge {kind}")
    updated = _update(conn, spec, staging) if spec.upsert else 0
    inserted = _insert(conn, spec, staging)
    staging.drop(conn)
    report = ImportReport(kind, str(path), rows.height, inserted, updated,
                          rows.height - inserted - updated,
                          seconds + time.perf_counter() - start)
    conn.execute(sa.insert(AuditEntry).values(
        at=now(), username=username, action=f"import_{kind}", target=path.name,
        detail={"rows": report.rows, "inserted": inserted, "updated": updated}))
    return report


# --- rows as stored ------------------------------------------------------------------------


def _columns(spec: _Spec) -> list[str]:
    return list(spec.table.names)


def _store_rows(kind: Kind, frame: pl.DataFrame) -> pl.DataFrame:
    """The validated frame as the store holds it (lists ';'-joined), with ``rn``, the 0-based
    row of the file's frame, to name a record in errors."""
    if kind == "persons":
        frame = frame.with_columns(pl.col(c).list.join(";").fill_null("")
                                   for c in ("categories", "chronic"))
    return frame.with_row_index("rn").with_columns(pl.col("rn").cast(pl.Int64))


def _staging(conn: Connection, spec: _Spec) -> sa.Table:
    """A temporary table with the target's column types and ``rn``; gone on rollback."""
    target = Base.metadata.tables[spec.target]
    table = sa.Table(f"import_{spec.target}", sa.MetaData(),
                     sa.Column("rn", sa.BigInteger),
                     *[sa.Column(c, target.c[c].type) for c in _columns(spec)],
                     prefixes=["TEMPORARY"])
    table.create(conn)
    return table


def _load(conn: Connection, staging: sa.Table, rows: pl.DataFrame) -> None:
    names = [c.name for c in staging.columns]
    # in person order, the person_id index and the foreign-key checks walk the B-tree in order
    bulk_insert(conn, staging.name, rows.select(names).sort("person_id", maintain_order=True))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {staging.name}")  # a fresh table: plan joins on facts


def bulk_insert(conn: Connection, table: str, rows: pl.DataFrame) -> None:
    """Insert the frame's rows into ``table``'s columns of the same names: ``COPY`` on
    PostgreSQL, ``executemany`` of plain tuples in big batches on SQLite."""
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        _copy(driver, table, rows)
        return
    # SQLAlchemy stores dates and times in SQLite as ISO text; so do we, without adapters
    rows = rows.with_columns(
        *(pl.col(c).dt.strftime("%Y-%m-%d") for c, t in rows.schema.items() if t == pl.Date),
        *(pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S.%6f") for c, t in rows.schema.items()
          if isinstance(t, pl.Datetime)))
    sql = (f"INSERT INTO {table} ({', '.join(rows.columns)}) "
           f"VALUES ({', '.join('?' * rows.width)})")
    cursor = driver.cursor()
    try:
        for chunk in rows.iter_slices(BATCH):
            cursor.executemany(sql, chunk.iter_rows())
    finally:
        cursor.close()


def _copy(driver: Any, table: str, rows: pl.DataFrame) -> None:
    """COPY the rows as CSV in which every text is quoted, so an unquoted empty field is
    NULL and a quoted one is the empty string."""
    sql = f"COPY {table} ({', '.join(rows.columns)}) FROM STDIN (FORMAT csv)"
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        for chunk in rows.iter_slices(BATCH):
            copy.write(chunk.write_csv(include_header=False, quote_style="non_numeric"))


# --- checks against the store --------------------------------------------------------------


def _differ(conn: Connection, a: str, b: str, columns: Sequence[str]) -> str:
    """SQL: some column differs between aliases a and b, a NULL differing from a value."""
    op = "IS DISTINCT FROM" if conn.dialect.name == "postgresql" else "IS NOT"
    return "(" + " OR ".join(f"{a}.{c} {op} {b}.{c}" for c in columns) + ")"


def _check(conn: Connection, spec: _Spec, staging: sa.Table, path: Path) -> None:
    """UNKNOWN_PERSON for records whose person is neither in the store nor imported earlier in
    this transaction; CLAIM_CONFLICT for claims held with other values. Raises InputError."""
    problems: Problems | None = None
    if spec.target != "persons":
        problems = _unknown_persons(conn, spec, staging.name, path, problems)
    if not spec.upsert:
        problems = _conflicts(conn, spec, staging.name, path, problems)
    if problems is not None:
        problems.raise_if_any()


def _fits(spec: _Spec, rows: pl.DataFrame, path: Path) -> None:
    """TOO_LONG for text longer than its column (the readers allow any id up to 64 bytes, the
    store holds 40 characters of a code and 200 of a joined list), BAD_TEXT for a NUL
    character (PostgreSQL text cannot hold one)."""
    target = Base.metadata.tables[spec.target]
    problems: Problems | None = None
    for name in _columns(spec):
        kind = target.c[name].type
        if not isinstance(kind, sa.String) or rows.schema[name] != pl.String:
            continue
        values = rows[name]
        nul = values.str.contains("\x00", literal=True)
        long = values.str.len_chars() > kind.length if kind.length else nul & False
        if nul.any() or long.any():
            problems = _problems(path, spec.table, problems)
            problems.rows("BAD_TEXT", name, nul, "contains a NUL character", values)
            problems.rows("TOO_LONG", name, long,
                          f"longer than the {kind.length} characters the store holds", values)
    if problems is not None:
        problems.raise_if_any()


def _problems(path: Path, table: Table, problems: Problems | None) -> Problems:
    """A collector that names rows as the readers do (``file:line``, ``file:row N``);
    re-reading the file to find the lines is paid only when there is an error."""
    if problems is not None:
        return problems
    source = load(path, table.names)
    return Problems(source.label, source.locate)


def _unknown_persons(conn: Connection, spec: _Spec, staging: str, path: Path,
                     problems: Problems | None) -> Problems | None:
    where = (f"FROM {staging} AS t WHERE NOT EXISTS "
             "(SELECT 1 FROM persons AS p WHERE p.person_id = t.person_id)")
    found = conn.exec_driver_sql(f"SELECT t.rn, t.person_id {where} ORDER BY t.rn "
                                 f"LIMIT {SHOWN}").all()
    if not found:
        return problems
    total = conn.exec_driver_sql(f"SELECT count(*) {where}").scalar_one()
    out = _problems(path, spec.table, problems)
    out.at("UNKNOWN_PERSON", "person_id", [r for r, _ in found],
           [f"person_id is neither in the store nor in this import: {show(p)}" for _, p in found],
           total)
    return out


def _conflicts(conn: Connection, spec: _Spec, staging: str, path: Path,
               problems: Problems | None) -> Problems | None:
    columns = _columns(spec)
    on = " AND ".join(f"s.{k} = t.{k}" for k in spec.key)
    where = (f"FROM {staging} AS t JOIN {spec.target} AS s ON {on} "
             f"WHERE {_differ(conn, 't', 's', columns)}")
    held = ", ".join(f"s.{c}" for c in columns)
    given = ", ".join(f"t.{c}" for c in columns)
    settled = (f"EXISTS (SELECT 1 FROM {Posting.__tablename__} AS p "
               "WHERE p.claim_id = t.claim_id)")
    found = conn.exec_driver_sql(f"SELECT t.rn, {settled}, {given}, {held} {where} "
                                 f"ORDER BY t.rn LIMIT {SHOWN}").all()
    if not found:
        return problems
    total = conn.exec_driver_sql(f"SELECT count(*) {where}").scalar_one()
    out = _problems(path, spec.table, problems)
    n = len(columns)
    for row in found:
        file_values, stored = row[2:2 + n], row[2 + n:]
        fields = [c for c, a, b in zip(columns, file_values, stored, strict=True)
                  if _norm(a) != _norm(b)]
        status = "已结算 settled" if row[1] else "已入库 stored"
        text = (f"与{status}的记录不同 / differs from the claim already held ({status}) in "
                f"{', '.join(fields)}; a correction is reversed and resubmitted under a new "
                "claim_id")
        out.at("CLAIM_CONFLICT", fields[0] if fields else "claim_id", [row[0]], [text], 1)
    if total > len(found):
        out.at("CLAIM_CONFLICT", "claim_id", [], [], total - len(found))
    return out


def _norm(value: object) -> object:
    """A value as both dialects' drivers may hand it back (SQLite: dates as text)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


# --- merge ---------------------------------------------------------------------------------


def _update(conn: Connection, spec: _Spec, staging: sa.Table) -> int:
    """Overwrite stored records whose values differ; the count of records changed."""
    values = [c for c in _columns(spec) if c not in spec.key]
    on = " AND ".join(f"{spec.target}.{k} = t.{k}" for k in spec.key)
    sql = (f"UPDATE {spec.target} SET {', '.join(f'{c} = t.{c}' for c in values)} "
           f"FROM {staging.name} AS t WHERE {on} "
           f"AND {_differ(conn, spec.target, 't', values)}")
    return int(conn.exec_driver_sql(sql).rowcount)


def _insert(conn: Connection, spec: _Spec, staging: sa.Table) -> int:
    """Insert the records the store does not hold; the count inserted."""
    columns = ", ".join(_columns(spec))
    on = " AND ".join(f"s.{k} = t.{k}" for k in spec.key)
    sql = (f"INSERT INTO {spec.target} ({columns}) "
           f"SELECT {', '.join(f't.{c}' for c in _columns(spec))} FROM {staging.name} AS t "
           f"WHERE NOT EXISTS (SELECT 1 FROM {spec.target} AS s WHERE {on})")
    return int(conn.exec_driver_sql(sql).rowcount)


__all__ = ["KINDS", "ImportReport", "Kind", "bulk_insert", "import_file", "import_files"]
