"""Rows of the store as the engine's frames (the dtypes of ``yibao.io.schemas``), and back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.engine.kernel import ACCUMULATORS
from yibao.io import CLAIMS, ENROLLMENTS, PERSONS
from yibao.store.models import Claim, Enrollment, Person, Posting

_PERSON_FIELDS = [c for c in PERSONS.names if c not in ("categories", "chronic")]


def split_codes(text: str) -> list[str]:
    return [t for t in text.split(";") if t]


def persons_frame(rows: Sequence[Person]) -> pl.DataFrame:
    data: dict[str, list[Any]] = {c: [getattr(r, c) for r in rows] for c in _PERSON_FIELDS}
    data["categories"] = [split_codes(r.categories) for r in rows]
    data["chronic"] = [split_codes(r.chronic) for r in rows]
    return pl.DataFrame(data, schema=PERSONS.schema).select(PERSONS.names)


def enrollments_frame(rows: Sequence[Enrollment]) -> pl.DataFrame:
    data = {c: [getattr(r, c) for r in rows] for c in ENROLLMENTS.names}
    return pl.DataFrame(data, schema=ENROLLMENTS.schema)


def claims_frame(rows: Sequence[Claim]) -> pl.DataFrame:
    data = {c: [getattr(r, c) for r in rows] for c in CLAIMS.names}
    return pl.DataFrame(data, schema=CLAIMS.schema)


def claim_values(frame: pl.DataFrame, i: int = 0) -> dict[str, Any]:
    """One validated claim as column → value (fen ints, dates), for storing or comparing."""
    return frame.row(i, named=True)


def person_records(person: Person) -> dict[str, Any]:
    return {c: getattr(person, c) for c in PERSONS.names}


def load_person(session: Session, person_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The person and all their enrolments, as frames (empty persons frame if unknown)."""
    person = session.get(Person, person_id)
    enrols = session.scalars(select(Enrollment).where(Enrollment.person_id == person_id)).all()
    return persons_frame([person] if person else []), enrollments_frame(enrols)


def history_frame(session: Session, person_id: str, before: int) -> pl.DataFrame:
    """Net basic and major payments per earlier year from the postings, in the settlement
    results' shape; a year the store has settled for anyone but not for this person gets a
    zero row, so it counts as a settled (zero-claim) year exactly as in a batch run."""
    paid = session.execute(
        select(Posting.year, func.sum(Posting.basic), func.sum(Posting.major))
        .where(Posting.person_id == person_id, Posting.year < before)
        .group_by(Posting.year)).all()
    settled = session.scalars(select(Posting.year).where(Posting.year < before).distinct()).all()
    by_year = {int(y): (int(b), int(m)) for y, b, m in paid}
    years = sorted(set(settled) | set(by_year))
    return pl.DataFrame({
        "person_id": [person_id] * len(years),
        "year": pl.Series(years, dtype=pl.Int32),
        "basic": [by_year.get(y, (0, 0))[0] for y in years],
        "major": [by_year.get(y, (0, 0))[1] for y in years],
    }, schema={"person_id": pl.String, "year": pl.Int32, "basic": pl.Int64, "major": pl.Int64})


def opening_frame(person_id: str, year: int, values: Sequence[int],
                  chronic_raw: Mapping[str, int]) -> pl.DataFrame:
    """A stored person-year's accumulators (in ``ACCUMULATORS`` order, and the chronic sums by
    disease) in the shape ``settle(opening=…)`` takes."""
    columns: dict[str, Any] = {"person_id": [person_id],
                               "year": pl.Series([year], dtype=pl.Int32)}
    columns.update({name: [int(v)] for name, v in zip(ACCUMULATORS, values, strict=True)})
    columns.update({f"chronic_raw.{code}": [int(v)] for code, v in chronic_raw.items()})
    return pl.DataFrame(columns)


def closing_values(closing: pl.DataFrame) -> tuple[dict[str, int], dict[str, int]]:
    """(accumulators, chronic_raw by disease) of a one-row ``Settlement.closing``."""
    row = closing.row(0, named=True)
    acc = {name: int(row[name]) for name in ACCUMULATORS}
    chronic = {k.removeprefix("chronic_raw."): int(v) for k, v in row.items()
               if k.startswith("chronic_raw.")}
    return acc, chronic
