"""`import_file`: every kind in every format, on SQLite and PostgreSQL; atomic, re-runnable,
upserts for persons and enrolments, insert-if-absent and conflicts for claims."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select

from yibao.errors import InputError
from yibao.io import read_claims, read_enrollments, read_persons, write_frame
from yibao.store.db import sessions
from yibao.store.frames import claims_frame, enrollments_frame, persons_frame
from yibao.store.importer import KINDS, import_file, import_files
from yibao.store.models import AuditEntry, Claim, Enrollment, Person
from yibao.store.online import SettlementService

MODELS = {"persons": Person, "enrollments": Enrollment, "claims": Claim}
MONEY = {"persons": [], "enrollments": ["contribution_paid"],
         "claims": ["total", "self_pay", "class_b_self_pay"]}
READ = {"persons": read_persons, "enrollments": read_enrollments, "claims": read_claims}


def count(engine: Engine, kind: str) -> int:
    with sessions(engine)() as s:
        return int(s.scalar(select(func.count()).select_from(MODELS[kind])) or 0)


def stored(engine: Engine, kind: str) -> pl.DataFrame:
    """The stored rows of ``kind`` as the readers' frame, in key order."""
    to_frame = {"persons": persons_frame, "enrollments": enrollments_frame,
                "claims": claims_frame}[kind]
    with sessions(engine)() as s:
        frame = to_frame(s.scalars(select(MODELS[kind])).all())
    return _sorted(frame)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    key = "claim_id" if "claim_id" in frame.columns else "person_id"
    extra = ["year", "region", "scheme"] if "scheme" in frame.columns else []
    return frame.sort(key, *extra)


def import_all(engine: Engine, files: dict[str, Path]) -> None:
    for kind in KINDS:
        import_file(engine, kind, files[kind])


def write(frame: pl.DataFrame, path: Path, kind: str) -> Path:
    write_frame(frame, path, MONEY[kind])
    return path


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_each_kind_lands_as_read(engine: Engine, synth_files: dict[str, dict[str, Path]],
                                 fmt: str) -> None:
    files = synth_files[fmt]
    for kind in KINDS:
        report = import_file(engine, kind, files[kind])
        expected = READ[kind](files[kind])
        assert (report.kind, report.rows, report.inserted) == (kind, expected.height,
                                                                expected.height)
        assert (report.updated, report.unchanged) == (0, 0)
        assert stored(engine, kind).equals(_sorted(expected)), kind


def test_rerun_duplicates_nothing_in_any_format(engine: Engine,
                                                synth_files: dict[str, dict[str, Path]]) -> None:
    import_all(engine, synth_files["parquet"])
    before = {kind: count(engine, kind) for kind in KINDS}
    for fmt in ("parquet", "csv", "jsonl"):
        for kind in KINDS:
            report = import_file(engine, kind, synth_files[fmt][kind])
            assert (report.inserted, report.updated, report.unchanged) == (0, 0, report.rows)
    assert {kind: count(engine, kind) for kind in KINDS} == before
    with sessions(engine)() as s:
        actions = s.scalars(select(AuditEntry.action)).all()
    assert actions.count("import_claims") == 4


def test_corrected_person_and_enrolment_update(engine: Engine, tmp_path: Path,
                                               synth_files: dict[str, dict[str, Path]]) -> None:
    files = synth_files["parquet"]
    import_all(engine, files)
    persons = read_persons(files["persons"])
    first = persons["person_id"][0]
    fixed = persons.with_columns(
        pl.when(pl.col("person_id") == first).then(pl.lit(["dibao"]))
        .otherwise(pl.col("categories")).alias("categories"))
    newcomer = fixed.head(1).with_columns(pl.lit("P-NEW").alias("person_id"),
                                          pl.lit(None, pl.String).alias("id_number"))
    report = import_file(engine, "persons",
                         write(pl.concat([fixed, newcomer]), tmp_path / "p.csv", "persons"))
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, persons.height - 1)
    with sessions(engine)() as s:
        assert s.get(Person, first).categories == "dibao"  # type: ignore[union-attr]
        assert s.get(Person, "P-NEW") is not None

    enrollments = read_enrollments(files["enrollments"])
    who = enrollments["person_id"][3]
    paid_more = enrollments.with_columns(
        pl.when(pl.col("person_id") == who).then(pl.lit(12345, pl.Int64))
        .otherwise(pl.col("contribution_paid")).alias("contribution_paid"))
    report = import_file(engine, "enrollments",
                         write(paid_more, tmp_path / "e.jsonl", "enrollments"))
    assert (report.inserted, report.updated) == (0, 1)
    with sessions(engine)() as s:
        paid = s.scalars(select(Enrollment.contribution_paid)
                         .where(Enrollment.person_id == who)).all()
    assert paid == [12345]
    assert count(engine, "enrollments") == enrollments.height


