"""Multi-year projection of the fund (基金中长期精算预测, 九府办发〔2023〕6号 (十), SPEC §7):
enrolment, income, expenditure, accumulated balance and months payable, year by year, from
a base year's indicators and growth assumptions; with a range from resampling persons.

Each year t after the base year:
``enrollees_t = enrollees_0 × (1 + population_growth)^t``;
``income_t = enrollees_t × (income per head_0 + t × (contribution_step + subsidy_step))``;
``expenditure_t = enrollees_t × expenditure per head_0 × ((1 + cost_growth)(1 +
utilisation_growth))^t``; ``balance_t = balance_{t−1} + income_t − expenditure_t``;
``months_payable_t = balance_t ÷ (expenditure_t ÷ 12)``. Rates are exact Fractions; each
money figure is rounded half-up to the fen once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import polars as pl

from yibao.fund.inputs import FundInputs
from yibao.fund.monitoring import Indicators


def _round(x: Fraction) -> int:
    """Half-up to the fen (toward +∞ on ties), exactly."""
    return int((2 * x.numerator + x.denominator) // (2 * x.denominator))


@dataclass(frozen=True)
class Assumptions:
    """Growth assumptions (illustrative defaults; see docs/decisions.md): yearly rates as
    Fractions, steps in fen per person-year added each year."""

    years: int = 5
    population_growth: Fraction = Fraction(0)
    cost_growth: Fraction = Fraction(5, 100)
    utilisation_growth: Fraction = Fraction(2, 100)
    contribution_step: int = 3000
    subsidy_step: int = 3000


@dataclass(frozen=True)
class ProjectionYear:
    """One year of a projection (the first is the base year's actual figures)."""

    year: int
    enrollees: int
    income: int
    expenditure: int
    balance: int
    months_payable: Fraction | None
    months_low: Fraction | None = None
    months_high: Fraction | None = None


@dataclass(frozen=True)
class Base:
    """What a projection starts from: the base year's enrollees, income and basic-fund
    expenditure, the accumulated balance at its end, and whether an opening balance was
    given (else the balance counts from 0)."""

    year: int
    enrollees: int
    income: int
    expenditure: int
    balance: int
    opening_known: bool
    #: per enrollee, the basic-fund expenditure of the year (fen), for the bootstrap
    spend_per_person: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass(frozen=True)
class Projection:
    base: Base
    assumptions: Assumptions
    years: list[ProjectionYear]
    replicates: int
    seed: int


def base_of(ind: Indicators, inputs: FundInputs) -> Base:
    """The base year of ``ind`` (region level), with each enrollee's basic-fund expenditure
    (basic payments on their claims plus an equal share of the transfer to 大病保险)."""
    months = [m for m in ind.monthly if m.region == ind.region]
    income = sum(m.income_total for m in months)
    expenditure = sum(m.expenditure for m in months)
    # sorted: the same seed draws the same persons under the base and a changed policy
    enrollees_ids = inputs.financing["person_id"].unique().sort()
    n = enrollees_ids.len()
    paid = (pl.DataFrame({"person_id": enrollees_ids})
            .join(inputs.spending.group_by("person_id").agg(pl.col("basic").sum()),
                  on="person_id", how="left")["basic"].fill_null(0).to_numpy()
            .astype(np.int64))
    # what is not on an enrollee's claims (the transfer, any payments to non-enrollees) is
    # spread evenly so that the per-person figures add up to the year's expenditure exactly
    rest = expenditure - int(paid.sum())
    share = np.full(n, rest // max(n, 1), np.int64)
    share[: rest % max(n, 1)] += 1
    last = months[-1].accumulated_balance
    current = income - expenditure
    return Base(ind.year, n, income, expenditure, current if last is None else last,
                last is not None, paid + share if n else paid)


def _path(base: Base, a: Assumptions, spend_per_head: Fraction) -> list[ProjectionYear]:
    income_per_head = Fraction(base.income, max(base.enrollees, 1))
    growth = (1 + a.cost_growth) * (1 + a.utilisation_growth)
    rows = [ProjectionYear(base.year, base.enrollees, base.income, base.expenditure,
                           base.balance, _months(base.balance, base.expenditure))]
    balance = base.balance
    for t in range(1, a.years + 1):
        people = base.enrollees * (1 + a.population_growth) ** t
        income = _round(people * (income_per_head + t * (a.contribution_step +
                                                         a.subsidy_step)))
        expenditure = _round(people * spend_per_head * growth ** t)
        balance += income - expenditure
        rows.append(ProjectionYear(base.year + t, _round(people), income, expenditure, balance,
                                   _months(balance, expenditure)))
    return rows


def _months(balance: int, expenditure: int) -> Fraction | None:
    return Fraction(balance * 12, expenditure) if expenditure > 0 else None


def project(base: Base, assumptions: Assumptions | None = None, *, replicates: int = 200,
            seed: int = 0, quantiles: tuple[float, float] = (0.05, 0.95)) -> Projection:
    """The central path, and for each year the range of months payable over ``replicates``
    bootstrap resamples of the enrollees (seeded: the same seed gives the same range)."""
    a = assumptions or Assumptions()
    central = _path(base, a, Fraction(base.expenditure, max(base.enrollees, 1)))
    if replicates <= 0 or base.spend_per_person.size == 0:
        return Projection(base, a, central, 0, seed)
    paths = [_path(base, a, Fraction(int(s), base.enrollees))
             for s in resample_sums(base.spend_per_person, replicates, seed)]
    years = []
    for i, row in enumerate(central):
        values = sorted(m for p in paths if (m := p[i].months_payable) is not None)
        low, high = (_quantile(values, q) for q in quantiles) if values else (None, None)
        years.append(ProjectionYear(row.year, row.enrollees, row.income, row.expenditure,
                                    row.balance, row.months_payable, low, high))
    return Projection(base, a, years, replicates, seed)


def resample_sums(values: np.ndarray, replicates: int, seed: int) -> np.ndarray:
    """Σ of ``values`` over ``replicates`` resamples with replacement (int64, exact)."""
    rng = np.random.default_rng(seed)
    n = values.size
    return np.array([int(values[rng.integers(0, n, n)].sum()) for _ in range(replicates)],
                    dtype=np.int64)


def _quantile(values: list[Fraction], q: float) -> Fraction:
    """The nearest-rank quantile (an observed value, so it stays exact)."""
    k = min(len(values) - 1, max(0, int(np.ceil(q * len(values))) - 1))
    return values[k]
