"""Online = batch: claims settled one by one through `SettlementService`, then `resettle`.

Settled in (settle_date, claim_id) order there is no difference; settled out of order, or
with a reversal between a person's claims, the claims that came out otherwise are listed.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine
from store_support import (
    CLAIMS_PER_PERSON,
    HISTORY,
    PEOPLE,
    YEAR,
    claims,
    in_date_order,
    postings,
    registry,
    settle_all,
)

from yibao.policy import Policy, load_policy
from yibao.store.db import sessions
from yibao.store.online import SettlementService
from yibao.store.resettle import DIFFERENCES, FIELDS, resettle


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy("360400")


def test_claims_settled_in_date_order_resettle_without_difference(
        engine: Engine, policy: Policy, tmp_path: Path) -> None:
    registry(engine, tmp_path)
    settle_all(engine, policy, in_date_order(claims(HISTORY, 6, seed=1)))
    settle_all(engine, policy, in_date_order(claims(YEAR, CLAIMS_PER_PERSON, seed=2)))
    for year, n in ((HISTORY, 6 * len(PEOPLE)), (YEAR, CLAIMS_PER_PERSON * len(PEOPLE))):
        results, differences = resettle(engine, policy, year)
        assert differences.schema == pl.Schema(DIFFERENCES)
        assert differences.height == 0, differences
        assert results.height == n
    # the year exercised every payer, the caps and the uncovered path
    assert results["major"].sum() > 0 and results["assistance"].sum() > 0
    assert set(results["reason"]) == {"", "NOT_CERTIFIED"}
    online = postings(engine, YEAR).sort("claim_id")
    assert online.select(FIELDS).equals(results.sort("claim_id").select(FIELDS))


def test_claims_settled_out_of_order_are_reported(engine: Engine, policy: Policy,
                                                  tmp_path: Path) -> None:
    registry(engine, tmp_path)
    settle_all(engine, policy, in_date_order(claims(YEAR, 15, seed=2))[::-1])
    results, differences = resettle(engine, policy, YEAR)
    assert differences.height > 0
    assert {"deductible", "basic", "oop"} <= set(differences["field"])
    online = postings(engine, YEAR)
    for row in differences.head(30).iter_rows(named=True):
        field, claim_id = row["field"], row["claim_id"]
        posted = online.filter(pl.col("claim_id") == claim_id)[field][0]
        batch = results.filter(pl.col("claim_id") == claim_id)[field][0]
        assert posted != batch
        if field not in ("covered", "reason"):
            assert (row["online"], row["batch"]) == (_yuan_text(posted), _yuan_text(batch))


def _yuan_text(fen: int | None) -> str | None:
    return None if fen is None else f"{fen // 100}.{fen % 100:02d}"


def test_a_reversal_between_claims_is_reported_for_the_later_claims(
        engine: Engine, policy: Policy, tmp_path: Path) -> None:
    registry(engine, tmp_path)
    bodies = in_date_order([b for b in claims(YEAR, CLAIMS_PER_PERSON, seed=2)
                            if b["person_id"] == "P1"])
    settle_all(engine, policy, bodies)
    first = next(b for b in bodies if b["visit_type"] == "inpatient")
    with sessions(engine).begin() as s:
        SettlementService(policy).reverse(s, first["claim_id"], "clerk")
    results, differences = resettle(engine, policy, YEAR)
    assert first["claim_id"] not in set(results["claim_id"])
    assert results.height == len(bodies) - 1
    later = {b["claim_id"] for b in bodies if (b["settle_date"], b["claim_id"])
             > (first["settle_date"], first["claim_id"])}
    # the next admission bore a repeat deductible online; in batch it is the first
    assert differences.height > 0
    assert set(differences["claim_id"]) <= later
    assert "deductible" in set(differences["field"])
