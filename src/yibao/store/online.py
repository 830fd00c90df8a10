"""Online settlement (结算/预结算/冲销) against the store, one claim at a time.

Online settlement is the batch kernel run on the one claim with the person-year's
opening accumulators, read under a lock in the same transaction (a row lock on
PostgreSQL; SQLite takes the database write lock at BEGIN). The posting records
what the claim consumed from each accumulator, so a reversal gives back exactly
that and settles nothing else again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.engine.explain import Explanation, explain_claim
from yibao.engine.kernel import ACCUMULATORS
from yibao.engine.person_years import settle_claims
from yibao.engine.settlement import RESULT_COLUMNS
from yibao.errors import InputError, Problem, YibaoError
from yibao.io import CLAIMS, records_frame
from yibao.policy import Policy
from yibao.store.audit import audit, now
from yibao.store.frames import (
    claim_values,
    claims_frame,
    closing_values,
    history_frame,
    load_person,
    opening_frame,
)
from yibao.store.models import Accumulator, Claim, Posting

SETTLEMENT, REVERSAL = "settlement", "reversal"
AMOUNTS = ["policy_scope", "deductible", "basic", "major", "assistance", "oop"]


class ConflictError(YibaoError):
    """The request contradicts what the store already holds (HTTP 409)."""


class NotFoundError(YibaoError):
    """No such claim or settlement (HTTP 404)."""


def _problem(cls: type[YibaoError], code: str, message: str, field: str = "",
             record: str = "") -> YibaoError:
    return cls([Problem(code, message, record, field)])


@dataclass
class Outcome:
    """A settlement result row (SPEC §5 columns, money in fen) and how it came about."""

    row: dict[str, Any]
    replayed: bool = False
    explanation: Explanation | None = None


def validate_claim(body: Mapping[str, Any]) -> pl.DataFrame:
    """The request's claim, validated exactly as a file row (errors point at ``/claim``)."""
    return records_frame([body], CLAIMS, "/claim")


