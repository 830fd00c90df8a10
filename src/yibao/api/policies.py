"""政策参数 as resolved for a region and date, with their sources; and the health check."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import text

from yibao.api.deps import SessionDep, StateDep, UserDep
from yibao.api.models import Health, Parameter, PolicyOut, RegionRef, errors
from yibao.policy import Policy, load_policy

router = APIRouter(prefix="/v1", tags=["policy 政策"])


@cache
def policy_of(region: str) -> Policy:
    return load_policy(region)


@router.get("/policies/{region}", response_model=PolicyOut, responses=errors(401, 404, 422),
            summary="the parameters in force on a date, with region, from and source")
def policy(region: Annotated[str, Path(pattern=r"^\d{6}$", description="6-digit region code")],
           user: UserDep,
           date: Annotated[dt.date | None, Query(description="YYYY-MM-DD; default today")]
           = None) -> PolicyOut:
    chosen = policy_of(region)
    on = date or dt.date.today()
    return PolicyOut(
        region=chosen.region, name=chosen.name, date=on,
        chain=[RegionRef(region=rf.region, name=rf.name) for rf in chosen.chain],
        parameters=[Parameter.model_validate({
            "key": p.key, "value": p.raw, "region": p.region, "region_name": p.region_name,
            "from": p.start, "source": p.source}) for p in chosen.resolve(on).all()])


@router.get("/health", response_model=Health, tags=["service"], summary="liveness and database")
def health(session: SessionDep, state: StateDep) -> Health:
    session.execute(text("SELECT 1"))
    return Health(status="ok", database=state.engine.dialect.name, policy=state.policy.region)
