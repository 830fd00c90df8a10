"""The online door into the kernel (``engine.single.settle_one``) settles every claim as the
batch does: a synthetic city settled claim by claim — each from the closing accumulators of
the person-year's previous claim, as the store carries them — equals one batch ``settle`` of
the whole city row for row, with and without stored person-year terms, and its closing
accumulators equal the batch's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest

from yibao.engine.kernel import ACCUMULATORS
from yibao.engine.settlement import settle
from yibao.engine.single import PersonYear, enrolled_in, settle_one
from yibao.errors import InputError
from yibao.policy import load_policy
from yibao.synth import synth_frames


@pytest.fixture(scope="module")
def city() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    persons, enrollments, claims = synth_frames("360400", 2023, 300, seed=11)
    assert set(claims["visit_type"]) == {"inpatient", "outpatient", "chronic", "maternity"}
    return persons, enrollments, claims


def _stored_terms(persons: pl.DataFrame) -> pl.DataFrame:
    """Arbitrary stored terms: a benefit start inside the year, a cap or none (null)."""
    rng = np.random.default_rng(3)
    n = persons.height
    caps = rng.integers(0, 30_000_000, n)
    return pl.DataFrame({
        "person_id": persons["person_id"], "year": pl.Series([2023] * n, dtype=pl.Int32),
        "benefit_start": [dt.date(2023, 1, 1) + dt.timedelta(days=int(d))
                          for d in rng.integers(0, 120, n)],
        "major_cap": pl.Series([None if c % 3 == 0 else int(c) for c in caps], dtype=pl.Int64)})


def _one_by_one(policy: Any, persons: pl.DataFrame, enrollments: pl.DataFrame,
                claims: pl.DataFrame, terms: pl.DataFrame | None
                ) -> tuple[pl.DataFrame, dict[tuple[str, int], tuple[dict[str, int], ...]]]:
    people = {r["person_id"]: r for r in persons.iter_rows(named=True)}
    held = {} if terms is None else {(r["person_id"], r["year"]): r
                                     for r in terms.iter_rows(named=True)}
    open_: dict[tuple[str, int], tuple[dict[str, int], dict[str, int]]] = {}
    rows = []
    for claim in claims.sort("person_id", "settle_date", "claim_id").iter_rows(named=True):
        year = claim["settle_date"].year
        key = (claim["person_id"], year)
        p = people[claim["person_id"]]
        mine = enrollments.filter((pl.col("person_id") == key[0]) & (pl.col("year") == year))
        t = held.get(key)
        acc, chronic = open_.get(key, (dict.fromkeys(ACCUMULATORS, 0), {}))
        one = settle_one(policy, claim, PersonYear(
            p["categories"], p["chronic"], p["death_date"],
            enrolled_in(policy, zip(mine["scheme"], mine["region"], strict=True)),
            None if t is None else t["benefit_start"], None if t is None else t["major_cap"],
            [acc[a] for a in ACCUMULATORS], chronic))
        open_[key] = (one.closing, one.chronic_raw)
        rows.append(one.row)
    return pl.DataFrame(rows), open_


@pytest.mark.parametrize("stored", [False, True], ids=["default-terms", "stored-terms"])
def test_claim_by_claim_equals_the_batch(city: tuple[pl.DataFrame, ...], stored: bool) -> None:
    persons, enrollments, claims = city
    policy = load_policy("360400")
    terms = _stored_terms(persons) if stored else None
    batch = settle(policy, persons, enrollments, claims, person_years=terms)
    online, closing = _one_by_one(policy, persons, enrollments, claims, terms)
    expected = batch.results.sort("claim_id")
    got = online.sort("claim_id").cast(dict(expected.schema))  # type: ignore[arg-type]
    assert got.equals(expected)
    assert got["covered"].sum() > 0 and (~got["covered"]).sum() > 0  # both kinds exercised
    for row in batch.closing.iter_rows(named=True):
        acc, chronic = closing[(row["person_id"], row["year"])]
        assert acc == {a: row[a] for a in ACCUMULATORS}
        assert chronic == {k.removeprefix("chronic_raw."): v for k, v in row.items()
                           if k.startswith("chronic_raw.")}


def test_an_unknown_maternity_kind_is_the_batch_error(city: tuple[pl.DataFrame, ...]) -> None:
    persons, enrollments, claims = city
    policy = load_policy("360400")
    claim = claims.filter(pl.col("visit_type") == "maternity").head(1).with_columns(
        pl.lit("twins_on_mars").alias("maternity_kind"))
    p = persons.filter(pl.col("person_id") == claim["person_id"][0]).row(0, named=True)
    with pytest.raises(InputError) as batch:
        settle(policy, persons, enrollments, claim)
    with pytest.raises(InputError) as one:
        settle_one(policy, claim.row(0, named=True), PersonYear(
            p["categories"], p["chronic"], p["death_date"], True, None, None,
            [0] * len(ACCUMULATORS), {}))
    assert one.value.problems == batch.value.problems
