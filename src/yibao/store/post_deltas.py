"""What each claim of a batch consumed from its person-year's accumulators (a posting's
``deltas``), read off the kernel's own trace of the batch.

Online, a posting's deltas are the person-year's accumulators after the claim minus before
it (``store.online``). A batch run does not stop between claims, so the same differences are
read from the trace the kernel writes for every claim (``settle(trace=True)``): the amount it
added to each running sum, and for a chronic disease's own sum, the step from one claim's
"before" to the next claim's of the same person-year and disease (the last one steps to the
closing value). ``check_sums`` then proves the reading: per person-year the deltas must add
up to closing minus opening, or nothing is posted.
"""

from __future__ import annotations

import polars as pl

from yibao.engine.kernel import ACCUMULATORS
from yibao.engine.order import PersonRows, settlement_order
from yibao.engine.settlement import Settlement
from yibao.errors import InputError, Problem

KEY = ["person_id", "year"]
CHRONIC = "chronic_raw"


def _covered(of: str) -> pl.Expr:
    return pl.when(pl.col("covered")).then(pl.col(of)).otherwise(0)


def deltas(run: Settlement, claims: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """claim_id, person_id, year, ``order`` (the claim's place in settlement order), each
    accumulator's delta, and ``chronic_disease`` with its ``chronic_raw`` delta (0 when the
    claim added nothing to a disease's sum); in the claims' input order."""
    assert run.trace is not None, "settle with trace=True"
    days = claims["settle_date"].cast(pl.Int32).to_numpy()
    rows = PersonRows(persons["person_id"])(claims["person_id"], "claims")
    order = settlement_order(rows, days, claims["claim_id"])
    place = pl.Series("order", order).arg_sort()
    t = (run.results.select("claim_id", *KEY, "covered", "policy_scope")
         .hstack([claims["visit_type"], claims["chronic_disease"], place])
         .hstack(run.trace.select("rank", "raw", "burden", "assist_base",
                                  "assist_second_base", "chronic_before")))
    outpatient, chronic = pl.col("visit_type") == "outpatient", pl.col("visit_type") == "chronic"
    t = t.with_columns(
        (pl.col("covered") & (pl.col("rank") > 0)).cast(pl.Int64).alias("admissions"),
        pl.when(outpatient).then(0).otherwise(_covered("raw")).alias("basic_raw"),
        pl.when(outpatient).then(_covered("raw")).otherwise(0).alias("outpatient_raw"),
        pl.when(chronic).then(_covered("policy_scope")).otherwise(0).alias("chronic_scope"),
        _covered("burden").alias("major_burden"),
        _covered("assist_base").alias("assist_first"),
        _covered("assist_second_base").alias("assist_second"))
    return _chronic_steps(t, run.closing).select(
        "claim_id", *KEY, "order", *ACCUMULATORS, "chronic_disease", CHRONIC)


def _chronic_steps(t: pl.DataFrame, closing: pl.DataFrame) -> pl.DataFrame:
    """Each covered chronic claim's step of its disease's sum: the next such claim's
    "before" (or the closing value) minus its own."""
    group = [*KEY, "chronic_disease"]
    last = closing_chronic(closing).rename({"value": "closing"})
    steps = (t.filter(pl.col("covered") & (pl.col("visit_type") == "chronic"))
             .select("claim_id", *group, "order", "chronic_before").sort("order")
             .with_columns(pl.col("chronic_before").shift(-1).over(group).alias("next"))
             .join(last, on=group, how="left")
             .select("claim_id", (pl.coalesce("next", "closing") - pl.col("chronic_before"))
                     .alias(CHRONIC)))
    return (t.join(steps, on="claim_id", how="left", maintain_order="left")
            .with_columns(pl.col(CHRONIC).fill_null(0)))


def closing_chronic(closing: pl.DataFrame) -> pl.DataFrame:
    """person_id, year, chronic_disease, value: the closing per-disease sums, long."""
    columns = [c for c in closing.columns if c.startswith(f"{CHRONIC}.")]
    if not columns:
        return pl.DataFrame(schema={"person_id": pl.String, "year": pl.Int32,
                                    "chronic_disease": pl.String, "value": pl.Int64})
    return (closing.select(*KEY, *columns)
            .unpivot(index=KEY, variable_name="chronic_disease", value_name="value")
            .with_columns(pl.col("chronic_disease").str.strip_prefix(f"{CHRONIC}."),
                          pl.col("value").cast(pl.Int64)))


def check_sums(steps: pl.DataFrame, opening: pl.DataFrame, closing: pl.DataFrame) -> None:
    """Per person-year, opening plus the deltas must be the closing accumulators (and per
    disease for the chronic sums); otherwise an InputError naming the person-years."""
    sums = steps.group_by(KEY).agg(pl.col(a).sum() for a in ACCUMULATORS)
    both = closing.select(*KEY, *ACCUMULATORS).join(sums, on=KEY, suffix="_d").join(
        opening.select(*KEY, *ACCUMULATORS), on=KEY, how="left", suffix="_o")
    wrong = both.filter(pl.any_horizontal(
        pl.col(a) != pl.col(f"{a}_d") + pl.col(f"{a}_o").fill_null(0) for a in ACCUMULATORS))
    group = [*KEY, "chronic_disease"]
    by_disease = (steps.filter(pl.col(CHRONIC) != 0).group_by(group).agg(pl.col(CHRONIC).sum())
                  .join(closing_chronic(closing), on=group, how="left")
                  .join(closing_chronic(opening).rename({"value": "open"}), on=group,
                        how="left")
                  .filter(pl.col("value").fill_null(0)
                          != pl.col(CHRONIC) + pl.col("open").fill_null(0)))
    bad = pl.concat([wrong.select(KEY), by_disease.select(KEY)]).unique().sort(KEY)
    if bad.height:
        raise InputError([Problem(
            "POST_SUMS_DIFFER", "批量记账与累计不符 / the batch's postings would not add up to "
            "the person-year's accumulators; nothing was posted", f"person {p} year {y}",
            "accumulators") for p, y in bad.head(50).iter_rows()])


__all__ = ["CHRONIC", "check_sums", "closing_chronic", "deltas"]
