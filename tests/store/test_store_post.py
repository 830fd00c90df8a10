"""``yibao post``: a year's imported claims settled in one batch and posted as online would.

The figures of the small year are worked by hand (as in tests/api/test_api_settlements.py)
from 360400 (九江) in force in 2023: inpatient deductible at level 3 600, repeat factors
[1, 0.5, 0], ratio at level 3 0.65, basic cap 150000; 大病 deductible 15000, 0.60 to 50000;
tilt for dibao: half deductible, +0.05, no cap; 医疗救助 for dibao: deductible 0, ratio 0.75.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, update
from store_support import (
    CLAIMS_PER_PERSON,
    HISTORY,
    PEOPLE,
    YEAR,
    assert_accumulators_are_sums,
    claims,
    in_date_order,
    registry,
    settle_all,
    store_claims,
)

from yibao.errors import InputError
from yibao.policy import Policy, load_policy
from yibao.store.db import sessions
from yibao.store.models import Accumulator, AuditEntry, Enrollment, Person, Posting
from yibao.store.online import SettlementService
from yibao.store.post import post_year
from yibao.store.resettle import resettle

TABLES = (Posting, Accumulator, AuditEntry)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy("360400")


def body(claim_id: str, person_id: str, **fields: Any) -> dict[str, Any]:
    """A 2023 inpatient claim at level 3 with no self-pay (as tests/api's ``claim``)."""
    return {"claim_id": claim_id, "person_id": person_id, "facility_id": "F1",
            "facility_level": 3, "visit_type": "inpatient", "admit_date": "2023-03-01",
            "settle_date": "2023-03-05", "total": "10000.00", "self_pay": "0",
            "class_b_self_pay": 0, "out_of_region": False, "diagnosis": "K35.8", **fields}


def small_year(engine: Engine) -> None:
    """P (no category) with claims A and B, D (低保) with one claim; O, registered and
    enrolled in Inner Mongolia, whose claim is not 九江's; and a 2024 claim of P."""
    with engine.begin() as conn:
        for pid, region, categories in (("P", "360402", ""), ("D", "360402", "dibao"),
                                        ("O", "150102", "")):
            conn.execute(insert(Person).values(
                person_id=pid, sex="F", birth_date=dt.date(1960, 5, 1), region=region,
                categories=categories, chronic=""))
            conn.execute(insert(Enrollment).values(
                person_id=pid, year=2023, region=region[:4] + "00", scheme="resident",
                paid_date=dt.date(2022, 10, 1), contribution_paid=38000, repaid_years=0))
    store_claims(engine, [
        # B first in the file: the batch orders by settle_date
        body("B", "P", total=60000, self_pay="1000", class_b_self_pay="500.00",
             admit_date="2023-04-01", settle_date="2023-04-10"),
        body("A", "P"),
        body("D1", "D", total="50000"),
        body("O1", "O"),
        body("P24", "P", admit_date="2024-01-02", settle_date="2024-01-05"),
    ])


def counts(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(conn.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES]


def test_a_small_year_posts_the_figures_worked_by_hand(engine: Engine, policy: Policy) -> None:
    small_year(engine)
    report = post_year(engine, policy, 2023, username="bureau")
    # A: deductible 600, basic (10000 − 600) × 0.65 = 6110, oop 3890.
    # B: scope 58500, deductible 600 × 0.5 = 300, basic (58500 − 300) × 0.65 = 37830;
    #    e = 20670, S = 3890 + 20670 = 24560, major (24560 − 15000) × 0.60 = 5736;
    #    oop 60000 − 37830 − 5736 = 16434.
    # D1: basic (50000 − 600) × 0.65 = 32110; tilt: major (17890 − 7500) × 0.65 = 6753.50;
    #    救助 (50000 − 32110 − 6753.50) × 0.75 = 8352.375 → 8352.38; oop 2784.12.
    with sessions(engine)() as s:
        posted = {p.claim_id: p for p in s.scalars(select(Posting)).all()}
        acc = {(a.person_id, a.year): a for a in s.scalars(select(Accumulator)).all()}
        log = s.scalars(select(AuditEntry).where(AuditEntry.action == "post_year")).one()
    assert set(posted) == {"A", "B", "D1"}  # not O1 (another region), not P24 (2024)
    figures = {c: (p.deductible, p.basic, p.major, p.assistance, p.oop)
               for c, p in posted.items()}
    assert figures == {"A": (60000, 611000, 0, 0, 389000),
                       "B": (30000, 3783000, 573600, 0, 1643400),
                       "D1": (60000, 3211000, 675350, 835238, 278412)}
    assert posted["A"].id < posted["B"].id  # posted in settlement order
    assert {p.created_by for p in posted.values()} == {"bureau"}
    # what B consumed: the second admission, its raw basic, its 大病 burden
    assert posted["B"].deltas == {"admissions": 1, "basic_raw": 3783000, "outpatient_raw": 0,
                                  "chronic_scope": 0, "major_burden": 2067000,
                                  "assist_first": 0, "assist_second": 0, "chronic_raw": {}}
    p = acc[("P", 2023)]
    assert (p.admissions, p.basic_raw, p.major_burden) == (2, 4394000, 2456000)
    # D's 救助 base r = 50000 − 32110 − 6753.50 = 11136.50
    assert acc[("D", 2023)].assist_first == 1113650
    assert (report.claims, report.person_years, report.continued) == (3, 2, 0)
    assert (report.basic, report.major, report.assistance) == (7605000, 1248950, 835238)
    assert (log.username, log.target) == ("bureau", "360400/2023")
    assert log.detail["claims"] == 3 and log.detail["basic"] == 7605000


def test_a_second_run_posts_nothing(engine: Engine, policy: Policy) -> None:
    small_year(engine)
    post_year(engine, policy, 2023)
    before = counts(engine)
    again = post_year(engine, policy, 2023)
    assert (again.claims, again.person_years) == (0, 0)
    assert counts(engine) == before


def test_a_batch_claim_reverses_exactly_and_online_continues(engine: Engine,
                                                             policy: Policy) -> None:
    small_year(engine)
    post_year(engine, policy, 2023)
    service = SettlementService(policy)
    with sessions(engine).begin() as s:
        service.reverse(s, "B", "clerk")
    with sessions(engine).begin() as s:
        acc = s.get(Accumulator, ("P", 2023))
        assert acc is not None
        assert (acc.admissions, acc.basic_raw, acc.major_burden) == (1, 611000, 389000)
        # B again under a new id, after A: the second admission as before
        again = service.settle(s, body("B2", "P", total=60000, self_pay="1000",
                                       class_b_self_pay="500.00", admit_date="2023-04-01",
                                       settle_date="2023-04-10"), "clerk")
    assert (again.row["basic"], again.row["major"]) == (3783000, 573600)


def test_post_then_resettle_has_no_difference(engine: Engine, policy: Policy,
                                              tmp_path: Path) -> None:
    """Two years posted in turn (the first is the second's incentive history), then a further
    claim settled online; the re-settlement of each year agrees with every posting."""
    registry(engine, tmp_path)
    store_claims(engine, claims(HISTORY, 6, seed=1) + claims(YEAR, CLAIMS_PER_PERSON, seed=2))
    assert post_year(engine, policy, HISTORY).claims == 6 * len(PEOPLE)
    report = post_year(engine, policy, YEAR)
    assert report.claims == CLAIMS_PER_PERSON * len(PEOPLE)
    assert report.major > 0 and report.assistance > 0
    with sessions(engine).begin() as s:
        SettlementService(policy).settle(s, body("LATE", "P1", admit_date=f"{YEAR}-12-20",
                                                 settle_date=f"{YEAR}-12-31"), "clerk")
    for year in (HISTORY, YEAR):
        results, differences = resettle(engine, policy, year)
        assert differences.height == 0, differences
    assert results.height == report.claims + 1
    assert_accumulators_are_sums(engine)


def test_a_year_begun_online_is_continued(engine: Engine, policy: Policy,
                                          tmp_path: Path) -> None:
    registry(engine, tmp_path)
    year = in_date_order(claims(YEAR, CLAIMS_PER_PERSON, seed=2))
    # the first half of P1's and P2's claims settled online, everything else imported
    early = [b for b in year if b["person_id"] in ("P1", "P2")][: CLAIMS_PER_PERSON]
    settle_all(engine, policy, early)
    store_claims(engine, [b for b in year if b not in early])
    report = post_year(engine, policy, YEAR)
    assert (report.claims, report.continued) == (len(year) - len(early), 2)
    _, differences = resettle(engine, policy, YEAR)
    assert differences.height == 0, differences
    assert_accumulators_are_sums(engine)


def test_a_claim_before_an_online_one_is_refused_and_nothing_lands(
        engine: Engine, policy: Policy, tmp_path: Path) -> None:
    registry(engine, tmp_path)
    settle_all(engine, policy, [body("LATE", "P1", admit_date=f"{YEAR}-06-01",
                                     settle_date=f"{YEAR}-06-05")])
    store_claims(engine, [body("EARLY", "P1", admit_date=f"{YEAR}-02-01",
                               settle_date=f"{YEAR}-02-03"),
                          body("OTHER", "P2", settle_date=f"{YEAR}-02-03",
                               admit_date=f"{YEAR}-02-01")])
    before = counts(engine)
    with pytest.raises(InputError) as caught:
        post_year(engine, policy, YEAR)
    problem = caught.value.problems[0]
    assert (problem.code, problem.record, problem.field) == (
        "POST_OUT_OF_ORDER", f"person P1 year {YEAR}", "settle_date")
    assert "EARLY" in problem.message and "LATE" in problem.message
    assert len(caught.value.problems) == 1
    assert counts(engine) == before


def test_accumulators_that_are_not_their_postings_sum_are_refused(
        engine: Engine, policy: Policy, tmp_path: Path) -> None:
    registry(engine, tmp_path)
    settle_all(engine, policy, [body("FIRST", "P1", admit_date=f"{YEAR}-02-01",
                                     settle_date=f"{YEAR}-02-03")])
    with engine.begin() as conn:  # a hand edit of the store
        conn.execute(update(Accumulator).values(basic_raw=Accumulator.basic_raw + 1))
    store_claims(engine, [body("NEXT", "P1", admit_date=f"{YEAR}-06-01",
                               settle_date=f"{YEAR}-06-05")])
    before = counts(engine)
    with pytest.raises(InputError) as caught:
        post_year(engine, policy, YEAR)
    problem = caught.value.problems[0]
    assert (problem.code, problem.record, problem.field) == (
        "ACCUMULATORS_DIFFER", f"person P1 year {YEAR}", "basic_raw")
    assert counts(engine) == before


def test_a_bad_claim_names_itself_and_nothing_lands(engine: Engine, policy: Policy,
                                                    tmp_path: Path) -> None:
    registry(engine, tmp_path)
    store_claims(engine, [body("GOOD", "P1", settle_date=f"{YEAR}-02-03",
                               admit_date=f"{YEAR}-02-01"),
                          body("BIRTH", "P2", visit_type="maternity", maternity_kind="twins9",
                               settle_date=f"{YEAR}-03-03", admit_date=f"{YEAR}-03-01")])
    before = counts(engine)
    with pytest.raises(InputError) as caught:
        post_year(engine, policy, YEAR)
    problem = caught.value.problems[0]
    assert (problem.code, problem.record, problem.field) == (
        "UNKNOWN_MATERNITY_KIND", "claim BIRTH", "maternity_kind")
    assert counts(engine) == before
