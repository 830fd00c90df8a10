"""Dependencies: the service's shared state, one transaction per request, the current user.

The session dependency is function-scoped: its transaction commits (or rolls back) as the
path operation returns, before the response is sent, so a client never sees a 201 for a
settlement that failed to commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from yibao.errors import fail
from yibao.policy import Policy
from yibao.store.auth import AuthError, user_for_token
from yibao.store.models import User
from yibao.store.online import SettlementService


@dataclass
class State:
    """What every request shares: the database, the policy and the settlement service."""

    engine: Engine
    sessions: sessionmaker[Session]
    policy: Policy
    service: SettlementService
    token_ttl: dt.timedelta


async def get_state(request: Request) -> State:  # async: no hop to a worker thread
    state: State = request.app.state.yibao
    return state


StateDep = Annotated[State, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with state.sessions.begin() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="a token from POST /v1/auth/token")


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise fail(AuthError, "UNAUTHENTICATED",
                   "需要登录 / send 'Authorization: Bearer <token>' (POST /v1/auth/token)",
                   "", "Authorization")
    return credentials.credentials


def current_user(session: SessionDep, credentials: BearerDep) -> User:
    return user_for_token(session, bearer_token(credentials))


UserDep = Annotated[User, Depends(current_user)]
#: An id in a path: no control characters (PostgreSQL rejects NUL), at most 64 characters.
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
