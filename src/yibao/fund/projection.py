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

from yibao.fund.inputs import FundInputs
from yibao.fund.monitoring import Indicators
from yibao.fund.sums import person_rows, resample_sums, sum_by


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
    # in the persons' row order: the same seed draws the same persons under the base and a
    # changed policy (the enrollees do not depend on the policy)
    rows = np.unique(person_rows(inputs.persons, inputs.financing["person_id"], "financing"))
    n = rows.size
    paid = sum_by(inputs.spending["person_row"].to_numpy(), inputs.spending["basic"],
                  inputs.persons.height)[rows]
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
            seed: int = 0, quantiles: tuple[float, float] = (0.05, 0.95),
            sums: np.ndarray | None = None) -> Projection:
    """The central path, and for each year the range of months payable over ``replicates``
    bootstrap resamples of the enrollees (seeded: the same seed gives the same range).
    ``sums``: the replicates' resampled expenditure, when drawn already (``project_pair``)."""
    a = assumptions or Assumptions()
    central = _path(base, a, Fraction(base.expenditure, max(base.enrollees, 1)))
    if replicates <= 0 or base.spend_per_person.size == 0:
        return Projection(base, a, central, 0, seed)
    if sums is None:
        sums = resample_sums(base.spend_per_person, replicates, seed)
    paths = [_path(base, a, Fraction(int(s), base.enrollees)) for s in sums]
    years = []
    for i, row in enumerate(central):
        values = sorted(m for p in paths if (m := p[i].months_payable) is not None)
        low, high = (_quantile(values, q) for q in quantiles) if values else (None, None)
        years.append(ProjectionYear(row.year, row.enrollees, row.income, row.expenditure,
                                    row.balance, row.months_payable, low, high))
    return Projection(base, a, years, replicates, seed)


def project_pair(first: Base, second: Base, assumptions: Assumptions | None = None, *,
                 replicates: int = 200, seed: int = 0) -> tuple[Projection, Projection]:
    """``project`` of two bases of the same enrollees (a what-if's base and changed year)
    with one set of draws: the same figures as two ``project`` calls, half the resampling."""
    a, b = first.spend_per_person, second.spend_per_person
    if replicates <= 0 or a.size == 0 or a.size != b.size:
        return (project(first, assumptions, replicates=replicates, seed=seed),
                project(second, assumptions, replicates=replicates, seed=seed))
    both = resample_sums(np.vstack([a, b]), replicates, seed)
    return (project(first, assumptions, replicates=replicates, seed=seed, sums=both[0]),
            project(second, assumptions, replicates=replicates, seed=seed, sums=both[1]))


def _quantile(values: list[Fraction], q: float) -> Fraction:
    """The nearest-rank quantile (an observed value, so it stays exact)."""
    k = min(len(values) - 1, max(0, int(np.ceil(q * len(values))) - 1))
    return values[k]
