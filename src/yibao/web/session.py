"""Logging in to the console: the API's token in an HttpOnly cookie, and CSRF protection.

The token is the one ``POST /v1/auth/token`` issues (``yibao.store.auth.login``), so the
console has exactly the API's users, roles, expiry and audit. It travels in the
``yibao_token`` cookie (HttpOnly, SameSite=Strict, Secure over HTTPS). Every POST form carries
a CSRF field: once logged in it is an HMAC of the token (a page of another site can neither
read the cookie nor compute it); the login form itself uses a random double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response

from yibao.api.deps import SessionDep
from yibao.errors import fail
from yibao.store.auth import AccessError, AuthError, user_for_token
from yibao.store.models import User

TOKEN_COOKIE = "yibao_token"
LOGIN_CSRF_COOKIE = "yibao_login_csrf"
PATH = "/console"


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as the page shows it (kept apart from the session's ORM object, which
    an error's rollback expires)."""

    username: str
    role: str
    facility_id: str | None


class LoginRequired(Exception):
    """No valid console login: the handler sends the browser to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"yibao-console-csrf", hashlib.sha256).hexdigest()


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def check_csrf(expected: str, given: str) -> None:
    """403 CSRF_FAILED unless the form's field matches what this login expects."""
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise fail(AccessError, "CSRF_FAILED",
                   "表单已失效，请刷新页面后重试 / the form has expired or did not come from this "
                   "console; reload the page and try again", "", "csrf")


def set_cookie(response: Response, request: Request, name: str, value: str,
               max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=PATH)


def console_user(request: Request, session: SessionDep) -> User:
    """The logged-in user (the token's), else LoginRequired; also sets the page's CSRF value."""
    token = request.cookies.get(TOKEN_COOKIE)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise LoginRequired(target)
    try:
        user = user_for_token(session, token)
    except AuthError as exc:
        raise LoginRequired(target) from exc
    request.state.viewer = Viewer(user.username, user.role, user.facility_id)
    request.state.csrf = csrf_for(token)
    return user


ConsoleUser = Annotated[User, Depends(console_user)]


def reader(request: Request) -> sessionmaker[Session]:
    """Sessions that only read. On SQLite the service's sessions take the write lock at BEGIN,
    so a page polled while an import holds it would wait for the whole import; these read from
    the WAL snapshot instead (the driver's own deferred transactions). Elsewhere: the same."""
    made: sessionmaker[Session] | None = getattr(request.app.state, "reader", None)
    if made is None:
        engine: Engine = request.app.state.yibao.engine
        if engine.dialect.name == "sqlite":
            made = sessionmaker(create_engine(engine.url, connect_args={
                "check_same_thread": False, "timeout": 30}))
        else:
            made = request.app.state.yibao.sessions
        request.app.state.reader = made
    return made


def reading_user(request: Request) -> Viewer:
    """The logged-in user, checked on a read-only session (see ``reader``)."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        raise LoginRequired(request.url.path)
    with reader(request)() as session:
        try:
            user = user_for_token(session, token)
        except AuthError as exc:
            raise LoginRequired(request.url.path) from exc
        viewer = Viewer(user.username, user.role, user.facility_id)
    request.state.viewer = viewer
    request.state.csrf = csrf_for(token)
    return viewer


ReadingUser = Annotated[Viewer, Depends(reading_user)]


def require_csrf(request: Request, user: ConsoleUser, given: str) -> None:
    check_csrf(csrf_for(request.cookies.get(TOKEN_COOKIE, "")), given)
