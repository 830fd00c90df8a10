"""Login: a secret for a token (POST /v1/auth/token); failures are audited too."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from yibao.api.deps import SessionDep, StateDep
from yibao.api.errors import error_response
from yibao.api.models import TokenOut, TokenRequest, errors
from yibao.store.audit import audit
from yibao.store.auth import AuthError, login
from yibao.store.models import User

router = APIRouter(prefix="/v1/auth", tags=["auth 登录"])


@router.post("/token", response_model=TokenOut, responses=errors(400, 401, 422),
             summary="log in: a bearer token valid for a limited time")
def token(body: TokenRequest, session: SessionDep, state: StateDep) -> TokenOut | JSONResponse:
    try:
        value, expires = login(session, body.username, body.secret, state.token_ttl)
    except AuthError as exc:
        # answered, not raised, so that the failed attempt's audit entry commits
        audit(session, body.username, "login_failed", body.username)
        return error_response(401, exc.problems)
    user = session.get(User, body.username)
    assert user is not None
    return TokenOut(access_token=value, expires_at=expires, username=user.username,
                    role=user.role, facility_id=user.facility_id)
