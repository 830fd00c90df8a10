"""Online settlement (结算/预结算/冲销) against the store, one claim at a time.

Online settlement is the batch kernel (``engine.settlement.settle``) run on the one claim
with the person-year's opening accumulators and stored terms (benefit start, effective
major-illness cap: ``yibao.store.terms``), both read in one statement under a lock in the same
transaction (a row lock on PostgreSQL; SQLite takes the database write lock at BEGIN). The
rows are read and written by the statements of ``yibao.store.online_sql``, in one round trip
for the reads and one for the writes. The posting records what the claim consumed from each
accumulator, so a reversal gives back exactly that and settles nothing else again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.engine.explain import Explanation, explain_claim
from yibao.engine.kernel import ACCUMULATORS
from yibao.engine.single import OneSettled, PersonYear, enrolled_in, settle_one
from yibao.errors import InputError, Problem, YibaoError
from yibao.policy import Policy
from yibao.store.audit import entry, now
from yibao.store.auth import checked_user, token_hash, user_for_token
from yibao.store.claim_input import claim_frame, claim_row
from yibao.store.frames import (
    claims_frame,
    history_frame,
    load_person,
    opening_frame,
    split_codes,
)
from yibao.store.models import Claim, Posting, User
from yibao.store.online_sql import Driver, Held, read, settled_key, write
from yibao.store.terms import NOT_ENROLLED, Terms, policy_key, work_out_one

SETTLEMENT, REVERSAL = "settlement", "reversal"
AMOUNTS = ["policy_scope", "deductible", "basic", "major", "assistance", "oop"]
#: A write refused by a unique key (the same claim_id posted at once), either database.
_DUPLICATE = (psycopg.IntegrityError, sqlite3.IntegrityError)


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


@dataclass(frozen=True)
class Caller:
    """A caller known by a login token, checked in the settlement's first round trip;
    ``authorise`` refuses the user (role, facility) before anything is written."""

    token: str
    authorise: Callable[[User], None]

    def user(self, row: tuple[Any, ...] | None, driver: Driver) -> User:
        found = None if row is None else (driver.time_out(row[0]), User(
            username=row[1], role=row[2], facility_id=row[3], active=bool(row[4])))
        user = checked_user(found)
        self.authorise(user)
        return user


class SettlementService:
    """Settle, preview and reverse claims under one region's policy."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.key = policy_key(policy)

    def _person(self, held: Held, person_id: str, terms: Terms) -> PersonYear:
        """What the kernel needs of the person-year (the person, whether enrolled in the
        region that year, stored terms, opening accumulators), as read."""
        if held.person is None:
            raise _problem(InputError, "UNKNOWN_PERSON",
                           f"person_id {person_id!r} is not in the store", "person_id", "/claim")
        categories, chronic, death_date = held.person
        return PersonYear(split_codes(categories), split_codes(chronic), death_date,
                          enrolled_in(self.policy, held.enrolments),
                          terms.benefit_start, terms.major_cap, held.opening.values,
                          held.opening.chronic_raw)

    def _compute(self, session: Session, values: dict[str, Any], held: Held,
                 explain: bool) -> tuple[OneSettled, Explanation | None]:
        """The kernel on the one claim (``engine.single``): the person-year's stored terms
        (none when the person has no resident enrolment in the region that year, as
        ``person_year_terms`` would find; worked out now if the store has none) and opening
        accumulators, as a batch run would give them."""
        person_id, year = values["person_id"], values["settle_date"].year
        terms = (Terms(*held.terms) if held.terms is not None
                 else NOT_ENROLLED if not enrolled_in(self.policy, held.enrolments)
                 else work_out_one(session, self.policy, self.key, person_id, year))
        run = settle_one(self.policy, values, self._person(held, person_id, terms))
        explanation = None
        if explain:
            opening = held.opening
            persons, enrollments = load_person(session, person_id)
            explanation = explain_claim(
                self.policy, persons, enrollments, claim_frame(values), values["claim_id"],
                history=history_frame(session, person_id, year),
                opening=opening_frame(person_id, year, opening.values, opening.chronic_raw)
                if opening.stored else None)
        return run, explanation

    def preview(self, session: Session, body: Mapping[str, Any], explain: bool = False) -> Outcome:
        """预结算: what settling the claim now would give; nothing is written."""
        values = claim_row(body)
        held = read(Driver(session), values["person_id"], values["settle_date"].year, self.key,
                    None, lock=False)
        run, explanation = self._compute(session, values, held, explain)
        return Outcome(run.row, explanation=explanation)

    def settle(self, session: Session, body: Mapping[str, Any], username: str = "",
               explain: bool = False, *, caller: Caller | None = None,
               commit: bool = False) -> Outcome:
        """结算: settle and post the claim; the same claim twice returns the first posting.

        Posted by ``username``, or by the ``caller`` whose token the first round trip checks;
        with ``commit``, COMMIT goes with the writes (the session's transaction ends)."""
        try:
            values = claim_row(body)
        except InputError:
            if caller is not None:  # a bad token is told before a bad claim
                caller.authorise(user_for_token(session, caller.token))
            raise
        person_id, year = values["person_id"], values["settle_date"].year
        driver = Driver(session)
        held = read(driver, person_id, year, self.key, values["claim_id"], lock=True,
                    token_hash=None if caller is None else token_hash(caller.token))
        if caller is not None:
            username = caller.user(held.token, driver).username
        stored = held.claim
        if stored is not None and stored != values:
            raise _problem(ConflictError, "CLAIM_CONFLICT",
                           f"claim {values['claim_id']} is already held with other values",
                           "claim_id", "/claim")
        kinds = {kind: row for kind, _, _, row in held.postings}
        if REVERSAL in kinds:
            raise _problem(ConflictError, "CLAIM_REVERSED",
                           f"claim {values['claim_id']} was settled and reversed; "
                           "resubmit it under a new claim_id", "claim_id", "/claim")
        if SETTLEMENT in kinds:
            return Outcome(kinds[SETTLEMENT], replayed=True)
        run, explanation = self._compute(session, values, held, explain)
        row = run.row
        before, chronic_before = held.opening.values, held.opening.chronic_raw
        after, chronic_after = run.closing, run.chronic_raw
        deltas: dict[str, Any] = {name: after[name] - before[i]
                                  for i, name in enumerate(ACCUMULATORS)}
        deltas["chronic_raw"] = {code: v - chronic_before.get(code, 0)
                                 for code, v in chronic_after.items()
                                 if v != chronic_before.get(code, 0)}
        posting = {**row, "kind": SETTLEMENT, "region": self.policy.region, "deltas": deltas,
                   "created_at": now(), "created_by": username}
        log = entry(username, "settle", values["claim_id"],
                    {k: row[k] for k in ("basic", "major", "assistance", "oop")})
        try:
            write(driver, claim=None if stored is not None else values, posting=posting,
                  log=log, person_id=person_id, year=year,
                  accumulators=[after[name] for name in ACCUMULATORS],
                  chronic_raw={**chronic_before, **chronic_after}, commit=commit)
        except _DUPLICATE as exc:  # the same claim_id posted at once for another person
            raise _problem(ConflictError, "CLAIM_CONFLICT",
                           f"claim {values['claim_id']} is being settled with other values",
                           "claim_id", "/claim") from exc
        return Outcome(row, explanation=explanation)

    def reverse(self, session: Session, claim_id: str, username: str) -> Outcome:
        """冲销: post the negation of the claim's settlement and give back what it consumed."""
        driver = Driver(session)
        key = settled_key(driver, claim_id, SETTLEMENT)
        if key is None:
            raise _problem(NotFoundError, "NOT_SETTLED", f"claim {claim_id} is not settled",
                           "claim_id")
        person_id, year = key
        # read under the lock: a concurrent reversal of the same claim has committed by now
        held = read(driver, person_id, year, self.key, claim_id, lock=True)
        posted = {kind: (region, deltas, row) for kind, region, deltas, row in held.postings}
        if REVERSAL in posted:
            return Outcome(posted[REVERSAL][2], replayed=True)
        region, deltas, original = posted[SETTLEMENT]
        chronic = dict(held.opening.chronic_raw)
        for code, v in deltas.get("chronic_raw", {}).items():
            chronic[code] = chronic.get(code, 0) - int(v)
        accumulators = [held.opening.values[i] - int(deltas[name])
                        for i, name in enumerate(ACCUMULATORS)]
        row = dict(original)
        for k in AMOUNTS:
            row[k] = -row[k]
        negated = {k: -v if isinstance(v, int) else {c: -x for c, x in v.items()}
                   for k, v in deltas.items()}
        posting = {**row, "kind": REVERSAL, "region": region, "deltas": negated,
                   "created_at": now(), "created_by": username}
        write(driver, claim=None, posting=posting,
              log=entry(username, "reverse", claim_id, {"basic": -original["basic"]}),
              person_id=person_id, year=year, accumulators=accumulators, chronic_raw=chronic,
              commit=False)
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


__all__ = ["Caller", "ConflictError", "NotFoundError", "Outcome", "SettlementService"]
