"""The FastAPI application: ``create_app`` wires the database, the policy and the routers.

Every endpoint but ``/v1/health`` and ``/v1/auth/token`` needs a bearer token; every answer
that is not a success is in the one error shape of ``yibao.api.errors``.
"""

from __future__ import annotations

import datetime as dt
import gc
import inspect
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from yibao.api import auth, errors, fund, persons, policies, settlements
from yibao.api.deps import State
from yibao.errors import YibaoError
from yibao.io import icd
from yibao.policy import Policy, load_policy
from yibao.store.auth import DEFAULT_TTL
from yibao.store.db import make_engine, sessions
from yibao.store.models import Claim
from yibao.store.online import SettlementService
from yibao.store.terms import load_kernels

DEFAULT_REGION = "360400"

DESCRIPTION = """城乡居民基本医疗保险 一站式结算 service.

Money is yuan: responses give a string with two decimals (`"1234.50"`); requests take a string
or a number with at most two decimals. Dates are `YYYY-MM-DD`. Log in with
`POST /v1/auth/token` and send `Authorization: Bearer <token>`.

Errors, everywhere: `{"error": {"code", "message", "field", "record", "problems": [...]}}`.
"""


def _ttl() -> dt.timedelta:
    hours = os.environ.get("YIBAO_TOKEN_HOURS")
    return dt.timedelta(hours=float(hours)) if hours else DEFAULT_TTL


def warm_up(state: State) -> bool:
    """Preview, with its explanation, the latest stored claim once before the first request,
    so that no clerk waits while the process loads the compiled kernels and builds the year's
    term tables (~2.6 s on the demo city); nothing is written. Best effort: an empty or
    unmigrated store, or a claim the policy refuses, leaves the work to the first request."""
    from yibao.web.settle import claim_body

    with state.sessions() as session:
        try:
            claim = session.scalars(select(Claim).order_by(Claim.settle_date.desc())
                                    .limit(1)).first()
            if claim is None:
                return False
            state.service.preview(session, claim_body(claim), explain=True)
            return True
        except (SQLAlchemyError, YibaoError):
            return False
        finally:
            session.rollback()


def settle_ready(policy: Policy) -> None:
    """Load before the first request what settlements read and ``warm_up`` loads only when
    the store holds a claim to preview: the WHO ICD-10 list of every body check (parsed from
    its XML, 0.2–1 s) and the compiled kernels of a person-year's terms (0.1–0.4 s, holding
    the GIL); then move everything loaded so far out of the garbage collector's reach
    (``gc.freeze``), so that a full collection walks what requests made, not the libraries
    (measured: stalls of 170–300 ms per worker without the kernels loaded in advance)."""
    icd.who_categories()
    with suppress(YibaoError):  # a policy without this year's values: its claims say so
        load_kernels(policy, dt.date.today().year)
    gc.collect()
    gc.freeze()


def create_app(database_url: str | None = None, policy_region: str | None = None, *,
               token_ttl: dt.timedelta | None = None) -> FastAPI:
    """The API on ``database_url`` (default: ``YIBAO_DATABASE_URL`` or ``yibao.db``) under the
    policy of ``policy_region`` (default: ``YIBAO_POLICY`` or 360400). Tokens live
    ``token_ttl`` (default: ``YIBAO_TOKEN_HOURS`` hours or 8). The schema must be migrated
    (``yibao db upgrade``; ``yibao serve`` does it)."""
    policy = load_policy(policy_region or os.environ.get("YIBAO_POLICY") or DEFAULT_REGION)
    engine = make_engine(database_url)
    state = State(engine, sessions(engine), policy, SettlementService(policy),
                  token_ttl or _ttl())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        warm_up(state)
        settle_ready(policy)
        yield
        engine.dispose()

    # no OpenTelemetry here: FastAPI's own telemetry would look up the global providers on
    # every request (~5 % of a settlement's CPU) to find them unconfigured
    quiet: dict[str, Any] = ({"telemetry": {"tracing": False, "metrics": False, "logs": False}}
             if "telemetry" in inspect.signature(FastAPI).parameters else {})
    app = FastAPI(title="yibao 医保", version="1", description=DESCRIPTION, lifespan=lifespan,
                  **quiet)
    app.state.yibao = state
    for module in (auth, persons, settlements, policies, fund):
        app.include_router(module.router)
    errors.install(app)
    errors.scrub_logs()
    from yibao.web import mount_console  # the console (医保业务管理控制台) at /console

    mount_console(app)
    return app
