"""write_frame: yuan with two decimals, SPEC §5 file conventions, and the round trip back."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.errors import InputError
from yibao.io import read_claims, read_enrollments, read_persons, read_results, write_frame
from yibao.money import MAX_FEN, fen_to_yuan

CLAIMS = pl.DataFrame(
    {
        "claim_id": ["C1", "C2"],
        "person_id": ["P1", "P2"],
        "facility_id": ["H1", "H2"],
        "facility_level": pl.Series([1, 3], dtype=pl.Int8),
        "visit_type": ["chronic", "inpatient"],
        "chronic_disease": ["hypertension", None],
        "maternity_kind": pl.Series([None, None], dtype=pl.String),
        "admit_date": [dt.date(2024, 1, 2), dt.date(2024, 2, 29)],
        "settle_date": [dt.date(2024, 1, 2), dt.date(2024, 3, 1)],
        "total": [5, 123450],
        "self_pay": [0, 100],
        "class_b_self_pay": [5, 0],
        "out_of_region": [False, True],
        "diagnosis": ["I10", "K35.8"],
        "procedure": [None, "47.01"],
        "procedure_kind": [None, "surgery"],
    }
)
PERSONS = pl.DataFrame(
    {
        "person_id": ["P1", "P2"],
        "id_number": ["11010519491231002X", None],
        "sex": ["M", "F"],
        "birth_date": [dt.date(1949, 12, 31), dt.date(2000, 2, 29)],
        "death_date": pl.Series([None, dt.date(2024, 5, 1)], dtype=pl.Date),
        "region": ["360400", "000000"],
        "categories": [["dibao", "student"], []],
        "chronic": [["hypertension"], []],
    }
)
ENROLLMENTS = pl.DataFrame(
    {
        "person_id": ["P1", "P1"],
        "year": pl.Series([2023, 2024], dtype=pl.Int32),
        "region": ["360400", "360400"],
        "scheme": ["resident", "employee"],
        "paid_date": [dt.date(2022, 12, 1), dt.date(2023, 12, 1)],
        "contribution_paid": [38000, 0],
        "repaid_years": pl.Series([0, 2], dtype=pl.Int32),
        "employee_end_date": pl.Series([None, dt.date(2023, 6, 30)], dtype=pl.Date),
    }
)
MONEY = ["total", "self_pay", "class_b_self_pay"]


@pytest.mark.parametrize("ext", ["csv", "parquet", "jsonl", "ndjson"])
def test_round_trip(tmp_path: Path, ext: str) -> None:
    for frame, reader, money in (
        (CLAIMS, read_claims, MONEY),
        (PERSONS, read_persons, []),
        (ENROLLMENTS, read_enrollments, ["contribution_paid"]),
    ):
        path = tmp_path / f"t.{ext}"
        write_frame(frame, path, money)
        back = reader(path)
        assert back.schema == frame.schema
        assert back.equals(frame), (ext, back, frame)


def test_csv_conventions(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    write_frame(CLAIMS, path, MONEY)
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == CLAIMS.columns
    # 5 fen = "0.05", 123450 fen = "1234.50"; dates ISO; booleans true/false; nulls empty
    assert (
        lines[1]
        == "C1,P1,H1,1,chronic,hypertension,,2024-01-02,2024-01-02,0.05,0.00,0.05,false,I10,,"
    )
    assert lines[2].split(",")[9:13] == ["1234.50", "1.00", "0.00", "true"]


def test_csv_lists_joined(tmp_path: Path) -> None:
    write_frame(PERSONS, tmp_path / "p.csv", [])
    assert "dibao;student" in (tmp_path / "p.csv").read_text()


def test_jsonl_money_as_strings(tmp_path: Path) -> None:
    write_frame(CLAIMS, tmp_path / "c.jsonl", MONEY)
    first = json.loads((tmp_path / "c.jsonl").read_text().splitlines()[1])
    assert first["total"] == "1234.50"
    assert first["admit_date"] == "2024-02-29"
    assert first["out_of_region"] is True


def test_parquet_money_is_decimal_18_2(tmp_path: Path) -> None:
    write_frame(CLAIMS, tmp_path / "c.parquet", MONEY)
    table = pq.read_table(tmp_path / "c.parquet")
    assert str(table.schema.field("total").type) == "decimal128(18, 2)"
    assert table.column("total").to_pylist() == [
        decimal.Decimal("0.05"),
        decimal.Decimal("1234.50"),
    ]


def test_negative_amounts_written(tmp_path: Path) -> None:
    """Results may carry negative amounts (a reversal): -5 fen is "-0.05"."""
    frame = pl.DataFrame({"amount": [-5, -123450, None]})
    write_frame(frame, tmp_path / "r.csv", ["amount"])
    assert (tmp_path / "r.csv").read_text().splitlines() == ["amount", "-0.05", "-1234.50", ""]
    write_frame(frame, tmp_path / "r.parquet", ["amount"])
    assert pq.read_table(tmp_path / "r.parquet").column("amount").to_pylist() == [
        decimal.Decimal("-0.05"),
        decimal.Decimal("-1234.50"),
        None,
    ]


def test_bad_calls(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        write_frame(CLAIMS, tmp_path / "c.txt", MONEY)
    assert exc.value.code == "BAD_FORMAT"
    with pytest.raises(InputError) as exc:
        write_frame(CLAIMS, tmp_path / "c.csv", ["nope"])
    assert exc.value.code == "MISSING_COLUMN"
    with pytest.raises(InputError) as exc:
        write_frame(CLAIMS, tmp_path / "c.csv", ["visit_type"])
    assert exc.value.code == "BAD_TYPE"
    with pytest.raises(InputError) as exc:
        write_frame(CLAIMS, tmp_path / "no" / "such" / "dir" / "c.csv", MONEY)
    assert exc.value.code == "FILE_UNWRITABLE"


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(InputError):
        write_frame(pl.DataFrame({"a": pl.Series([object()], dtype=pl.Object)}), target, [])
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fen=st.lists(st.integers(min_value=0, max_value=MAX_FEN), min_size=1, max_size=20),
    ext=st.sampled_from(["csv", "parquet", "jsonl"]),
)
def test_money_round_trip(tmp_path: Path, fen: list[int], ext: str) -> None:
    """fen -> yuan text or decimal -> fen is the identity, and the text is fen_to_yuan's."""
    n = len(fen)
    frame = ENROLLMENTS.head(1).select(pl.all().repeat_by(n).explode())
    frame = frame.with_columns(
        year=pl.int_range(1900, 1900 + n, dtype=pl.Int32), contribution_paid=pl.Series(fen)
    )
    path = tmp_path / f"e.{ext}"
    write_frame(frame, path, ["contribution_paid"])
    assert read_enrollments(path)["contribution_paid"].to_list() == fen
    if ext == "csv":
        column = path.read_text().splitlines()[1:]
        assert [line.split(",")[5] for line in column] == [fen_to_yuan(f) for f in fen]


RESULTS = pl.DataFrame(
    {
        "claim_id": ["C1", "C2"],
        "person_id": ["P1", "P2"],
        "year": pl.Series([2024, 2024], dtype=pl.Int32),
        "covered": [True, False],
        "reason": ["", "WAITING_PERIOD"],
        "policy_scope": [10000, 500],
        "deductible": [400, 0],
        "basic": [7680, 0],
        "major": [0, 0],
        "assistance": [0, 0],
        "oop": [2320, 500],
        "major_cap": pl.Series([35000000, None], dtype=pl.Int64),
    }
)


@pytest.mark.parametrize("ext", ["csv", "parquet", "jsonl"])
def test_results_round_trip(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"r.{ext}"
    money = ["policy_scope", "deductible", "basic", "major", "assistance", "oop", "major_cap"]
    write_frame(RESULTS, path, money)
    assert read_results(path).equals(RESULTS)


def test_results_reason_checked(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    RESULTS.with_columns(reason=pl.lit("BRIBED")).write_parquet(path)
    with pytest.raises(InputError) as exc:
        read_results(path)
    assert {(p.code, p.field) for p in exc.value.problems} == {("BAD_ENUM", "reason")}
