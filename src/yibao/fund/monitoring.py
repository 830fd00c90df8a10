"""Fund indicators (基金运行监测指标, SPEC §7) per region, county and month, from ``FundInputs``.

Income by source, basic-fund expenditure, current and accumulated balance, months payable,
spending by payer and visit type, the policy-scope reimbursement ratio by visit type and
facility level, the oop share and coverage against the target population. Money is integer
fen and every ratio an exact ``Fraction``; rounding happens only where a figure is shown
(``yibao.fund.jsonable``). One pass over the claims builds a small cube (county × month ×
visit type × level × covered); every spending figure is read from the cube.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl

from yibao.fund.highcost import HighCostPerson, high_cost_list
from yibao.fund.inputs import LOW_INCOME, TOTAL, FundInputs, count_by_category
from yibao.fund.sums import count_by, person_rows, sum_by
from yibao.io.schemas import VISIT_TYPES

ALL = "all"
INCOME_SOURCES = ("individual", "assisted", "subsidy_central", "subsidy_provincial",
                  "subsidy_local")
CUBE_KEYS = ("county", "month", "visit_type", "facility_level", "covered")
PAYER_SUMS = ("total", "policy_scope", "deductible", "basic", "major", "assistance", "oop")


@dataclass(frozen=True)
class MonthRow:
    """One region's (or county's) fund account for one month; money in fen.

    ``expenditure`` is the basic fund's: basic payments plus the transfer to 大病保险
    (``financing.major_illness_funding``), or plus the major payments themselves where the
    policy sets no transfer. ``accumulated_balance`` and ``months_payable`` are None where no
    opening balance is known; ``months_payable`` is None while nothing has been spent.
    """

    region: str
    month: int
    income: dict[str, int]
    income_total: int
    basic_paid: int
    major_transfer: int
    expenditure: int
    current_balance: int
    accumulated_balance: int | None
    months_payable: Fraction | None


@dataclass(frozen=True)
class SpendingRow:
    """Claims and each payer's sum for a region (or county) and visit type (``all``)."""

    region: str
    visit_type: str
    claims: int
    covered_claims: int
    total: int
    policy_scope: int
    deductible: int
    basic: int
    major: int
    assistance: int
    oop: int
    oop_share: Fraction | None


@dataclass(frozen=True)
class RatioRow:
    """实际政策范围内报销比例: Σ basic ÷ Σ policy_scope over covered claims (level 0: all)."""

    region: str
    visit_type: str
    facility_level: int
    claims: int
    policy_scope: int
    basic: int
    ratio: Fraction | None


@dataclass(frozen=True)
class CoverageRow:
    """参保率: resident enrollees of the year against the target population."""

    region: str
    category: str
    enrolled: int
    target: int | None
    rate: Fraction | None


@dataclass(frozen=True)
class Indicators:
    """Every SPEC §7 figure of one region-year; ``counties`` lists the county codes seen."""

    region: str
    name: str
    year: int
    counties: list[str]
    monthly: list[MonthRow]
    spending: list[SpendingRow]
    ratios: list[RatioRow]
    coverage: list[CoverageRow]
    high_cost: list[HighCostPerson]
    high_cost_threshold: int


def spending_cube(spending: pl.DataFrame, claim_key: CubeKey | None = None) -> pl.DataFrame:
    """Sums per county, month, visit type, facility level and covered: the one pass over the
    claims that every spending figure is read from. The five dimensions are packed into one
    int key and each column summed by it (``yibao.fund.sums``), exact in fen."""
    if spending.height:
        return cube_by_key(spending, claim_key)
    return spending.with_columns(pl.col("county", "visit_type").cast(pl.String)).group_by(
        *CUBE_KEYS).agg(pl.len().cast(pl.Int64).alias("claims"),
                        *[pl.col(c).sum() for c in PAYER_SUMS])


@dataclass(frozen=True)
class CubeKey:
    """The claim side of the cube's packed key, which no policy moves: ``key`` =
    (((county × 12 + month − 1) × visits + visit) × levels + level − lowest), a null county
    or visit type its own code after the others; the cell is ``key × 2 + covered``."""

    key: np.ndarray
    counties: list[str]
    visits: list[str]
    levels: int
    low: int


def cube_key(spending: pl.DataFrame) -> CubeKey:
    """The ``CubeKey`` of a non-empty spending frame."""
    county, counties = _codes(spending["county"])
    visit, visits = _codes(spending["visit_type"], sorted(VISIT_TYPES))
    level = spending["facility_level"].cast(pl.Int64).to_numpy()
    low, levels = int(level.min()), int(level.max() - level.min()) + 1
    month = spending["month"].cast(pl.Int64).to_numpy() - 1
    key = ((county * 12 + month) * (len(visits) + 1) + visit) * levels + level - low
    return CubeKey(key, counties, visits, levels, low)


