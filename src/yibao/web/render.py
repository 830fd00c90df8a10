"""Rendering a console page: the Jinja2 environment, the language, money and security headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from yibao.fund.report import LEVEL_NAMES
from yibao.money import fen_to_yuan
from yibao.web.i18n import COOKIE, lang_of, translate

TEMPLATES = Path(__file__).parent / "templates"
#: The pages of each role's menu and home page, in order (each route checks the role again).
PAGES = {
    "admin": ["persons", "settlements", "policy", "import", "dashboard", "reports"],
    "clerk": ["persons", "settlements", "policy"],
    "analyst": ["persons", "settlements", "policy", "dashboard", "reports"],
    "auditor": ["persons", "settlements", "policy", "dashboard", "reports"],
}
PAGE_NAMES = {"persons": "参保人", "settlements": "结算", "policy": "政策参数",
              "import": "数据导入", "dashboard": "基金运行", "reports": "报表"}
ROLE_NAMES = {"admin": "管理员", "clerk": "结算员", "analyst": "分析员", "auditor": "审计员"}
#: Pages are for one user at a time: not cached, not framed, scripts only from this server.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
}

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _value(value: Any) -> str:
    """A parameter value as text: scalars as they are, structures as compact JSON."""
    if isinstance(value, str | int | float | bool) or value is None:
        return "" if value is None else str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


env.filters["value"] = _value
env.filters["yuan"] = fen_to_yuan


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status: int = 200) -> HTMLResponse:
    """The page in the request's language; a ``?lang=`` choice is remembered in a cookie."""
    lang = lang_of(request)
    user = getattr(request.state, "viewer", None)
    page = env.get_template(template).render(
        request=request, lang=lang, _=lambda text: translate(lang, text), user=user,
        role_name=ROLE_NAMES.get(user.role, user.role) if user is not None else "",
        csrf=getattr(request.state, "csrf", ""), level_names=LEVEL_NAMES,
        nav=[(p, PAGE_NAMES[p]) for p in PAGES.get(user.role, [])] if user is not None else [],
        **(context or {}))
    response = HTMLResponse(page, status_code=status, headers=HEADERS)
    if request.query_params.get("lang") == lang:
        response.set_cookie(COOKIE, lang, max_age=365 * 86400, samesite="strict",
                            path="/console")
    return response
