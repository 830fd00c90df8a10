"""The store as fund-monitoring frames: every person and enrolment, and the year's claims
that stand settled (a settlement posting no reversal undid) with their postings as results.

What the fund paid is what was posted, so the database path reads postings rather than
settling again; a claim imported but never settled is no expenditure yet.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from yibao.engine.settlement import MONEY_COLUMNS
from yibao.io import CLAIMS, ENROLLMENTS, PERSONS
from yibao.store.models import Claim, Enrollment, Person, Posting
from yibao.store.online import REVERSAL, SETTLEMENT

_RESULTS: dict[str, Any] = {"claim_id": pl.String, "person_id": pl.String, "year": pl.Int32,
                            "covered": pl.Boolean, "reason": pl.String,
                            **dict.fromkeys(MONEY_COLUMNS, pl.Int64)}


def _frame(session: Session, query: Select[Any], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in session.execute(query)], schema=schema,
                        orient="row")


def _cols(model: Any, names: Any) -> list[Any]:
    return [getattr(model, n) for n in names]


def store_frames(session: Session, year: int) -> tuple[pl.DataFrame, pl.DataFrame,
                                                       pl.DataFrame, pl.DataFrame]:
    """(persons, enrollments, claims, results) with the readers' dtypes, money in fen."""
    reversal = Posting.__table__.alias("reversal")
    live = select(*_cols(Posting, _RESULTS)).where(
        Posting.kind == SETTLEMENT, Posting.year == year,
        ~exists().where(reversal.c.claim_id == Posting.claim_id, reversal.c.kind == REVERSAL))
    results = _frame(session, live.order_by(Posting.claim_id), _RESULTS)
    sub = live.subquery()
    claims = _frame(session, select(*_cols(Claim, CLAIMS.names)).join(
        sub, sub.c.claim_id == Claim.claim_id).order_by(Claim.claim_id), CLAIMS.schema)
    schema = {**PERSONS.schema, "categories": pl.String, "chronic": pl.String}
    persons = _frame(session, select(*_cols(Person, PERSONS.names)), schema).with_columns(
        pl.col(c).str.split(";").list.eval(pl.element().filter(pl.element() != ""))
        for c in ("categories", "chronic"))
    enrollments = _frame(session, select(*_cols(Enrollment, ENROLLMENTS.names)),
                         ENROLLMENTS.schema)
    return persons, enrollments, claims, results.with_columns(pl.col("reason").fill_null(""))
