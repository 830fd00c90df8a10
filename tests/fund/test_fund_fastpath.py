"""The fast paths of the indicators give the plain Polars answer: the cube summed by one packed
int key equals a group_by on the five columns, and the Poisson bootstrap's difference draws
add up to the full draws (Hypothesis over small random years)."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.fund.monitoring import CUBE_KEYS, PAYER_SUMS, spending_cube
from yibao.fund.sums import poisson_sums

VISITS = ["inpatient", "outpatient", "chronic", "maternity", "home_bed"]  # one not in schema
COUNTIES = ["360402", "360403", "360430", None]

claim = st.tuples(st.sampled_from(COUNTIES), st.integers(1, 12), st.sampled_from(VISITS),
                  st.integers(1, 3), st.booleans(),
                  *[st.integers(0, 10**9) for _ in PAYER_SUMS])


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(claim, min_size=1, max_size=80), enum=st.booleans())
def test_cube_equals_a_plain_group_by(rows: list[tuple[object, ...]], enum: bool) -> None:
    frame = pl.DataFrame(rows, orient="row", schema={
        "county": pl.String, "month": pl.Int8, "visit_type": pl.String,
        "facility_level": pl.Int8, "covered": pl.Boolean, **dict.fromkeys(PAYER_SUMS, pl.Int64)})
    if enum:  # as spending_frame gives it
        frame = frame.with_columns(pl.col("county").cast(pl.Enum(sorted(
            c for c in COUNTIES if c is not None))))
    plain = frame.with_columns(pl.col("county").cast(pl.String)).group_by(*CUBE_KEYS).agg(
        pl.len().cast(pl.Int64).alias("claims"), *[pl.col(c).sum() for c in PAYER_SUMS])
    fast = spending_cube(frame)
    cols = [*CUBE_KEYS, "claims", *PAYER_SUMS]
    order = list(CUBE_KEYS)
    assert fast.select(cols).sort(order, nulls_last=True).equals(
        plain.select(cols).sort(order, nulls_last=True))


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.integers(-10**9, 10**9), min_size=1, max_size=50),
       replicates=st.integers(1, 5), seed=st.integers(0, 2**32), moved=st.data())
def test_poisson_draws_of_a_difference_add_up(values: list[int], replicates: int, seed: int,
                                              moved: st.DataObject) -> None:
    # a person's count depends on (seed, row, replicate) alone: the changed sums are the base
    # sums plus the draws of the persons whose value moved
    a = np.array(values, np.int64)
    rows = np.arange(a.size, dtype=np.int64) * 7
    which = np.array(moved.draw(st.lists(st.booleans(), min_size=a.size, max_size=a.size)))
    b = np.where(which, a + 13, a)
    base, counts = poisson_sums(rows, a, replicates, seed)
    full, counts_b = poisson_sums(rows, b, replicates, seed)
    extra, _ = poisson_sums(rows[which], (b - a)[which], replicates, seed)
    assert (full == base + extra).all() and (counts == counts_b).all()
    assert (counts >= 0).all()


def test_a_claim_of_an_unknown_person_is_named() -> None:
    import pytest
    from fund_year import claims, persons, results

    from yibao.errors import InputError
    from yibao.fund.inputs import spending_frame

    with pytest.raises(InputError) as info:
        spending_frame(claims(), results(), persons().filter(pl.col("person_id") != "PC"))
    [problem] = info.value.problems
    assert (problem.code, problem.record, problem.field) == ("UNKNOWN_PERSON", "claims #3",
                                                             "person_id")


def test_a_year_without_claims_has_empty_spending_rows() -> None:
    from fund_year import claims, enrollments, persons, results

    from yibao.fund import from_frames, indicators
    from yibao.policy import load_policy

    inputs = from_frames(load_policy("360400"), 2023, persons(), enrollments(),
                         claims().head(0), results().head(0))
    ind = indicators(inputs)
    assert [(r.region, r.visit_type, r.claims) for r in ind.spending] == []
    assert ind.high_cost == [] and sum(m.basic_paid for m in ind.monthly) == 0
