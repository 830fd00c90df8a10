"""Online settlement under load on PostgreSQL: 32 clients hammering a handful of persons.

Two settlements of the same person-year must never both spend the same headroom of a cap:
the person-year's accumulator row is locked for the whole transaction. Checked here with
32 threads, each with its own connection, settling interleaved claims of 4 persons; then
for every person-year the postings' accumulator deltas sum to the stored accumulators, the
basic fund never pays above its annual cap, and one-by-one replay of the postings' order
through the kernel gives exactly the stored results (online = batch in that order).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import polars as pl
import psycopg
import pytest
from sqlalchemy import Engine, select

from yibao.engine.kernel import ACCUMULATORS
from yibao.engine.person_years import settle_claims
from yibao.policy import load_policy
from yibao.store.db import make_engine, sessions, upgrade
from yibao.store.frames import claims_frame, load_person
from yibao.store.models import Accumulator, Claim, Enrollment, Person, Posting
from yibao.store.online import SettlementService

PG = "postgresql://postgres@127.0.0.1:5432/"
PERSONS = ["P1", "P2", "P3", "P4"]
CLAIMS_PER_PERSON = 40


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Engine]:
    name = f"yibao_conc_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG + "test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG + name
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    with psycopg.connect(PG + "test", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _claim(person: str, k: int) -> dict[str, object]:
    day = dt.date(2023, 1, 1) + dt.timedelta(days=k * 7)
    return {"claim_id": f"{person}-{k:03d}", "person_id": person, "facility_id": "F1",
            "facility_level": 3, "visit_type": "inpatient", "admit_date": day.isoformat(),
            "settle_date": day.isoformat(), "total": f"{30000 + 997 * k}.00", "self_pay": "0",
            "class_b_self_pay": "0", "out_of_region": False, "diagnosis": "C34.9"}


def test_32_clients_never_overspend_a_cap(pg_engine: Engine) -> None:
    make = sessions(pg_engine)
    with make.begin() as s:
        s.add_all([Person(person_id=p, id_number=None, sex="M", birth_date=dt.date(1960, 1, 1),
                          death_date=None, region="360402", categories="", chronic="")
                   for p in PERSONS])
        s.flush()
        s.add_all([Enrollment(person_id=p, year=2023, region="360400", scheme="resident",
                              paid_date=dt.date(2022, 10, 1), contribution_paid=38000,
                              repaid_years=0, employee_end_date=None) for p in PERSONS])
    policy = load_policy("360400")
    service = SettlementService(policy)
    # each person's claims in date order, interleaved across persons; every claim sent twice
    work = [_claim(p, k) for k in range(CLAIMS_PER_PERSON) for p in PERSONS] * 2

    def send(body: dict[str, object]) -> str:
        with make.begin() as s:
            return service.settle(s, body, "load-test").row["claim_id"]

    with ThreadPoolExecutor(max_workers=32) as pool:
        done = list(pool.map(send, work))
    assert len(done) == len(work)

    with make() as s:
        postings = s.scalars(select(Posting).order_by(Posting.id)).all()
        assert len(postings) == len(PERSONS) * CLAIMS_PER_PERSON  # replays posted nothing
        cap = policy.resolve(dt.date(2023, 1, 1)).get("basic.annual_cap")
        for person in PERSONS:
            own = [p for p in postings if p.person_id == person]
            acc = s.get(Accumulator, (person, 2023))
            assert acc is not None
            for name in ACCUMULATORS:  # the postings' deltas add up to the accumulators
                assert sum(p.deltas[name] for p in own) == getattr(acc, name), name
            assert sum(p.basic for p in own) <= cap  # 40 admissions of 30000+ exceed it
            assert sum(p.basic for p in own) == cap
            assert all(p.basic + p.major + p.assistance + p.oop == p.policy_scope
                       for p in own)  # no self-pay in these claims: scope == total
            # replay in posting order through the kernel, one claim at a time
            persons, enrollments = load_person(s, person)
            opening = None
            for p in own:
                claim = claims_frame([s.get(Claim, p.claim_id)])
                run = settle_claims(policy, persons, enrollments, claim, opening=opening)
                row = run.results.row(0, named=True)
                assert (row["basic"], row["major"], row["assistance"]) == (
                    p.basic, p.major, p.assistance), p.claim_id
                opening = run.closing
            assert isinstance(opening, pl.DataFrame)
