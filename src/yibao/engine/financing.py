"""Contribution, assisted contribution and fiscal subsidy per enrolment (参保与筹资), SPEC §6.1.

Parameters are those in force on 1 January of the enrolment year. Every resident
enrolment (residence-permit holders included) carries the per-capita fiscal
subsidy, split central → provincial → local exactly in fen.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from yibao.engine.enrollment import History, benefit_starts, resident_of
from yibao.money import mul_bp
from yibao.policy import Policy

ENROLMENT_COLUMNS = [
    "person_id", "year", "region", "standard", "assisted", "assisted_category", "due", "paid",
    "owed", "subsidy", "subsidy_central", "subsidy_provincial", "subsidy_local",
    "benefit_start", "waiting_months", "waiting_reason",
]
ENROLMENT_MONEY = ["standard", "assisted", "due", "paid", "owed", "subsidy", "subsidy_central",
                   "subsidy_provincial", "subsidy_local"]
SUMMARY_MONEY = ["individual_contributions", "assistance_paid", "subsidy", "subsidy_central",
                 "subsidy_provincial", "subsidy_local", "major_illness_transfer", "owed"]


def subsidy_split(subsidy: int, central_share: int, provincial_share: int) -> tuple[int, int, int]:
    """(central, provincial, local): round(s × c), round((s − central) × p), the rest."""
    central = mul_bp(subsidy, central_share)
    provincial = mul_bp(subsidy - central, provincial_share)
    return central, provincial, subsidy - central - provincial


def finance(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame, year: int,
            history: History, *, starts: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per resident enrolment of ``year``: the columns of SPEC §6.1, money in fen.

    ``starts``: ``benefit_starts(policy, persons, enrollments, history, [year])`` when the
    caller has already worked it out (the same rows in the same order); else it is worked out.
    """
    every = enrollments.select("person_id", "year", "region", "contribution_paid",
                               resident_of([year]))
    res = every.filter(pl.col("_pick"))
    on = policy.resolve(dt.date(year, 1, 1))
    standard = int(on.get("financing.individual_contribution"))
    rows = history.enrolment_rows(persons, enrollments, [year], every["_pick"].to_numpy())
    rules = list(on.get("financing.assistance_subsidy").items())
    # per set of assistance categories held (bit i: rules[i]): the amount and the category,
    # the first listed winning; then one gather per enrolment
    sets = range(1 << len(rules))
    first = [next((i for i in range(len(rules)) if held >> i & 1), -1) for held in sets]
    amounts = [min(standard, mul_bp(standard, r.ratio) if r.ratio is not None else r.amount)
               for _, r in rules]
    held = history.held(persons, rows, [name for name, _ in rules])
    assisted = np.array([amounts[i] if i >= 0 else 0 for i in first], np.int64)[held]
    category = np.array(first, np.int64)[held] + 1  # 0: none
    due = standard - assisted
    paid = res["contribution_paid"].to_numpy().astype(np.int64, copy=False)
    subsidy = int(on.get("financing.fiscal_subsidy"))
    shares = on.get("financing.provincial_share")
    region_class = on.get("financing.region_class")
    central, provincial, local = subsidy_split(subsidy, on.get("financing.central_share"),
                                               shares[region_class])
    if starts is None:
        starts = benefit_starts(policy, persons, enrollments, history, [year])
    elif not starts["person_id"].equals(res["person_id"]):
        raise ValueError("starts are not the benefit starts of these enrolments")
    return pl.DataFrame({
        "person_id": res["person_id"], "year": res["year"], "region": res["region"],
        "assisted": assisted,
        "assisted_category": pl.Series([None, *(name for name, _ in rules)], dtype=pl.String)
        .gather(category),
        "due": due, "paid": paid, "owed": np.maximum(0, due - paid),
        "benefit_start": starts["benefit_start"], "waiting_months": starts["waiting_months"],
        "waiting_reason": starts["waiting_reason"],
    }).with_columns(  # the same for every enrolment of the year: broadcast, not materialised
        pl.lit(standard, pl.Int64).alias("standard"), pl.lit(subsidy, pl.Int64).alias("subsidy"),
        pl.lit(central, pl.Int64).alias("subsidy_central"),
        pl.lit(provincial, pl.Int64).alias("subsidy_provincial"),
        pl.lit(local, pl.Int64).alias("subsidy_local")).select(ENROLMENT_COLUMNS)


def summarise_financing(policy: Policy, rows: pl.DataFrame, year: int) -> pl.DataFrame:
    """Per region and year: enrollees, contributions, subsidy by level, transfer, owed."""
    on = policy.resolve(dt.date(year, 1, 1))
    transfer = (on.get("financing.major_illness_funding")
                if on.has("financing.major_illness_funding") else None)
    out = rows.group_by("region", "year").agg(
        pl.col("person_id").n_unique().alias("enrollees"),
        pl.col("paid").sum().alias("individual_contributions"),
        pl.col("assisted").sum().alias("assistance_paid"),
        pl.col("subsidy").sum(), pl.col("subsidy_central").sum(),
        pl.col("subsidy_provincial").sum(), pl.col("subsidy_local").sum(),
        pl.col("owed").sum(),
    ).sort("region")
    return out.with_columns(
        (pl.col("enrollees").cast(pl.Int64) * transfer if transfer is not None
         else pl.lit(None, pl.Int64)).alias("major_illness_transfer"))
