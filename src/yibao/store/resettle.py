"""Batch re-settlement of a year from the store, checked against the online postings
(``yibao resettle``): online = batch.

Online, each claim was settled by the kernel with the person-year's accumulators as they
stood when it arrived. Here the year's live settlements of the policy's region (a settlement
posting and no reversal) are settled again in one batch, in (settle_date, claim_id) order,
from the stored persons, all their enrolments and, as history, the net basic and major
payments of earlier years' postings (a year the store has settled for anyone counts as settled
for everyone, as the online service reads it). Every claim whose online result differs is
listed, field by field. There are none when the claims were settled in date order and nothing
they depend on changed since; a claim settled out of order, a reversal between two claims of a
person-year, or a person or enrolment corrected after settlement shows up here.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, exists, select

from yibao.engine.person_years import settle_claims
from yibao.engine.settlement import RESULT_COLUMNS
from yibao.io import CLAIMS
from yibao.io.writers import yuan_text
from yibao.policy import Policy
from yibao.store.models import Claim, Posting
from yibao.store.online import REVERSAL, SETTLEMENT
from yibao.store.reading import Query, cols, enrollments_of, frame, history_of, persons_of

#: The result fields compared, in the order a difference is listed.
FIELDS = ["covered", "reason", "policy_scope", "deductible", "basic", "major", "assistance",
          "oop", "major_cap"]
DIFFERENCES = {"claim_id": pl.String, "field": pl.String, "online": pl.String,
               "batch": pl.String}
_POSTED: dict[str, Any] = {
    "claim_id": pl.String, "person_id": pl.String, "year": pl.Int32, "covered": pl.Boolean,
    "reason": pl.String, **dict.fromkeys(FIELDS[2:], pl.Int64)}


def resettle(engine: Engine, policy: Policy, year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(batch results in the SPEC §5 columns, money in fen; differences: claim_id, field,
    online, batch, as text with money in yuan), read from one snapshot of the store."""
    connection = engine.connect()
    if connection.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
    with connection as conn, conn.begin():
        ids = _person_ids(policy.region, year)
        posted = frame(conn, _live(policy.region, year), _POSTED)
        claims = _claims(conn, policy.region, year)
        persons = persons_of(conn, ids)
        enrollments = enrollments_of(conn, ids)
        history = history_of(conn, ids, year)
    run = settle_claims(policy, persons, enrollments, claims, history=history)
    results = run.results.select(RESULT_COLUMNS)
    return results, compare(posted, results, claims)


# --- reading the store ---------------------------------------------------------------------


def _live(region: str, year: int) -> Query:
    """The year's settlement postings in ``region`` that no reversal undid."""
    reversal = Posting.__table__.alias("reversal")
    return select(*cols(Posting, list(_POSTED))).where(
        Posting.kind == SETTLEMENT, Posting.year == year, Posting.region == region,
        ~exists().where(reversal.c.claim_id == Posting.claim_id,
                        reversal.c.kind == REVERSAL))


def _person_ids(region: str, year: int) -> Query:
    return select(_live(region, year).subquery().c.person_id).distinct()


def _claims(conn: Connection, region: str, year: int) -> pl.DataFrame:
    live = _live(region, year).subquery()
    query = (select(*cols(Claim, CLAIMS.names))
             .join(live, live.c.claim_id == Claim.claim_id))
    return frame(conn, query, CLAIMS.schema)


# --- comparing -----------------------------------------------------------------------------


def _text(name: str, dtype: Any, alias: str) -> pl.Expr:
    if dtype == pl.Boolean:
        return pl.when(pl.col(name)).then(pl.lit("true")).otherwise(pl.lit("false")).alias(alias)
    if dtype == pl.Int64:
        return yuan_text(name).alias(alias)
    return pl.col(name).cast(pl.String).alias(alias)


def compare(posted: pl.DataFrame, results: pl.DataFrame, claims: pl.DataFrame) -> pl.DataFrame:
    """Every (claim, field) whose posted value differs from the batch's, in settlement order
    of each person-year (the first difference of a person is where they began to part)."""
    both = (posted.join(results.select("claim_id", *FIELDS), on="claim_id", suffix="_batch")
            .join(claims.select("claim_id", "settle_date"), on="claim_id"))
    parts = []
    for i, field in enumerate(FIELDS):
        differs = both.filter(pl.col(field).ne_missing(pl.col(f"{field}_batch")))
        if differs.height:
            parts.append(differs.select(
                "person_id", "year", "settle_date", "claim_id", pl.lit(i).alias("_field"),
                pl.lit(field).alias("field"), _text(field, posted.schema[field], "online"),
                _text(f"{field}_batch", posted.schema[field], "batch")))
    if not parts:
        return pl.DataFrame(schema=DIFFERENCES)
    return (pl.concat(parts).sort("person_id", "year", "settle_date", "claim_id", "_field")
            .select(list(DIFFERENCES)))


__all__ = ["DIFFERENCES", "FIELDS", "compare", "resettle"]
