"""Batch posting of a year from the store (``yibao post``): every imported claim of the year
in the policy's region that has no posting yet, settled in one batch and posted as online
settlement would have posted it, claim by claim in (settle_date, claim_id) order.

The claims go through the engine's ``settle_claims`` — the kernel of online settlement and of
``yibao resettle`` — with the persons, all their enrolments and their earlier years' postings
as history, read as ``resettle`` reads them (``store.reading``). Each claim gets a settlement
posting whose ``deltas`` are what it consumed from each accumulator (``store.post_deltas``),
so a reversal later gives back exactly that; each person-year gets the accumulators it closed
with; one audit entry records the batch. All of it lands in one transaction or none of it
does, in bulk (``COPY`` on PostgreSQL, ``executemany`` on SQLite); a second run finds nothing
left to post.

A person-year that already has online postings continues from its stored accumulators, as a
further online claim would, provided each of its unposted claims comes after its last posted
one in settlement order; otherwise the batch is refused (``POST_OUT_OF_ORDER``, naming the
person-year and the claims), since posting it would leave postings that a re-settlement of the
year contradicts. Stored accumulators that do not equal the sum of their postings' deltas are
refused too (``ACCUMULATORS_DIFFER``).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Connection, Engine, and_, bindparam, delete, exists, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite

from yibao.engine.kernel import ACCUMULATORS
from yibao.engine.person_years import settle_claims
from yibao.engine.settlement import RESULT_COLUMNS, covered_region
from yibao.errors import InputError, Problem
from yibao.io import CLAIMS
from yibao.policy import Policy
from yibao.store.audit import entry, now
from yibao.store.importer import IMPORT_LOCK, bulk_insert
from yibao.store.models import (
    Accumulator,
    AuditEntry,
    Claim,
    Enrollment,
    Person,
    PersonYearTerms,
    Posting,
    SettledYear,
)
from yibao.store.online import REVERSAL, SETTLEMENT
from yibao.store.post_deltas import CHRONIC, KEY, check_sums, deltas
from yibao.store.reading import Query, cols, enrollments_of, frame, history_of, persons_of

#: Problems quoted per error.
SHOWN = 50
#: The posting row trigger of migration 0002; see ``_forget_terms``.
POSTING_TRIGGER = "postings_insert_forgets_terms"
OnPhase = Callable[[str], None]


@dataclass(frozen=True)
class PostReport:
    """What one batch posting did: claims posted, person-years written (of them, continued
    from online postings), and the sums posted, in fen."""

    region: str
    year: int
    claims: int
    person_years: int
    continued: int
    basic: int
    major: int
    assistance: int
    oop: int
    seconds: float


def post_year(engine: Engine, policy: Policy, year: int, *, username: str = "batch",
              on_phase: OnPhase | None = None) -> PostReport:
    """Post every unposted claim of ``year`` in the policy's region, in one transaction."""
    step = on_phase or (lambda _label: None)
    start = time.perf_counter()
    with engine.begin() as conn:
        _exclude_others(conn)
        step(f"读取 read the unposted claims of {year}")
        claims = frame(conn, _pending(policy.region, year), CLAIMS.schema).sort(
            "settle_date", "claim_id")
        if claims.height == 0:
            return PostReport(policy.region, year, 0, 0, 0, 0, 0, 0, 0,
                              time.perf_counter() - start)
        chosen = _chosen(conn, claims["person_id"].unique())
        ids = select(chosen.c.person_id)
        persons, enrollments = persons_of(conn, ids), enrollments_of(conn, ids)
        history = history_of(conn, ids, year)
        opening = _opening(conn, ids, year)
        _check_stored(conn, ids, year, opening)
        _check_order(conn, ids, year, claims, opening)
        step(f"结算 settle {claims.height:,} claims")
        run = settle_claims(policy, persons, enrollments, claims, history=history,
                            opening=opening, trace=True)
        steps = deltas(run, claims, persons)
        check_sums(steps, opening, run.closing)
        step(f"记账 post {claims.height:,} claims")
        results = run.results.select(RESULT_COLUMNS)
        _forget_terms(conn, year, ids, lambda: bulk_insert(
            conn, "postings", _postings(policy.region, username, results, steps, claims)))
        continued = _accumulators(conn, run.closing, opening)
        sums = {k: int(results[k].sum()) for k in ("basic", "major", "assistance", "oop")}
        report = PostReport(policy.region, year, results.height, run.closing.height, continued,
                            **sums, seconds=time.perf_counter() - start)
        chosen.drop(conn)
        conn.execute(insert(AuditEntry).values(**entry(
            username, "post_year", f"{policy.region}/{year}",
            {"claims": report.claims, "person_years": report.person_years,
             "continued": continued, **sums})))
        return report


