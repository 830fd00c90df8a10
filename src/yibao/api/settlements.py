"""结算 / 预结算 / 冲销 and the reading of settlements, over ``SettlementService``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from yibao.api.deps import (
    BearerDep,
    IdPath,
    SessionDep,
    State,
    StateDep,
    UserDep,
    bearer_token,
)
from yibao.api.models import (
    Explanation,
    SettlementOut,
    SettlementRecord,
    SettlementRequest,
    errors,
)
from yibao.errors import fail
from yibao.money import fen_to_yuan
from yibao.store.auth import WRITE_ROLES, require_facility, require_role, user_for_token
from yibao.store.models import Claim, Posting, User
from yibao.store.online import (
    AMOUNTS,
    REVERSAL,
    Caller,
    ConflictError,
    NotFoundError,
    Outcome,
)
from yibao.store.online_sql import Disconnected, Retry, settling_session

router = APIRouter(prefix="/v1/settlements", tags=["settlements 结算"])
Explain = Annotated[bool, Query(description="add the step-by-step explanation of each figure")]


def result(row: dict[str, Any]) -> dict[str, Any]:
    """A result row in fen as the API shows it (yuan strings)."""
    out = {k: row[k] for k in ("claim_id", "person_id", "year", "covered", "reason")}
    out["reason"] = out["reason"] or ""
    out.update({k: fen_to_yuan(int(row[k])) for k in AMOUNTS})
    cap = row.get("major_cap")
    out["major_cap"] = None if cap is None else fen_to_yuan(int(cap))
    return out


def _claim(session: Session, claim_id: str) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise fail(NotFoundError, "NOT_SETTLED", f"claim {claim_id} is not settled",
                   "", "claim_id")
    return claim


def _reversed(session: Session, claim_id: str) -> bool:
    return session.scalar(select(Posting.id).where(
        Posting.claim_id == claim_id, Posting.kind == REVERSAL)) is not None


def _out(outcome: Outcome, explanation: dict[str, Any] | None) -> SettlementOut:
    out = SettlementOut(**result(outcome.row))
    if explanation is not None:
        out.explanation = Explanation.model_validate(explanation)
    return out


@router.post("/preview", response_model=SettlementOut, response_model_exclude_unset=True,
             summary="预结算 preview: what settling now would give; writes nothing",
             responses=errors(400, 401, 403, 409, 422))
def preview(body: SettlementRequest, session: SessionDep, user: UserDep, state: StateDep,
            explain: Explain = False) -> SettlementOut:
    require_facility(user, body.claim.facility_id)
    outcome = state.service.preview(session, body.claim.model_dump(exclude_unset=True), explain)
    return _out(outcome, outcome.explanation.as_dict() if outcome.explanation else None)


@router.post("", response_model=SettlementOut, response_model_exclude_unset=True,
             status_code=201, summary="结算 settle: idempotent on claim_id",
             description="201 on the first settlement; 200 with the same settlement when the "
                         "same claim is sent again; 409 CLAIM_CONFLICT for a different body.",
             responses={200: {"model": SettlementOut, "description": "replayed"},
                        **errors(400, 401, 403, 409, 422)})
async def settle(body: SettlementRequest, state: StateDep, credentials: BearerDep,
                 explain: Explain = False) -> Response:
    """The hot path: one hop to a worker thread, where the token is checked in the same round
    trip as the person-year's lock and COMMIT goes with the writes; the answer is serialised
    once, here, not validated again against the response model."""
    token = bearer_token(credentials)
    status, content = await run_in_threadpool(_settle_explained if explain else _settle_now,
                                              body, state, token)
    return Response(content, status_code=status, media_type="application/json")


def _authorise(facility_id: str) -> Callable[[User], None]:
    def check(user: User) -> None:
        require_role(user, WRITE_ROLES, "settle claims")
        require_facility(user, facility_id)
    return check


def _settle_now(body: SettlementRequest, state: State, token: str) -> tuple[int, bytes]:
    """Settle; once more if the transaction was lost: on a new connection if the pooled one
    had broken (the pool does not ping a connection before handing it out), or with the
    statements prepared again. Safe: a settlement that did commit is replayed (idempotent on
    claim_id), one that did not is settled anew."""
    try:
        return _settle_once(body, state, token)
    except Retry as exc:
        if isinstance(exc, Disconnected):
            state.engine.dispose()  # every pooled connection may be as stale
        return _settle_once(body, state, token)


def _settle_once(body: SettlementRequest, state: State, token: str) -> tuple[int, bytes]:
    with settling_session(state.engine, state.sessions) as session:
        outcome = state.service.settle(
            session, body.claim.model_dump(exclude_unset=True),
            caller=Caller(token, _authorise(body.claim.facility_id)), commit=True)
        session.commit()
    return (200 if outcome.replayed else 201), _json(result(outcome.row))


def _settle_explained(body: SettlementRequest, state: State, token: str) -> tuple[int, bytes]:
    with state.sessions.begin() as session:
        response = Response()
        out = settle_as(body, session, user_for_token(session, token), state, response, True)
    return response.status_code, _json(out.model_dump(mode="json", exclude_unset=True,
                                                      by_alias=True))


def _json(content: dict[str, Any]) -> bytes:
    """As FastAPI's JSONResponse renders it."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


