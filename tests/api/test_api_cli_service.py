"""``yibao user add`` and ``yibao serve`` as registered on a Typer app."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from yibao.api.errors import ScrubFilter
from yibao.cli_service import log_config, register
from yibao.store.auth import authenticate
from yibao.store.db import make_engine, sessions

app = typer.Typer()


@app.callback()
def main() -> None:
    """yibao"""


register(app)


def test_user_add(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'yibao.db'}"
    monkeypatch.setenv("YIBAO_DATABASE_URL", url)
    runner = CliRunner()
    r = runner.invoke(app, ["user", "add", "wang", "--role", "clerk", "--facility", "F1",
                            "--secret", "s3cret-pass"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["user", "add", "li", "--role", "auditor"],
                      env={"YIBAO_SECRET": "an0ther-pass"})
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["user", "add", "zhao", "--role", "analyst"],
                      input="typed-pass1\ntyped-pass1\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["user", "add", "wang", "--role", "boss", "--secret", "x"])
    assert r.exit_code == 2
    assert "BAD_ROLE" in r.output and "WEAK_SECRET" in r.output
    other = f"sqlite:///{tmp_path / 'other.db'}"
    r = runner.invoke(app, ["user", "add", "qian", "--role", "admin", "--secret", "4dmin-pass",
                            "--database-url", other])
    assert r.exit_code == 0, r.output
    for where, users in ((url, {"wang": ("s3cret-pass", "clerk"), "li": ("an0ther-pass", "auditor"),
                                "zhao": ("typed-pass1", "analyst")}),
                         (other, {"qian": ("4dmin-pass", "admin")})):
        engine = make_engine(where)
        with sessions(engine).begin() as s:
            for name, (secret, role) in users.items():
                assert authenticate(s, name, secret).role == role
        engine.dispose()


def test_serve_options_and_scrubbed_logs() -> None:
    r = CliRunner().invoke(app, ["serve", "--help"])
    assert r.exit_code == 0
    assert all(option in r.output for option in ("--host", "--port", "--policy"))
    config = log_config()
    assert config["filters"]["scrub"]["()"] == f"{ScrubFilter.__module__}.ScrubFilter"
    assert config["handlers"] and all(h["filters"] == ["scrub"]
                                      for h in config["handlers"].values())
