"""结算 / 预结算 / 冲销 and the reading of settlements, over ``SettlementService``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.api.deps import IdPath, SessionDep, StateDep, UserDep
from yibao.api.models import (
    Explanation,
    SettlementOut,
    SettlementRecord,
    SettlementRequest,
    errors,
)
from yibao.errors import fail
from yibao.money import fen_to_yuan
from yibao.store.auth import WRITE_ROLES, require_facility, require_role
from yibao.store.models import Claim, Posting
from yibao.store.online import AMOUNTS, REVERSAL, ConflictError, NotFoundError, Outcome

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
def settle(body: SettlementRequest, session: SessionDep, user: UserDep, state: StateDep,
           response: Response, explain: Explain = False) -> SettlementOut:
    require_role(user, WRITE_ROLES, "settle claims")
    require_facility(user, body.claim.facility_id)
    outcome = state.service.settle(session, body.claim.model_dump(exclude_unset=True),
                                   user.username, explain)
    explanation = None
    if explain:
        explanation = (outcome.explanation.as_dict() if outcome.explanation is not None
                       else state.service.explanation(session, outcome.row["claim_id"]).as_dict())
    if outcome.replayed:
        response.status_code = 200
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


__all__ = ["router"]
