"""Each person-year's benefit start and effective major-illness cap, kept in the store.

Both depend on the person's whole enrolment history and on what earlier years paid them
(SPEC §6.2, §5.4), so working them out for one claim costs far more than settling it. They
are worked out here with the engine's own functions (``person_year_terms``), in batch for
every resident enrolment (``refresh``, run by ``yibao serve`` before it listens) or for the
one person-year a claim needs when the store has no row for it (``work_out_one``), and kept
in ``person_year_terms`` under a key of the policy they were worked out with.

A row is only ever right or absent: database triggers (migration 0002) delete it when the
person, any of their enrolments or a posting of an earlier year of theirs changes; and a row
records how many years before its own were settled (had any posting: a settled year counts
as a zero-claim year for everyone) when it was worked out, and is taken only while the
store's ``settled_years`` still says so (``current``). On PostgreSQL, working out and
forgetting exclude each other with advisory locks: ``work_out_one`` holds the person's lock
(which the posting trigger takes) and the shared "everyone" lock (which the person and
enrolment triggers take exclusively) before it reads, so it never stores terms worked out
from data that a concurrent transaction is changing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Connection, Engine, and_, cast, exists, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yibao.engine.enrollment import build_history
from yibao.engine.person_years import person_year_terms
from yibao.engine.settlement import covered_region
from yibao.io import ENROLLMENTS, PERSONS
from yibao.policy import Policy
from yibao.store.frames import history_frame, load_person
from yibao.store.models import Enrollment, Person, PersonYearTerms, Posting, SettledYear

#: Advisory lock keys, as in migration 0002.
PERSON_LOCK, ALL_LOCK = 0x79620001, 0x79620002
#: Rows per INSERT when storing terms.
CHUNK = 20_000
_HISTORY = {"person_id": pl.String, "year": pl.Int32, "basic": pl.Int64, "major": pl.Int64}


@dataclass(frozen=True)
class Terms:
    """A person-year's terms; ``benefit_start`` None: not enrolled in the region that year."""

    benefit_start: dt.date | None
    major_cap: int | None

    def frame(self, person_id: str, year: int) -> pl.DataFrame | None:
        """The ``settle(person_years=…)`` row, or None when there is nothing to override."""
        if self.benefit_start is None:
            return None
        return pl.DataFrame({"person_id": [person_id], "year": [year],
                             "benefit_start": [self.benefit_start],
                             "major_cap": [self.major_cap]},
                            schema={"person_id": pl.String, "year": pl.Int32,
                                    "benefit_start": pl.Date, "major_cap": pl.Int64})


#: The terms of a person-year with no resident enrolment in the region: nothing to work out.
NOT_ENROLLED = Terms(None, None)


def policy_key(policy: Policy) -> str:
    """The region and a digest of the parameter files' text: terms of an edited policy are
    never taken for the new one's."""
    digest = hashlib.sha256()
    for region_file in policy.chain:
        digest.update(region_file.region.encode())
        digest.update(region_file.path.read_bytes() if region_file.path else b"")
    return f"{policy.region}:{digest.hexdigest()[:32]}"


def current(year: Any) -> Any:
    """SQL: the number of settled years before ``year`` now; a stored row is taken only if it
    was worked out with as many."""
    return select(func.count()).where(SettledYear.year < year).scalar_subquery()


def work_out(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
             history: pl.DataFrame, settled: list[int], wanted: pl.DataFrame) -> pl.DataFrame:
    """person_id, year, benefit_start, major_cap, settled_before for each (person_id, year)
    of ``wanted``, by the engine's ``person_year_terms`` from the persons, all their
    enrolments and their payments per year (``history``, with the ``settled`` years marked);
    null terms where the person is not enrolled."""
    wanted = wanted.select(pl.col("person_id"), pl.col("year").cast(pl.Int32))
    years = sorted(int(y) for y in wanted["year"].unique())
    if not years:
        return wanted.with_columns(pl.lit(None, pl.Date).alias("benefit_start"),
                                   pl.lit(None, pl.Int64).alias("major_cap"),
                                   pl.lit(0, pl.Int32).alias("settled_before"))
    hist = build_history(persons, enrollments, history, through=max(years))
    terms = person_year_terms(policy, persons, enrollments, hist, years)
    before = {y: sum(1 for s in settled if s < y) for y in years}
    return (wanted.join(terms.select("person_id", pl.col("year").cast(pl.Int32),
                                     "benefit_start", pl.col("major_cap").cast(pl.Int64)),
                        on=["person_id", "year"], how="left")
            .with_columns(pl.col("year").replace_strict(before, return_dtype=pl.Int32)
                          .alias("settled_before")))


def load_kernels(policy: Policy, year: int) -> None:
    """Work out a made-up person's terms for ``year`` in memory, nothing stored: the process
    loads ``work_out``'s compiled kernels (0.1–0.3 s, holding the GIL, which stalls every
    request of the process) now rather than on a clerk's claim."""
    region = policy.region
    persons = pl.DataFrame({"person_id": ["warm-up"], "id_number": [None], "sex": ["F"],
                            "birth_date": [dt.date(1990, 1, 1)], "death_date": [None],
                            "region": [region], "categories": [[]], "chronic": [[]]},
                           schema=PERSONS.schema)
    enrollments = pl.DataFrame({"person_id": ["warm-up"] * 2, "year": [year - 1, year],
                                "region": [region] * 2, "scheme": ["resident"] * 2,
                                "paid_date": [dt.date(year - 2, 12, 1), dt.date(year - 1, 12, 1)],
                                "contribution_paid": [0, 0], "repaid_years": [0, 0],
                                "employee_end_date": [None, None]}, schema=ENROLLMENTS.schema)
    history = pl.DataFrame({"person_id": ["warm-up"], "year": [year - 1], "basic": [0],
                            "major": [0]}, schema=_HISTORY)
    work_out(policy, persons, enrollments, history, [year - 1],
             pl.DataFrame({"person_id": ["warm-up"], "year": [year]}))


