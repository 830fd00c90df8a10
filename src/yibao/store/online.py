"""Online settlement (结算/预结算/冲销) against the store, one claim at a time.

Online settlement is the batch kernel (``engine.settlement.settle``) run on the one claim
with the person-year's opening accumulators and stored terms (benefit start, effective
major-illness cap: ``yibao.store.terms``), both read in one statement under a lock in the same
transaction (a row lock on PostgreSQL; SQLite takes the database write lock at BEGIN). The
posting records what the claim consumed from each accumulator, so a reversal gives back
exactly that and settles nothing else again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.engine.explain import Explanation, explain_claim
from yibao.engine.kernel import ACCUMULATORS
from yibao.engine.settlement import RESULT_COLUMNS
from yibao.engine.single import OneSettled, PersonYear, enrolled_in, settle_one
from yibao.errors import InputError, Problem, YibaoError
from yibao.policy import Policy
from yibao.store.audit import audit, entry, now
from yibao.store.claim_input import claim_frame, claim_row
from yibao.store.frames import (
    claim_values,
    claims_frame,
    history_frame,
    load_person,
    opening_frame,
    split_codes,
)
from yibao.store.models import (
    Accumulator,
    AuditEntry,
    Claim,
    Enrollment,
    Person,
    PersonYearTerms,
    Posting,
)
from yibao.store.terms import Terms, current, policy_key, work_out_one

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


def _lock(session: Session, person_id: str, year: int, key: str
          ) -> tuple[Accumulator, Terms | None]:
    """The person-year's accumulator row, created if new, locked until the transaction ends;
    and its stored terms under the policy ``key``, read in the same statement."""
    pg = session.get_bind().dialect.name == "postgresql"
    query = (select(Accumulator, PersonYearTerms.person_id, PersonYearTerms.benefit_start,
                    PersonYearTerms.major_cap)
             .outerjoin(PersonYearTerms, and_(PersonYearTerms.person_id == Accumulator.person_id,
                                              PersonYearTerms.year == Accumulator.year,
                                              PersonYearTerms.policy == key,
                                              PersonYearTerms.settled_before == current(year)))
             .where(Accumulator.person_id == person_id, Accumulator.year == year)
             .execution_options(populate_existing=True))
    if pg:
        query = query.with_for_update(of=Accumulator)
    row = session.execute(query).first()
    if row is None:
        insert = postgresql.insert if pg else sqlite.insert
        session.execute(insert(Accumulator).values(
            person_id=person_id, year=year, chronic_raw={},
            **dict.fromkeys(ACCUMULATORS, 0)).on_conflict_do_nothing())
        row = session.execute(query).one()
    acc, held, start, cap = row
    return acc, (Terms(start, cap) if held is not None else None)


def _stored_terms(session: Session, person_id: str, year: int, key: str) -> Terms | None:
    held = session.execute(select(PersonYearTerms.benefit_start, PersonYearTerms.major_cap).where(
        PersonYearTerms.person_id == person_id, PersonYearTerms.year == year,
        PersonYearTerms.policy == key, PersonYearTerms.settled_before == current(year))).first()
    return None if held is None else Terms(*held)


def _post(session: Session, claim: dict[str, Any] | None, posting: dict[str, Any],
          acc: Accumulator, accumulators: dict[str, Any], log: dict[str, Any]) -> None:
    """Write a settlement: the claim (if new), its posting, the audit entry and the
    person-year's new accumulators; on PostgreSQL in one statement (one round trip)."""
    writes = [] if claim is None else [insert(Claim).values(**claim)]
    writes += [insert(Posting).values(**posting), insert(AuditEntry).values(**log)]
    update_acc = (update(Accumulator).where(Accumulator.person_id == acc.person_id,
                                            Accumulator.year == acc.year)
                  .values(**accumulators).execution_options(synchronize_session=False))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(update_acc.add_cte(*(w.cte(f"write_{i}") for i, w in enumerate(writes))))
    else:
        for statement in [*writes, update_acc]:
            session.execute(statement)
    session.expire(acc)


def _posting_row(p: Posting) -> dict[str, Any]:
    row = {c: getattr(p, c) for c in RESULT_COLUMNS}
    return row