def _exclude_others(conn: Connection) -> None:
    """One writer at a time. SQLite took the database lock at BEGIN; on PostgreSQL the import
    lock keeps imports and other batches out, and ``_forget_terms`` locks the postings."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({IMPORT_LOCK})")
        conn.exec_driver_sql("LOCK TABLE postings IN ACCESS EXCLUSIVE MODE")


# --- reading -------------------------------------------------------------------------------


def _pending(region: str, year: int) -> Query:
    """Claims settled in ``year`` without any posting (a reversed claim stays reversed),
    of persons registered in the region or enrolled there as residents that year."""
    prefix = covered_region(region)
    of_region = sa.union(
        select(Person.person_id).where(Person.region.startswith(prefix)),
        select(Enrollment.person_id).where(Enrollment.year == year,
                                           Enrollment.scheme == "resident",
                                           Enrollment.region.startswith(prefix)))
    return select(*cols(Claim, CLAIMS.names)).where(
        Claim.settle_date >= dt.date(year, 1, 1), Claim.settle_date < dt.date(year + 1, 1, 1),
        ~exists().where(Posting.claim_id == Claim.claim_id), Claim.person_id.in_(of_region))


def _chosen(conn: Connection, person_ids: pl.Series) -> sa.Table:
    """A temporary table of the batch's persons, so that every read names them by a join
    instead of running the claims' query again; gone on rollback."""
    table = sa.Table("post_persons", sa.MetaData(),
                     sa.Column("person_id", sa.String(64), primary_key=True),
                     prefixes=["TEMPORARY"])
    table.create(conn)
    bulk_insert(conn, table.name, person_ids.to_frame("person_id"))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table.name}")
    return table


def _opening(conn: Connection, ids: Query, year: int) -> pl.DataFrame:
    """The stored accumulators of the persons' year (those with online postings), in the
    shape ``settle(opening=…)`` takes, chronic sums as ``chronic_raw.<disease>``."""
    held = conn.execute(select(*cols(Accumulator, ["person_id", "year", *ACCUMULATORS,
                                                   CHRONIC]))
                        .where(Accumulator.year == year, Accumulator.person_id.in_(ids))).all()
    chronic = [dict(r[-1] or {}) for r in held]
    diseases = sorted({d for raw in chronic for d in raw})
    schema = {"person_id": pl.String, "year": pl.Int32, **dict.fromkeys(ACCUMULATORS, pl.Int64)}
    return pl.DataFrame([tuple(r[:-1]) for r in held], schema=schema, orient="row").with_columns(
        pl.Series(f"{CHRONIC}.{d}", [int(raw.get(d, 0)) for raw in chronic], pl.Int64)
        for d in diseases)


