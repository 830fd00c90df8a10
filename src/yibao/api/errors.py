"""One error shape for every failure (SPEC §11), and logs that never show a 身份证号.

``{"error": {"code", "message", "field", "record", "problems": [...]}}``: the first problem is
repeated at the top; ``problems`` lists every one found. FastAPI's own request validation,
unknown routes, wrong methods, authentication and access all answer in this shape; an
unexpected exception is logged (scrubbed) and answered as a 500 in the same shape.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from yibao.errors import Problem, YibaoError
from yibao.io.report import ZH, scrub
from yibao.store.auth import AccessError, AuthError
from yibao.store.online import ConflictError, NotFoundError

log = logging.getLogger("yibao.api")

API_ZH = {
    **ZH,
    "UNKNOWN_FIELD": "未知字段",
    "BAD_TEXT": "含有控制字符",
    "INVALID": "取值无效",
    "NOT_FOUND": "资源不存在",
    "METHOD_NOT_ALLOWED": "不支持该请求方法",
    "UNAUTHENTICATED": "未登录",
    "TOKEN_INVALID": "令牌无效",
    "TOKEN_EXPIRED": "令牌已过期",
    "BAD_CREDENTIALS": "用户名或密码错误",
    "FORBIDDEN": "无权限",
    "FACILITY_FORBIDDEN": "只能处理本机构的费用",
    "CLAIM_CONFLICT": "该费用单号已以不同内容结算",
    "CLAIM_REVERSED": "该费用已冲销",
    "NOT_SETTLED": "该费用未结算",
    "NOT_ENROLLED": "未参保",
    "UNKNOWN_CLAIM": "费用不存在",
    "CONFLICT": "并发写入冲突",
    "POLICY_MISSING": "政策参数缺失",
    "POLICY_UNKNOWN_REGION": "无此统筹地区的政策",
    "INTERNAL_ERROR": "服务器内部错误",
}

_CJK = re.compile(r"[\u3400-\u9fff]")

# pydantic error types -> our stable codes
_PYDANTIC = {
    "json_invalid": "BAD_JSON", "missing": "REQUIRED", "extra_forbidden": "UNKNOWN_FIELD",
    "literal_error": "BAD_ENUM", "enum": "BAD_ENUM", "int_parsing": "BAD_INTEGER",
    "int_type": "BAD_INTEGER", "int_from_float": "BAD_INTEGER", "bool_parsing": "BAD_BOOL",
    "bool_type": "BAD_BOOL", "date_parsing": "BAD_DATE", "date_type": "BAD_DATE",
    "date_from_datetime_parsing": "BAD_DATE", "date_from_datetime_inexact": "BAD_DATE",
    "greater_than_equal": "OUT_OF_RANGE", "less_than_equal": "OUT_OF_RANGE",
    "greater_than": "OUT_OF_RANGE", "less_than": "OUT_OF_RANGE", "string_too_long": "TOO_LONG",
    "string_too_short": "REQUIRED", "string_pattern_mismatch": "INVALID",
    "string_type": "BAD_TYPE", "float_type": "BAD_TYPE", "dict_type": "BAD_TYPE",
    "model_type": "BAD_TYPE", "model_attributes_type": "BAD_TYPE", "list_type": "BAD_TYPE",
    "amount_type": "BAD_TYPE", "control_characters": "BAD_TEXT",
}


def bilingual(code: str, message: str) -> str:
    """The message with its Chinese name in front when it has none; 身份证号 masked."""
    zh = API_ZH.get(code)
    text = message if _CJK.search(message) or not zh else f"{zh} / {message}"
    return scrub(text)


def error_body(problems: list[Problem]) -> dict[str, Any]:
    shown = [{"code": p.code, "message": bilingual(p.code, p.message), "field": p.field,
              "record": scrub(p.record)} for p in problems] or [
        {"code": "ERROR", "message": "error", "field": "", "record": ""}]
    return {"error": {**shown[0], "problems": shown}}


def error_response(status: int, problems: list[Problem],
                   headers: dict[str, str] | None = None) -> JSONResponse:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(error_body(problems), status_code=status, headers=headers)


def status_of(exc: YibaoError) -> int:
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, AccessError):
        return 403
    if isinstance(exc, NotFoundError) or exc.code in {"POLICY_UNKNOWN_REGION"}:
        return 404
    if isinstance(exc, ConflictError):
        return 409
    return 422  # InputError, PolicyError: the request cannot be settled as sent


def _where(loc: Iterable[int | str]) -> tuple[str, str]:
    """pydantic's ``("body", "claim", "total")`` as record ``/claim`` and field ``total``."""
    parts = [str(p) for p in loc]
    source, rest = (parts[0], parts[1:]) if parts else ("body", [])
    if source != "body":
        return source, "/".join(rest)
    if not rest:
        return "/", ""
    return "/" + "/".join(rest[:-1]), rest[-1]


