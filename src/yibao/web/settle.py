"""结算 pages: pick or enter a claim, preview (预结算), settle (结算), reverse (冲销), and the
one-stop breakdown with the explanation of every figure.

Each action calls the API's own route function (``yibao.api.settlements``) with the console
user, so the role and facility checks, idempotency, posting and audit are the API's. A clerk
sees and opens only claims of their own facility (``require_facility``, as the API).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from yibao.api import settlements as api
from yibao.api.deps import IdPath, SessionDep, StateDep
from yibao.api.errors import bilingual, validation_problems
from yibao.api.errors import status_of as api_status
from yibao.api.models import ClaimIn, SettlementRequest
from yibao.errors import Problem, YibaoError, fail
from yibao.io import CLAIMS
from yibao.money import fen_to_yuan
from yibao.store.auth import WRITE_ROLES, require_facility
from yibao.store.models import Claim, Posting, User
from yibao.store.online import REVERSAL, SETTLEMENT, NotFoundError
from yibao.web.persons import status_of
from yibao.web.render import render
from yibao.web.session import PATH, ConsoleUser, require_csrf

router = APIRouter()
LIST_LIMIT = 50
MONEY = ("total", "self_pay", "class_b_self_pay")
OPTIONAL = ("chronic_disease", "maternity_kind", "procedure", "procedure_kind")
STATUSES = ("open", "settled", "all")


def claim_body(claim: Claim) -> dict[str, Any]:
    """A stored claim as the API's request body (yuan strings, ISO dates, no empty options)."""
    body: dict[str, Any] = {}
    for name in CLAIMS.names:
        value = getattr(claim, name)
        if value is None:
            continue
        body[name] = (fen_to_yuan(value) if name in MONEY
                      else value.isoformat() if hasattr(value, "isoformat") else value)
    return body


def _stored(session: Session, user: User, claim_id: str) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise fail(NotFoundError, "UNKNOWN_CLAIM", f"no claim {claim_id!r} in the store", "",
                   "claim_id")
    require_facility(user, claim.facility_id)
    return claim


def _stored_request(session: Session, user: User, claim_id: str) -> SettlementRequest:
    """The settlement request for a stored claim the user may open."""
    return SettlementRequest.model_validate({"claim": claim_body(_stored(session, user, claim_id))})


def _shown(problems: list[Problem]) -> list[dict[str, str]]:
    return [{"code": p.code, "message": bilingual(p.code, p.message), "field": p.field,
             "record": p.record} for p in problems]


@router.get("/settlements")
def claim_list(request: Request, session: SessionDep, user: ConsoleUser,
               status: Annotated[str, Query(pattern="^(open|settled|all)$")] = "open",
               ) -> Response:
    query = select(Claim)
    if status == "settled":  # from the postings, newest first (few claims have one)
        query = query.join(Posting, (Posting.claim_id == Claim.claim_id)
                           & (Posting.kind == SETTLEMENT)).order_by(Posting.id.desc())
    else:
        query = query.order_by(Claim.settle_date.desc(), Claim.claim_id)
    if status == "open":
        query = query.where(~exists().where(Posting.claim_id == Claim.claim_id))
    if user.role == "clerk":
        query = query.where(Claim.facility_id == (user.facility_id or ""))
    claims = list(session.scalars(query.limit(LIST_LIMIT)))
    kinds: dict[str, set[str]] = {}
    for claim_id, kind in session.execute(select(Posting.claim_id, Posting.kind).where(
            Posting.claim_id.in_([c.claim_id for c in claims]))):
        kinds.setdefault(claim_id, set()).add(kind)
    rows = [{"claim": c, "total": fen_to_yuan(c.total), "status": status_of(kinds.get(c.claim_id))}
            for c in claims]
    return render(request, "settlements.html", {"rows": rows, "status": status,
                                                "statuses": STATUSES})


@router.get("/settlements/open")
def open_claim(claim_id: Annotated[str, Query(min_length=1, max_length=64)]) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"{PATH}/settlements/{quote(claim_id.strip(), safe='')}",
                            status_code=303)


