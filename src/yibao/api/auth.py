"""Login: a secret for a token (POST /v1/auth/token); failures are audited too."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from yibao.api.deps import SessionDep, StateDep
from yibao.api.errors import error_response
from yibao.api.models import TokenOut, TokenRequest, errors
from yibao.store.audit import audit
from yibao.store.auth import LOGIN_FAILED, AuthError, login
from yibao.store.models import User

router = APIRouter(prefix="/v1/auth", tags=["auth 登录"])


def attempt_login(session: Session, username: str, secret: str,
                  ttl: dt.timedelta) -> tuple[str, dt.datetime] | AuthError:
    """A token and its expiry, or the AuthError; a failure is audited and returned rather than
    raised, so that the caller can answer it and its audit entry still commits."""
    try:
        return login(session, username, secret, ttl)
    except AuthError as exc:
        audit(session, username, LOGIN_FAILED, username,
              {"code": exc.code})
        return exc


@router.post("/token", response_model=TokenOut, responses=errors(400, 401, 422),
             summary="log in: a bearer token valid for a limited time")
def token(body: TokenRequest, session: SessionDep, state: StateDep) -> TokenOut | JSONResponse:
    outcome = attempt_login(session, body.username, body.secret, state.token_ttl)
    if isinstance(outcome, AuthError):
        return error_response(401, outcome.problems)
    value, expires = outcome
    user = session.get(User, body.username)
    assert user is not None
    return TokenOut(access_token=value, expires_at=expires, username=user.username,
                    role=user.role, facility_id=user.facility_id)
