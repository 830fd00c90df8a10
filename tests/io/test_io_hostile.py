"""Hostile input: whatever the file holds, the reader ends in an InputError with a clear code,
never a raw traceback."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.errors import InputError
from yibao.io import read_claims, read_frame_any, read_persons

CLAIM_HEADER = (
    "claim_id,person_id,facility_id,facility_level,visit_type,chronic_disease,maternity_kind,"
    "admit_date,settle_date,total,self_pay,class_b_self_pay,out_of_region,diagnosis,procedure,"
    "procedure_kind"
)
CLAIM_LINE = "C1,P1,H1,2,inpatient,,,2024-03-01,2024-03-05,100.00,0,0,false,K35.8,,"


def codes(path: Path) -> list[str]:
    with pytest.raises(InputError) as exc:
        read_claims(path)
    return [p.code for p in exc.value.problems]


def put(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_file_not_found(tmp_path: Path) -> None:
    assert codes(tmp_path / "nope.csv") == ["FILE_NOT_FOUND"]


def test_unknown_extension(tmp_path: Path) -> None:
    assert codes(put(tmp_path, "c.xlsx", b"x")) == ["BAD_FORMAT"]
    assert codes(put(tmp_path, "c", b"x")) == ["BAD_FORMAT"]


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    assert codes(tmp_path / "d.csv") == ["FILE_UNREADABLE"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads anything")
def test_unreadable(tmp_path: Path) -> None:
    path = put(tmp_path, "c.csv", b"a\n")
    path.chmod(0)
    assert codes(path) == ["FILE_UNREADABLE"]


@pytest.mark.parametrize("name", ["c.csv", "c.parquet"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    assert codes(put(tmp_path, name, b"")) == ["EMPTY_FILE"]


def test_missing_header(tmp_path: Path) -> None:
    assert codes(put(tmp_path, "c.csv", (CLAIM_LINE + "\n").encode())) == ["MISSING_HEADER"]


def test_missing_and_unknown_columns_named(tmp_path: Path) -> None:
    header = CLAIM_HEADER.replace("total,", "totl,")
    with pytest.raises(InputError) as exc:
        read_claims(put(tmp_path, "c.csv", f"{header}\n{CLAIM_LINE}\n".encode()))
    assert {(p.code, p.field) for p in exc.value.problems} == {
        ("UNKNOWN_COLUMN", "totl"),
        ("MISSING_COLUMN", "total"),
    }


def test_duplicate_column(tmp_path: Path) -> None:
    data = f"{CLAIM_HEADER},total\n{CLAIM_LINE},1\n".encode()
    with pytest.raises(InputError) as exc:
        read_claims(put(tmp_path, "c.csv", data))
    assert [(p.code, p.field) for p in exc.value.problems] == [("DUPLICATE_COLUMN", "total")]


def test_gbk_file(tmp_path: Path) -> None:
    data = f"{CLAIM_HEADER}\n{CLAIM_LINE.replace('H1', '九江医院')}\n".encode("gbk")
    with pytest.raises(InputError) as exc:
        read_claims(put(tmp_path, "c.csv", data))
    [problem] = exc.value.problems
    assert (problem.code, problem.record) == ("BAD_ENCODING", "c.csv:2")


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + f"{CLAIM_HEADER}\n{CLAIM_LINE}\n".encode()
    assert read_claims(put(tmp_path, "c.csv", data)).height == 1


def test_ragged_line(tmp_path: Path) -> None:
    data = f"{CLAIM_HEADER}\n{CLAIM_LINE}\n{CLAIM_LINE},extra\n".encode()
    with pytest.raises(InputError) as exc:
        read_claims(put(tmp_path, "c.csv", data))
    [problem] = exc.value.problems
    assert (problem.code, problem.record) == ("BAD_CSV", "c.csv:3")


def test_short_line_is_required_fields(tmp_path: Path) -> None:
    data = f"{CLAIM_HEADER}\nC1,P1\n".encode()
    assert set(codes(put(tmp_path, "c.csv", data))) == {"REQUIRED"}


def test_unclosed_quote(tmp_path: Path) -> None:
    data = f'{CLAIM_HEADER}\n"C1,P1\n{CLAIM_LINE}\n'.encode()
    assert codes(put(tmp_path, "c.csv", data))[0] in {"BAD_CSV", "REQUIRED"}


@pytest.mark.parametrize("name", ["c.csv", "c.jsonl", "c.parquet"])
def test_binary_garbage(tmp_path: Path, name: str) -> None:
    data = bytes(range(256)) * 40
    assert codes(put(tmp_path, name, data))[0] in {
        "BAD_ENCODING",
        "FILE_UNREADABLE",
        "BAD_JSON",
        "BAD_CSV",
    }


def test_parquet_that_is_a_csv(tmp_path: Path) -> None:
    assert codes(put(tmp_path, "c.parquet", f"{CLAIM_HEADER}\n".encode())) == ["FILE_UNREADABLE"]


def test_huge_number_and_unicode_junk(tmp_path: Path) -> None:
    line = CLAIM_LINE.replace("100.00", "9" * 400).replace("inpatient", "住院\u200b\U0001f600")
    line = line.replace(",2,", ",99999999999999999999999,")
    data = f"{CLAIM_HEADER}\n{line}\n".encode()
    assert set(codes(put(tmp_path, "c.csv", data))) == {
        "MONEY_TOO_LARGE",
        "BAD_ENUM",
        "OUT_OF_RANGE",
    }


def test_control_characters_are_shown_escaped(tmp_path: Path) -> None:
    line = CLAIM_LINE.replace("inpatient", "in\x00pa\x1btient")
    with pytest.raises(InputError) as exc:
        read_claims(put(tmp_path, "c.csv", f"{CLAIM_HEADER}\n{line}\n".encode()))
    text = str(exc.value)
    assert "\\x00" in text and "\x00" not in text


@pytest.mark.parametrize(
    "line",
    [
        b"[1, 2]",
        b"null",
        b"42",
        b'{"claim_id": "C1"',
        b'{"claim_id": NaN}',
        b'{"total": 1e999}',
    ],
)
def test_bad_json_lines(tmp_path: Path, line: bytes) -> None:
    good = b'{"claim_id": "C0"}'
    found = codes(put(tmp_path, "c.jsonl", good + b"\n" + line + b"\n"))
    assert found[0] == "BAD_JSON"


def test_bad_json_line_is_located(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_claims(put(tmp_path, "c.jsonl", b'{"claim_id": "C0"}\n\n{oops\n'))
    assert exc.value.problems[0].record == "c.jsonl:3"


def test_jsonl_with_clashing_types_is_checked_per_field(tmp_path: Path) -> None:
    lines = [
        '{"claim_id": "C1", "total": 1}',
        '{"claim_id": "C2", "total": {"yuan": 1}}',
        '{"claim_id": "C3", "total": [1]}',
    ]
    found = codes(put(tmp_path, "c.jsonl", "\n".join(lines).encode()))
    assert "BAD_MONEY" in found and "REQUIRED" in found


def test_jsonl_gbk(tmp_path: Path) -> None:
    found = codes(put(tmp_path, "c.jsonl", '{"claim_id": "九江"}\n'.encode("gbk")))
    assert found == ["BAD_ENCODING"]


def test_parquet_nested_column(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {k: [v] for k, v in zip(CLAIM_HEADER.split(","), CLAIM_LINE.split(","), strict=True)}
    )
    frame.with_columns(person_id=pl.lit({"a": 1})).write_parquet(tmp_path / "c.parquet")
    with pytest.raises(InputError) as exc:
        read_claims(tmp_path / "c.parquet")
    assert [(p.code, p.field) for p in exc.value.problems] == [("BAD_TYPE", "person_id")]


def test_read_frame_any(tmp_path: Path) -> None:
    path = put(tmp_path, "x.csv", b"region,n\n000000,1\n")
    assert read_frame_any(path).rows() == [("000000", "1")]  # CSV stays text: no lost zeros
    with pytest.raises(InputError) as exc:
        read_frame_any(tmp_path / "missing.parquet")
    assert exc.value.code == "FILE_NOT_FOUND"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300), ext=st.sampled_from(["csv", "jsonl", "parquet"]))
def test_any_bytes_never_crash(tmp_path: Path, data: bytes, ext: str) -> None:
    path = put(tmp_path, f"fuzz.{ext}", data)
    try:
        read_persons(path)
    except InputError as exc:
        assert exc.problems and all(p.code for p in exc.problems)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cells=st.lists(st.text(max_size=12), min_size=16, max_size=16))
def test_any_claim_cells_never_crash(tmp_path: Path, cells: list[str]) -> None:
    quoted = ",".join('"' + c.replace('"', '""') + '"' for c in cells)
    path = put(tmp_path, "fuzz.csv", f"{CLAIM_HEADER}\n{quoted}\n".encode("utf-8", "surrogatepass"))
    try:
        read_claims(path)
    except InputError as exc:
        assert exc.problems
