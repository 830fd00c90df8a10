"""Per person-year terms that feed the kernel: benefit start and the effective major cap.

This is where enrolment (SPEC §6.2) and incentives (SPEC §5.4) meet settlement:
``settle_claims`` builds the history, works out each person-year's benefit start
and effective major-illness cap, and hands both to the kernel as columns.
"""

from __future__ import annotations

import polars as pl

from yibao.engine.enrollment import History, benefit_starts, build_history
from yibao.engine.incentives import major_caps
from yibao.engine.order import person_index
from yibao.engine.settlement import ClaimSide, Settlement, covered_region, settle
from yibao.policy import Policy


def in_region(policy: Policy, enrollments: pl.DataFrame) -> pl.DataFrame:
    """Resident enrolments inside the policy's region."""
    return enrollments.filter((pl.col("scheme") == "resident")
                              & pl.col("region").str.starts_with(covered_region(policy.region)))


def person_year_terms(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
                      history: History, years: list[int]) -> pl.DataFrame:
    """person_id, year, benefit_start (earliest of the person-year's enrolments), major_cap."""
    starts = benefit_starts(policy, persons, in_region(policy, enrollments), history, years)
    terms = starts.group_by("person_id", "year").agg(pl.col("benefit_start").min())
    caps = []
    for year in years:
        of_year = terms.filter(pl.col("year") == year)
        rows = person_index(persons["person_id"], of_year["person_id"], "enrollments")
        caps.append(of_year.with_columns(
            pl.Series("major_cap", major_caps(policy, history, rows, year).cap, pl.Int64)))
    if not caps:
        return terms.with_columns(pl.lit(None, pl.Int64).alias("major_cap"))
    return pl.concat(caps)


def settle_claims(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
                  claims: pl.DataFrame, *, history: pl.DataFrame | None = None,
                  opening: pl.DataFrame | None = None, trace: bool = False,
                  person_years: pl.DataFrame | None = None,
                  prepared: ClaimSide | None = None) -> Settlement:
    """Settle with benefit starts and incentive caps worked out from the enrolment history
    and earlier years' settlement results (``history``, the settlement output format).
    ``person_years``: those terms already worked out (``person_year_terms`` of the same
    policy values, persons, enrolments and history), e.g. by a what-if whose change cannot
    move them; ``history`` is then not read. ``prepared``: ``claim_side`` of these frames
    (``settle``)."""
    years = sorted(int(y) for y in claims["settle_date"].dt.year().unique())
    if not years:
        return settle(policy, persons, enrollments, claims, opening=opening, trace=trace)
    terms = person_years
    if terms is None:
        hist = build_history(persons, enrollments, history, through=max(years))
        terms = person_year_terms(policy, persons, enrollments, hist, years)
    return settle(policy, persons, enrollments, claims, person_years=terms, opening=opening,
                  trace=trace, prepared=prepared)