def validation_problems(errors: Iterable[Any]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for e in errors:
        kind = e.get("type", "")
        # a JSON syntax error's loc is ("body", character offset): no field to name
        record, field = ("/", "") if kind == "json_invalid" else _where(e.get("loc", ()))
        if (record, field) in seen:  # a union reports each member; one problem per field
            continue
        seen.add((record, field))
        code = _PYDANTIC.get(kind, "INVALID")
        message = str(e.get("msg", "invalid"))
        if kind == "json_invalid":
            message = f"{message}: {e.get('ctx', {}).get('error', '')} at {e.get('loc', ())[-1]}"
        out.append(Problem(code, message, record, field))
    return out


async def _yibao_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, YibaoError)
    return error_response(status_of(exc), exc.problems)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = validation_problems(exc.errors())
    bad_json = any(p.code == "BAD_JSON" for p in problems)
    return error_response(400 if bad_json else 422, problems)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "UNAUTHENTICATED",
            403: "FORBIDDEN"}.get(exc.status_code, f"HTTP_{exc.status_code}")
    return error_response(exc.status_code, [Problem(code, str(exc.detail))],
                          dict(exc.headers or {}))


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # Two concurrent requests raced for the same key; the loser's transaction rolled back.
    log.warning("integrity conflict: %s", scrub(type(exc).__name__))
    return error_response(409, [Problem("CONFLICT", "a concurrent request wrote the same record;"
                                        " nothing was written — retry")])


def install(app: FastAPI) -> None:
    app.add_exception_handler(YibaoError, _yibao_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_middleware(CatchAll)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class CatchAll:
    """ASGI middleware: an unexpected exception becomes a logged, scrubbed 500 in our shape
    (instead of Starlette's plain-text one and an unscrubbed traceback in the server log)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            trace = scrub("".join(traceback.format_exception(exc)))
            log.error("unhandled error on %s %s\n%s", scope.get("method"),
                      scrub(str(scope.get("path"))), trace)
            if started:
                raise
            response = error_response(500, [Problem(
                "INTERNAL_ERROR", "an unexpected error; it has been logged")])
            await response(scope, receive, send)


class ScrubFilter(logging.Filter):
    """Masks anything shaped like a 身份证号 in a log record (message, arguments, traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        if record.exc_info and record.exc_info[0] is not None:
            text = scrub("".join(traceback.format_exception(*record.exc_info)))
            record.msg = f"{record.msg}\n{text.replace('%', '%%') if record.args else text}"
            record.exc_info, record.exc_text = None, None
        return True


def scrub_logs(names: Iterable[str] = ("uvicorn.access", "uvicorn.error", "uvicorn",
                                       "yibao", "yibao.api")) -> None:
    """Put a ScrubFilter on each named logger (once)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubFilter) for f in logger.filters):
            logger.addFilter(ScrubFilter())
