"""Reading a set of persons from the store as the engine's frames, for batch work over a year
(``yibao resettle``, ``yibao post``): the persons, all their enrolments and, as history, the
net basic and major payments of their earlier years' postings.

The persons are named by a SQL query of ``person_id`` (``ids``), so a batch never ships a list
of ids back to the database.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Connection, Select, cast, func, select

from yibao.io import ENROLLMENTS, PERSONS
from yibao.store.models import Enrollment, Person, Posting

Query = Select[*tuple[Any, ...]]
_HISTORY = {"person_id": pl.String, "year": pl.Int32, "basic": pl.Int64, "major": pl.Int64}


def cols(model: Any, names: tuple[str, ...] | list[str]) -> list[Any]:
    """The model's columns of these names, in order."""
    return [getattr(model, n) for n in names]


def frame(conn: Connection, query: Query, schema: dict[str, Any]) -> pl.DataFrame:
    """The query's rows as a frame of ``schema`` (one column per selected column, in order)."""
    rows = [tuple(r) for r in conn.execute(query)]
    return pl.DataFrame(rows, schema=schema, orient="row")


def persons_of(conn: Connection, ids: Query) -> pl.DataFrame:
    """The persons as the readers give them: categories and chronic as lists."""
    schema = {**PERSONS.schema, "categories": pl.String, "chronic": pl.String}
    people = frame(conn, select(*cols(Person, PERSONS.names)).where(Person.person_id.in_(ids)),
                   schema)
    return people.with_columns(
        pl.col(c).str.split(";").list.eval(pl.element().filter(pl.element() != ""))
        for c in ("categories", "chronic"))


def enrollments_of(conn: Connection, ids: Query) -> pl.DataFrame:
    """All the persons' enrolments, of every year (benefit start looks back)."""
    return frame(conn, select(*cols(Enrollment, ENROLLMENTS.names))
                 .where(Enrollment.person_id.in_(ids)), ENROLLMENTS.schema)


def history_of(conn: Connection, ids: Query, year: int) -> pl.DataFrame:
    """Net basic and major per earlier year for the persons, with a zero row for every year
    the store has settled, as ``store.frames.history_frame`` gives one person online."""
    paid = frame(conn, select(Posting.person_id, Posting.year,
                              cast(func.sum(Posting.basic), BigInteger),
                              cast(func.sum(Posting.major), BigInteger))
                 .where(Posting.year < year, Posting.person_id.in_(ids))
                 .group_by(Posting.person_id, Posting.year), _HISTORY)
    settled = frame(conn, select(Posting.year).distinct().where(Posting.year < year),
                    {"year": pl.Int32})
    persons = frame(conn, ids, {"person_id": pl.String})
    return (persons.join(settled, how="cross")
            .join(paid, on=["person_id", "year"], how="left")
            .with_columns(pl.col("basic", "major").fill_null(0)))


__all__ = ["Query", "cols", "enrollments_of", "frame", "history_of", "persons_of"]
