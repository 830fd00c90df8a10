"""The settlement parameters of one policy-year as plain Python values (fen, basis points).

The two alternative implementations the benchmark compares against yibao (DuckDB SQL in
``settle_sql.py`` and a per-row Python loop in ``settle_loop.py``) both read their terms from
here, resolved from the same policy files the engine uses: per-claim terms on 1 January of
the year (the benchmark refuses a year in which any of them changes, so one epoch suffices),
annual terms on 1 January (SPEC §5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.engine.terms import PER_CLAIM_KEYS
from yibao.policy import Policy

BP = 10_000


@dataclass(frozen=True)
class Layer:
    """One assistance layer: H(s) = min(cap, ratio × (s − deductible)⁺); cap None = none."""

    deductible: int
    ratio: int
    cap: int | None


@dataclass(frozen=True)
class Assist:
    category: str
    first: Layer
    second: Layer | None


@dataclass(frozen=True)
class TiltTerms:
    category: str
    deductible_factor: int
    ratio_delta: int
    no_cap: bool


@dataclass(frozen=True)
class Rules:
    """Everything SPEC §5 needs for one year under one policy, in fen and basis points."""

    region_prefix: str                      # claims are covered for enrolments under this prefix
    year: int
    inpatient_deductible: dict[int, int]    # by facility level
    inpatient_ratio: dict[int, int]
    repeat_factor: tuple[int, ...]
    oor_deductible: int
    oor_delta: int
    op_deductible: dict[int, int]           # levels with general outpatient cover only
    op_ratio: dict[int, int]
    op_limit: int
    chronic_deductible: int
    chronic: dict[str, tuple[int, int]]     # disease code: (ratio, annual_limit)
    lump_sum: dict[str, int] | None
    basic_cap: int
    major_deductible: int
    brackets: tuple[tuple[int | None, int], ...]   # (upto, ratio)
    cumulative_basis: bool
    include_basic_deductible: bool
    major_cap: int
    major_visits: frozenset[str]
    tilt: tuple[TiltTerms, ...]             # in policy order: the first held applies
    assistance: tuple[Assist, ...]          # in policy order: the first held applies
    assist_visits: frozenset[str]

    def tilt_for(self, categories: frozenset[str] | set[str]) -> TiltTerms | None:
        return next((t for t in self.tilt if t.category in categories), None)

    def assist_for(self, categories: frozenset[str] | set[str]) -> Assist | None:
        return next((a for a in self.assistance if a.category in categories), None)


def covered_prefix(region: str) -> str:
    while region.endswith("00"):
        region = region[:-2]
    return region


def rules_for(policy: Policy, year: int) -> Rules:
    jan1 = dt.date(year, 1, 1)
    changes = policy.change_dates(PER_CLAIM_KEYS, jan1, dt.date(year, 12, 31))
    if changes:
        raise SystemExit(f"per-claim terms change during {year} ({changes}); the SQL and loop "
                         "forms of this benchmark handle one epoch a year only")
    r = policy.resolve(jan1)
    general = r.get("outpatient.general")
    oor = r.get("basic.inpatient.out_of_region")
    tilt = tuple(TiltTerms(c, t.deductible_factor, t.ratio_delta, t.no_cap)
                 for c, t in r.get("major.tilt").items())
    assistance = tuple(
        Assist(c, Layer(t.deductible, t.ratio, t.cap),
               None if t.second is None
               else Layer(t.second.deductible, t.second.ratio, t.second.cap))
        for c, t in r.get("assistance.categories").items())
    return Rules(
        region_prefix=covered_prefix(policy.region),
        year=year,
        inpatient_deductible=dict(r.get("basic.inpatient.deductible")),
        inpatient_ratio=dict(r.get("basic.inpatient.ratio")),
        repeat_factor=tuple(r.get("basic.inpatient.repeat_factor")),
        oor_deductible=oor.deductible,
        oor_delta=oor.ratio_delta,
        op_deductible=dict(general.deductible),
        op_ratio={lv: general.ratio.get(lv, 0) for lv in general.deductible},
        op_limit=general.annual_limit,
        chronic_deductible=r.get("outpatient.chronic.deductible"),
        chronic={code: (d.ratio, d.annual_limit)
                 for code, d in r.get("outpatient.chronic.diseases").items()},
        lump_sum=r.get("maternity.lump_sum"),
        basic_cap=r.get("basic.annual_cap"),
        major_deductible=r.get("major.deductible"),
        brackets=tuple((b.upto, b.ratio) for b in r.get("major.brackets")),
        cumulative_basis=r.get("major.bracket_basis") == "cumulative",
        include_basic_deductible=r.get("major.include_basic_deductible"),
        major_cap=r.get("major.cap"),
        major_visits=frozenset(r.get("major.visit_types")),
        tilt=tilt,
        assistance=assistance,
        assist_visits=frozenset(r.get("assistance.visit_types")),
    )
