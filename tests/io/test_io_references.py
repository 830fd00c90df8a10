"""check_references: enrolments and claims must name persons that exist."""

from __future__ import annotations

import polars as pl
import pytest

from yibao.errors import InputError
from yibao.io import check_references

PERSONS = pl.DataFrame({"person_id": ["P1", "P2", "P3"]})


def test_all_known() -> None:
    claims = pl.DataFrame({"claim_id": ["C1", "C2"], "person_id": ["P1", "P3"]})
    enrollments = pl.DataFrame({"person_id": ["P2"]})
    check_references(PERSONS, enrollments, claims)


def test_unknown_persons_named() -> None:
    enrollments = pl.DataFrame({"person_id": ["P1", "P9"]})
    claims = pl.DataFrame({"claim_id": ["C1", "C2", "C3"], "person_id": ["P1", "P8", "P2"]})
    with pytest.raises(InputError) as exc:
        check_references(
            PERSONS, enrollments, claims, claims_name="c.csv", enrollments_name="e.csv"
        )
    found = [(p.code, p.record, p.field) for p in exc.value.problems]
    assert found == [
        ("UNKNOWN_PERSON", "e.csv:row 2", "person_id"),
        ("UNKNOWN_PERSON", "c.csv:row 2", "person_id"),
    ]
    assert "'P9'" in exc.value.problems[0].message
    assert "'P8'" in exc.value.problems[1].message and "'C2'" in exc.value.problems[1].message


def test_frames_may_be_left_out() -> None:
    claims = pl.DataFrame({"claim_id": ["C1"], "person_id": ["P7"]})
    with pytest.raises(InputError):
        check_references(PERSONS, None, claims)
    check_references(PERSONS, None, None)


def test_similar_ids_are_not_confused() -> None:
    persons = pl.DataFrame({"person_id": [f"P{i}" for i in range(10_000)]})
    claims = pl.DataFrame({"claim_id": ["C1", "C2"], "person_id": ["P9999", "P10000"]})
    with pytest.raises(InputError) as exc:
        check_references(persons, None, claims)
    assert [p.record for p in exc.value.problems] == ["claims:row 2"]