def settle_as(body: SettlementRequest, session: Session, user: User, state: State,
              response: Response, explain: bool = False) -> SettlementOut:
    """结算 in the caller's session and transaction, as ``user`` (the console's way in)."""
    require_role(user, WRITE_ROLES, "settle claims")
    require_facility(user, body.claim.facility_id)
    outcome = state.service.settle(session, body.claim.model_dump(exclude_unset=True),
                                   user.username, explain)
    explanation = None
    if explain:
        explanation = (outcome.explanation.as_dict() if outcome.explanation is not None
                       else state.service.explanation(session, outcome.row["claim_id"]).as_dict())
    response.status_code = 200 if outcome.replayed else 201
    return _out(outcome, explanation)


@router.post("/{claim_id}/reversal", response_model=SettlementOut,
             response_model_exclude_unset=True, status_code=201,
             summary="冲销 reverse: give back exactly what the claim consumed",
             description="201 on the reversal; 200 with the same reversal when sent again.",
             responses={200: {"model": SettlementOut, "description": "replayed"},
                        **errors(401, 403, 404)})
def reverse(claim_id: IdPath, session: SessionDep, user: UserDep, state: StateDep,
            response: Response) -> SettlementOut:
    require_role(user, WRITE_ROLES, "reverse settlements")
    require_facility(user, _claim(session, claim_id).facility_id)
    outcome = state.service.reverse(session, claim_id, user.username)
    if outcome.replayed:
        response.status_code = 200
    return _out(outcome, None)


@router.get("/{claim_id}", response_model=SettlementRecord, response_model_exclude_unset=True,
            summary="a settlement as posted", responses=errors(401, 403, 404))
def get_settlement(claim_id: IdPath, session: SessionDep, user: UserDep,
                   state: StateDep) -> SettlementRecord:
    require_facility(user, _claim(session, claim_id).facility_id)
    claim, posting = state.service.settled(session, claim_id)
    reversed_ = _reversed(session, claim_id)
    row = {c: getattr(posting, c) for c in ("claim_id", "person_id", "year", "covered",
                                             "reason", *AMOUNTS, "major_cap")}
    return SettlementRecord(**result(row), facility_id=claim.facility_id, reversed=reversed_)


@router.get("/{claim_id}/explanation", response_model=Explanation,
            summary="how each figure of a settled claim came about",
            responses=errors(401, 403, 404, 409))
def explanation(claim_id: IdPath, session: SessionDep, user: UserDep,
                state: StateDep) -> Explanation:
    require_facility(user, _claim(session, claim_id).facility_id)
    if _reversed(session, claim_id):
        # the service would re-run the person-year without it (UNKNOWN_CLAIM) or alone
        raise fail(ConflictError, "CLAIM_REVERSED",
                   f"claim {claim_id} was reversed; GET /v1/settlements/{claim_id} shows what "
                   "was posted", "", "claim_id")
    return Explanation.model_validate(state.service.explanation(session, claim_id).as_dict())


__all__ = ["router", "settle_as"]
