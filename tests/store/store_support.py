"""Helpers shared by the store tests that settle a year: five persons of 九江 with every
category that changes a figure, enrolled in two years, and claims of every visit type as API
bodies, settled online one by one or stored as imported (``yibao post`` settles them).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, insert, select

from yibao.engine.kernel import ACCUMULATORS
from yibao.io import write_frame
from yibao.policy import Policy
from yibao.store.claim_input import validate_claim
from yibao.store.db import sessions
from yibao.store.frames import claim_values
from yibao.store.importer import import_files
from yibao.store.models import Accumulator, Claim, Posting
from yibao.store.online import SETTLEMENT, SettlementService
from yibao.store.resettle import FIELDS

#: person → categories: plain, 低保 (assistance, 大病 tilt), 特困, certified chronic, 低保边缘.
PEOPLE = {"P1": [], "P2": ["dibao"], "P3": ["tekun"], "P4": [], "P5": ["dibao_edge"]}
CHRONIC = {"P4": ["hypertension", "diabetes"]}
CLAIMS_PER_PERSON = 40
#: The year re-settled, and an earlier one settled first, whose postings are its history.
HISTORY, YEAR = 2023, 2024


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


def store_claims(engine: Engine, bodies: list[dict[str, Any]]) -> None:
    """The claims held in the store as an import leaves them: validated, not settled."""
    with engine.begin() as conn:
        conn.execute(insert(Claim), [claim_values(validate_claim(b)) for b in bodies])


def assert_accumulators_are_sums(engine: Engine) -> None:
    """Every person-year's accumulators equal the sum of its postings' deltas."""
    sums: dict[tuple[str, int], dict[str, int]] = {}
    with sessions(engine)() as s:
        for p in s.scalars(select(Posting)).all():
            total = sums.setdefault((p.person_id, p.year), {})
            for name in ACCUMULATORS:
                total[name] = total.get(name, 0) + int(p.deltas[name])
            for code, v in p.deltas["chronic_raw"].items():
                total[code] = total.get(code, 0) + int(v)
        held = {(a.person_id, a.year): {**{n: int(getattr(a, n)) for n in ACCUMULATORS},
                                        **{c: int(v) for c, v in a.chronic_raw.items() if v}}
                for a in s.scalars(select(Accumulator)).all()}
    assert held == {k: {n: v for n, v in t.items() if v or n in ACCUMULATORS}
                    for k, t in sums.items()}
