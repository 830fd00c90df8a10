"""基金运行监测 over HTTP: the figures of ``yibao report fund`` as JSON, read from the store.

Money is yuan strings, ratios and months decimal strings with four places (``yibao.fund
.to_json``). Roles: admin, analyst and auditor (the financing roles); a clerk may not. The
high-cost list shows 身份证号 masked, whatever the role.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from yibao.api.deps import SessionDep, StateDep, UserDep
from yibao.api.models import errors
from yibao.fund import (
    Assumptions,
    FundInputs,
    Indicators,
    alerts,
    base_of,
    from_frames,
    indicators,
    project,
    to_json,
    what_if,
)
from yibao.fund.store_inputs import store_frames
from yibao.fund.whatif import one_change
from yibao.money import to_fen
from yibao.policy import Policy
from yibao.store.auth import FINANCE_ROLES, require_role

router = APIRouter(prefix="/v1/fund", tags=["fund 基金监测"])
Year = Annotated[int, Query(ge=2000, le=2100, description="the year (YYYY)")]
Opening = Annotated[str | None, Query(
    pattern=r"^-?\d{1,9}(\.\d{1,2})?$",  # to_fen takes at most 1e9 yuan
    description="accumulated balance on 1 January, yuan (whole region); without it the "
                "accumulated balance and months payable are not computed")]
Rate = Annotated[str, Query(pattern=r"^-?0?\.\d{1,4}$|^0$", description="yearly rate, e.g. 0.05")]
Step = Annotated[str, Query(pattern=r"^\d{1,6}(\.\d{1,2})?$", description="yuan a year")]
RESPONSES = errors(401, 403)


def _signed_fen(text: str) -> int:
    return -to_fen(text[1:]) if text.startswith("-") else to_fen(text)


def _inputs(session: Session, policy: Policy, year: int, opening: str | None,
            frames: tuple[pl.DataFrame, ...] | None = None) -> FundInputs:
    """The year's inputs from the store (``frames``: ``store_frames`` of it, read already)."""
    persons, enrollments, claims, results = frames or store_frames(session, year)
    balances = {} if opening is None else {policy.region: _signed_fen(opening)}
    return from_frames(policy, year, persons, enrollments, claims, results, opening=balances)


def _indicators(session: Session, state: Any, user: Any, year: int,
                opening: str | None) -> tuple[FundInputs, Indicators]:
    require_role(user, FINANCE_ROLES, "read fund figures")
    inputs = _inputs(session, state.policy, year, opening)
    return inputs, indicators(inputs)


@router.get("/indicators", response_model=dict[str, Any], responses=RESPONSES,
            summary="monthly accounts per region and county, spending, ratios, coverage, "
                    "high-cost list")
def get_indicators(year: Year, session: SessionDep, state: StateDep, user: UserDep,
                   opening_balance: Opening = None) -> dict[str, Any]:
    _, ind = _indicators(session, state, user, year, opening_balance)
    out: dict[str, Any] = to_json(ind)
    return out


@router.get("/alerts", response_model=list[dict[str, Any]], responses=RESPONSES,
            summary="alerts: months payable, coverage, inpatient ratio — figure, threshold, "
                    "rule and source")
def get_alerts(year: Year, session: SessionDep, state: StateDep, user: UserDep,
               opening_balance: Opening = None) -> list[dict[str, Any]]:
    _, ind = _indicators(session, state, user, year, opening_balance)
    out: list[dict[str, Any]] = to_json(alerts(state.policy, ind))
    return out


@router.get("/high-cost", response_model=list[dict[str, Any]], responses=RESPONSES,
            summary="因病返贫监测: person-years over the high-cost threshold, with drivers")
def get_high_cost(year: Year, session: SessionDep, state: StateDep,
                  user: UserDep) -> list[dict[str, Any]]:
    _, ind = _indicators(session, state, user, year, None)
    out: list[dict[str, Any]] = to_json(ind.high_cost)
    return out


@router.get("/projection", response_model=dict[str, Any], responses=RESPONSES,
            summary="multi-year projection of enrolment, income, expenditure and months "
                    "payable, with a bootstrap range")
def get_projection(year: Year, session: SessionDep, state: StateDep, user: UserDep,
                   opening_balance: Opening = None,
                   years: Annotated[int, Query(ge=1, le=30)] = 5,
                   cost_growth: Rate = "0.05", utilisation_growth: Rate = "0.02",
                   population_growth: Rate = "0", contribution_step: Step = "30",
                   subsidy_step: Step = "30",
                   replicates: Annotated[int, Query(ge=0, le=1000)] = 200,
                   seed: Annotated[int, Query(ge=0, le=2**31)] = 0) -> dict[str, Any]:
    inputs, ind = _indicators(session, state, user, year, opening_balance)
    a = Assumptions(years, Fraction(population_growth), Fraction(cost_growth),
                    Fraction(utilisation_growth), to_fen(contribution_step),
                    to_fen(subsidy_step))
    out: dict[str, Any] = to_json(project(base_of(ind, inputs), a, replicates=replicates,
                                          seed=seed))
    return out


@router.get("/what-if", response_model=dict[str, Any], responses=errors(401, 403, 404),
            summary="policy what-if: the year re-settled with one parameter changed, each "
                    "payer's spending, oop and the projection before and after")
def get_what_if(year: Year, session: SessionDep, state: StateDep, user: UserDep,
                key: Annotated[str, Query(min_length=1, max_length=100,
                                          pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$",
                                          description="the parameter, e.g. major.cap")],
                value: Annotated[str, Query(min_length=1, max_length=2000,
                                            description="its new value, as YAML")],
                start: Annotated[dt.date | None, Query(
                    description="in force from (default 1 January of the year)")] = None,
                opening_balance: Opening = None,
                replicates: Annotated[int, Query(ge=0, le=1000)] = 200,
                seed: Annotated[int, Query(ge=0, le=2**31)] = 0) -> dict[str, Any]:
    require_role(user, FINANCE_ROLES, "read fund figures")
    policy: Policy = state.policy
    changed = one_change(policy, key, value, start or dt.date(year, 1, 1),
                         "what-if requested over the API")
    frames = store_frames(session, year)
    inputs = _inputs(session, policy, year, opening_balance, frames)
    persons, enrollments, claims, _results = frames
    out: dict[str, Any] = to_json(what_if(inputs, indicators(inputs), changed, persons,
                                          enrollments, claims, replicates=replicates,
                                          seed=seed))
    return out