def _csv_with_last_line(path: Path, tmp_path: Path, change: dict[int, str]) -> tuple[Path, int]:
    """A copy of a CSV whose last line has fields replaced ({column index: text})."""
    lines = path.read_text().splitlines()
    fields = lines[-1].split(",")
    for i, value in change.items():
        fields[i] = value
    lines[-1] = ",".join(fields)
    out = tmp_path / path.name
    out.write_text("\n".join(lines) + "\n")
    return out, len(lines)


def test_a_bad_line_late_in_a_file_lands_nothing(engine: Engine, tmp_path: Path,
                                                 synth_files: dict[str, dict[str, Path]]) -> None:
    files = synth_files["csv"]
    bad_persons, line = _csv_with_last_line(files["persons"], tmp_path, {2: "X"})
    with pytest.raises(InputError) as caught:
        import_file(engine, "persons", bad_persons)
    problem = caught.value.problems[0]
    assert (problem.code, problem.record, problem.field) == ("BAD_ENUM", f"persons.csv:{line}",
                                                             "sex")
    assert count(engine, "persons") == 0

    import_file(engine, "persons", files["persons"])
    bad_claims, line = _csv_with_last_line(files["claims"], tmp_path, {9: "-5.00"})
    with pytest.raises(InputError) as caught:
        import_file(engine, "claims", bad_claims)
    problem = caught.value.problems[0]
    assert (problem.code, problem.record, problem.field) == ("NEGATIVE", f"claims.csv:{line}",
                                                             "total")
    assert count(engine, "claims") == 0


@pytest.mark.parametrize(("fmt", "where"), [("csv", "claims.csv:{n_plus_1}"),
                                            ("jsonl", "claims.jsonl:{n}"),
                                            ("parquet", "claims.parquet:row {n}")])
def test_unknown_person_is_named_by_its_line(engine: Engine, tmp_path: Path,
                                             synth_files: dict[str, dict[str, Path]],
                                             fmt: str, where: str) -> None:
    files = synth_files[fmt]
    import_file(engine, "persons", files["persons"])
    claims = read_claims(files["claims"])
    n = claims.height
    orphan = claims.with_columns(
        pl.when(pl.int_range(pl.len()) == n - 1).then(pl.lit("P-NOBODY"))
        .otherwise(pl.col("person_id")).alias("person_id"))
    path = write(orphan, tmp_path / f"claims.{fmt}", "claims")
    with pytest.raises(InputError) as caught:
        import_file(engine, "claims", path)
    assert [(p.code, p.record, p.field) for p in caught.value.problems] == [
        ("UNKNOWN_PERSON", where.format(n=n, n_plus_1=n + 1), "person_id")]
    assert "P-NOBODY" in caught.value.problems[0].message
    assert count(engine, "claims") == 0


def test_files_imported_together_land_together(engine: Engine, tmp_path: Path,
                                               synth_files: dict[str, dict[str, Path]]) -> None:
    files = synth_files["parquet"]
    claims = read_claims(files["claims"])
    orphan = claims.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("P-NOBODY"))
        .otherwise(pl.col("person_id")).alias("person_id"))
    bad = write(orphan, tmp_path / "claims.parquet", "claims")
    with pytest.raises(InputError) as caught:
        import_files(engine, [("claims", bad), ("persons", files["persons"]),
                              ("enrollments", files["enrollments"])])
    assert caught.value.problems[0].record == "claims.parquet:row 8"
    assert [count(engine, kind) for kind in KINDS] == [0, 0, 0]
    # claims first in the list: they still land after the persons they name
    reports = import_files(engine, [("claims", files["claims"]),
                                    ("persons", files["persons"])])
    assert [r.kind for r in reports] == ["persons", "claims"]
    assert count(engine, "claims") == claims.height


