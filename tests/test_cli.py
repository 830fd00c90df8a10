"""The command line end to end: synth → settle → explain, policy show, and bad input."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from yibao.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    for fmt in ("parquet", "csv", "jsonl"):
        result = runner.invoke(app, ["synth", "--region", "360400", "--year", "2023",
                                     "--persons", "300", "--out", str(out), "--format", fmt])
        assert result.exit_code == 0, result.output
    return out


def _inputs(demo: Path, ext: str = "parquet") -> list[str]:
    return ["--policy", "360400", "--persons", str(demo / f"persons.{ext}"),
            "--enrollments", str(demo / f"enrollments.{ext}"),
            "--claims", str(demo / f"claims.{ext}")]


def test_policy_show_names_region_and_source() -> None:
    result = runner.invoke(app, ["policy", "show", "360400", "--date", "2023-06-30"])
    assert result.exit_code == 0, result.output
    # 九江's own inpatient deductible, and the national subsidy inherited with its clause
    assert "basic.inpatient.deductible" in result.output
    assert "360400" in result.output and "000000" in result.output
    assert "24号" in result.output


def test_policy_show_rejects_unknown_region() -> None:
    result = runner.invoke(app, ["policy", "show", "123456", "--date", "2023-06-30"])
    assert result.exit_code == 2
    assert "POLICY_UNKNOWN_REGION" in result.output


@pytest.mark.parametrize("ext", ["csv", "parquet", "jsonl"])
def test_settle_writes_every_claim_and_payers_sum(demo: Path, tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"results.{ext}"
    result = runner.invoke(app, ["settle", *_inputs(demo, ext), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "合计 total" in result.output
    claims = pl.read_parquet(demo / "claims.parquet")
    results = {"csv": pl.read_csv, "parquet": pl.read_parquet, "jsonl": pl.read_ndjson}[ext](
        out, **({"infer_schema_length": 0} if ext == "csv" else {}))
    assert results.height == claims.height
    assert set(results["claim_id"].cast(pl.String)) == set(claims["claim_id"])


def test_explain_prints_steps_with_sources(demo: Path, tmp_path: Path) -> None:
    claims = pl.read_parquet(demo / "claims.parquet")
    inpatient = claims.filter(pl.col("visit_type") == "inpatient")["claim_id"][0]
    result = runner.invoke(app, ["explain", inpatient, *_inputs(demo)])
    assert result.exit_code == 0, result.output
    assert "个人自付" in result.output


def test_explain_unknown_claim_is_a_clear_error(demo: Path) -> None:
    result = runner.invoke(app, ["explain", "NO-SUCH-CLAIM", *_inputs(demo)])
    assert result.exit_code == 2
    assert "UNKNOWN_CLAIM" in result.output


def test_bad_claims_file_writes_nothing(demo: Path, tmp_path: Path) -> None:
    claims = pl.read_csv(demo / "claims.csv", infer_schema_length=0)
    bad = claims.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("12.345")).otherwise(pl.col("total"))
        .alias("total"))
    bad_path = tmp_path / "claims.csv"
    bad.write_csv(bad_path)
    out = tmp_path / "results.csv"
    args = [*_inputs(demo, "parquet")]
    args[args.index("--claims") + 1] = str(bad_path)
    result = runner.invoke(app, ["settle", *args, "--out", str(out)])
    assert result.exit_code == 2
    assert "claims.csv:5" in result.output  # header is line 1, the 4th record line 5
    assert "total" in result.output
    assert not out.exists()
