"""What fund monitoring reads, as frames: one year's claims with their settlement results,
financing rows, persons, a target population and opening balances (基金运行监测的输入).

The same ``FundInputs`` is built from batch files (``from_frames``) and from the store
(``yibao.fund.store_inputs``), so every indicator is one function whatever the source.
County (县级) codes: a claim belongs to the county of the person's ``region`` (参保地), an
enrolment's income to the enrolment's ``region`` (docs/decisions.md, "Fund monitoring").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from yibao.engine.enrollment import build_history
from yibao.engine.financing import finance
from yibao.engine.settlement import covered_region
from yibao.errors import InputError, Problem
from yibao.fund.sums import person_rows
from yibao.policy import Policy
from yibao.policy.model import CATEGORIES

#: Target-population categories beside the person categories: everyone, and the low-income
#: groups of ``fund.low_income_categories``.
TOTAL, LOW_INCOME = "all", "low_income"
TARGET_CATEGORIES = (TOTAL, LOW_INCOME, *CATEGORIES)
_SPEND = ["claim_id", "person_id", "facility_level", "visit_type", "settle_date", "total",
          "diagnosis"]
RESULT_COLUMNS = ["covered", "policy_scope", "deductible", "basic", "major", "assistance",
                  "oop"]


@dataclass(frozen=True)
class FundInputs:
    """One region-year's monitoring inputs; money in fen.

    ``spending``: one row per claim of the year — claim_id, person_id, person_row (the
    person's row in ``persons``), county (Enum), month,
    visit_type, facility_level, diagnosis, covered, total, policy_scope, deductible, basic,
    major, assistance, oop. ``financing``: ``engine.financing.finance`` rows of the year with a
    ``paid_date`` column. ``targets``: region, category, target (persons). ``opening``:
    accumulated balance on 1 January by region code (the whole region's code, county codes).
    """

    policy: Policy
    year: int
    spending: pl.DataFrame
    financing: pl.DataFrame
    persons: pl.DataFrame
    targets: pl.DataFrame
    opening: Mapping[str, int] = field(default_factory=dict)


def spending_frame(claims: pl.DataFrame, results: pl.DataFrame,
                   persons: pl.DataFrame) -> pl.DataFrame:
    """Claims joined to their results (by position when the claim_ids line up, the usual case
    for a batch's own output; else by claim_id), with the person's row in ``persons``
    (``person_row``) and county (an Enum of the persons' county codes). A claim whose person
    is not among the persons is an InputError UNKNOWN_PERSON, as in settlement."""
    c = claims.select(_SPEND)
    if results.height == claims.height and results["claim_id"].equals(claims["claim_id"]):
        joined = pl.concat([c, results.select(RESULT_COLUMNS)], how="horizontal")
    else:
        joined = c.join(results.select(["claim_id", *RESULT_COLUMNS]), on="claim_id", how="inner")
        if joined.height != claims.height:
            missing = claims.join(results.select("claim_id"), on="claim_id", how="anti")
            raise InputError([Problem("RESULT_MISSING", "claim has no settlement result",
                                      f"claim {cid}", "claim_id")
                              for cid in missing["claim_id"].head(50)])
    rows = person_rows(persons, joined["person_id"], "claims")
    return (joined.with_columns(pl.Series("person_row", rows, pl.Int64),
                                person_counties(persons).gather(rows).alias("county"),
                                pl.col("settle_date").dt.month().cast(pl.Int8).alias("month"))
            .drop("settle_date"))


def person_counties(persons: pl.DataFrame) -> pl.Series:
    """Each person's county code (the first six digits of ``region``) as an Enum over the
    codes present, sorted: a 4-byte code per claim instead of a string."""
    county = persons["region"].str.slice(0, 6)
    return county.cast(pl.Enum(sorted(county.drop_nulls().unique().to_list())))


def financing_frame(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
                    year: int) -> pl.DataFrame:
    """``finance`` rows of ``year`` inside the policy's region, with each enrolment's
    paid_date (the month the contribution arrived)."""
    inside = enrollments.filter(
        (pl.col("scheme") == "resident") & (pl.col("year") == year)
        & pl.col("region").str.starts_with(covered_region(policy.region)))
    rows = finance(policy, persons, inside, year, build_history(persons, enrollments,
                                                                through=year))
    return rows.with_columns(inside["paid_date"])


def registry_targets(policy: Policy, persons: pl.DataFrame, year: int) -> pl.DataFrame:
    """The target population when no file gives one: persons of the registry alive on
    1 January of ``year`` or born during it, by county and category (low_income: holding
    any of ``fund.low_income_categories``)."""
    jan1 = dt.date(year, 1, 1)
    alive = persons.filter((pl.col("death_date").is_null() | (pl.col("death_date") >= jan1))
                           & (pl.col("birth_date") <= dt.date(year, 12, 31)))
    low = policy.resolve(dt.date(year, 12, 31)).get("fund.low_income_categories")
    return count_by_category(alive, alive["region"].str.slice(0, 6), list(low)).rename(
        {"persons": "target"})


def count_by_category(persons: pl.DataFrame, county: pl.Series,
                      low_income: list[str]) -> pl.DataFrame:
    """region (county), category, persons: everyone, each category held, and low_income
    (persons holding any of ``low_income``), by county."""
    frame = persons.select("person_id", "categories").with_columns(county.alias("region"))
    low = (frame.filter(pl.col("categories").list.eval(pl.element().is_in(low_income)).list.any())
           .group_by("region").agg(pl.len().alias("persons"))
           .with_columns(pl.lit(LOW_INCOME).alias("category")))
    total = frame.group_by("region").agg(pl.len().alias("persons")).with_columns(
        pl.lit(TOTAL).alias("category"))
    held = (frame.explode("categories").drop_nulls("categories")
            .group_by("region", "categories").agg(pl.len().alias("persons"))
            .rename({"categories": "category"}))
    return pl.concat([total.select("region", "category", "persons"),
                      low.select("region", "category", "persons"),
                      held.select("region", "category", "persons")]).with_columns(
        pl.col("persons").cast(pl.Int64))


def read_targets(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """A target-population file (region, category, target) checked row by row: region a
    6-digit code, category ``all``, ``low_income`` or a person category, target a whole
    number > 0. Errors name ``file:row`` and the field."""
    problems: list[Problem] = []
    missing = {"region", "category", "target"} - set(frame.columns)
    if missing:
        raise InputError([Problem("MISSING_COLUMN", f"column {c!r} is required", name, c)
                          for c in sorted(missing)])
    rows = frame.select(pl.col("region").cast(pl.String), pl.col("category").cast(pl.String),
                        pl.col("target").cast(pl.String))
    regions, categories, targets = [], [], []
    for i, (region, category, target) in enumerate(rows.iter_rows(), start=2):
        where = f"{name}:{i}"
        text = (target or "").strip()
        if not (region and len(region) == 6 and region.isdigit()):
            problems.append(Problem("BAD_REGION", f"not a 6-digit region code: {region!r}",
                                    where, "region"))
        if category not in TARGET_CATEGORIES:
            problems.append(Problem("BAD_CATEGORY", f"unknown category {category!r} (all, "
                                    "low_income or a person category)", where, "category"))
        if not (text.isdigit() and int(text) > 0):
            problems.append(Problem("BAD_TARGET", f"target must be a whole number > 0, got "
                                    f"{target!r}", where, "target"))
        regions.append(region)
        categories.append(category)
        targets.append(int(text) if text.isdigit() else 0)
    if problems:
        raise InputError(problems[:50])
    out = pl.DataFrame({"region": regions, "category": categories, "target": targets},
                       schema={"region": pl.String, "category": pl.String, "target": pl.Int64})
    dup = out.filter(pl.struct("region", "category").is_duplicated())
    if dup.height:
        raise InputError([Problem("DUPLICATE", f"{r} {c} given twice", name, "category")
                          for r, c, _ in dup.head(50).iter_rows()])
    return out


def from_frames(policy: Policy, year: int, persons: pl.DataFrame, enrollments: pl.DataFrame,
                claims: pl.DataFrame, results: pl.DataFrame, *,
                targets: pl.DataFrame | None = None,
                opening: Mapping[str, int] | None = None) -> FundInputs:
    """Monitoring inputs from the SPEC §4 frames and §5 results; claims of other years are
    left out. ``targets`` default: ``registry_targets``."""
    of_year = claims["settle_date"].dt.year() == year
    if not of_year.all():
        keep = claims.filter(of_year)["claim_id"]
        results = results.filter(pl.col("claim_id").is_in(keep.implode()))
        claims = claims.filter(of_year)
    spending = spending_frame(claims, results, persons)
    financing = financing_frame(policy, persons, enrollments, year)
    return FundInputs(policy, year, spending, financing, persons,
                      registry_targets(policy, persons, year) if targets is None else targets,
                      dict(opening or {}))
