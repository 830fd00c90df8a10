"""`yibao db upgrade`, `yibao import …` and `yibao resettle` end to end (registered by
`yibao.cli_store.register` on an app of their own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from yibao.cli_store import register
from yibao.io import read_claims
from yibao.policy import load_policy
from yibao.store.db import sessions
from yibao.store.online import SettlementService

runner = CliRunner()
app = typer.Typer()


@app.callback()
def _root() -> None:
    """yibao (the store's commands only)."""


register(app)


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def invoke(*args: str, **kwargs: Any) -> Any:
    return runner.invoke(app, list(args), **kwargs)


def test_db_upgrade_takes_the_url_from_the_option_or_the_environment(tmp_path: Path) -> None:
    result = invoke("db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 'a.db'}")
    assert result.exit_code == 0, result.output
    assert "migrated" in result.output and (tmp_path / "a.db").exists()
    result = invoke("db", "upgrade", env={"YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b.db").exists()


def test_import_needs_a_migrated_store(tmp_path: Path,
                                       synth_files: dict[str, dict[str, Path]]) -> None:
    result = invoke("import", "persons", str(synth_files["csv"]["persons"]),
                    "--database-url", f"sqlite:///{tmp_path / 'none.db'}")
    assert result.exit_code == 2
    assert "NO_SCHEMA" in result.output and "yibao db upgrade" in result.output


def test_import_reports_counts_and_reruns_insert_nothing(
        engine: Engine, synth_files: dict[str, dict[str, Path]]) -> None:
    files = synth_files["csv"]
    rows = read_claims(files["claims"]).height
    for kind in ("persons", "enrollments", "claims"):
        result = invoke("import", kind, str(files[kind]), "--database-url", url_of(engine))
        assert result.exit_code == 0, result.output
        assert "inserted" in result.output
    assert f"{rows:,}" in result.output
    result = invoke("import", "claims", str(files["claims"]), "--database-url", url_of(engine))
    assert result.exit_code == 0, result.output
    assert f"│ {rows:,} │        0 │       0 │     {rows:,} │" in result.output


def test_import_of_a_bad_file_exits_2_naming_the_line(
        engine: Engine, tmp_path: Path, synth_files: dict[str, dict[str, Path]]) -> None:
    lines = synth_files["csv"]["persons"].read_text().splitlines()
    lines[150] = lines[150].replace(",M,", ",Q,").replace(",F,", ",Q,")
    bad = tmp_path / "persons.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = invoke("import", "persons", str(bad), "--database-url", url_of(engine))
    assert result.exit_code == 2
    assert "BAD_ENUM" in result.output and "persons.csv:151" in result.output
    assert "nothing written" in result.output


def test_resettle_prints_and_writes_the_differences(
        engine: Engine, tmp_path: Path, synth_files: dict[str, dict[str, Path]]) -> None:
    files = synth_files["parquet"]
    for kind in ("persons", "enrollments", "claims"):
        assert invoke("import", kind, str(files[kind]),
                      "--database-url", url_of(engine)).exit_code == 0
    result = invoke("resettle", "--policy", "360400", "--year", "2023",
                    "--database-url", url_of(engine))
    assert result.exit_code == 0, result.output
    assert "0 settled claims re-settled; 0 differences" in result.output

    # one person's admissions settled latest first: the repeat deductible falls elsewhere
    claims = read_claims(files["claims"])
    inpatient = claims.filter(pl.col("visit_type") == "inpatient")
    person = inpatient["person_id"].value_counts(sort=True)["person_id"][0]
    theirs = inpatient.filter(pl.col("person_id") == person).sort("settle_date", "claim_id")
    assert theirs.height >= 2
    service = SettlementService(load_policy("360400"))
    for row in theirs.reverse().iter_rows(named=True):
        body = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
        body.update({m: f"{row[m] / 100:.2f}" for m in ("total", "self_pay",
                                                        "class_b_self_pay")})
        with sessions(engine).begin() as s:
            service.settle(s, body, "clerk")
    out = tmp_path / "differences.csv"
    result = invoke("resettle", "--policy", "360400", "--year", "2023", "--out", str(out),
                    "--database-url", url_of(engine))
    assert result.exit_code == 1, result.output
    written = pl.read_csv(out, infer_schema=False)
    assert written.columns == ["claim_id", "field", "online", "batch"]
    assert written.height > 0 and set(written["claim_id"]) <= set(theirs["claim_id"])
    assert f"{written.height} differences" in result.output
    assert written["claim_id"][0] in result.output


@pytest.mark.parametrize("args", [["import"], ["db"]])
def test_groups_without_a_command_show_help(args: list[str]) -> None:
    result = invoke(*args)
    assert "Usage" in result.output