def cube_by_key(spending: pl.DataFrame, claim_key: CubeKey | None = None) -> pl.DataFrame:
    """``spending_cube`` of a non-empty frame, summed by the packed key (``claim_key``: the
    key of these same claims, worked out already)."""
    ck = cube_key(spending) if claim_key is None else claim_key
    levels, nv = ck.levels, len(ck.visits) + 1
    key = ck.key * 2 + spending["covered"].cast(pl.Int64).to_numpy()
    size = (len(ck.counties) + 1) * 12 * nv * levels * 2
    claims = count_by(key, size)
    cells = np.flatnonzero(claims)
    rest, covered = np.divmod(cells, 2)
    rest, lvl = np.divmod(rest, levels)
    rest, vis = np.divmod(rest, nv)
    cty, mon = np.divmod(rest, 12)
    return pl.DataFrame({
        "county": pl.Series([*ck.counties, None], dtype=pl.String).gather(cty),
        "month": pl.Series(mon + 1, dtype=pl.Int8),
        "visit_type": pl.Series([*ck.visits, None], dtype=pl.String).gather(vis),
        "facility_level": pl.Series(lvl + ck.low, dtype=pl.Int8),
        "covered": covered.astype(bool), "claims": claims[cells],
        **{c: sum_by(key, spending[c], size)[cells] for c in PAYER_SUMS}})


