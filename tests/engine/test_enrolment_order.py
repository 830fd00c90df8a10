"""Enrolment records and results in any order give the same history, benefit starts, caps and
financing (issue 3 at scale), and the calendar of the waiting rule is NumPy's.

A synthetic city of 3 000 persons over 2025–2029 (≈ 13 000 enrolments: more than the 4 096
records `follow.Follower` follows before it takes records to be in no order) is run once in
the persons' order and once shuffled; every output must be the ordered one's, row for row
once the shuffle is undone. Benefit starts and caps for many persons are worked out in the
persons' order and picked; for a few, person by person: both must agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.engine.enrollment import benefit_starts, build_history
from yibao.engine.financing import finance
from yibao.engine.incentives import major_caps
from yibao.engine.waiting import add_months
from yibao.policy import Policy, load_policy
from yibao.synth import synth_history

REGION, FIRST, LAST = "360400", 2025, 2029
YEARS = [2027, 2029]


@pytest.fixture(scope="module")
def city() -> tuple[Policy, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    persons, enrollments, _ = synth_history(REGION, FIRST, LAST, 3_000, seed=3, claims=False)
    res = enrollments.filter((pl.col("scheme") == "resident") & (pl.col("year") < LAST))
    rng = np.random.default_rng(4)
    results = pl.DataFrame({
        "person_id": res["person_id"], "year": res["year"],
        "basic": np.where(rng.random(res.height) < 0.3, 0, rng.integers(1, 10**6, res.height)),
        "major": np.where(rng.random(res.height) < 0.05, rng.integers(1, 10**8, res.height), 0),
    }).filter(pl.Series(rng.random(res.height) >= 0.25))
    return load_policy(REGION), persons, enrollments, results


def run(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
        results: pl.DataFrame) -> dict[str, Any]:
    h = build_history(persons, enrollments, results)
    rows = h.enrolment_rows(persons, enrollments, [LAST])
    caps = major_caps(policy, h, rows, LAST)
    return {"history": (h.first_year, h.enrolled, h.basic, h.major, h.settled),
            "starts": benefit_starts(policy, persons, enrollments, h, YEARS),
            "rows": rows, "caps": caps,
            "finance": finance(policy, persons, enrollments, LAST, h)}


def undo(picked_in_order: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Where each picked record of the shuffled frame (``perm``: its rows in the ordered one)
    is among the picked records of the ordered frame."""
    rank = np.cumsum(picked_in_order) - 1
    return rank[perm[picked_in_order[perm]]]


def picked(enrollments: pl.DataFrame, years: list[int]) -> np.ndarray:
    return enrollments.select((pl.col("scheme") == "resident")
                              & pl.col("year").is_in(years))["scheme"].to_numpy()


def test_shuffled_records_give_the_ordered_results(city: Any) -> None:
    policy, persons, enrollments, results = city
    ordered = run(policy, persons, enrollments, results)
    perm = np.random.default_rng(5).permutation(enrollments.height)
    shuffled = run(policy, persons, enrollments[perm],
                   results.sample(fraction=1.0, shuffle=True, seed=6))
    for mine, theirs in zip(ordered["history"], shuffled["history"], strict=True):
        assert np.array_equal(mine, theirs)
    at = undo(picked(enrollments, YEARS), perm)
    assert shuffled["starts"].equals(ordered["starts"][at])
    at = undo(picked(enrollments, [LAST]), perm)
    assert np.array_equal(shuffled["rows"], ordered["rows"][at])
    assert shuffled["finance"].equals(ordered["finance"][at])
    for mine, theirs in zip(astuple(ordered["caps"]), astuple(shuffled["caps"]), strict=True):
        assert np.array_equal(np.asarray(mine)[at] if np.ndim(mine) else mine, theirs)
    # the spread of outcomes is wide enough for this to mean something
    assert set(ordered["starts"]["waiting_reason"]) >= {"CONCENTRATED", "WAITING_FIXED",
                                                       "WAITING_VARIABLE", "EXEMPT"}
    assert len(set(ordered["caps"].cap.tolist())) > 3


def test_a_few_persons_give_the_same_as_all(city: Any) -> None:
    # 100 enrolments of 3 000 persons: walked person by person, not in the persons' order
    policy, persons, enrollments, results = city
    h = build_history(persons, enrollments, results)
    everyone = run(policy, persons, enrollments, results)
    few = enrollments.filter(pl.col("scheme") == "resident").filter(
        pl.col("year").is_in(YEARS)).sample(100, seed=7)
    assert set(few["year"]) == set(YEARS)
    starts = benefit_starts(policy, persons, few, h, YEARS)
    key = ["person_id", "year", "region"]
    assert starts.equals(few.select(key).join(everyone["starts"], on=key, how="left"))
    rows = h.enrolment_rows(persons, few, [LAST])  # not the frame built from: looked up
    assert np.array_equal(persons["person_id"].gather(rows),
                          few.filter(pl.col("year") == LAST)["person_id"])
    caps, all_caps = major_caps(policy, h, rows, LAST), everyone["caps"]
    where = {int(r): i for i, r in enumerate(everyone["rows"])}
    at = np.array([where[int(r)] for r in rows])
    for mine, theirs in zip(astuple(caps), astuple(all_caps), strict=True):
        assert np.array_equal(mine, np.asarray(theirs)[at] if np.ndim(theirs) else theirs)


def numpy_add_months(day: int, months: int) -> int:
    """The calendar months of NumPy's datetime64, for reference."""
    d = np.datetime64(day, "D")
    month = d.astype("datetime64[M]")
    of_month = int((d - month.astype("datetime64[D]")).astype(np.int64))
    target = month + np.timedelta64(months, "M")
    start = int(target.astype("datetime64[D]").astype(np.int64))
    length = int((target + 1).astype("datetime64[D]").astype(np.int64)) - start
    return start + min(of_month, length - 1)


def day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def test_calendar_months_by_hand() -> None:
    cases = [(dt.date(2025, 8, 31), 3, dt.date(2025, 11, 30)),
             (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
             (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
             (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
             (dt.date(2025, 3, 15), 0, dt.date(2025, 3, 15)),
             (dt.date(2025, 11, 30), 14, dt.date(2027, 1, 30)),
             (dt.date(1969, 12, 31), 2, dt.date(1970, 2, 28)),
             (dt.date(2025, 3, 31), -1, dt.date(2025, 2, 28))]
    out = add_months(np.array([day(d) for d, _, _ in cases]), np.array([m for _, m, _ in cases]))
    assert out.tolist() == [day(want) for _, _, want in cases]


@given(st.lists(st.tuples(st.integers(-800_000, 800_000), st.integers(-2_400, 2_400)),
                min_size=1, max_size=50))
def test_calendar_months_are_numpys(pairs: list[tuple[int, int]]) -> None:
    days, months = (np.array(x, np.int64) for x in zip(*pairs, strict=True))
    assert add_months(days, months).tolist() == [numpy_add_months(d, m) for d, m in pairs]
