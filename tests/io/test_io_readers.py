"""Readers (SPEC §4): every rule gives its code at the right record and field, in every format.

The test modules of this folder are named test_io_*: tests/ has no __init__.py, so basenames
must be unique, and a tests/io package would shadow the standard library's `io`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from yibao.errors import InputError
from yibao.io import read_claims, read_enrollments, read_persons, write_frame

# 11010519491231002X: Σ digit×weight over the first 17 digits is 167 (worked digit by digit:
# 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4), 167 mod 11 = 2, and "10X98765432"[2] = "X".
GOOD_ID = "11010519491231002X"

PERSON = {
    "person_id": "P1",
    "id_number": GOOD_ID,
    "sex": "M",
    "birth_date": "1949-12-31",
    "death_date": "",
    "region": "360400",
    "categories": "dibao;student",
    "chronic": "hypertension",
}
ENROLLMENT = {
    "person_id": "P1",
    "year": "2024",
    "region": "360400",
    "scheme": "resident",
    "paid_date": "2023-11-02",
    "contribution_paid": "380.00",
    "repaid_years": "0",
    "employee_end_date": "",
}
CLAIM = {
    "claim_id": "C1",
    "person_id": "P1",
    "facility_id": "H1",
    "facility_level": "2",
    "visit_type": "inpatient",
    "chronic_disease": "",
    "maternity_kind": "",
    "admit_date": "2024-03-01",
    "settle_date": "2024-03-05",
    "total": "12345.67",
    "self_pay": "100.00",
    "class_b_self_pay": "45.5",
    "out_of_region": "false",
    "diagnosis": "K35.8",
    "procedure": "47.01",
    "procedure_kind": "surgery",
}


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(r[c] for c in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[InputError]) -> set[tuple[str, str, str]]:
    """(code, record, field) of every problem raised."""
    return {(p.code, p.record, p.field) for p in exc.value.problems}


def rows_with(base: dict[str, str], n: int, **changes: dict[str, str]) -> list[dict[str, str]]:
    """n copies of base with distinct keys; changes maps "r<i>" (0-based) to field overrides."""
    rows = []
    for i in range(n):
        row = dict(base)
        for key in ("person_id", "claim_id"):
            if key in row and not (base is ENROLLMENT and key == "person_id"):
                row[key] = f"{row[key][0]}{i + 1}"
        if base is ENROLLMENT:
            row["year"] = str(2020 + i)
        row.update(changes.get(f"r{i}", {}))
        rows.append(row)
    return rows


# --- valid input --------------------------------------------------------------------------


def test_valid_persons_have_the_spec_dtypes(tmp_path: Path) -> None:
    df = read_persons(write_csv(tmp_path / "p.csv", [PERSON]))
    assert df.schema == pl.Schema(
        {
            "person_id": pl.String,
            "id_number": pl.String,
            "sex": pl.String,
            "birth_date": pl.Date,
            "death_date": pl.Date,
            "region": pl.String,
            "categories": pl.List(pl.String),
            "chronic": pl.List(pl.String),
        }
    )
    row = df.row(0, named=True)
    assert row["birth_date"] == dt.date(1949, 12, 31)
    assert row["death_date"] is None
    assert row["categories"] == ["dibao", "student"]
    assert row["chronic"] == ["hypertension"]


def test_valid_enrollments(tmp_path: Path) -> None:
    df = read_enrollments(write_csv(tmp_path / "e.csv", [ENROLLMENT]))
    assert df.schema["year"] == pl.Int32
    assert df.schema["repaid_years"] == pl.Int32
    assert df.schema["contribution_paid"] == pl.Int64
    assert df["contribution_paid"].to_list() == [38000]  # 380.00 yuan = 38 000 fen


def test_valid_claims_money_in_fen(tmp_path: Path) -> None:
    df = read_claims(write_csv(tmp_path / "c.csv", [CLAIM]))
    # 12345.67 yuan = 1 234 567 fen; 100.00 = 10 000; 45.5 = 4 550
    assert df.select("total", "self_pay", "class_b_self_pay").row(0) == (1234567, 10000, 4550)
    assert df.schema["facility_level"] == pl.Int8
    assert df.schema["out_of_region"] == pl.Boolean
    assert df["out_of_region"].to_list() == [False]


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    person = {
        k: v
        for k, v in PERSON.items()
        if k not in ("id_number", "death_date", "categories", "chronic")
    }
    df = read_persons(write_csv(tmp_path / "p.csv", [person]))
    assert df["categories"].to_list() == [[]]
    assert df["id_number"].to_list() == [None]
    enrol = {k: v for k, v in ENROLLMENT.items() if k not in ("repaid_years", "employee_end_date")}
    e = read_enrollments(write_csv(tmp_path / "e.csv", [enrol]))
    assert e["repaid_years"].to_list() == [0]
    assert e.columns == list(ENROLLMENT)


def test_empty_repaid_years_defaults_to_zero(tmp_path: Path) -> None:
    e = read_enrollments(write_csv(tmp_path / "e.csv", [{**ENROLLMENT, "repaid_years": ""}]))
    assert e["repaid_years"].to_list() == [0]


def test_normalisation(tmp_path: Path) -> None:
    """Blanks trimmed, enum case folded, ICD-10 upper-cased, lists de-duplicated."""
    rows = [
        {
            **CLAIM,
            "visit_type": " Inpatient ",
            "diagnosis": " k35.800x001 ",
            "out_of_region": "TRUE",
        }
    ]
    c = read_claims(write_csv(tmp_path / "c.csv", rows))
    assert c.row(0, named=True)["visit_type"] == "inpatient"
    assert c.row(0, named=True)["diagnosis"] == "K35.800X001"
    assert c.row(0, named=True)["out_of_region"] is True
    p = read_persons(
        write_csv(tmp_path / "p.csv", [{**PERSON, "sex": "f", "categories": " dibao ; ;DIBAO"}])
    )
    assert p.row(0, named=True)["sex"] == "F"
    assert p.row(0, named=True)["categories"] == ["dibao"]


def test_header_only_file_is_an_empty_frame(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(",".join(CLAIM) + "\n")
    df = read_claims(path)
    assert df.height == 0
    assert df.schema["total"] == pl.Int64


def test_blank_lines_are_skipped_and_lines_still_counted(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    good = ",".join(CLAIM.values())
    bad = ",".join({**CLAIM, "claim_id": "C2", "total": "x"}.values())
    path.write_text(",".join(CLAIM) + "\n" + good + "\n\n" + bad + "\n")
    with pytest.raises(InputError) as exc:
        read_claims(path)
    # header line 1, good line 2, blank line 3, bad line 4
    assert problems(exc) == {("BAD_MONEY", "c.csv:4", "total")}


def test_quoted_newline_keeps_line_numbers_right(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    first = ",".join({**CLAIM, "facility_id": '"H\n1"'}.values())  # spans lines 2 and 3
    bad = ",".join({**CLAIM, "claim_id": "C2", "total": "x"}.values())
    path.write_text(",".join(CLAIM) + "\n" + first + "\n" + bad + "\n")
    with pytest.raises(InputError) as exc:
        read_claims(path)
    assert problems(exc) == {("BAD_MONEY", "c.csv:4", "total")}


# --- one rule at a time ---------------------------------------------------------------------

PERSON_CASES = [
    ({"person_id": ""}, "REQUIRED", "person_id"),
    ({"sex": "X"}, "BAD_ENUM", "sex"),
    ({"birth_date": ""}, "REQUIRED", "birth_date"),
    ({"birth_date": "1990-02-30"}, "BAD_DATE", "birth_date"),
    ({"birth_date": "1990/01/01"}, "BAD_DATE", "birth_date"),
    ({"birth_date": "1890-01-01"}, "BAD_DATE", "birth_date"),
    ({"death_date": "1949-12-30"}, "DATE_ORDER", "death_date"),
    ({"region": "36040"}, "BAD_REGION", "region"),
    ({"region": "36040a"}, "BAD_REGION", "region"),
    ({"categories": "dibao;vip"}, "BAD_ENUM", "categories"),
    ({"id_number": "11010519491231002"}, "BAD_ID_NUMBER", "id_number"),
    ({"id_number": "110105194912310021"}, "BAD_ID_NUMBER", "id_number"),  # check is X, not 1
    ({"id_number": GOOD_ID, "birth_date": "1949-12-30"}, "ID_BIRTH_MISMATCH", "id_number"),
]


@pytest.mark.parametrize(("change", "code", "field"), PERSON_CASES)
def test_person_rule(tmp_path: Path, change: dict[str, str], code: str, field: str) -> None:
    rows = rows_with(PERSON, 3, r1=change)
    with pytest.raises(InputError) as exc:
        read_persons(write_csv(tmp_path / "p.csv", rows))
    assert problems(exc) == {(code, "p.csv:3", field)}  # r1 is the second record: line 3


ENROLLMENT_CASES = [
    ({"year": "twenty"}, "BAD_INTEGER", "year"),
    ({"year": "1899"}, "OUT_OF_RANGE", "year"),
    ({"year": "2201"}, "OUT_OF_RANGE", "year"),
    ({"year": "99999999999999999999999"}, "OUT_OF_RANGE", "year"),
    ({"scheme": "private"}, "BAD_ENUM", "scheme"),
    ({"paid_date": ""}, "REQUIRED", "paid_date"),
    ({"contribution_paid": "380.001"}, "MONEY_DECIMALS", "contribution_paid"),
    ({"contribution_paid": "-1"}, "NEGATIVE", "contribution_paid"),
    ({"contribution_paid": "abc"}, "BAD_MONEY", "contribution_paid"),
    ({"repaid_years": "-1"}, "OUT_OF_RANGE", "repaid_years"),
    ({"employee_end_date": "2023-13-01"}, "BAD_DATE", "employee_end_date"),
]


@pytest.mark.parametrize(("change", "code", "field"), ENROLLMENT_CASES)
def test_enrollment_rule(tmp_path: Path, change: dict[str, str], code: str, field: str) -> None:
    rows = rows_with(ENROLLMENT, 3, r1=change)
    with pytest.raises(InputError) as exc:
        read_enrollments(write_csv(tmp_path / "e.csv", rows))
    assert problems(exc) == {(code, "e.csv:3", field)}


CLAIM_CASES = [
    ({"facility_level": "4"}, "OUT_OF_RANGE", "facility_level"),
    ({"facility_level": "0"}, "OUT_OF_RANGE", "facility_level"),
    ({"facility_level": "2.5"}, "BAD_INTEGER", "facility_level"),
    ({"visit_type": "dental"}, "BAD_ENUM", "visit_type"),
    ({"visit_type": "chronic"}, "REQUIRED", "chronic_disease"),
    ({"visit_type": "maternity"}, "REQUIRED", "maternity_kind"),
    ({"procedure_kind": "magic"}, "BAD_ENUM", "procedure_kind"),
    ({"admit_date": "2024-03-06"}, "DATE_ORDER", "admit_date"),
    ({"total": "12.345"}, "MONEY_DECIMALS", "total"),
    ({"total": '"1,000.00"'}, "BAD_MONEY", "total"),  # quoted: one field
    ({"total": "1e3"}, "BAD_MONEY", "total"),
    ({"total": "1000000000.01"}, "MONEY_TOO_LARGE", "total"),
    ({"total": "3000000000000000000000"}, "MONEY_TOO_LARGE", "total"),
    ({"self_pay": "-0.01"}, "NEGATIVE", "self_pay"),
    ({"self_pay": "12300.18"}, "SELF_PAY_EXCEEDS_TOTAL", "self_pay"),  # 12300.18+45.50 > 12345.67
    ({"out_of_region": "yes"}, "BAD_BOOL", "out_of_region"),
    ({"out_of_region": ""}, "REQUIRED", "out_of_region"),
    ({"diagnosis": "Z99.999.9"}, "BAD_ICD10", "diagnosis"),
    ({"diagnosis": "U99"}, "BAD_ICD10", "diagnosis"),  # well formed, but no such WHO category
    ({"diagnosis": "K358"}, "BAD_ICD10", "diagnosis"),  # no dot-less 4-character forms
    ({"diagnosis": ""}, "REQUIRED", "diagnosis"),
    ({"claim_id": "C" + "9" * 70}, "TOO_LONG", "claim_id"),
]


@pytest.mark.parametrize(("change", "code", "field"), CLAIM_CASES)
def test_claim_rule(tmp_path: Path, change: dict[str, str], code: str, field: str) -> None:
    rows = rows_with(CLAIM, 3, r1=change)
    with pytest.raises(InputError) as exc:
        read_claims(write_csv(tmp_path / "c.csv", rows))
    assert problems(exc) == {(code, "c.csv:3", field)}


def test_self_pay_may_equal_total(tmp_path: Path) -> None:
    # 12300.17 + 45.50 = 12345.67: equal to total is allowed
    df = read_claims(write_csv(tmp_path / "c.csv", [{**CLAIM, "self_pay": "12300.17"}]))
    assert df["self_pay"].to_list() == [1230017]


@pytest.mark.parametrize(
    "code", ["I10", "E11.9", "K35", "K35.8", "K35.800", "K35.800x001", "U07.1"]
)
def test_icd10_forms_accepted(tmp_path: Path, code: str) -> None:
    df = read_claims(write_csv(tmp_path / "c.csv", [{**CLAIM, "diagnosis": code}]))
    assert df["diagnosis"].to_list() == [code.upper()]


def test_chronic_and_maternity_visits_with_their_fields(tmp_path: Path) -> None:
    rows = rows_with(
        CLAIM,
        2,
        r0={"visit_type": "chronic", "chronic_disease": "hypertension", "diagnosis": "I10"},
        r1={"visit_type": "maternity", "maternity_kind": "vaginal", "diagnosis": "O80"},
    )
    df = read_claims(write_csv(tmp_path / "c.csv", rows))
    assert df["chronic_disease"].to_list() == ["hypertension", None]
    assert df["maternity_kind"].to_list() == [None, "vaginal"]


# --- uniqueness -----------------------------------------------------------------------------


def test_duplicate_person_names_both_lines(tmp_path: Path) -> None:
    rows = rows_with(PERSON, 3, r2={"person_id": "P1"})
    with pytest.raises(InputError) as exc:
        read_persons(write_csv(tmp_path / "p.csv", rows))
    [problem] = exc.value.problems
    assert (problem.code, problem.record, problem.field) == ("DUPLICATE", "p.csv:4", "person_id")
    assert "p.csv:2" in problem.message


def test_duplicate_claim(tmp_path: Path) -> None:
    rows = rows_with(CLAIM, 4, r3={"claim_id": "C2"})
    with pytest.raises(InputError) as exc:
        read_claims(write_csv(tmp_path / "c.csv", rows))
    [problem] = exc.value.problems
    assert (problem.code, problem.record) == ("DUPLICATE", "c.csv:5")
    assert "c.csv:3" in problem.message


def test_duplicate_enrollment_key(tmp_path: Path) -> None:
    rows = rows_with(ENROLLMENT, 3, r2={"year": "2020"})  # r0 has year 2020 too
    with pytest.raises(InputError) as exc:
        read_enrollments(write_csv(tmp_path / "e.csv", rows))
    [problem] = exc.value.problems
    assert (problem.code, problem.record) == ("DUPLICATE", "e.csv:4")
    assert "e.csv:2" in problem.message


def test_same_person_and_year_in_two_schemes_is_not_a_duplicate(tmp_path: Path) -> None:
    rows = rows_with(ENROLLMENT, 2, r1={"year": "2020", "scheme": "employee"})
    assert read_enrollments(write_csv(tmp_path / "e.csv", rows)).height == 2


# --- many problems ----------------------------------------------------------------------------


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    rows = rows_with(
        CLAIM, 3, r0={"total": "x"}, r2={"visit_type": "y", "admit_date": "2024-13-01"}
    )
    with pytest.raises(InputError) as exc:
        read_claims(write_csv(tmp_path / "c.csv", rows))
    assert problems(exc) == {
        ("BAD_MONEY", "c.csv:2", "total"),
        ("BAD_ENUM", "c.csv:4", "visit_type"),
        ("BAD_DATE", "c.csv:4", "admit_date"),
    }
    # in file order
    assert [p.record for p in exc.value.problems] == ["c.csv:2", "c.csv:4", "c.csv:4"]


def test_problem_list_is_capped_at_50_with_a_count(tmp_path: Path) -> None:
    rows = rows_with(CLAIM, 120, **{f"r{i}": {"total": "bad"} for i in range(120)})
    with pytest.raises(InputError) as exc:
        read_claims(write_csv(tmp_path / "c.csv", rows))
    found = exc.value.problems
    assert len(found) == 51
    assert [p.record for p in found[:2]] == ["c.csv:2", "c.csv:3"]
    assert found[-1].code == "TOO_MANY_PROBLEMS"
    assert "70 more" in found[-1].message  # 120 bad totals, 50 shown


def test_messages_are_bilingual_and_name_the_value(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_claims(write_csv(tmp_path / "c.csv", [{**CLAIM, "total": "12.345"}]))
    text = str(exc.value)
    assert (
        "金额超过两位小数" in text and "more than 2 decimal places" in text and "'12.345'" in text
    )


def test_id_number_never_shown_unmasked(tmp_path: Path) -> None:
    bad = "110105194912310021"
    rows = [
        {**PERSON, "id_number": bad},
        {**PERSON, "person_id": GOOD_ID, "id_number": GOOD_ID, "birth_date": "1950-01-01"},
    ]
    with pytest.raises(InputError) as exc:
        read_persons(write_csv(tmp_path / "p.csv", rows))
    text = str(exc.value)
    assert bad not in text and GOOD_ID not in text  # even a person_id that is a 身份证号
    assert "110105********0021" in text


def test_lower_case_x_is_normalised(tmp_path: Path) -> None:
    df = read_persons(write_csv(tmp_path / "p.csv", [{**PERSON, "id_number": GOOD_ID.lower()}]))
    assert df["id_number"].to_list() == [GOOD_ID]


# --- JSON Lines ------------------------------------------------------------------------------


def write_jsonl(path: Path, records: list[dict[str, object]], blank_lines: bool = False) -> Path:
    sep = "\n\n" if blank_lines else "\n"
    path.write_text(sep.join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    return path


def test_jsonl_numbers_strings_arrays(tmp_path: Path) -> None:
    claim: dict[str, object] = {
        **CLAIM,
        "facility_level": 2,
        "total": 12345.67,
        "self_pay": "100",
        "class_b_self_pay": 0,
        "out_of_region": True,
    }
    del claim["procedure"]
    c = read_claims(write_jsonl(tmp_path / "c.jsonl", [claim]))
    assert c.select("total", "self_pay", "class_b_self_pay", "out_of_region").row(0) == (
        1234567,
        10000,
        0,
        True,
    )
    person: dict[str, object] = {**PERSON, "categories": ["dibao", "student"], "chronic": []}
    del person["death_date"]
    p = read_persons(write_jsonl(tmp_path / "p.ndjson", [person]))
    assert p["categories"].to_list() == [["dibao", "student"]]
    assert p["chronic"].to_list() == [[]]


def test_jsonl_records_by_line(tmp_path: Path) -> None:
    records: list[dict[str, object]] = [dict(CLAIM), {**CLAIM, "claim_id": "C2", "total": 0.001}]
    with pytest.raises(InputError) as exc:
        read_claims(write_jsonl(tmp_path / "c.jsonl", records, blank_lines=True))
    # first record on line 1, a blank line 2, second record on line 3
    assert problems(exc) == {("MONEY_DECIMALS", "c.jsonl:3", "total")}


def test_jsonl_missing_key_is_required_at_its_line(tmp_path: Path) -> None:
    second = {k: v for k, v in CLAIM.items() if k != "diagnosis"}
    second["claim_id"] = "C2"
    with pytest.raises(InputError) as exc:
        read_claims(write_jsonl(tmp_path / "c.jsonl", [dict(CLAIM), second]))
    assert problems(exc) == {("REQUIRED", "c.jsonl:2", "diagnosis")}


def test_jsonl_unknown_key(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_claims(
            write_jsonl(tmp_path / "c.jsonl", [dict(CLAIM), {**CLAIM, "claim_id": "C2", "vip": 1}])
        )
    assert problems(exc) == {("UNKNOWN_COLUMN", "c.jsonl", "vip")}


def test_empty_jsonl_is_no_records(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("")
    assert read_claims(path).height == 0


# --- Parquet ---------------------------------------------------------------------------------


def test_parquet_types_and_rows(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            **{k: [v, v] for k, v in CLAIM.items()},
            "claim_id": ["C1", "C2"],
            "facility_level": pl.Series([2, 3], dtype=pl.Int64),
            "admit_date": [dt.date(2024, 3, 1)] * 2,
            "settle_date": [dt.date(2024, 3, 5)] * 2,
            "total": [12345.67, 100.0],  # float yuan
            "self_pay": pl.Series([100, 2], dtype=pl.Int32),  # integer yuan
            "class_b_self_pay": pl.Series(["45.50", "1.005"]),  # text
            "out_of_region": [False, True],
        }
    )
    path = tmp_path / "c.parquet"
    frame.write_parquet(path)
    with pytest.raises(InputError) as exc:
        read_claims(path)
    # row 2: 1.005 has 3 decimals
    assert problems(exc) == {("MONEY_DECIMALS", "c.parquet:row 2", "class_b_self_pay")}
    frame.with_columns(class_b_self_pay=pl.lit("1.00")).write_parquet(path)
    df = read_claims(path)
    assert df.select("total", "self_pay", "class_b_self_pay").rows() == [
        (1234567, 10000, 100),
        (10000, 200, 100),
    ]


def test_parquet_decimal_money_read_as_fen(tmp_path: Path) -> None:
    """Decimal(18, 2) money (as write_frame writes it) arrives as its unscaled Int64 fen;
    bad amounts are still quoted as the yuan the file holds."""
    good = read_claims(write_csv(tmp_path / "c.csv", [CLAIM, {**CLAIM, "claim_id": "C2"}]))
    write_frame(good, tmp_path / "c.parquet", ["total", "self_pay", "class_b_self_pay"])
    assert read_claims(tmp_path / "c.parquet").equals(good)
    bad = good.with_columns(total=pl.Series([-5, 10**17]))
    write_frame(bad, tmp_path / "c.parquet", ["total", "self_pay", "class_b_self_pay"])
    with pytest.raises(InputError) as exc:
        read_claims(tmp_path / "c.parquet")
    texts = [p.message for p in exc.value.problems if p.field == "total"]
    assert [t.split(": ")[-1] for t in texts] == ["Decimal('-0.05')",
                                                  "Decimal('1000000000000000.00')"]
    assert problems(exc) >= {("NEGATIVE", "c.parquet:row 1", "total"),
                             ("MONEY_TOO_LARGE", "c.parquet:row 2", "total")}


def _write_as(path: Path, frame: pl.DataFrame) -> Path:
    """``frame`` as CSV or (Polars' own) Parquet, by the extension."""
    if path.suffix == ".csv":
        return write_csv(path, frame.rows(named=True))
    frame.write_parquet(path)
    return path


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_claims_read_for_some_columns(tmp_path: Path, fmt: str) -> None:
    """read_claims(columns=…) checks every column and reports exactly what the whole read
    does, in the same order; it returns only those columns."""
    from yibao.engine.settlement import CLAIM_COLUMNS

    rows = [CLAIM, {**CLAIM, "claim_id": "C2", "total": "1.00"},
            {**CLAIM, "claim_id": "C3", "visit_type": "chronic"}]
    good = read_claims(write_csv(tmp_path / "g.csv", [CLAIM, {**CLAIM, "claim_id": "C2"}]))
    write_frame(good, tmp_path / "g.parquet", ["total", "self_pay", "class_b_self_pay"])
    path = tmp_path / f"g.{fmt}"
    assert read_claims(path, CLAIM_COLUMNS).equals(read_claims(path).select(CLAIM_COLUMNS))
    bad = pl.DataFrame([{**r, "diagnosis": "Q", "facility_id": " " * 70} for r in rows])
    path = _write_as(tmp_path / f"c.{fmt}", bad)
    with pytest.raises(InputError) as whole:
        read_claims(path)
    with pytest.raises(InputError) as some:
        read_claims(path, CLAIM_COLUMNS)
    assert [str(p) for p in some.value.problems] == [str(p) for p in whole.value.problems]
    assert {p.field for p in whole.value.problems} >= {"diagnosis", "facility_id", "self_pay"}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_claims_read_as_codes(tmp_path: Path, fmt: str) -> None:
    """read_claims(codes=True) gives visit_type, chronic_disease and maternity_kind as Enums
    of their values, sorted, with the same values; the problems reported are the same."""
    from yibao.engine.settlement import CLAIM_COLUMNS
    from yibao.io.readers import CODE_COLUMNS

    rows = [CLAIM, {**CLAIM, "claim_id": "C2", "visit_type": "chronic",
                    "chronic_disease": "M2"},
            {**CLAIM, "claim_id": "C3", "visit_type": "chronic", "chronic_disease": "M1"}]
    good = read_claims(write_csv(tmp_path / "g.csv", rows))
    write_frame(good, tmp_path / "g.parquet", ["total", "self_pay", "class_b_self_pay"])
    path = tmp_path / f"g.{fmt}"
    for columns in (None, CLAIM_COLUMNS):
        text = read_claims(path, columns)
        coded = read_claims(path, columns, codes=True)
        for name in CODE_COLUMNS:
            dtype = coded.schema[name]
            assert isinstance(dtype, pl.Enum)
            assert dtype.categories.to_list() == sorted(dtype.categories.to_list())
        assert coded.with_columns(pl.col(CODE_COLUMNS).cast(pl.String)).equals(text)
    assert coded.schema["chronic_disease"] == pl.Enum(["M1", "M2"])
    bad = pl.DataFrame([{**r, "visit_type": "x", "diagnosis": "Q"} for r in rows])
    path = _write_as(tmp_path / f"c.{fmt}", bad)
    with pytest.raises(InputError) as text_read:
        read_claims(path, CLAIM_COLUMNS)
    with pytest.raises(InputError) as coded_read:
        read_claims(path, CLAIM_COLUMNS, codes=True)
    assert [str(p) for p in coded_read.value.problems] == [
        str(p) for p in text_read.value.problems]


def test_parquet_wrong_column_type(tmp_path: Path) -> None:
    frame = pl.DataFrame({**{k: [v] for k, v in CLAIM.items()}, "out_of_region": [1.5]})
    frame.write_parquet(tmp_path / "c.parquet")
    with pytest.raises(InputError) as exc:
        read_claims(tmp_path / "c.parquet")
    assert ("BAD_TYPE", "c.parquet", "out_of_region") in problems(exc)


def test_duplicate_found_in_a_large_key_column() -> None:
    """Past a million rows the hash sort runs in two halves; a repeat must still be seen."""
    from yibao.io.rules import maybe_duplicated

    ids = pl.int_range(0, 1_200_000, eager=True).cast(pl.String)
    assert not maybe_duplicated(pl.DataFrame({"k": ids}))
    assert maybe_duplicated(pl.DataFrame({"k": ids.append(pl.Series(["1199999"]))}))


def test_mostly_empty_code_column_checked_and_normalised(tmp_path: Path) -> None:
    """A column that is mostly empty is checked through its non-empty values only."""
    empty = {"procedure_kind": ""}
    rows = rows_with(CLAIM, 5, r0=empty, r1={"procedure_kind": "magic"}, r2=empty, r3=empty)
    with pytest.raises(InputError) as exc:
        read_claims(write_csv(tmp_path / "c.csv", rows))
    assert problems(exc) == {("BAD_ENUM", "c.csv:3", "procedure_kind")}
    rows = rows_with(CLAIM, 5, r0=empty, r1={"procedure_kind": "Surgery"}, r2=empty, r3=empty)
    df = read_claims(write_csv(tmp_path / "c.csv", rows))
    assert df["procedure_kind"].to_list() == [None, "surgery", None, None, "surgery"]
