"""参保人 pages: search, and one person's enrolments, financing, accumulators, cap and claims.

Every figure comes from the API's own functions (``yibao.api.persons``) called with the
console user, so roles, masking and the audit of an unmasked 身份证号 are the API's; the cap
ladder is the engine's ``incentives.ladder`` on the store's history.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from yibao.api import persons as api
from yibao.api.deps import IdPath, SessionDep, StateDep
from yibao.engine.enrollment import build_history
from yibao.engine.incentives import ladder
from yibao.errors import PolicyError, YibaoError
from yibao.io import mask_id_number
from yibao.io.report import scrub
from yibao.io.schemas import MAX_YEAR, MIN_YEAR
from yibao.money import fen_to_yuan
from yibao.policy import Policy
from yibao.store.auth import FINANCE_ROLES, may_unmask
from yibao.store.frames import history_frame, load_person
from yibao.store.models import Claim, Posting, User
from yibao.web.render import render
from yibao.web.search import search_persons
from yibao.web.session import ConsoleUser

router = APIRouter()


@router.get("/persons")
def person_search(request: Request, session: SessionDep, user: ConsoleUser,
                  q: Annotated[str, Query(max_length=64)] = "") -> Response:
    found = search_persons(session, q)
    rows = [{"person": p, "id_number": mask_id_number(p.id_number) if p.id_number else ""}
            for p in found]
    # a full 身份证号 typed in is echoed masked: the page never shows one to any role
    return render(request, "persons.html", {"q": scrub(q), "searched": bool(q), "rows": rows})


def cap_ladder(policy: Policy, session: Session, person_id: str, year: int) -> list[dict[str, Any]]:
    """The effective major-illness cap year by year (SPEC §5.4) as the engine computes it."""
    persons, enrols = load_person(session, person_id)
    if enrols.height == 0:
        return []
    history = build_history(persons, enrols, history_frame(session, person_id, year),
                            through=year)
    try:
        steps = ladder(policy, history, 0, year)
    except PolicyError:
        return []
    return [{"year": t.year, "consecutive": int(t.consecutive[0]),
             "continuity": fen_to_yuan(int(t.continuity[0])),
             "zero_claim_years": int(t.zero_claim_years[0]),
             "zero_claim": fen_to_yuan(int(t.zero_claim[0])), "base": fen_to_yuan(t.base_cap),
             "after_break": bool(t.after_break[0]), "cap": fen_to_yuan(int(t.cap[0])),
             "enrolled": bool(t.enrolled[0])} for t in steps]


def person_claims(session: Session, user: User, person_id: str) -> list[dict[str, Any]]:
    """The person's claims (a clerk: those of their facility) with their posting status."""
    query = select(Claim).where(Claim.person_id == person_id)
    if user.role == "clerk":
        query = query.where(Claim.facility_id == (user.facility_id or ""))
    claims = list(session.scalars(query.order_by(Claim.settle_date, Claim.claim_id)))
    kinds: dict[str, set[str]] = {}
    for claim_id, kind in session.execute(select(Posting.claim_id, Posting.kind).where(
            Posting.person_id == person_id)):
        kinds.setdefault(claim_id, set()).add(kind)
    return [{"claim": c, "total": fen_to_yuan(c.total), "status": status_of(kinds.get(c.claim_id))}
            for c in claims]


def status_of(kinds: set[str] | None) -> str:
    if not kinds:
        return "未结算"
    return "已冲销" if "reversal" in kinds else "已结算"


@router.get("/persons/{person_id}")
def person_page(request: Request, person_id: IdPath, session: SessionDep, user: ConsoleUser,
                state: StateDep,
                year: Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR)] = None,
                unmasked: bool = False) -> Response:
    person = api.get_person(person_id, session, user, unmasked)
    enrolments = api.enrollments(person_id, session, user, state)
    years = sorted({e.year for e in enrolments}, reverse=True)
    chosen = year or (years[0] if years else dt.date.today().year)
    financing: list[Any] | None = None
    financing_error = ""
    if user.role in FINANCE_ROLES:
        try:
            financing = api.financing(person_id, chosen, session, user, state)
        except YibaoError as exc:
            financing, financing_error = [], exc.problems[0].message
    return render(request, "person.html", {
        "person": person, "enrolments": enrolments, "years": years, "year": chosen,
        "financing": financing, "financing_error": financing_error,
        "acc": api.accumulators(person_id, chosen, session, user),
        "ladder": cap_ladder(state.policy, session, person_id, chosen),
        "claims": person_claims(session, user, person_id),
        "may_unmask": may_unmask(user)})
