"""Login, logout and the per-role home page (首页)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import delete, func, select
from starlette.responses import RedirectResponse, Response

from yibao.api.auth import attempt_login
from yibao.api.deps import SessionDep, StateDep
from yibao.store.audit import audit
from yibao.store.auth import AuthError, token_hash
from yibao.store.models import AuditEntry, Claim, Person, Posting, Token
from yibao.store.online import SETTLEMENT
from yibao.web.render import PAGE_NAMES, PAGES, render
from yibao.web.session import (
    LOGIN_CSRF_COOKIE,
    PATH,
    TOKEN_COOKIE,
    ConsoleUser,
    check_csrf,
    new_login_csrf,
    require_csrf,
    set_cookie,
)

router = APIRouter()


def _safe_next(target: str) -> str:
    """Only a path inside the console (never another site) after logging in."""
    return target if target.startswith(PATH + "/") and not target.startswith("//") else PATH + "/"


def _login_page(request: Request, next_url: str, error: str = "", status: int = 200) -> Response:
    value = new_login_csrf()
    response = render(request, "login.html", {"next": _safe_next(next_url), "error": error,
                                              "login_csrf": value}, status)
    set_cookie(response, request, LOGIN_CSRF_COOKIE, value, 3600)
    return response


@router.get("/login")
def login_form(request: Request, next: str = PATH + "/") -> Response:
    return _login_page(request, next)


@router.post("/login")
def login_post(request: Request, session: SessionDep, state: StateDep,
               username: Annotated[str, Form(max_length=64)],
               secret: Annotated[str, Form(max_length=1024)],
               csrf: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "") -> Response:
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf)
    outcome = attempt_login(session, username, secret, state.token_ttl)
    if isinstance(outcome, AuthError):
        return _login_page(request, next, "登录失败次数过多，请稍后再试"
                           if outcome.code == "LOGIN_LOCKED" else "用户名或密码错误", 401)
    token, _expires = outcome
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(response, request, TOKEN_COOKIE, token, int(state.token_ttl.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PATH)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, user: ConsoleUser,
           csrf: Annotated[str, Form()] = "") -> Response:
    require_csrf(request, user, csrf)
    session.execute(delete(Token).where(
        Token.token_hash == token_hash(request.cookies.get(TOKEN_COOKIE, ""))))
    audit(session, user.username, "logout", user.username)
    response = RedirectResponse(PATH + "/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path=PATH)
    return response


@router.get("/")
def home(request: Request, session: SessionDep, user: ConsoleUser) -> Response:
    recent: list[Posting] = []
    entries: list[AuditEntry] = []
    counts: dict[str, int] = {}
    if user.role == "clerk":
        recent = list(session.scalars(
            select(Posting).join(Claim, Claim.claim_id == Posting.claim_id)
            .where(Claim.facility_id == user.facility_id)
            .order_by(Posting.id.desc()).limit(10)))
    else:
        recent = list(session.scalars(select(Posting).order_by(Posting.id.desc()).limit(10)))
        counts = {"参保人数": session.scalar(select(func.count()).select_from(Person)) or 0,
                  "费用单数": session.scalar(select(func.count()).select_from(Claim)) or 0,
                  "已结算": session.scalar(select(func.count()).select_from(Posting)
                                         .where(Posting.kind == SETTLEMENT)) or 0}
    if user.role in ("admin", "auditor"):
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())
                                       .limit(10)))
    pages = [(p, PAGE_NAMES[p]) for p in PAGES[user.role]]
    return render(request, "home.html", {"pages": pages, "recent": recent,
                                         "entries": entries, "counts": counts})
