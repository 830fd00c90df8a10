"""Totals of a settlement run by visit type — the figures a bureau checks first."""

from __future__ import annotations

import polars as pl

PAYERS = ["total", "policy_scope", "basic", "major", "assistance", "oop"]


def summarise(claims: pl.DataFrame, results: pl.DataFrame) -> pl.DataFrame:
    """One row per visit type and a 合计 row: claim counts and money sums in fen."""
    joined = results.with_columns(claims["visit_type"], claims["total"])
    by_visit = joined.group_by("visit_type").agg(
        pl.len().alias("claims"),
        pl.col("covered").sum().alias("covered"),
        *[pl.col(c).sum() for c in PAYERS],
    ).with_columns(pl.col("visit_type").cast(pl.String)).sort("visit_type")
    total = by_visit.select(
        pl.lit("合计 total").alias("visit_type"),
        *[pl.col(c).sum() for c in ["claims", "covered", *PAYERS]],
    )
    return pl.concat([by_visit, total], how="vertical_relaxed")


def uncovered_reasons(results: pl.DataFrame) -> pl.DataFrame:
    """How many claims each coverage reason turned away."""
    return (results.filter(~pl.col("covered")).group_by("reason").agg(pl.len().alias("claims"))
            .sort("reason"))