def _store(conn: Connection, key: str, rows: pl.DataFrame) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for chunk in rows.iter_slices(CHUNK):
        values = [{**r, "policy": key} for r in chunk.iter_rows(named=True)]
        stmt = insert(PersonYearTerms)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["person_id", "year", "policy"],
            set_={"benefit_start": stmt.excluded.benefit_start,
                  "major_cap": stmt.excluded.major_cap,
                  "settled_before": stmt.excluded.settled_before}), values)


def work_out_one(session: Session, policy: Policy, key: str, person_id: str,
                 year: int) -> Terms:
    """Work out and store one person-year's terms (the store had none); under the locks
    that keep them from being worked out of data a concurrent transaction is changing."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k, hashtext(:p))"),
                     {"k": PERSON_LOCK, "p": person_id})
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k, 0)"), {"k": ALL_LOCK})
    persons, enrollments = load_person(session, person_id)
    wanted = pl.DataFrame({"person_id": [person_id], "year": [year]},
                          schema={"person_id": pl.String, "year": pl.Int32})
    if persons.height == 0:
        return NOT_ENROLLED
    history = history_frame(session, person_id, year)  # a row for each settled year before
    row = work_out(policy, persons, enrollments, history, history["year"].to_list(), wanted)
    _store(conn, key, row)
    start, cap = row.row(0)[2:4]
    return Terms(start, cap)


# --- in batch --------------------------------------------------------------------------------


def _frame(conn: Connection, query: Any, schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in conn.execute(query)], schema=schema, orient="row")


def _missing(policy: Policy, key: str, persons: Sequence[str] | None) -> Any:
    """(person_id, year) of resident enrolments in the region with no stored terms."""
    held = exists().where(and_(PersonYearTerms.person_id == Enrollment.person_id,
                               PersonYearTerms.year == Enrollment.year,
                               PersonYearTerms.policy == key,
                               PersonYearTerms.settled_before == current(Enrollment.year)))
    query = select(Enrollment.person_id, Enrollment.year).where(
        Enrollment.scheme == "resident",
        Enrollment.region.startswith(covered_region(policy.region)), ~held)
    if persons is not None:
        query = query.where(Enrollment.person_id.in_(persons))
    return query.distinct()


def refresh(engine: Engine, policy: Policy, persons: Sequence[str] | None = None) -> int:
    """Work out and store the terms of every resident enrolment in the policy's region that
    has none (of ``persons`` only, if given), in one transaction; the count stored."""
    key = policy_key(policy)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k, 0)"), {"k": ALL_LOCK})
        wanted = _frame(conn, _missing(policy, key, persons),
                        {"person_id": pl.String, "year": pl.Int32})
        if wanted.height == 0:
            return 0
        ids = select(_missing(policy, key, persons).subquery().c.person_id).distinct()
        people = _persons(conn, ids)
        enrollments = _frame(conn, select(*[getattr(Enrollment, c) for c in ENROLLMENTS.names])
                             .where(Enrollment.person_id.in_(ids)), ENROLLMENTS.schema)
        settled = [int(y) for y in conn.execute(select(SettledYear.year)).scalars()]
        history = _history(conn, ids, people, settled)
        rows = work_out(policy, people, enrollments, history, settled, wanted)
        _store(conn, key, rows)
        return rows.height


def _persons(conn: Connection, ids: Any) -> pl.DataFrame:
    schema = {**PERSONS.schema, "categories": pl.String, "chronic": pl.String}
    frame = _frame(conn, select(*[getattr(Person, c) for c in PERSONS.names])
                   .where(Person.person_id.in_(ids)), schema)
    return frame.with_columns(
        pl.col(c).str.split(";").list.eval(pl.element().filter(pl.element() != ""))
        for c in ("categories", "chronic"))


def _history(conn: Connection, ids: Any, people: pl.DataFrame,
             years: list[int]) -> pl.DataFrame:
    """Net basic and major per person and year from the postings, and a zero row for each
    settled year (it marks the year settled, as ``store.frames.history_frame`` does)."""
    paid = _frame(conn, select(Posting.person_id, Posting.year,
                               cast(func.sum(Posting.basic), BigInteger),
                               cast(func.sum(Posting.major), BigInteger))
                  .where(Posting.person_id.in_(ids))
                  .group_by(Posting.person_id, Posting.year), _HISTORY)
    if not years or people.height == 0:
        return paid
    marks = pl.DataFrame({"person_id": [people["person_id"][0]] * len(years), "year": years,
                          "basic": [0] * len(years), "major": [0] * len(years)},
                         schema=_HISTORY)
    return pl.concat([paid, marks])


__all__ = ["NOT_ENROLLED", "Terms", "current", "load_kernels", "policy_key", "refresh",
           "work_out", "work_out_one"]
