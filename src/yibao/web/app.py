"""The console as a FastAPI sub-application mounted at ``/console`` of the API.

It shares the API's state (database, policy, settlement service), so both doors use the same
sessions, users and audit log; it has its own error handlers, which answer with HTML pages
instead of the API's JSON (a missing login sends the browser to the login page).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, RedirectResponse, Response

from yibao.api.deps import State
from yibao.api.errors import bilingual, status_of, validation_problems
from yibao.errors import Problem, YibaoError
from yibao.web import dashboard, home, imports, persons, policy, settle
from yibao.web.render import render
from yibao.web.session import PATH, LoginRequired

STATIC = Path(__file__).parent / "static"


def plotly_js() -> Path:
    """The plotly.min.js bundled in the ``plotly`` package (no CDN inside a bureau's network)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _problems_page(request: Request, problems: list[Problem], status: int) -> Response:
    shown = [{"code": p.code, "message": bilingual(p.code, p.message), "field": p.field,
              "record": p.record} for p in problems]
    return render(request, "error.html", {"problems": shown, "status": status}, status)


async def _yibao_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, YibaoError)
    return _problems_page(request, exc.problems, status_of(exc))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return _problems_page(request, validation_problems(exc.errors()), 422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code,
                                                             f"HTTP_{exc.status_code}")
    return _problems_page(request, [Problem(code, str(exc.detail))], exc.status_code)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    from urllib.parse import quote

    target = exc.next_url if request.method == "GET" else PATH + "/"
    return RedirectResponse(f"{PATH}/login?next={quote(target)}", status_code=303)


def console(state: State) -> FastAPI:
    """The console application on the API's ``state``."""
    app = FastAPI(title="yibao console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.yibao = state
    for module in (home, persons, settle, policy, imports, dashboard):
        app.include_router(module.router)
    js = plotly_js()

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_file() -> Response:
        return FileResponse(js, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(YibaoError, _yibao_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    return app


def mount_console(api: FastAPI) -> None:
    """Mount the console at ``/console`` of the API and send ``/`` there."""
    api.mount(PATH, console(api.state.yibao))

    @api.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(PATH + "/")