def _check_stored(conn: Connection, ids: Query, year: int, opening: pl.DataFrame) -> None:
    """The stored accumulators must be the sum of their person-year's postings' deltas."""
    if opening.height == 0:
        return
    sums: dict[tuple[str, int], dict[str, int]] = {}
    for person_id, got in conn.execute(select(Posting.person_id, Posting.deltas).where(
            Posting.year == year, Posting.person_id.in_(ids))):
        total = sums.setdefault((person_id, year), {})
        for name, value in got.items():
            for key, v in (value.items() if name == CHRONIC else [(name, value)]):
                label = f"{CHRONIC}.{key}" if name == CHRONIC else key
                total[label] = total.get(label, 0) + int(v)
    problems = []
    for row in opening.iter_rows(named=True):
        total = sums.get((row["person_id"], row["year"]), {})
        wrong = [k for k, v in row.items() if k not in KEY and int(v) != total.get(k, 0)]
        wrong += [k for k in total if k not in row and total[k] != 0]
        if wrong:
            problems.append(Problem(
                "ACCUMULATORS_DIFFER", "累计与记账不符 / the stored accumulators "
                f"({', '.join(wrong)}) are not the sum of the person-year's postings; "
                "nothing was posted",
                f"person {row['person_id']} year {row['year']}", wrong[0]))
    if problems:
        raise InputError(problems[:SHOWN])


def _check_order(conn: Connection, ids: Query, year: int, claims: pl.DataFrame,
                 opening: pl.DataFrame) -> None:
    """Each unposted claim of a person-year with live postings must come after its last
    posted claim in (settle_date, claim_id) order."""
    if opening.height == 0:
        return
    reversal = Posting.__table__.alias("reversal")
    last = frame(conn, select(Posting.person_id, Claim.settle_date, Claim.claim_id)
                 .join(Claim, Claim.claim_id == Posting.claim_id)
                 .where(Posting.kind == SETTLEMENT, Posting.year == year,
                        Posting.person_id.in_(ids),
                        ~exists().where(reversal.c.claim_id == Posting.claim_id,
                                        reversal.c.kind == REVERSAL)),
                 {"person_id": pl.String, "last_date": pl.Date, "last_claim": pl.String})
    last = last.sort("last_date", "last_claim").group_by("person_id").last()
    early = (claims.select("person_id", "settle_date", "claim_id").join(last, on="person_id")
             .filter((pl.col("settle_date") < pl.col("last_date"))
                     | ((pl.col("settle_date") == pl.col("last_date"))
                        & (pl.col("claim_id") < pl.col("last_claim"))))
             .sort("person_id", "settle_date", "claim_id"))
    if early.height:
        raise InputError([Problem(
            "POST_OUT_OF_ORDER", f"费用早于已结算费用 / claim {c} ({d}) comes before claim {lc} "
            f"({ld}), already settled online; settle it online (yibao resettle will list it) "
            "or reverse the later claims first; nothing was posted",
            f"person {p} year {year}", "settle_date")
            for p, d, c, ld, lc in early.head(SHOWN).iter_rows()])


# --- writing -------------------------------------------------------------------------------


def _postings(region: str, username: str, results: pl.DataFrame, steps: pl.DataFrame,
              claims: pl.DataFrame) -> pl.DataFrame:
    """The posting rows in (settle_date, claim_id) order, with ``deltas`` as JSON text in
    online's shape: every accumulator, and ``chronic_raw`` naming the one disease a chronic
    claim added to (empty when it added nothing)."""
    codes = {d: json.dumps(d) for d in steps["chronic_disease"].drop_nulls().unique()}
    chronic = pl.when(pl.col(CHRONIC) != 0).then(pl.concat_str(
        pl.lit("{"), pl.col("chronic_disease").replace_strict(codes, default="\"\""),
        pl.lit(": "), pl.col(CHRONIC).cast(pl.String), pl.lit("}"))).otherwise(pl.lit("{}"))
    parts: list[pl.Expr] = []
    for i, name in enumerate(ACCUMULATORS):
        parts += [pl.lit(("{" if i == 0 else ", ") + f"\"{name}\": "),
                  pl.col(name).cast(pl.String)]
    deltas_json = pl.concat_str(*parts, pl.lit(f", \"{CHRONIC}\": "), chronic, pl.lit("}"))
    return (results.hstack([claims["settle_date"]])
            .join(steps.select("claim_id", deltas_json.alias("deltas")), on="claim_id",
                  maintain_order="left")
            .sort("settle_date", "claim_id")
            .select("claim_id", pl.lit(SETTLEMENT).alias("kind"), "person_id", "year",
                    pl.lit(region).alias("region"), *RESULT_COLUMNS[3:], "deltas",
                    pl.lit(now(), pl.Datetime("us", "UTC")).alias("created_at"),
                    pl.lit(username).alias("created_by")))


