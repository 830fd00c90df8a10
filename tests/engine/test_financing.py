"""Contribution, assisted contribution and fiscal subsidy per enrolment (SPEC §6.1), by hand.

The Inner Mongolia figures come from 内蒙古《关于做好2023年城乡居民基本医疗保障工作的通知》
一 as shipped in 150000: subsidy 640 yuan (2023), central 80%, the autonomous region's share of
the remaining 20% by class 30% / 50% / 70%. Each class is a derived city file (parent 150000)
written in tmp_path. Money in the assertions is fen.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from yibao.engine.enrollment import benefit_starts, build_history
from yibao.engine.financing import ENROLMENT_COLUMNS, finance, subsidy_split, summarise_financing
from yibao.io import ENROLLMENTS, PERSONS
from yibao.policy import Policy, load_policy

D = dt.date
PERSON_SCHEMA: dict[str, Any] = dict(PERSONS.schema)  # the readers' dtypes
ENROLLMENT_SCHEMA: dict[str, Any] = dict(ENROLLMENTS.schema)


def city_file(tmp_path: Path, region_class: str, **params: Any) -> Policy:
    """A 盟市 file under 150000 setting its class (and any other key) from 2023-01-01."""
    entries = {"financing.region_class": region_class} | {
        k.replace("__", "."): v for k, v in params.items()}
    doc = {"region": "150100", "name": f"测试盟市 {region_class}", "parent": "150000",
           "parameters": {k: [{"from": D(2023, 1, 1), "value": v, "source": "test"}]
                          for k, v in entries.items()}}
    path = tmp_path / f"150100-{region_class}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_policy(path)


def frames(people: list[tuple[str, tuple[str, ...]]],
           enrolments: list[tuple[str, int, int, str]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """people: (id, categories); enrolments: (id, year, paid fen, scheme)."""
    persons = pl.DataFrame([{"person_id": p, "id_number": None, "sex": "F",
                             "birth_date": D(1960, 1, 1), "death_date": None, "region": "150100",
                             "categories": list(c), "chronic": []} for p, c in people],
                           schema=PERSON_SCHEMA)
    enrol = pl.DataFrame([{"person_id": p, "year": y, "region": "150100", "scheme": s,
                           "paid_date": D(y - 1, 11, 1), "contribution_paid": paid,
                           "repaid_years": 0, "employee_end_date": None}
                          for p, y, paid, s in enrolments], schema=ENROLLMENT_SCHEMA)
    return persons, enrol


def run(policy: Policy, persons: pl.DataFrame, enrol: pl.DataFrame,
        year: int) -> dict[str, dict[str, Any]]:
    out = finance(policy, persons, enrol, year, build_history(persons, enrol))
    assert out.columns == ENROLMENT_COLUMNS
    return {r["person_id"]: r for r in out.iter_rows(named=True)}


@pytest.mark.parametrize(("region_class", "provincial", "local"), [
    # 640 × 0.8 = 512 central; remainder 128:
    ("class1", 3840, 8960),   # 128 × 0.3 = 38.40 provincial, 128 − 38.40 = 89.60 local
    ("class2", 6400, 6400),   # 128 × 0.5 = 64, local 64
    ("class3", 8960, 3840),   # 128 × 0.7 = 89.60, local 38.40
])
def test_inner_mongolia_subsidy_split(tmp_path: Path, region_class: str, provincial: int,
                                      local: int) -> None:
    policy = city_file(tmp_path, region_class)
    # an ordinary resident and a residence-permit holder (持居住证): both carry the subsidy
    persons, enrol = frames([("A", ()), ("R", ("residence_permit",))],
                            [("A", 2023, 38000, "resident"), ("R", 2023, 38000, "resident")])
    got = run(policy, persons, enrol, 2023)
    for pid in ("A", "R"):
        r = got[pid]
        assert (r["subsidy"], r["subsidy_central"], r["subsidy_provincial"],
                r["subsidy_local"]) == (64000, 51200, provincial, local)
    assert subsidy_split(64000, 8000, {"class1": 3000, "class2": 5000, "class3": 7000}[
        region_class]) == (51200, provincial, local)


def test_shipped_150000_is_class2() -> None:
    """The shipped autonomous-region file stands in with class2: 512 / 64 / 64."""
    persons, enrol = frames([("A", ())], [("A", 2023, 38000, "resident")])
    r = run(load_policy("150000"), persons, enrol, 2023)["A"]
    assert (r["subsidy_central"], r["subsidy_provincial"], r["subsidy_local"]) == (
        51200, 6400, 6400)


def test_contribution_assisted_due_paid_owed(tmp_path: Path) -> None:
    """150000 in 2023: standard 380; 分类资助 tekun ratio 1.0, dibao ratio 0.5, monitor 100 yuan.

    N  no category, paid 380        → assisted 0,   due 380, owed 0
    T  tekun, paid 0                → 380 × 1.0 = 380, due 0, owed 0
    B  dibao, paid 150              → 380 × 0.5 = 190, due 190, owed 190 − 150 = 40 (补缴)
    M  monitor, paid 280            → amount 100, due 280, owed 0
    F  [monitor, dibao]: the first listed in the policy (dibao) wins, not the person's first
                                    → 190, due 190; paid 300 > due → owed 0 (never negative)
    S  student (no assistance rule) → 0, due 380; paid 0 → owed 380
    E  employee enrolment           → no row (职工医保 gets no subsidy)
    """
    policy = city_file(tmp_path, "class2")
    persons, enrol = frames(
        [("N", ()), ("T", ("tekun",)), ("B", ("dibao",)), ("M", ("monitor",)),
         ("F", ("monitor", "dibao")), ("S", ("student",)), ("E", ())],
        [("N", 2023, 38000, "resident"), ("T", 2023, 0, "resident"),
         ("B", 2023, 15000, "resident"), ("M", 2023, 28000, "resident"),
         ("F", 2023, 30000, "resident"), ("S", 2023, 0, "resident"),
         ("E", 2023, 0, "employee")])
    got = run(policy, persons, enrol, 2023)
    assert set(got) == {"N", "T", "B", "M", "F", "S"}
    table = {p: (r["standard"], r["assisted"], r["assisted_category"], r["due"], r["paid"],
                 r["owed"]) for p, r in got.items()}
    assert table == {
        "N": (38000, 0, None, 38000, 38000, 0),
        "T": (38000, 38000, "tekun", 0, 0, 0),
        "B": (38000, 19000, "dibao", 19000, 15000, 4000),
        "M": (38000, 10000, "monitor", 28000, 28000, 0),
        "F": (38000, 19000, "dibao", 19000, 30000, 0),
        "S": (38000, 0, None, 38000, 0, 38000),
    }


def test_parameters_of_1_january_of_the_enrolment_year(tmp_path: Path) -> None:
    """2024: standard 400 (内蒙古 一: 不低于400元): dibao 400 × 0.5 = 200, due 200."""
    policy = city_file(tmp_path, "class2")
    persons, enrol = frames([("B", ("dibao",))], [("B", 2024, 20000, "resident")])
    r = run(policy, persons, enrol, 2024)["B"]
    assert (r["standard"], r["assisted"], r["due"], r["owed"]) == (40000, 20000, 20000, 0)


def test_assisted_amount_and_ratio_capped_at_the_standard(tmp_path: Path) -> None:
    """An amount of 500 yuan for tekun is more than the 380 standard: assisted 380, due 0.
    A ratio rule: dibao 0.3333 × 380 = 126.654 → 126.65 (half-up to the fen), due 253.35."""
    policy = city_file(tmp_path, "class1", financing__assistance_subsidy={
        "tekun": {"amount": 500}, "dibao": {"ratio": 0.3333}})
    persons, enrol = frames([("T", ("tekun",)), ("B", ("dibao",))],
                            [("T", 2023, 0, "resident"), ("B", 2023, 25335, "resident")])
    got = run(policy, persons, enrol, 2023)
    assert (got["T"]["assisted"], got["T"]["due"]) == (38000, 0)
    assert (got["B"]["assisted"], got["B"]["due"], got["B"]["owed"]) == (12665, 25335, 0)


def test_benefit_start_columns_come_along(tmp_path: Path) -> None:
    """The per-enrolment rows carry §6.2: paid in the window → CONCENTRATED from 1 January."""
    policy = city_file(tmp_path, "class2")
    persons, enrol = frames([("A", ())], [("A", 2025, 40000, "resident")])
    r = run(policy, persons, enrol, 2025)["A"]
    assert (r["benefit_start"], r["waiting_months"], r["waiting_reason"]) == (
        D(2025, 1, 1), 0, "CONCENTRATED")


def test_summary_per_region(tmp_path: Path) -> None:
    """3 enrollees of 150100 in 2023 (class3): paid 380 + 0 + 150 = 530; assistance-paid
    0 + 380 + 190 = 570; subsidy 3 × 640 = 1920 = 3 × 512 central + 3 × 89.60 provincial
    + 3 × 38.40 local; 大病 transfer 3 × 70 (150000's illustrative funding) = 210; owed 40."""
    policy = city_file(tmp_path, "class3")
    persons, enrol = frames([("N", ()), ("T", ("tekun",)), ("B", ("dibao",))],
                            [("N", 2023, 38000, "resident"), ("T", 2023, 0, "resident"),
                             ("B", 2023, 15000, "resident")])
    rows = finance(policy, persons, enrol, 2023, build_history(persons, enrol))
    s = summarise_financing(policy, rows, 2023).row(0, named=True)
    assert s["region"] == "150100" and s["year"] == 2023 and s["enrollees"] == 3
    assert (s["individual_contributions"], s["assistance_paid"], s["owed"]) == (
        53000, 57000, 4000)
    assert (s["subsidy"], s["subsidy_central"], s["subsidy_provincial"], s["subsidy_local"]) == (
        192000, 153600, 26880, 11520)
    assert s["major_illness_transfer"] == 21000


def test_subsidy_split_rounds_half_up() -> None:
    """3 fen at 0.5: central 1.5 → 2; remainder 1 × 0.5 = 0.5 → 1; local 0.
    2021 Shandong-like: 580 × 0.5 = 290; 290 × 0.3 = 87; local 203."""
    assert subsidy_split(3, 5000, 5000) == (2, 1, 0)
    assert subsidy_split(58000, 5000, 3000) == (29000, 8700, 20300)
    assert subsidy_split(0, 8000, 7000) == (0, 0, 0)


@given(st.integers(0, 10**7), st.integers(0, 10_000), st.integers(0, 10_000))
def test_subsidy_parts_add_up(subsidy: int, central_share: int, provincial_share: int) -> None:
    central, provincial, local = subsidy_split(subsidy, central_share, provincial_share)
    assert central + provincial + local == subsidy
    assert min(central, provincial, local) >= 0


def test_finance_reuses_given_benefit_starts(tmp_path: Path) -> None:
    policy = city_file(tmp_path, "class2")
    persons, enrol = frames([("A", ()), ("B", ("dibao",))],
                            [("A", 2024, 40000, "resident"), ("B", 2024, 0, "resident"),
                             ("A", 2023, 38000, "resident")])
    history = build_history(persons, enrol)
    starts = benefit_starts(policy, persons, enrol, history, [2024])
    assert finance(policy, persons, enrol, 2024, history, starts=starts).equals(
        finance(policy, persons, enrol, 2024, history))
    with pytest.raises(ValueError, match="benefit starts"):
        finance(policy, persons, enrol, 2024, history, starts=starts.reverse())
