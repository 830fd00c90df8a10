"""Policy what-if: a change file that changes nothing gives zero difference everywhere; raising
the major-illness cap never lowers major spending (Hypothesis over the raise); a change file
must name the base region as region and parent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.engine.person_years import settle_claims
from yibao.errors import PolicyError
from yibao.fund import (
    Assumptions,
    from_frames,
    indicators,
    load_change,
    to_json,
    what_if,
)
from yibao.policy import load_policy
from yibao.synth import synth_frames

POLICY = load_policy("360400")
FRAMES = synth_frames("360400", 2023, 1500, seed=3)
BASE = settle_claims(POLICY, *FRAMES).results


def change_file(tmp: Path, name: str, params: dict[str, Any], region: str = "360400",
                parent: str = "360400") -> Path:
    doc = {"region": region, "name": name, "parent": parent,
           "parameters": {k: [{"from": dt.date(2023, 1, 1), "value": v, "source": "what-if"}]
                          for k, v in params.items()}}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_no_change_gives_zero_difference(tmp_path: Path) -> None:
    inputs = from_frames(POLICY, 2023, *FRAMES, BASE, opening={"360400": 10**9})
    base = indicators(inputs)
    # a file that restates the city's own inpatient ratios changes nothing
    same = change_file(tmp_path, "same", {"basic.inpatient.ratio": {1: 0.9, 2: 0.8, 3: 0.65}})
    result = what_if(inputs, base, load_change(POLICY, same), *FRAMES,
                     assumptions=Assumptions(years=3), replicates=20, seed=1)
    assert result.payers and all(c.difference == 0 for c in result.payers)
    assert result.changed_results.equals(BASE)
    assert result.changed.monthly == base.monthly
    assert result.changed_projection.years == result.base_projection.years
    assert to_json(result)["payers"][0]["difference"] == "0.00"


def test_a_real_change_moves_money(tmp_path: Path) -> None:
    inputs = from_frames(POLICY, 2023, *FRAMES, BASE)
    lower = change_file(tmp_path, "lower", {"basic.inpatient.deductible": {1: 0, 2: 0, 3: 0}})
    result = what_if(inputs, indicators(inputs), load_change(POLICY, lower), *FRAMES,
                     replicates=0)
    basic = next(c for c in result.payers if c.visit_type == "inpatient" and c.payer == "basic")
    assert basic.difference > 0
    total = next(c for c in result.payers if c.visit_type == "all" and c.payer == "total")
    assert total.difference == 0  # what was spent does not change, only who pays it


@settings(max_examples=12, deadline=None)
@given(raise_yuan=st.integers(min_value=0, max_value=2_000_000))
def test_raising_the_major_cap_never_lowers_major_spending(tmp_path_factory: Any,
                                                           raise_yuan: int) -> None:
    # the cap must bite for the property to mean something: a low base cap of 20000 yuan
    tmp = tmp_path_factory.mktemp("cap")
    low = load_change(POLICY, change_file(tmp, "low", {"major.cap": 20000}))
    high = load_change(POLICY, change_file(tmp, "high", {"major.cap": 20000 + raise_yuan}))
    before = settle_claims(low, *FRAMES).results
    after = settle_claims(high, *FRAMES).results
    assert after["major"].sum() >= before["major"].sum()
    per_person = (before.group_by("person_id").agg(pl.col("major").sum())
                  .join(after.group_by("person_id").agg(pl.col("major").sum()),
                        on="person_id", suffix="_after"))
    assert (per_person["major_after"] >= per_person["major"]).all()


def test_change_file_must_name_the_base_region(tmp_path: Path) -> None:
    other = change_file(tmp_path, "other", {"major.cap": 1}, parent="360000")
    with pytest.raises(PolicyError) as info:
        load_change(POLICY, other)
    assert info.value.code == "WHATIF_PARENT"
    assert info.value.problems[0].record == str(other)


@settings(max_examples=6, deadline=None)
@given(key=st.sampled_from(["major.cap", "basic.inpatient.deductible",
                            "enrollment.waiting.fixed_months"]),
       step=st.integers(0, 3))
def test_prepared_what_if_equals_full_resettlement(tmp_path_factory: Any, key: str,
                                                   step: int) -> None:
    # the fast path (base terms reused when the change cannot move them, cube key and
    # draws reused) gives what a plain settle_claims under the change gives
    from yibao.fund.baseline import prepare
    from yibao.fund.whatif import what_if_on

    value: Any = {"major.cap": 20000 + 50000 * step,
                  "basic.inpatient.deductible": {1: 100 * step, 2: 300 * step, 3: 500 * step},
                  "enrollment.waiting.fixed_months": step}[key]
    change = load_change(POLICY, change_file(tmp_path_factory.mktemp("w"), "c", {key: value}))
    inputs = from_frames(POLICY, 2023, *FRAMES, BASE)
    base = indicators(inputs)
    b = prepare(inputs, base, *FRAMES)
    fast = what_if_on(b, change, replicates=10, seed=2)
    again = what_if_on(b, change, replicates=10, seed=2)  # second change: cached terms
    plain = settle_claims(change, *FRAMES).results
    assert fast.changed_results.equals(plain) and again.changed_results.equals(plain)
    full = indicators(from_frames(change, 2023, *FRAMES, plain))
    assert fast.changed.spending == full.spending and fast.changed.monthly == full.monthly
    assert fast.changed.high_cost == full.high_cost