class SettlementService:
    """Settle, preview and reverse claims under one region's policy."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.key = policy_key(policy)

    def _person(self, session: Session, person_id: str, year: int, acc: Accumulator | None,
                terms: Terms) -> PersonYear:
        """What the kernel needs of the person-year (the person, whether enrolled in the
        region that year, stored terms, opening accumulators), in one query."""
        rows = session.execute(
            select(Person, Enrollment.scheme, Enrollment.region).outerjoin(Enrollment, and_(
                Enrollment.person_id == Person.person_id, Enrollment.year == year))
            .where(Person.person_id == person_id)).all()
        if not rows:
            raise _problem(InputError, "UNKNOWN_PERSON",
                           f"person_id {person_id!r} is not in the store", "person_id", "/claim")
        person = rows[0][0]
        opening = [0] * len(ACCUMULATORS) if acc is None else [
            int(getattr(acc, name)) for name in ACCUMULATORS]
        return PersonYear(split_codes(person.categories), split_codes(person.chronic),
                          person.death_date,
                          enrolled_in(self.policy, [(r[1], r[2]) for r in rows]),
                          terms.benefit_start, terms.major_cap, opening,
                          {} if acc is None else dict(acc.chronic_raw or {}))

    def _compute(self, session: Session, values: dict[str, Any], acc: Accumulator | None,
                 terms: Terms | None, explain: bool) -> tuple[OneSettled, Explanation | None]:
        """The kernel on the one claim (``engine.single``): the person-year's stored terms
        (worked out now if the store has none) and opening accumulators, as a batch run
        would give them."""
        person_id, year = values["person_id"], values["settle_date"].year
        if terms is None:
            terms = work_out_one(session, self.policy, self.key, person_id, year)
        run = settle_one(self.policy, values, self._person(session, person_id, year, acc, terms))
        explanation = None
        if explain:
            persons, enrollments = load_person(session, person_id)
            explanation = explain_claim(self.policy, persons, enrollments, claim_frame(values),
                                        values["claim_id"],
                                        history=history_frame(session, person_id, year),
                                        opening=opening_frame(acc) if acc is not None else None)
        return run, explanation

    def preview(self, session: Session, body: Mapping[str, Any], explain: bool = False) -> Outcome:
        """预结算: what settling the claim now would give; nothing is written."""
        values = claim_row(body)
        person_id, year = values["person_id"], values["settle_date"].year
        acc = session.get(Accumulator, (person_id, year))
        terms = _stored_terms(session, person_id, year, self.key)
        run, explanation = self._compute(session, values, acc, terms, explain)
        return Outcome(run.row, explanation=explanation)

    def settle(self, session: Session, body: Mapping[str, Any], username: str,
               explain: bool = False) -> Outcome:
        """结算: settle and post the claim; the same claim twice returns the first posting."""
        values = claim_row(body)
        acc, terms = _lock(session, values["person_id"], values["settle_date"].year, self.key)
        held = session.execute(select(Claim, Posting).outerjoin(
            Posting, Posting.claim_id == Claim.claim_id).where(
            Claim.claim_id == values["claim_id"])).all()
        stored = held[0][0] if held else None
        posted = [p for _, p in held if p is not None]
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
        run, explanation = self._compute(session, values, acc, terms, explain)
        row = run.row
        before = {name: int(getattr(acc, name)) for name in ACCUMULATORS}
        chronic_before = dict(acc.chronic_raw or {})
        after, chronic_after = run.closing, run.chronic_raw
        deltas: dict[str, Any] = {name: after[name] - before[name] for name in ACCUMULATORS}
        deltas["chronic_raw"] = {code: v - int(chronic_before.get(code, 0))
                                 for code, v in chronic_after.items()
                                 if v != int(chronic_before.get(code, 0))}
        accumulators = {**after, "chronic_raw": {**chronic_before, **chronic_after}}
        posting = {"kind": SETTLEMENT, "region": self.policy.region, "deltas": deltas,
                   "created_at": now(), "created_by": username, **row}
        log = entry(username, "settle", values["claim_id"],
                    {k: row[k] for k in ("basic", "major", "assistance", "oop")})
        try:
            _post(session, None if stored is not None else values, posting, acc, accumulators,
                  log)
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
        acc, _ = _lock(session, first.person_id, first.year, self.key)
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