def _form_page(request: Request, user: User, values: dict[str, Any], *,
               problems: list[Problem] | None = None, preview: Any = None,
               status: int = 200) -> Response:
    return render(request, "claim_form.html", {
        "values": values, "problems": _shown(problems or []), "preview": preview,
        "may_write": user.role in WRITE_ROLES}, status)


@router.get("/settlements/new")
def new_claim(request: Request, user: ConsoleUser) -> Response:
    values = {"facility_id": user.facility_id or "", "facility_level": "3",
              "visit_type": "inpatient"}
    return _form_page(request, user, values)


def _request(form: dict[str, Any]) -> SettlementRequest:
    names = set(ClaimIn.model_fields)
    texts = {k: v.strip() for k, v in form.items() if k in names and isinstance(v, str)}
    claim: dict[str, Any] = {k: v for k, v in texts.items() if v or k not in OPTIONAL}
    claim["out_of_region"] = form.get("out_of_region") == "on"
    return SettlementRequest.model_validate({"claim": claim})


@router.post("/settlements/new")
async def new_claim_post(request: Request, session: SessionDep, user: ConsoleUser,
                         state: StateDep) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    require_csrf(request, user, form.get("csrf", ""))
    try:
        body = _request(form)
        if form.get("action") == "settle":
            with session.begin_nested():
                api.settle_as(body, session, user, state, Response(), explain=False)
            return RedirectResponse(f"{PATH}/settlements/{body.claim.claim_id}", status_code=303)
        preview = api.preview(body, session, user, state, explain=True)
    except ValidationError as exc:
        return _form_page(request, user, form, problems=validation_problems(exc.errors()),
                          status=422)
    except YibaoError as exc:
        return _form_page(request, user, form, problems=exc.problems,
                          status=api_status(exc))
    return _form_page(request, user, form, preview=preview)


@router.get("/settlements/{claim_id}")
def claim_page(request: Request, claim_id: IdPath, session: SessionDep, user: ConsoleUser,
               state: StateDep) -> Response:
    return _claim_page(request, session, user, state, claim_id)


def _claim_page(request: Request, session: Session, user: User, state: Any, claim_id: str,
                preview: Any = None) -> Response:
    claim = _stored(session, user, claim_id)
    kinds = set(session.scalars(select(Posting.kind).where(Posting.claim_id == claim_id)))
    record = explanation = None
    if kinds:
        record = api.get_settlement(claim_id, session, user, state)
        if REVERSAL not in kinds:
            explanation = api.explanation(claim_id, session, user, state)
    return render(request, "claim.html", {
        "claim": claim, "body": claim_body(claim), "status": status_of(kinds),
        "record": record, "explanation": explanation, "preview": preview,
        "may_write": user.role in WRITE_ROLES})


@router.post("/settlements/{claim_id}/preview")
def claim_preview(request: Request, claim_id: IdPath, session: SessionDep, user: ConsoleUser,
                  state: StateDep, csrf: Annotated[str, Form()] = "") -> Response:
    require_csrf(request, user, csrf)
    body = _stored_request(session, user, claim_id)
    preview = api.preview(body, session, user, state, explain=True)
    return _claim_page(request, session, user, state, claim_id, preview)


@router.post("/settlements/{claim_id}/settle")
def claim_settle(request: Request, claim_id: IdPath, session: SessionDep, user: ConsoleUser,
                 state: StateDep, csrf: Annotated[str, Form()] = "") -> Response:
    require_csrf(request, user, csrf)
    body = _stored_request(session, user, claim_id)
    api.settle_as(body, session, user, state, Response(), explain=False)
    return RedirectResponse(f"{PATH}/settlements/{claim_id}", status_code=303)


@router.post("/settlements/{claim_id}/reverse")
def claim_reverse(request: Request, claim_id: IdPath, session: SessionDep, user: ConsoleUser,
                  state: StateDep, csrf: Annotated[str, Form()] = "") -> Response:
    require_csrf(request, user, csrf)
    _stored(session, user, claim_id)
    api.reverse(claim_id, session, user, state, Response())
    return RedirectResponse(f"{PATH}/settlements/{claim_id}", status_code=303)
