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
from yibao.fund.sums import person_rows, poisson_sums, sum_by


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
class Draws:
    """A bootstrap's replicates: Σ c·paid and Σ c per replicate (c: each enrollee's Poisson(1)
    count, a function of the seed, the person's row and the replicate alone)."""

    replicates: int
    seed: int
    sums: np.ndarray
    counts: np.ndarray


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
    #: the enrollees' rows in the persons frame (ascending), for the bootstrap
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: per enrollee (as ``rows``), the basic payments on their claims (fen)
    paid: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: the rest of the expenditure (the transfer to 大病保险, payments to non-enrollees),
    #: shared evenly by the enrollees
    rest: int = 0
    _draws: dict[tuple[int, int], Draws] = field(default_factory=dict, compare=False,
                                                repr=False)

    def draws(self, replicates: int, seed: int) -> Draws:
        """The bootstrap draws of this base (worked out once per replicates and seed)."""
        key = (replicates, seed)
        if key not in self._draws:
            self._draws[key] = Draws(replicates, seed,
                                     *poisson_sums(self.rows, self.paid, replicates, seed))
        return self._draws[key]

    def draws_from(self, other: Base, replicates: int, seed: int) -> Draws:
        """This base's draws from ``other``'s, when both have the same enrollees: only the
        enrollees whose payments differ are drawn again (their counts are the same)."""
        if not np.array_equal(self.rows, other.rows):
            return self.draws(replicates, seed)
        theirs = other.draws(replicates, seed)
        moved = np.flatnonzero(self.paid != other.paid)
        extra, _ = poisson_sums(self.rows[moved], self.paid[moved] - other.paid[moved],
                                replicates, seed)
        found = Draws(replicates, seed, theirs.sums + extra, theirs.counts)
        self._draws[(replicates, seed)] = found
        return found


@dataclass(frozen=True)
class Projection:
    base: Base
    assumptions: Assumptions
    years: list[ProjectionYear]
    replicates: int
    seed: int


def base_of(ind: Indicators, inputs: FundInputs, *,
            enrollee_rows: np.ndarray | None = None) -> Base:
    """The base year of ``ind`` (region level), with each enrollee's basic payments for the
    bootstrap. ``enrollee_rows``: the enrollees' rows (``enrollee_rows_of``) when known."""
    months = [m for m in ind.monthly if m.region == ind.region]
    income = sum(m.income_total for m in months)
    expenditure = sum(m.expenditure for m in months)
    rows = enrollee_rows_of(inputs) if enrollee_rows is None else enrollee_rows
    paid = sum_by(inputs.spending["person_row"].to_numpy(), inputs.spending["basic"],
                  inputs.persons.height)[rows]
    last = months[-1].accumulated_balance
    current = income - expenditure
    return Base(ind.year, rows.size, income, expenditure, current if last is None else last,
                last is not None, rows, paid, expenditure - int(paid.sum()))


def enrollee_rows_of(inputs: FundInputs) -> np.ndarray:
    """The rows of the year's enrollees in the persons frame, ascending: the persons' row order
    does not depend on the policy, so a what-if's base and changed year draw the same
    persons."""
    held = np.zeros(inputs.persons.height, bool)
    held[person_rows(inputs.persons, inputs.financing["person_id"], "financing")] = True
    return np.flatnonzero(held)


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
            draws: Draws | None = None) -> Projection:
    """The central path, and for each year the range of months payable over ``replicates``
    Poisson-bootstrap resamples of the enrollees (seeded: the same seed gives the same range).
    A replicate's expenditure per head is Σ c·(paid + rest ÷ n) ÷ Σ c over its counts c.
    ``draws``: the replicates, when drawn already (``project_pair``)."""
    a = assumptions or Assumptions()
    n = base.enrollees
    central = _path(base, a, Fraction(base.expenditure, max(n, 1)))
    if replicates <= 0 or base.paid.size == 0:
        return Projection(base, a, central, 0, seed)
    d = base.draws(replicates, seed) if draws is None else draws
    heads = [Fraction(int(s) * n + base.rest * int(c), n * int(c))
             for s, c in zip(d.sums, d.counts, strict=True) if c > 0]
    months = _replicate_months(base, a, heads)
    years = []
    for i, row in enumerate(central):
        values = sorted(m for m in months[i] if m is not None)
        low, high = (_quantile(values, q) for q in quantiles) if values else (None, None)
        years.append(ProjectionYear(row.year, row.enrollees, row.income, row.expenditure,
                                    row.balance, row.months_payable, low, high))
    return Projection(base, a, years, replicates, seed)


def _replicate_months(base: Base, a: Assumptions,
                      heads: list[Fraction]) -> list[list[Fraction | None]]:
    """Months payable of each year (rows) for each replicate's spend per head (columns): the
    path of ``_path`` with the income and the per-head factors worked out once."""
    per_head = Fraction(base.income, max(base.enrollees, 1))
    growth = (1 + a.cost_growth) * (1 + a.utilisation_growth)
    out: list[list[Fraction | None]] = [[_months(base.balance, base.expenditure)] * len(heads)]
    balances = [base.balance] * len(heads)
    for t in range(1, a.years + 1):
        people = base.enrollees * (1 + a.population_growth) ** t
        income = _round(people * (per_head + t * (a.contribution_step + a.subsidy_step)))
        factor = people * growth ** t
        row: list[Fraction | None] = []
        for k, head in enumerate(heads):
            num, den = factor.numerator * head.numerator, factor.denominator * head.denominator
            expenditure = (2 * num + den) // (2 * den)  # _round, on integers
            balances[k] += income - expenditure
            row.append(_months(balances[k], expenditure))
        out.append(row)
    return out


def project_pair(first: Base, second: Base, assumptions: Assumptions | None = None, *,
                 replicates: int = 200, seed: int = 0,
                 before: Projection | None = None) -> tuple[Projection, Projection]:
    """``project`` of two bases of the same enrollees (a what-if's base and changed year) on
    the same draws: the second's are the first's plus the draws of the enrollees whose
    payments differ. ``before``: ``first``'s projection with these arguments, if known."""
    reps = max(replicates, 0)
    if before is None:
        before = project(first, assumptions, replicates=reps, seed=seed)
    return before, project(second, assumptions, replicates=reps, seed=seed,
                           draws=second.draws_from(first, reps, seed) if reps else None)


def _quantile(values: list[Fraction], q: float) -> Fraction:
    """The nearest-rank quantile (an observed value, so it stays exact)."""
    k = min(len(values) - 1, max(0, int(np.ceil(q * len(values))) - 1))
    return values[k]
