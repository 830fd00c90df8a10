"""参保人: the person (身份证号 masked unless the role may see it), enrolments with their
benefit start, a year's accumulators and a year's financing rows."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from yibao.api.deps import IdPath, SessionDep, StateDep, UserDep
from yibao.api.models import AccumulatorsOut, EnrollmentOut, FinancingOut, PersonOut, errors
from yibao.engine.enrollment import benefit_starts, build_history
from yibao.engine.financing import ENROLMENT_COLUMNS, ENROLMENT_MONEY, finance
from yibao.engine.kernel import ACCUMULATORS
from yibao.engine.person_years import in_region
from yibao.errors import PolicyError, fail
from yibao.io import mask_id_number
from yibao.io.schemas import MAX_YEAR, MIN_YEAR
from yibao.money import fen_to_yuan
from yibao.policy import Policy
from yibao.store.audit import audit
from yibao.store.auth import FINANCE_ROLES, may_unmask, require_role
from yibao.store.frames import load_person
from yibao.store.models import Accumulator, Person
from yibao.store.online import NotFoundError

router = APIRouter(prefix="/v1/persons", tags=["persons 参保人"])
Year = Annotated[int, Query(ge=MIN_YEAR, le=MAX_YEAR, description="the year (YYYY)")]
_BENEFIT = ("benefit_start", "waiting_months", "waiting_reason")


def _person(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise fail(NotFoundError, "UNKNOWN_PERSON", f"no person {person_id!r}", "", "person_id")
    return person


def _split(text: str) -> list[str]:
    return [t for t in text.split(";") if t]


@router.get("/{person_id}", response_model=PersonOut, responses=errors(401, 404),
            summary="a person; the 身份证号 unmasked only for admin and auditor, on request")
def get_person(person_id: IdPath, session: SessionDep, user: UserDep,
               unmasked: Annotated[bool, Query(description=(
                   "ask for the full 身份证号: granted to admin and auditor only, and audited; "
                   "other roles get it masked"))] = False) -> PersonOut:
    p = _person(session, person_id)
    show = unmasked and may_unmask(user) and p.id_number is not None
    if show:
        audit(session, user.username, "read_id_number", p.person_id, {"role": user.role})
    id_number = p.id_number if show or p.id_number is None else mask_id_number(p.id_number)
    return PersonOut(person_id=p.person_id, id_number=id_number,
                     id_number_masked=p.id_number is not None and not show, sex=p.sex,
                     birth_date=p.birth_date, death_date=p.death_date, region=p.region,
                     categories=_split(p.categories), chronic=_split(p.chronic))


def _starts(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame) -> pl.DataFrame:
    """Benefit starts of the enrolments in the policy's region, year by year (a year whose
    parameters the policy lacks keeps nulls rather than failing the whole list)."""
    own = in_region(policy, enrollments)
    if own.height == 0:
        return pl.DataFrame()
    history = build_history(persons, enrollments, through=int(own["year"].max()))  # type: ignore[arg-type]
    frames = []
    for year in sorted(set(own["year"].to_list())):
        try:
            frames.append(benefit_starts(policy, persons, own, history, [year]))
        except PolicyError:
            continue
    return pl.concat(frames) if frames else pl.DataFrame()


@router.get("/{person_id}/enrollments", response_model=list[EnrollmentOut],
            responses=errors(401, 404), summary="参保登记 with benefit start and waiting period")
def enrollments(person_id: IdPath, session: SessionDep, user: UserDep,
                state: StateDep) -> list[EnrollmentOut]:
    _person(session, person_id)
    persons, enrols = load_person(session, person_id)
    starts = _starts(state.policy, persons, enrols)
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in starts.iter_rows(named=True):
        found[(row["year"], row["region"])] = row
    out = []
    for e in enrols.sort("year", "region", "scheme").iter_rows(named=True):
        start = found.get((e["year"], e["region"])) if e["scheme"] == "resident" else None
        out.append(EnrollmentOut.model_validate({
            **e, "contribution_paid": fen_to_yuan(e["contribution_paid"]),
            "repaid_years": e["repaid_years"] or 0,
            **{k: (start or {}).get(k) for k in _BENEFIT}}))
    return out


@router.get("/{person_id}/accumulators", response_model=AccumulatorsOut,
            responses=errors(401, 404, 422),
            summary="what the year's settlements have consumed (zero when nothing is settled)")
def accumulators(person_id: IdPath, year: Year, session: SessionDep,
                 user: UserDep) -> AccumulatorsOut:
    _person(session, person_id)
    acc = session.get(Accumulator, (person_id, year))
    values = {name: int(getattr(acc, name)) if acc is not None else 0 for name in ACCUMULATORS}
    chronic = {k: fen_to_yuan(int(v)) for k, v in ((acc.chronic_raw or {}) if acc else {}).items()}
    money = {k: fen_to_yuan(v) for k, v in values.items() if k != "admissions"}
    return AccumulatorsOut(person_id=person_id, year=year, admissions=values["admissions"],
                           chronic_raw=chronic, **money)


@router.get("/{person_id}/financing", response_model=list[FinancingOut],
            responses=errors(401, 403, 404, 422),
            summary="筹资: contribution, assistance and fiscal subsidy per resident enrolment")
def financing(person_id: IdPath, year: Year, session: SessionDep, user: UserDep,
              state: StateDep) -> list[FinancingOut]:
    require_role(user, FINANCE_ROLES, "read financing")
    _person(session, person_id)
    persons, enrols = load_person(session, person_id)
    own = in_region(state.policy, enrols).filter(pl.col("year") == year)
    if own.height == 0:
        raise fail(NotFoundError, "NOT_ENROLLED",
                   f"person {person_id!r} has no resident enrolment in "
                   f"{state.policy.region} for {year}", "", "year")
    history = build_history(persons, enrols, through=year)
    rows = finance(state.policy, persons, own, year, history).select(ENROLMENT_COLUMNS)
    return [FinancingOut(**{**r, **{k: fen_to_yuan(r[k]) for k in ENROLMENT_MONEY}})
            for r in rows.iter_rows(named=True)]

