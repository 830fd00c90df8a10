"""The fast paths of the indicators give the plain Polars answer: the cube summed by one packed
int key equals a group_by on the five columns, and the Poisson bootstrap's difference draws
add up to the full draws (Hypothesis over small random years)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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


_MASK = 2**64 - 1


def _mix(x: int) -> int:
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def test_poisson_counts_are_those_of_the_thresholds() -> None:
    # a person's count in a replicate is how many Poisson(1) thresholds its 64-bit word
    # reaches, worked out here in plain Python integers, counts of 5 and more included
    from yibao.fund.sums import _GOLDEN, _POISSON, _STEP

    rows, seed, replicates = np.arange(0, 3000, 3, dtype=np.int64), 11, 40
    values = (rows * 37 % 1000 - 300).astype(np.int64)
    sums, counts = poisson_sums(rows, values, replicates, seed)
    want_sums, want_counts = [0] * replicates, [0] * replicates
    seen = set()
    for row, value in zip(rows.tolist(), values.tolist(), strict=True):
        h = _mix((seed * int(_GOLDEN) + row) & _MASK)
        for r in range(replicates):
            x = _mix((h + r * int(_STEP)) & _MASK)
            c = sum(x >= int(t) for t in _POISSON)
            seen.add(c)
            want_sums[r] += c * value
            want_counts[r] += c
    assert max(seen) >= 6  # the draws past the five thresholds read without branches
    assert sums.tolist() == want_sums and counts.tolist() == want_counts


def test_high_cost_drivers_are_each_persons_own_claims(tmp_path: Path) -> None:
    # with a low threshold (disposable income 3000 yuan) many persons are listed: each one's
    # figures, read from the one grouped pass, are the sums and orderings of their own claims
    import yaml

    from yibao.engine.person_years import settle_claims
    from yibao.fund import from_frames, load_change
    from yibao.fund.highcost import TOP, high_cost_list
    from yibao.policy import load_policy
    from yibao.synth import synth_frames

    change = tmp_path / "low.yaml"
    change.write_text(yaml.safe_dump({"region": "360400", "parent": "360400", "name": "low",
                                      "parameters": {"region.disposable_income": [
                                          {"from": dt.date(2023, 1, 1), "value": 3000,
                                           "source": "test"}]}}), "utf-8")
    policy = load_change(load_policy("360400"), change)
    frames = synth_frames("360400", 2023, 3000, seed=4)
    inputs = from_frames(policy, 2023, *frames, settle_claims(policy, *frames).results)
    listed = high_cost_list(policy, 2023, inputs.spending, inputs.persons, limit=None)
    assert len(listed) > 40
    for p in listed[:40]:
        own = inputs.spending.filter(pl.col("person_id") == p.person_id)
        assert (p.claims, p.total, p.oop) == (own.height, own["total"].sum(), own["oop"].sum())
        assert p.deductible == own["deductible"].sum()
        assert p.uncovered_oop == own.filter(~pl.col("covered"))["oop"].sum()
        by_visit = {v: own.filter(pl.col("visit_type") == v)["oop"].sum()
                    for v in own["visit_type"].unique()}
        assert p.oop_by_visit == by_visit
        assert list(p.oop_by_visit.values()) == sorted(by_visit.values(), reverse=True)
        top = sorted(own.iter_rows(named=True), key=lambda r: (-r["oop"], r["claim_id"]))[:TOP]
        assert [c["claim_id"] for c in p.top_claims] == [r["claim_id"] for r in top]
        dx: dict[str, int] = {}
        for r in own.iter_rows(named=True):
            dx[r["diagnosis"][:3]] = dx.get(r["diagnosis"][:3], 0) + r["oop"]
        assert p.top_diagnoses == [{"diagnosis": d, "oop": v} for d, v in sorted(
            dx.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]]
