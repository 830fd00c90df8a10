"""Online = batch: claims settled one by one through `SettlementService`, then `resettle`.

Settled in (settle_date, claim_id) order there is no difference; settled out of order, or
with a reversal between a person's claims, the claims that came out otherwise are listed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sqlalchemy import Engine, select

from yibao.io import write_frame
from yibao.policy import Policy, load_policy
from yibao.store.db import sessions
from yibao.store.importer import import_files
from yibao.store.models import Posting
from yibao.store.online import SETTLEMENT, SettlementService
from yibao.store.resettle import DIFFERENCES, FIELDS, resettle

#: person → categories: plain, 低保 (assistance, 大病 tilt), 特困, certified chronic, 低保边缘.
PEOPLE = {"P1": [], "P2": ["dibao"], "P3": ["tekun"], "P4": [], "P5": ["dibao_edge"]}
CHRONIC = {"P4": ["hypertension", "diabetes"]}
CLAIMS_PER_PERSON = 40
#: The year re-settled, and an earlier one settled first, whose postings are its history.
HISTORY, YEAR = 2023, 2024


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy("360400")


def registry(engine: Engine, tmp_path: Path) -> None:
    """The persons and their resident enrolments of both years, through the importer."""
    persons = pl.DataFrame({
        "person_id": list(PEOPLE), "sex": ["M", "F", "M", "F", "M"],
        "birth_date": [dt.date(1950 + 9 * i, 3, 1) for i in range(len(PEOPLE))],
        "region": ["360402"] * len(PEOPLE), "categories": list(PEOPLE.values()),
        "chronic": [CHRONIC.get(p, []) for p in PEOPLE]})
    enrollments = pl.DataFrame({
        "person_id": [p for p in PEOPLE for _ in (HISTORY, YEAR)],
        "year": [y for _ in PEOPLE for y in (HISTORY, YEAR)],
        "region": "360400", "scheme": "resident",
        "paid_date": [dt.date(y - 1, 10, 15) for _ in PEOPLE for y in (HISTORY, YEAR)],
        "contribution_paid": 38000})
    write_frame(persons, tmp_path / "persons.parquet", [])
    write_frame(enrollments, tmp_path / "enrollments.parquet", ["contribution_paid"])
    import_files(engine, [("persons", tmp_path / "persons.parquet"),
                          ("enrollments", tmp_path / "enrollments.parquet")])


def _yuan(rng: np.random.Generator, lo: float, hi: float) -> float:
    return round(float(rng.uniform(lo, hi)), 2)


def claims(year: int, per_person: int, seed: int) -> list[dict[str, Any]]:
    """API bodies of claims of every visit type, some of them large enough to reach the
    basic cap and 大病; claim_ids are random, so their order is not the dates' order, and
    days repeat, so ties are broken by claim_id."""
    rng = np.random.default_rng(seed)
    days = [dt.date(year, 1, 1) + dt.timedelta(days=int(d))
            for d in rng.choice(364, size=60, replace=False)]
    out = []
    for person in PEOPLE:
        for _ in range(per_person):
            settle = days[int(rng.integers(len(days)))]
            kind = rng.choice(["inpatient", "outpatient", "chronic"], p=[0.45, 0.3, 0.25])
            body: dict[str, Any] = {
                "claim_id": f"C{int(rng.integers(10**6)):06d}", "person_id": person,
                "facility_id": f"H{int(rng.integers(5))}", "visit_type": str(kind),
                "settle_date": settle.isoformat(), "admit_date": settle.isoformat(),
                "out_of_region": False, "class_b_self_pay": "0.00"}
            if kind == "inpatient":
                total = _yuan(rng, 2000, 90000)
                admit = settle - dt.timedelta(days=int(rng.integers(1, 12)))
                body.update(facility_level=int(rng.integers(1, 4)), diagnosis="C34.9",
                            admit_date=admit.isoformat(), out_of_region=bool(rng.random() < .1),
                            class_b_self_pay=f"{total * 0.04:.2f}")
            elif kind == "outpatient":
                total = _yuan(rng, 20, 300)
                body.update(facility_level=1, diagnosis="J06.9")
            else:
                total = _yuan(rng, 100, 900)
                disease = str(rng.choice(["hypertension", "diabetes"]))
                body.update(facility_level=int(rng.integers(1, 3)), chronic_disease=disease,
                            diagnosis="I10" if disease == "hypertension" else "E11.9")
            body.update(total=f"{total:.2f}", self_pay=f"{total * 0.03:.2f}")
            out.append(body)
    ids = [b["claim_id"] for b in out]
    assert len(set(ids)) == len(ids)
    return out


def in_date_order(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(bodies, key=lambda b: (b["settle_date"], b["claim_id"]))


def settle_all(engine: Engine, policy: Policy, bodies: list[dict[str, Any]]) -> None:
    service = SettlementService(policy)
    make = sessions(engine)
    for body in bodies:
        with make.begin() as s:
            service.settle(s, body, "clerk")


def postings(engine: Engine, year: int) -> pl.DataFrame:
    with sessions(engine)() as s:
        rows = s.scalars(select(Posting).where(Posting.year == year,
                                               Posting.kind == SETTLEMENT)).all()
    return pl.DataFrame([{c: getattr(p, c) for c in ("claim_id", "person_id", *FIELDS)}
                         for p in rows])


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