def _lock(session: Session, person_id: str, year: int) -> Accumulator:
    """The person-year's accumulator row, created if new, locked until the transaction ends."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(Accumulator).values(
        person_id=person_id, year=year, chronic_raw={},
        **dict.fromkeys(ACCUMULATORS, 0)).on_conflict_do_nothing())
    query = select(Accumulator).where(Accumulator.person_id == person_id,
                                      Accumulator.year == year)
    if dialect == "postgresql":
        query = query.with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one()


def _posting_row(p: Posting) -> dict[str, Any]:
    row = {c: getattr(p, c) for c in RESULT_COLUMNS}
    return row


class SettlementService:
    """Settle, preview and reverse claims under one region's policy."""

    def __init__(self, policy: Policy):
        self.policy = policy

    def _compute(self, session: Session, claim: pl.DataFrame, acc: Accumulator | None,
                 explain: bool) -> tuple[Any, Explanation | None]:
        values = claim_values(claim)
        person_id, year = values["person_id"], values["settle_date"].year
        persons, enrollments = load_person(session, person_id)
        if persons.height == 0:
            raise _problem(InputError, "UNKNOWN_PERSON",
                           f"person_id {person_id!r} is not in the store", "person_id", "/claim")
        history = history_frame(session, person_id, year)
        opening = opening_frame(acc) if acc is not None else None
        run = settle_claims(self.policy, persons, enrollments, claim, history=history,
                            opening=opening)
        explanation = None
        if explain:
            explanation = explain_claim(self.policy, persons, enrollments, claim,
                                        values["claim_id"], history=history, opening=opening)
        return run, explanation

    def preview(self, session: Session, body: Mapping[str, Any], explain: bool = False) -> Outcome:
        """预结算: what settling the claim now would give; nothing is written."""
        claim = validate_claim(body)
        values = claim_values(claim)
        acc = session.get(Accumulator, (values["person_id"], values["settle_date"].year))
        run, explanation = self._compute(session, claim, acc, explain)
        return Outcome(run.results.row(0, named=True), explanation=explanation)

    def settle(self, session: Session, body: Mapping[str, Any], username: str,
               explain: bool = False) -> Outcome:
        """结算: settle and post the claim; the same claim twice returns the first posting."""
        claim = validate_claim(body)
        values = claim_values(claim)
        acc = _lock(session, values["person_id"], values["settle_date"].year)
        stored = session.get(Claim, values["claim_id"])
        posted = session.scalars(select(Posting).where(
            Posting.claim_id == values["claim_id"])).all()
        if stored is not None and claim_values(claims_frame([stored])) != values:
            raise _problem(ConflictError, "CLAIM_CONFLICT",
                           f"claim {values['claim_id']} is already held with other values",
                           "claim_id", "/claim")
        if any(p.kind == REVERSAL for p in posted):
            raise _problem(ConflictError, "CLAIM_REVERSED",
                           f"claim {values['claim_id']} was settled and reversed; "
                           "resubmit it under a new claim_id", "claim_id", "/claim")
        if posted:
            return Outcome(_posting_row(posted[0]), replayed=True)
        run, explanation = self._compute(session, claim, acc, explain)
        row = run.results.row(0, named=True)
        before = {name: int(getattr(acc, name)) for name in ACCUMULATORS}
        chronic_before = dict(acc.chronic_raw or {})
        after, chronic_after = closing_values(run.closing)
        deltas: dict[str, Any] = {name: after[name] - before[name] for name in ACCUMULATORS}
        deltas["chronic_raw"] = {code: v - int(chronic_before.get(code, 0))
                                 for code, v in chronic_after.items()
                                 if v != int(chronic_before.get(code, 0))}
        if stored is None:
            session.add(Claim(**values))
        session.add(Posting(kind=SETTLEMENT, region=self.policy.region, deltas=deltas,
                            created_at=now(), created_by=username, **row))
        for name in ACCUMULATORS:
            setattr(acc, name, after[name])
        acc.chronic_raw = {**chronic_before, **chronic_after}
        audit(session, username, "settle", values["claim_id"],
              {k: row[k] for k in ("basic", "major", "assistance", "oop")})
        try:
            session.flush()
        except IntegrityError as exc:  # the same claim_id posted at once for another person
            raise _problem(ConflictError, "CLAIM_CONFLICT",
                           f"claim {values['claim_id']} is being settled with other values",
                           "claim_id", "/claim") from exc
        return Outcome(row, explanation=explanation)

    def reverse(self, session: Session, claim_id: str, username: str) -> Outcome:
        """冲销: post the negation of the claim's settlement and give back what it consumed."""
        first = session.scalars(select(Posting).where(
            Posting.claim_id == claim_id, Posting.kind == SETTLEMENT)).first()
        if first is None:
            raise _problem(NotFoundError, "NOT_SETTLED", f"claim {claim_id} is not settled",
                           "claim_id")
        acc = _lock(session, first.person_id, first.year)
        # re-read under the lock: a concurrent reversal of the same claim has committed by now
        posted = {p.kind: p for p in session.scalars(
            select(Posting).where(Posting.claim_id == claim_id)
            .execution_options(populate_existing=True)).all()}
        if REVERSAL in posted:
            return Outcome(_posting_row(posted[REVERSAL]), replayed=True)
        original = posted[SETTLEMENT]
        deltas = dict(original.deltas)
        chronic = dict(acc.chronic_raw or {})
        for code, v in deltas.pop("chronic_raw", {}).items():
            chronic[code] = int(chronic.get(code, 0)) - int(v)
        for name in ACCUMULATORS:
            setattr(acc, name, int(getattr(acc, name)) - int(deltas[name]))
        acc.chronic_raw = chronic
        row = _posting_row(original)
        for k in AMOUNTS:
            row[k] = -row[k]
        session.add(Posting(kind=REVERSAL, region=original.region,
                            deltas={k: -v if isinstance(v, int) else {c: -x for c, x in v.items()}
                                    for k, v in original.deltas.items()},
                            created_at=now(), created_by=username, **row))
        audit(session, username, "reverse", claim_id, {"basic": -original.basic})
        return Outcome(row)

    def settled(self, session: Session, claim_id: str) -> tuple[Claim, Posting]:
        claim = session.get(Claim, claim_id)
        posting = session.scalars(select(Posting).where(
            Posting.claim_id == claim_id, Posting.kind == SETTLEMENT)).first()
        if claim is None or posting is None:
            raise _problem(NotFoundError, "NOT_SETTLED", f"claim {claim_id} is not settled",
                           "claim_id")
        return claim, posting

    def explanation(self, session: Session, claim_id: str) -> Explanation:
        """The settled claim explained: its person-year's settled claims re-run in order."""
        claim, posting = self.settled(session, claim_id)
        if session.scalars(select(Posting.id).where(
                Posting.claim_id == claim_id, Posting.kind == REVERSAL)).first() is not None:
            raise _problem(ConflictError, "CLAIM_REVERSED",
                           f"claim {claim_id} was reversed; nothing to explain", "claim_id")
        year = posting.year
        persons, enrollments = load_person(session, claim.person_id)
        live = session.scalars(
            select(Claim).join(Posting, Posting.claim_id == Claim.claim_id).where(
                Posting.person_id == claim.person_id, Posting.year == year,
                Posting.kind == SETTLEMENT,
                ~Posting.claim_id.in_(select(Posting.claim_id).where(
                    Posting.kind == REVERSAL)))).all()
        claims = claims_frame(live or [claim])
        return explain_claim(self.policy, persons, enrollments, claims, claim_id,
                             history=history_frame(session, claim.person_id, year))


__all__ = ["ConflictError", "NotFoundError", "Outcome", "SettlementService"]
