"""check_references: enrolments and claims must name persons that exist."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from yibao.errors import InputError
from yibao.io import (
    check_references,
    read_claims,
    read_enrollments,
    read_inputs,
    read_persons,
    write_frame,
)

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


def test_read_inputs_reads_as_one_by_one(tmp_path: Path) -> None:
    """read_inputs gives the three readers' frames; with bad files, the persons' error comes
    first, then the enrolments', then the claims', as reading them in turn would give."""
    from yibao.synth import synth_frames

    persons, enrollments, claims = synth_frames("360400", 2023, 50, seed=3)
    paths = [tmp_path / f"{name}.parquet" for name in ("p", "e", "c")]
    for frame, path, money in zip((persons, enrollments, claims), paths,
                                  ([], ["contribution_paid"], ["total", "self_pay",
                                                               "class_b_self_pay"]), strict=True):
        write_frame(frame, path, money)
    got = read_inputs(*paths)
    for frame, path, read in zip(got, paths, (read_persons, read_enrollments, read_claims),
                                 strict=True):
        assert frame.equals(read(path))
    bad = tmp_path / "bad.csv"
    bad.write_text("nothing,useful\n1,2\n")
    for broken in range(3):
        files = [bad if i == broken else p for i, p in enumerate(paths)]
        with pytest.raises(InputError) as exc:
            read_inputs(*files)
        with pytest.raises(InputError) as one:
            (read_persons, read_enrollments, read_claims)[broken](bad)
        assert [p.code for p in exc.value.problems] == [p.code for p in one.value.problems]
    # persons and claims both bad: the persons' error
    with pytest.raises(InputError) as exc:
        read_inputs(bad, paths[1], bad)
    with pytest.raises(InputError) as first:
        read_persons(bad)
    assert [p.message for p in exc.value.problems] == [p.message for p in first.value.problems]
