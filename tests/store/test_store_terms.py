"""Person-year terms kept in the store (``yibao.store.terms``): worked out in batch, read by
online settlement, forgotten when what they were worked out from changes.

Figures (九江 360400, shipped policy): the 大病 base cap is 350,000 yuan; incentives count
from 2025 with a zero-claim step of 1,000 yuan (cap at most +20 %). A person enrolled in 2025
and 2026 whose basic fund paid nothing in a settled 2025 has, in 2026, one zero-claim year:
350,000 + 1,000 = 351,000 yuan. A 2025 year that the store has not settled for anyone does
not count (no results, no zero-claim year): 350,000 yuan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from yibao.policy import Policy, load_policy
from yibao.store.db import sessions
from yibao.store.models import Enrollment, Person, PersonYearTerms, Posting
from yibao.store.online import SettlementService
from yibao.store.resettle import resettle
from yibao.store.terms import policy_key, refresh

BASE, ONE_ZERO_CLAIM_YEAR = 35_000_000, 35_100_000  # fen


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy("360400")


def _people(engine: Engine) -> None:
    """P1 and P2, enrolled in 2025 and 2026, paid in the concentrated period (benefits from
    1 January); P3 enrolled in 2026 only, paid on 2026-03-10 (late: 3 months' wait, SPEC
    §6.2, so benefits from 2026-06-10)."""
    with sessions(engine).begin() as s:
        s.add_all([Person(person_id=p, id_number=None, sex="F", birth_date=dt.date(1970, 1, 1),
                          death_date=None, region="360402", categories="", chronic="")
                   for p in ("P1", "P2", "P3")])
        s.flush()
        for person, year, paid in [("P1", 2025, dt.date(2024, 10, 1)),
                                   ("P1", 2026, dt.date(2025, 10, 1)),
                                   ("P2", 2025, dt.date(2024, 10, 1)),
                                   ("P2", 2026, dt.date(2025, 10, 1)),
                                   ("P3", 2026, dt.date(2026, 3, 10))]:
            s.add(Enrollment(person_id=person, year=year, region="360400", scheme="resident",
                             paid_date=paid, contribution_paid=40000, repaid_years=0,
                             employee_end_date=None))


def _terms(engine: Engine, policy: Policy) -> dict[tuple[str, int], tuple[Any, ...]]:
    with sessions(engine)() as s:
        rows = s.scalars(select(PersonYearTerms).where(
            PersonYearTerms.policy == policy_key(policy))).all()
        return {(r.person_id, r.year): (r.benefit_start, r.major_cap, r.settled_before)
                for r in rows}


def _claim(claim_id: str, person: str, day: dt.date, total: str) -> dict[str, Any]:
    return {"claim_id": claim_id, "person_id": person, "facility_id": "F1",
            "facility_level": 3, "visit_type": "inpatient", "admit_date": day.isoformat(),
            "settle_date": day.isoformat(), "total": total, "self_pay": "0",
            "class_b_self_pay": "0", "out_of_region": False, "diagnosis": "C34.9"}


def _settle(engine: Engine, policy: Policy, body: dict[str, Any]) -> dict[str, Any]:
    with sessions(engine).begin() as s:
        return SettlementService(policy).settle(s, body, "clerk").row


def test_refresh_works_out_every_enrolment_and_settlement_reads_them(
        engine: Engine, policy: Policy) -> None:
    _people(engine)
    assert refresh(engine, policy) == 5
    assert refresh(engine, policy) == 0  # nothing missing any more
    jan1 = dt.date(2026, 1, 1)
    assert _terms(engine, policy) == {
        ("P1", 2025): (dt.date(2025, 1, 1), BASE, 0), ("P2", 2025): (dt.date(2025, 1, 1), BASE, 0),
        ("P1", 2026): (jan1, BASE, 0), ("P2", 2026): (jan1, BASE, 0),
        ("P3", 2026): (dt.date(2026, 6, 10), BASE, 0)}
    # P3's claim before the wait ends is not covered; the stored benefit start decided it
    row = _settle(engine, policy, _claim("C-P3", "P3", dt.date(2026, 5, 1), "5000.00"))
    assert (row["covered"], row["reason"]) == (False, "WAITING_PERIOD")


def test_a_settled_year_and_an_earlier_posting_change_later_caps(
        engine: Engine, policy: Policy) -> None:
    _people(engine)
    refresh(engine, policy)
    # P2's 2025 claim: the basic fund pays, and 2025 becomes a settled year
    assert _settle(engine, policy, _claim("C-P2-25", "P2", dt.date(2025, 3, 1),
                                          "30000.00"))["basic"] > 0
    terms = _terms(engine, policy)
    assert ("P2", 2026) not in terms  # forgotten: an earlier year of P2's got a posting
    assert terms[("P1", 2026)][2] == 0  # worked out before 2025 was settled: not taken
    # P1's 2026 claim: one zero-claim year (2025, settled, basic paid nothing)
    p1 = _settle(engine, policy, _claim("C-P1-26", "P1", dt.date(2026, 3, 1), "30000.00"))
    p2 = _settle(engine, policy, _claim("C-P2-26", "P2", dt.date(2026, 3, 1), "30000.00"))
    assert (p1["major_cap"], p2["major_cap"]) == (ONE_ZERO_CLAIM_YEAR, BASE)
    terms = _terms(engine, policy)
    assert terms[("P1", 2026)] == (dt.date(2026, 1, 1), ONE_ZERO_CLAIM_YEAR, 1)
    assert terms[("P2", 2026)] == (dt.date(2026, 1, 1), BASE, 1)
    assert resettle(engine, policy, 2026)[1].height == 0  # online = batch


def test_changing_a_person_or_an_enrolment_forgets_their_terms(
        engine: Engine, policy: Policy) -> None:
    _people(engine)
    refresh(engine, policy)
    with sessions(engine).begin() as s:
        s.execute(update(Enrollment).where(Enrollment.person_id == "P3")
                  .values(paid_date=dt.date(2025, 11, 1)))  # now in the concentrated period
        s.execute(update(Person).where(Person.person_id == "P1").values(categories="dibao"))
    assert set(_terms(engine, policy)) == {("P2", 2025), ("P2", 2026)}  # P1's, P3's gone
    # worked out again on the next claim (the store had none), from the corrected enrolment
    row = _settle(engine, policy, _claim("C-P3", "P3", dt.date(2026, 5, 1), "5000.00"))
    assert row["covered"]
    assert _terms(engine, policy)[("P3", 2026)] == (dt.date(2026, 1, 1), BASE, 0)


def test_terms_worked_out_on_demand_equal_the_batch(engine: Engine, policy: Policy) -> None:
    _people(engine)
    _settle(engine, policy, _claim("C-P2-25", "P2", dt.date(2025, 3, 1), "30000.00"))
    for person in ("P1", "P2", "P3"):  # no refresh: each worked out by work_out_one
        _settle(engine, policy, _claim(f"C-{person}", person, dt.date(2026, 7, 1), "900.00"))
    online = _terms(engine, policy)
    with sessions(engine).begin() as s:
        s.execute(PersonYearTerms.__table__.delete())
    refresh(engine, policy)
    batch = _terms(engine, policy)
    assert {k: v for k, v in batch.items() if k in online} == online
    with sessions(engine)() as s:
        assert len(s.scalars(select(Posting)).all()) == 4


def test_a_person_year_with_no_resident_enrolment_needs_no_terms(
        engine: Engine, policy: Policy) -> None:
    """P3 has no 2025 enrolment and P4 is enrolled in 2026 only under 职工医保 (scheme
    employee): neither claim has resident terms to work out (``person_year_terms`` finds no
    enrolment in the region), so nothing is stored for them, and each is NOT_ENROLLED:
    covered false, every payer 0, out of pocket the whole 900 yuan (SPEC §5.1), as in batch."""
    _people(engine)
    with sessions(engine).begin() as s:
        s.add(Person(person_id="P4", id_number=None, sex="M", birth_date=dt.date(1980, 1, 1),
                     death_date=None, region="360402", categories="", chronic=""))
        s.flush()
        s.add(Enrollment(person_id="P4", year=2026, region="360400", scheme="employee",
                         paid_date=dt.date(2025, 10, 1), contribution_paid=40000,
                         repaid_years=0, employee_end_date=None))
    rows = [_settle(engine, policy, _claim("C-P3-25", "P3", dt.date(2025, 7, 1), "900.00")),
            _settle(engine, policy, _claim("C-P4-26", "P4", dt.date(2026, 7, 1), "900.00"))]
    for row in rows:
        assert (row["covered"], row["reason"], row["basic"], row["major"], row["assistance"],
                row["oop"]) == (False, "NOT_ENROLLED", 0, 0, 0, 90_000)
    assert _terms(engine, policy) == {}  # none worked out: no refresh ran, none was needed
    assert resettle(engine, policy, 2025)[1].height == 0  # online = batch
    assert resettle(engine, policy, 2026)[1].height == 0


def test_load_kernels_loads_what_working_out_terms_runs() -> None:
    """In a fresh process no compiled kernel of the terms is loaded; after ``load_kernels``
    the waiting-period and history kernels are (so a clerk's first claim does not wait while
    the process loads them), and it stored nothing anywhere (it takes no database)."""
    import subprocess
    import sys

    code = ("from yibao.engine import enrollment, waiting\n"
            "from yibao.policy import load_policy\n"
            "from yibao.store.terms import load_kernels\n"
            "kernels = [waiting.waiting, enrollment._span]\n"
            "print([len(k.signatures) for k in kernels])\n"
            "load_kernels(load_policy('360400'), 2026)\n"
            "print([len(k.signatures) for k in kernels])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "[0, 0]"
    assert all(int(n) > 0 for n in out[1].strip("[]").split(","))
