"""Batch posting equals online settlement claim by claim (Hypothesis).

For any small year of claims of the five persons of ``store_support`` (every category that
changes a figure, a certified chronic patient), one store settles them online one by one in
(settle_date, claim_id) order and another posts them in one batch: the postings (results and
deltas) and the accumulators are the same, and in the batch store every person-year's
accumulators are the sum of its postings' deltas.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from store_support import (
    PEOPLE,
    YEAR,
    assert_accumulators_are_sums,
    in_date_order,
    registry,
    settle_all,
    store_claims,
)

from yibao.policy import Policy, load_policy
from yibao.store.db import make_engine, sessions, upgrade
from yibao.store.models import Accumulator, Posting
from yibao.store.post import post_year
from yibao.store.resettle import FIELDS


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy("360400")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store holding the registry, copied for each example."""
    folder = tmp_path_factory.mktemp("post_template")
    path = folder / "template.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    registry(engine, folder)
    engine.dispose()
    return path


_CLAIM = st.tuples(
    st.sampled_from(list(PEOPLE)),
    st.sampled_from(["inpatient", "inpatient", "outpatient", "chronic"]),
    st.integers(0, 40),  # day of the year: few days, so ties are broken by claim_id
    st.integers(1_000, 9_000_000),  # total in fen
    st.integers(0, 20),  # self-pay, per cent of the total
    st.sampled_from(["hypertension", "diabetes"]),
    st.booleans(),  # out of region
    st.integers(1, 3),  # facility level
)


def _body(i: int, claim: tuple[Any, ...]) -> dict[str, Any]:
    person, visit, day, total, self_pay, disease, away, level = claim
    settle = dt.date(YEAR, 1, 1) + dt.timedelta(days=day * 9)
    body: dict[str, Any] = {
        "claim_id": f"C{(i * 7919) % 1000:03d}", "person_id": person, "facility_id": "H1",
        "facility_level": level, "visit_type": visit, "settle_date": settle.isoformat(),
        "admit_date": settle.isoformat(), "total": total, "self_pay": total * self_pay // 100,
        "class_b_self_pay": 0, "out_of_region": away and visit == "inpatient",
        "diagnosis": "C34.9"}
    if visit == "chronic":
        body.update(chronic_disease=disease, diagnosis="I10" if disease == "hypertension"
                    else "E11.9")
    if visit == "outpatient":
        body.update(facility_level=1, diagnosis="J06.9")
    return {k: (f"{v // 100}.{v % 100:02d}" if k in ("total", "self_pay") else v)
            for k, v in body.items()}


def _store(template: Path, name: str) -> Any:
    path = template.with_name(name)
    shutil.copy(template, path)
    return make_engine(f"sqlite:///{path}")


def _posted(engine: Any) -> tuple[dict[str, Any], dict[Any, Any]]:
    with sessions(engine)() as s:
        postings = {p.claim_id: ({f: getattr(p, f) for f in FIELDS}, p.deltas)
                    for p in s.scalars(select(Posting)).all()}
        accumulators = {(a.person_id, a.year): (
            [a.admissions, a.basic_raw, a.outpatient_raw, a.chronic_scope, a.major_burden,
             a.assist_first, a.assist_second], {c: v for c, v in a.chronic_raw.items() if v})
            for a in s.scalars(select(Accumulator)).all()}
    return postings, accumulators


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_CLAIM, min_size=1, max_size=14))
def test_batch_posting_equals_online_claim_by_claim(template: Path, policy: Policy,
                                                   claims: list[tuple[Any, ...]]) -> None:
    bodies = [_body(i, c) for i, c in enumerate(claims)]
    online, batch = _store(template, "online.db"), _store(template, "batch.db")
    try:
        settle_all(online, policy, in_date_order(bodies))
        store_claims(batch, bodies)
        assert post_year(batch, policy, YEAR).claims == len(bodies)
        assert _posted(batch) == _posted(online)
        assert_accumulators_are_sums(batch)
    finally:
        online.dispose()
        batch.dispose()