def _codes(s: pl.Series, known: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Codes 0 … k−1 of a string (or Enum) column's values and the k values they stand for;
    null is code k. ``known``: the values expected, tried first (one cast, no hashing)."""
    if not isinstance(s.dtype, pl.Enum):
        enum = None if known is None else s.cast(pl.Enum(known), strict=False)
        if enum is None or enum.null_count() != s.null_count():
            enum = s.cast(pl.String).cast(pl.Enum(sorted(s.drop_nulls().unique().to_list())))
        s = enum
    assert isinstance(s.dtype, pl.Enum)
    values = s.dtype.categories.to_list()
    return s.to_physical().cast(pl.Int64).fill_null(len(values)).to_numpy(), values


def twelfths(amount: int, month: int) -> int:
    """The month's share of an annual amount paid in twelve instalments, exact in sum:
    ⌊A·m/12⌋ − ⌊A·(m−1)/12⌋."""
    return amount * month // 12 - amount * (month - 1) // 12


def _months_payable(balance: int | None, spent: list[int]) -> Fraction | None:
    """SPEC §7: accumulated balance ÷ (last 12 months' expenditure ÷ 12); within the first
    year, the average of the months so far stands for the monthly expenditure."""
    recent = spent[-12:]
    if balance is None or sum(recent) <= 0:
        return None
    return Fraction(balance * len(recent), sum(recent))


def income_by_month(inputs: FundInputs) -> pl.DataFrame:
    """Per county and month: contributions in the month they arrived (advance payments for the
    year count in January), the fiscal subsidy and the transfer in twelve instalments."""
    f = inputs.financing
    month = (pl.when(pl.col("paid_date").dt.year() < inputs.year).then(1)
             .when(pl.col("paid_date").dt.year() > inputs.year).then(12)
             .otherwise(pl.col("paid_date").dt.month()).cast(pl.Int8))
    paid = (f.with_columns(pl.col("region").str.slice(0, 6).alias("county"), month.alias("month"))
            .group_by("county", "month").agg(pl.col("paid").sum().alias("individual"),
                                             pl.col("assisted").sum()))
    yearly = f.with_columns(pl.col("region").str.slice(0, 6).alias("county")).group_by(
        "county").agg(pl.len().alias("enrollees"),
                      *[pl.col(c).sum() for c in INCOME_SOURCES[2:]])
    return paid.rename({"assisted": "assisted_paid"}).join(yearly, on="county", how="full",
                                                           coalesce=True)


def _transfer_per_head(inputs: FundInputs) -> int | None:
    on = inputs.policy.resolve(dt.date(inputs.year, 1, 1))
    if on.has("financing.major_illness_funding"):
        return int(on.get("financing.major_illness_funding"))
    return None


def monthly_accounts(inputs: FundInputs, cube: pl.DataFrame, *,
                     income: pl.DataFrame | None = None) -> list[MonthRow]:
    """The fund account of the whole region and of each county, month by month; ``income``:
    ``income_by_month`` of the same financing and year, worked out already."""
    income = income_by_month(inputs) if income is None else income
    per_head = _transfer_per_head(inputs)
    spent = cube.group_by("county", "month").agg(pl.col("basic").sum(), pl.col("major").sum())
    counties = sorted({*income["county"].drop_nulls(), *spent["county"].drop_nulls()}
                      - {inputs.policy.region})
    rows: list[MonthRow] = []
    for key in [inputs.policy.region, *counties]:
        whole = key == inputs.policy.region
        inc = income if whole else income.filter(pl.col("county") == key)
        sp = spent if whole else spent.filter(pl.col("county") == key)
        rows += _account(inputs, key, inc, sp, per_head, _opening(inputs, key, counties))
    return rows


def _opening(inputs: FundInputs, key: str, counties: list[str]) -> int | None:
    if key in inputs.opening:
        return inputs.opening[key]
    if key == inputs.policy.region:
        given = [inputs.opening[c] for c in counties if c in inputs.opening]
        return sum(given) if given and len(given) == len(counties) else None
    return None


def _account(inputs: FundInputs, key: str, inc: pl.DataFrame, sp: pl.DataFrame,
             per_head: int | None, opening: int | None) -> list[MonthRow]:
    yearly = {c: int(inc.unique("county")[c].sum() or 0) for c in
              ("enrollees", *INCOME_SOURCES[2:])}
    transfer = None if per_head is None else yearly["enrollees"] * per_head
    paid = _by_month(inc, "individual", "assisted_paid")
    spent = _by_month(sp, "basic", "major")
    balance, spent_so_far, rows = opening, [], []
    for m in range(1, 13):
        individual, assisted = paid.get(m, (0, 0))
        income = {"individual": individual, "assisted": assisted,
                  **{c: twelfths(yearly[c], m) for c in INCOME_SOURCES[2:]}}
        basic, major = spent.get(m, (0, 0))
        moved = major if transfer is None else twelfths(transfer, m)
        expenditure = basic + moved
        current = sum(income.values()) - expenditure
        balance = None if balance is None else balance + current
        spent_so_far.append(expenditure)
        rows.append(MonthRow(key, m, income, sum(income.values()), basic, moved, expenditure,
                             current, balance, _months_payable(balance, spent_so_far)))
    return rows


def _by_month(frame: pl.DataFrame, a: str, b: str) -> dict[int, tuple[int, int]]:
    """Month → the sums of columns ``a`` and ``b`` (one pass; months without rows absent)."""
    sums = frame.group_by("month").agg(pl.col(a).sum(), pl.col(b).sum())
    return {int(m): (int(x or 0), int(y or 0)) for m, x, y in sums.iter_rows() if m is not None}


def spending_rows(region: str, cube: pl.DataFrame) -> list[SpendingRow]:
    """Claims and payers' sums by visit type and in all, for the region and each county;
    the oop share is over covered claims (an uncovered claim is no 医保 settlement)."""
    whole = cube.with_columns(pl.lit(region).alias("county"))
    both = pl.concat([whole, _counties(region, cube)])
    by_visit = both.group_by("county", "visit_type").agg(*_sums())
    every = both.with_columns(pl.lit(ALL).alias("visit_type")).group_by(
        "county", "visit_type").agg(*_sums())
    rows = []
    for r in pl.concat([by_visit, every]).sort("county", "visit_type").iter_rows(named=True):
        share = Fraction(r["covered_oop"], r["covered_total"]) if r["covered_total"] else None
        money = {c: int(r[c]) for c in PAYER_SUMS}
        rows.append(SpendingRow(r["county"], r["visit_type"], int(r["claims"]),
                                int(r["covered_claims"]), oop_share=share, **money))
    return rows


def _counties(region: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of real counties: a person registered at the region's own code has no county."""
    return frame.filter(pl.col("county").is_not_null() & (pl.col("county") != region))


def _sums() -> list[pl.Expr]:
    cov = pl.col("covered")
    return [pl.col("claims").sum(), pl.col("claims").filter(cov).sum().alias("covered_claims"),
            *[pl.col(c).sum() for c in PAYER_SUMS],
            pl.col("total").filter(cov).sum().alias("covered_total"),
            pl.col("oop").filter(cov).sum().alias("covered_oop")]


def ratio_rows(region: str, cube: pl.DataFrame) -> list[RatioRow]:
    """The ratio by visit type × facility level, by visit type, and in all, for the region;
    and for each county by visit type (the inpatient one is what the 70% alert reads)."""
    cov = cube.filter(pl.col("covered"))
    agg = [pl.col("claims").sum(), pl.col("policy_scope").sum(), pl.col("basic").sum()]
    whole = cov.with_columns(pl.lit(region).alias("county"))
    parts = [
        whole.group_by("county", "visit_type", "facility_level").agg(*agg),
        pl.concat([whole, _counties(region, cov)]).group_by(
            "county", "visit_type").agg(*agg).with_columns(pl.lit(0).alias("facility_level")),
        whole.group_by("county").agg(*agg).with_columns(pl.lit(ALL).alias("visit_type"),
                                                        pl.lit(0).alias("facility_level")),
    ]
    cols = ["county", "visit_type", "facility_level", "claims", "policy_scope", "basic"]
    table = pl.concat([p.select(cols).with_columns(pl.col("facility_level").cast(pl.Int64))
                       for p in parts])
    return [RatioRow(r["county"], r["visit_type"], int(r["facility_level"]), int(r["claims"]),
                     int(r["policy_scope"]), int(r["basic"]),
                     Fraction(r["basic"], r["policy_scope"]) if r["policy_scope"] else None)
            for r in table.sort("county", "visit_type", "facility_level").iter_rows(named=True)]


def coverage_rows(inputs: FundInputs) -> list[CoverageRow]:
    """Enrollees of the year (distinct persons with a resident enrolment in the region) by
    county and category, against the targets; the region's target is its own row in the
    target file, or the sum of its counties' rows."""
    f = inputs.financing
    held, first = np.unique(person_rows(inputs.persons, f["person_id"], "financing"),
                            return_index=True)
    persons = inputs.persons.select(pl.col("person_id", "categories").gather(held))
    enrolled = count_by_category(persons, f["region"].gather(first).str.slice(0, 6),
                                 low_income_categories(inputs))
    targets = inputs.targets.rename({"target": "persons"})
    region = inputs.policy.region
    rows = []
    for cat in sorted(set(enrolled["category"]) | set(targets["category"]), key=_cat_order):
        e_cat = enrolled.filter(pl.col("category") == cat)
        t_cat = targets.filter(pl.col("category") == cat)
        counties = sorted((set(e_cat["region"]) | set(t_cat["region"])) - {region})
        own = t_cat.filter(pl.col("region") == region)
        whole_target = (int(own["persons"].sum()) if own.height else
                        int(t_cat["persons"].sum()) if t_cat.height else None)
        rows.append(_coverage(region, cat, int(e_cat["persons"].sum()), whole_target))
        for c in counties:
            t = t_cat.filter(pl.col("region") == c)["persons"]
            rows.append(_coverage(c, cat, int(e_cat.filter(pl.col("region") == c)["persons"]
                                              .sum()), int(t.sum()) if t.len() else None))
    return rows


def low_income_categories(inputs: FundInputs) -> list[str]:
    """``fund.low_income_categories`` at the end of the year."""
    on = inputs.policy.resolve(dt.date(inputs.year, 12, 31))
    return list(on.get("fund.low_income_categories"))


def _cat_order(category: str) -> tuple[int, str]:
    return ({TOTAL: 0, LOW_INCOME: 1}.get(category, 2), category)


def _coverage(region: str, category: str, enrolled: int, target: int | None) -> CoverageRow:
    return CoverageRow(region, category, enrolled, target,
                       Fraction(enrolled, target) if target else None)


def indicators(inputs: FundInputs, *, high_cost_limit: int | None = 200,
               coverage: list[CoverageRow] | None = None,
               claim_key: CubeKey | None = None, income: pl.DataFrame | None = None
               ) -> Indicators:
    """Every SPEC §7 indicator of ``inputs``' region-year (see the row types); ``coverage``:
    rows already worked out from the same persons, financing, targets and low-income
    categories (a what-if that changes none of them); ``claim_key``: the cube key of the same
    claims in the same order (a what-if's base); ``income``: ``income_by_month`` of the same
    financing."""
    from yibao.fund.highcost import high_cost_threshold

    cube = spending_cube(inputs.spending, claim_key)
    region = inputs.policy.region
    monthly = monthly_accounts(inputs, cube, income=income)
    counties = sorted({r.region for r in monthly} - {region})
    return Indicators(
        region, inputs.policy.name, inputs.year, counties, monthly,
        spending_rows(region, cube), ratio_rows(region, cube),
        coverage_rows(inputs) if coverage is None else coverage,
        high_cost_list(inputs.policy, inputs.year, inputs.spending, inputs.persons,
                       limit=high_cost_limit),
        high_cost_threshold(inputs.policy, inputs.year)[2])