def test_a_changed_claim_is_a_conflict_and_nothing_lands(
        engine: Engine, tmp_path: Path, synth_files: dict[str, dict[str, Path]]) -> None:
    files = synth_files["jsonl"]
    import_all(engine, files)
    claims = read_claims(files["claims"])
    settled_id = claims["claim_id"][5]
    body = claims.filter(pl.col("claim_id") == settled_id).row(0, named=True)
    body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in body.items()}
    for money in MONEY["claims"]:
        body[money] = f"{body[money] / 100:.2f}"
    from yibao.policy import load_policy

    with sessions(engine).begin() as s:
        SettlementService(load_policy("360400")).settle(s, body, "clerk")
    changed = claims.with_columns(
        pl.when(pl.col("claim_id") == settled_id).then(pl.col("total") + 100)
        .otherwise(pl.col("total")).alias("total"))
    extra = claims.head(1).with_columns(pl.lit("C-EXTRA").alias("claim_id"))
    path = write(pl.concat([changed, extra]), tmp_path / "claims.csv", "claims")
    with pytest.raises(InputError) as caught:
        import_file(engine, "claims", path)
    (problem,) = caught.value.problems
    assert (problem.code, problem.record, problem.field) == ("CLAIM_CONFLICT",
                                                             "claims.csv:7", "total")
    assert "settled" in problem.message
    with sessions(engine)() as s:
        assert s.get(Claim, "C-EXTRA") is None
        assert s.get(Claim, settled_id).total == body_total(claims, settled_id)  # type: ignore[union-attr]


def body_total(claims: pl.DataFrame, claim_id: str) -> int:
    return int(claims.filter(pl.col("claim_id") == claim_id)["total"][0])


def test_an_unknown_kind_is_refused(engine: Engine, synth_files: dict[str, dict[str, Path]]
                                    ) -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        import_file(engine, "facilities", synth_files["csv"]["persons"])  # type: ignore[arg-type]


def test_text_the_store_cannot_hold_is_refused(engine: Engine, tmp_path: Path,
                                               synth_files: dict[str, dict[str, Path]]) -> None:
    """The readers allow ids and codes up to 64 bytes and any character; the store holds 40
    characters of a procedure code, and PostgreSQL no NUL."""
    files = synth_files["jsonl"]
    import_file(engine, "persons", files["persons"])
    claims = read_claims(files["claims"])
    row = pl.int_range(pl.len())
    odd = claims.with_columns(
        pl.when(row == 3).then(pl.lit("H\x00")).otherwise(pl.col("facility_id"))
        .alias("facility_id"),
        pl.when(row == 9).then(pl.lit("9" * 41)).otherwise(pl.col("procedure"))
        .alias("procedure"))
    with pytest.raises(InputError) as caught:
        import_file(engine, "claims", write(odd, tmp_path / "claims.jsonl", "claims"))
    assert [(p.code, p.record, p.field) for p in caught.value.problems] == [
        ("BAD_TEXT", "claims.jsonl:4", "facility_id"),
        ("TOO_LONG", "claims.jsonl:10", "procedure")]
    assert count(engine, "claims") == 0


def test_concurrent_imports_of_one_file_insert_each_claim_once(
        engine: Engine, synth_files: dict[str, dict[str, Path]]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    files = synth_files["parquet"]
    import_file(engine, "persons", files["persons"])
    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(lambda _: import_file(engine, "claims", files["claims"]),
                                range(3)))
    rows = reports[0].rows
    assert sorted(r.inserted for r in reports) == [0, 0, rows]
    assert count(engine, "claims") == rows
