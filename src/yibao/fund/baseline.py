"""What a policy what-if reuses from the base year (测算基线): everything that does not depend on
the changed parameters is worked out once, and a what-if settles only under the change.

A ``Baseline`` holds the year's claims, the enrolment history, the base policy's person-year
terms (benefit starts and effective major caps, ``engine.person_years``) together with every
policy value they were worked from, the enrollees' rows, the projection base (with its
bootstrap draws) and the spending cube's claim-side key. A changed policy reuses the terms
when it gives each of those values unchanged (``PolicyReads.same_under``): the terms are a
function of the persons, enrolments, history and those values alone. A dashboard prepares one
baseline and answers many what-ifs from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from yibao.engine.enrollment import History, build_history
from yibao.engine.person_years import person_year_terms
from yibao.engine.settlement import ClaimSide, claim_side
from yibao.fund.inputs import FundInputs
from yibao.fund.monitoring import CubeKey, Indicators, cube_key, income_by_month
from yibao.fund.projection import Assumptions, Base, Projection, base_of, enrollee_rows_of, project
from yibao.policy import Policy
from yibao.policy.loader import Provenance

#: how many changes' person-year terms a baseline keeps (a frame of every person-year each)
KEPT_CHANGES = 4


class PolicyReads(Policy):
    """A policy that records every value looked up through it (key and date) and every
    change-date query, so that a result worked out through it can tell whether another
    policy would have given it the same inputs."""

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy.chain)
        self.lookups: set[tuple[str, dt.date]] = set()
        self.date_queries: set[tuple[tuple[str, ...], dt.date, dt.date]] = set()

    def lookup(self, key: str, on: dt.date) -> Provenance | None:
        self.lookups.add((key, on))
        return super().lookup(key, on)

    def change_dates(self, keys: list[str], start: dt.date, end: dt.date) -> list[dt.date]:
        self.date_queries.add((tuple(keys), start, end))
        return super().change_dates(keys, start, end)

    def same_under(self, other: Policy) -> bool:
        """Whether ``other`` gives every value read here, and every change date, unchanged."""
        base = Policy(self.chain)
        return (all(_value(base.lookup(k, on)) == _value(other.lookup(k, on))
                    for k, on in self.lookups)
                and all(base.change_dates(list(k), s, e) == other.change_dates(list(k), s, e)
                        for k, s, e in self.date_queries))


def _value(found: Provenance | None) -> object:
    return None if found is None else (True, found.value)


@dataclass
class Baseline:
    """The base year of a what-if, prepared once (see the module's docstring)."""

    inputs: FundInputs
    indicators: Indicators
    persons: pl.DataFrame
    enrollments: pl.DataFrame
    claims: pl.DataFrame
    years: list[int]
    history: History
    terms: pl.DataFrame
    terms_reads: PolicyReads
    enrollee_rows: np.ndarray
    base: Base
    cube: CubeKey | None
    income: pl.DataFrame
    #: the engine's claim-side work on ``claims`` (None for a year without claims)
    claim_side: ClaimSide | None
    #: whether ``claims`` are the base spending's, in its order, of the same persons
    same_claims: bool
    _changed_terms: list[tuple[PolicyReads, pl.DataFrame]] = field(default_factory=list)
    _projections: dict[tuple[Assumptions, int, int], Projection] = field(
        default_factory=dict)

    def projection(self, assumptions: Assumptions | None, replicates: int,
                   seed: int) -> Projection:
        """The base year's projection (worked out once per assumptions, replicates and seed)."""
        key = (assumptions or Assumptions(), replicates, seed)
        if key not in self._projections:
            self._projections[key] = project(self.base, assumptions, replicates=replicates,
                                             seed=seed)
        return self._projections[key]

    def terms_under(self, changed: Policy) -> pl.DataFrame:
        """The person-year terms under ``changed``: the base's (or an earlier change's) when
        ``changed`` gives every value they were worked from unchanged, else worked out anew
        on the same history."""
        for reads, terms in [(self.terms_reads, self.terms), *self._changed_terms]:
            if reads.same_under(changed):
                return terms
        reads = PolicyReads(changed)
        terms = person_year_terms(reads, self.persons, self.enrollments, self.history,
                                  self.years)
        self._changed_terms[:] = [*self._changed_terms[1 - KEPT_CHANGES:], (reads, terms)]
        return terms

    def forget_changes(self) -> None:
        """Drop the person-year terms kept for earlier changes (the next change works its
        own out, unless the base's serve)."""
        self._changed_terms.clear()


def prepare(inputs: FundInputs, ind: Indicators, persons: pl.DataFrame,
            enrollments: pl.DataFrame, claims: pl.DataFrame, *,
            history: pl.DataFrame | None = None) -> Baseline:
    """The baseline of ``inputs``' year: ``claims`` (of any years; the year's are kept) and
    ``history`` (earlier years' settlement results) as ``settle_claims`` takes them."""
    of_year = claims.filter(pl.col("settle_date").dt.year() == inputs.year)
    years = [inputs.year] if of_year.height else []
    hist = build_history(persons, enrollments, history, through=inputs.year)
    reads = PolicyReads(inputs.policy)
    terms = (person_year_terms(reads, persons, enrollments, hist, years) if years
             else pl.DataFrame())
    rows = enrollee_rows_of(inputs)
    return Baseline(inputs, ind, persons, enrollments, of_year, years, hist, terms, reads,
                    rows, base_of(ind, inputs, enrollee_rows=rows),
                    cube_key(inputs.spending) if inputs.spending.height else None,
                    income_by_month(inputs),
                    claim_side(persons, enrollments, of_year) if of_year.height else None,
                    same_claims(inputs, persons, of_year))


def same_claims(base: FundInputs, persons: pl.DataFrame, results: pl.DataFrame) -> bool:
    """Whether ``results`` (or claims) are of the base's claims, in the same order, of the
    same persons."""
    return ((persons is base.persons or persons.equals(base.persons))
            and base.spending.height == results.height
            and base.spending["claim_id"].equals(results["claim_id"]))
