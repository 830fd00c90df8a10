"""The high-cost list (因病返贫监测, SPEC §7): person-years whose out-of-pocket exceeds
``fund.alert.high_cost_fraction × region.disposable_income``, each with what drove it.

A person's oop splits exactly into the part outside the policy scope (total − policy_scope:
丙类、超限价、乙类先行自付) and the part inside it that no payer covered (deductibles, the
share above the ratios, amounts beyond caps). The drivers name the claims, visit types and
diagnoses (3-character ICD-10 category) that made it. 身份证号 are masked here, always.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from yibao.fund.sums import sum_by
from yibao.io import mask_id_number
from yibao.money import BP_ONE
from yibao.policy import Policy

TOP = 3


@dataclass(frozen=True)
class HighCostPerson:
    """One person-year on the list; money in fen, ``id_number`` masked."""

    person_id: str
    id_number: str | None
    region: str
    categories: list[str]
    claims: int
    total: int
    oop: int
    out_of_scope: int
    in_scope_oop: int
    deductible: int
    uncovered_oop: int
    oop_by_visit: dict[str, int]
    top_diagnoses: list[dict[str, object]]
    top_claims: list[dict[str, object]]


def high_cost_threshold(policy: Policy, year: int) -> tuple[int, int, int]:
    """(fraction bp, disposable income fen, threshold fen rounded down) in force at year end;
    the comparison itself is exact: oop × 10000 > fraction × income."""
    on = policy.resolve(dt.date(year, 12, 31))
    fraction = int(on.get("fund.alert").high_cost_fraction)
    income = int(on.get("region.disposable_income"))
    return fraction, income, fraction * income // BP_ONE


def high_cost_list(policy: Policy, year: int, spending: pl.DataFrame, persons: pl.DataFrame,
                   *, limit: int | None = None) -> list[HighCostPerson]:
    """Person-years over the threshold, highest oop first (at most ``limit``): oop per person
    summed on ``spending.person_row``, the claims read only for the persons listed."""
    fraction, income, _ = high_cost_threshold(policy, year)
    rows = spending["person_row"].to_numpy()
    oop = sum_by(rows, spending["oop"], persons.height)
    over_rows = np.flatnonzero(oop * BP_ONE > fraction * income)
    if over_rows.size == 0:
        return []
    over = pl.DataFrame({"row": over_rows, "person_id": persons["person_id"].gather(over_rows),
                         "oop": oop[over_rows]}).sort(["oop", "person_id"],
                                                      descending=[True, False])
    if limit is not None:
        over = over.head(limit)
    listed = np.zeros(persons.height, bool)
    listed[over["row"].to_numpy()] = True
    claims = spending.filter(pl.Series(listed[rows]))
    people = persons.select(pl.all().gather(over["row"]))
    by_id = {r["person_id"]: r for r in people.iter_rows(named=True)}
    drivers = _drivers(claims)
    return [_person(pid, by_id.get(pid, {}), drivers.get(pid)) for pid in over["person_id"]]


@dataclass(frozen=True)
class _Drivers:
    """One listed person's sums and driver tables, from the grouped pass of ``_drivers``."""

    sums: dict[str, int]
    by_visit: dict[str, int]
    diagnoses: list[dict[str, object]]
    top_claims: list[dict[str, object]]


def _drivers(claims: pl.DataFrame) -> dict[str, _Drivers]:
    """Every listed person's sums and drivers in one grouped pass over their claims: oop by
    visit type (highest first), the TOP diagnoses (3-character category) and claims by oop."""
    pid = pl.col("person_id")
    sums = claims.group_by(pid).agg(
        pl.len().alias("claims"), *[pl.col(c).sum() for c in ("total", "oop", "policy_scope",
                                                               "deductible")],
        pl.col("oop").filter(~pl.col("covered")).sum().alias("uncovered"))
    visits = (claims.group_by(pid, "visit_type").agg(pl.col("oop").sum())
              .sort([pid, "oop", "visit_type"], descending=[False, True, False]))
    dx = (claims.with_columns(pl.col("diagnosis").str.slice(0, 3).alias("dx"))
          .group_by(pid, "dx").agg(pl.col("oop").sum())
          .sort([pid, "oop", "dx"], descending=[False, True, False])
          .group_by(pid, maintain_order=True).head(TOP))
    top = (claims.sort([pid, "oop", "claim_id"], descending=[False, True, False])
           .group_by(pid, maintain_order=True).head(TOP)
           .select(pid, "claim_id", "visit_type", "facility_level", "diagnosis", "month",
                   "total", "oop"))
    out: dict[str, _Drivers] = {}
    for r in sums.iter_rows(named=True):
        out[r["person_id"]] = _Drivers({k: int(v) for k, v in r.items() if k != "person_id"},
                                       {}, [], [])
    for p, v, o in visits.iter_rows():
        out[p].by_visit[v] = int(o)
    for p, d, o in dx.iter_rows():
        out[p].diagnoses.append({"diagnosis": str(d), "oop": int(o)})
    for r in top.iter_rows(named=True):
        out[r.pop("person_id")].top_claims.append(r)
    return out


def _person(person_id: str, person: dict[str, object], d: _Drivers | None) -> HighCostPerson:
    assert d is not None  # a listed person has claims
    s = d.sums
    total, oop, scope = s["total"], s["oop"], s["policy_scope"]
    id_number = person.get("id_number")
    categories = person.get("categories") or []
    assert isinstance(categories, list)
    return HighCostPerson(
        person_id, mask_id_number(id_number) if isinstance(id_number, str) else None,
        str(person.get("region", "")), [str(c) for c in categories], s["claims"], total,
        oop, total - scope, oop - (total - scope), s["deductible"], s["uncovered"],
        d.by_visit, d.diagnoses, d.top_claims)