def _forget_terms(conn: Connection, year: int, ids: Query, write: Callable[[], None]) -> None:
    """Run ``write`` (the postings' insert) with the effect of the posting trigger, done once
    for the batch instead of once per row: the year marked settled and the persons' stored
    terms of later years forgotten. Per row, on PostgreSQL it takes an advisory lock per
    person, which a city's batch would run out of (max_locks_per_transaction), and on SQLite
    it doubles the insert's time. The trigger is off only inside this transaction, under the
    lock on postings taken at its start (PostgreSQL: ALTER TABLE … DISABLE TRIGGER; SQLite:
    dropped and created again from its own stored text)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ALTER TABLE postings DISABLE TRIGGER {POSTING_TRIGGER}")
        write()
        conn.exec_driver_sql(f"ALTER TABLE postings ENABLE TRIGGER {POSTING_TRIGGER}")
        mark: Any = postgresql.insert(SettledYear)
    else:
        trigger = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                       f"AND name = '{POSTING_TRIGGER}'").scalar_one()
        conn.exec_driver_sql(f"DROP TRIGGER {POSTING_TRIGGER}")
        write()
        conn.exec_driver_sql(trigger)
        mark = sqlite.insert(SettledYear)
    conn.execute(mark.values(year=year).on_conflict_do_nothing())
    conn.execute(delete(PersonYearTerms).where(PersonYearTerms.year > year,
                                               PersonYearTerms.person_id.in_(ids)))


def _accumulators(conn: Connection, closing: pl.DataFrame, opening: pl.DataFrame) -> int:
    """Insert the new person-years' closing accumulators, update the continued ones (their
    chronic sums merged over the stored ones, as online does); the count updated."""
    chronic = [c for c in closing.columns if c.startswith(f"{CHRONIC}.")]
    as_json = (pl.struct(pl.col(c).alias(c.removeprefix(f"{CHRONIC}.")) for c in chronic)
               .struct.json_encode() if chronic else pl.lit("{}"))
    rows = closing.select(*KEY, *ACCUMULATORS, as_json.alias(CHRONIC))
    old = rows.join(opening.select(KEY), on=KEY, how="semi")
    bulk_insert(conn, "accumulators", rows.join(opening.select(KEY), on=KEY, how="anti"))
    if old.height:
        held = {(p, y): dict(raw or {}) for p, y, raw in conn.execute(
            select(Accumulator.person_id, Accumulator.year, Accumulator.chronic_raw).where(
                Accumulator.person_id.in_(old["person_id"].to_list())))}
        names = [*ACCUMULATORS, CHRONIC]
        conn.execute(sql_update(Accumulator).where(and_(
            Accumulator.person_id == bindparam("p"), Accumulator.year == bindparam("y")))
            .values({name: bindparam(f"v_{name}") for name in names}),
            [{"p": r["person_id"], "y": r["year"],
              **{f"v_{a}": r[a] for a in ACCUMULATORS},
              f"v_{CHRONIC}": {**held.get((r["person_id"], r["year"]), {}),
                               **json.loads(r[CHRONIC])}} for r in old.iter_rows(named=True)])
    return old.height


__all__ = ["PostReport", "post_year"]
