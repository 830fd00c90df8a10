"""The report: ``yibao report fund`` writes one self-contained page that renders in headless
Chromium (Debian's, driven by Playwright) with no console error, shows every section and
chart, fetches nothing from the network, and never shows a full 身份证号."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import sync_playwright
from typer.testing import CliRunner

from yibao.cli import app
from yibao.synth import write_synth

CHROMIUM = "/usr/bin/chromium"
SECTIONS = ["sec-alerts", "sec-balance", "sec-spending", "sec-ratio", "sec-coverage",
            "sec-counties", "sec-highcost", "sec-projection", "sec-whatif"]
CHARTS = ["fig-balance", "fig-spending", "fig-ratio", "fig-coverage", "fig-projection",
          "fig-whatif"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("report")
    paths = write_synth(tmp, "360400", 2023, 3000, seed=5)
    change = tmp / "cap.yaml"
    change.write_text(yaml.safe_dump({
        "region": "360400", "name": "大病封顶线提高", "parent": "360400",
        "parameters": {"major.cap": [{"from": dt.date(2023, 1, 1), "value": 500000,
                                      "source": "what-if"}]}}, allow_unicode=True))
    out, js = tmp / "report.html", tmp / "report.json"
    result = CliRunner().invoke(app, [
        "report", "fund", "--region", "360400", "--year", "2023", "--out", str(out),
        "--persons", str(paths["persons"]), "--enrollments", str(paths["enrollments"]),
        "--claims", str(paths["claims"]), "--opening-balance", "3000000",
        "--policy-change", str(change), "--replicates", "20", "--json", str(js)])
    assert result.exit_code == 0, result.output
    return out, js.read_text(encoding="utf-8")


def test_renders_without_errors_and_shows_every_section(report: tuple[Path, str]) -> None:
    path, _ = report
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_selector("#fig-whatif .main-svg")
        sections = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
        charts = page.eval_on_selector_all(".js-plotly-plot", "els => els.map(e => e.id)")
        title = page.title()
        browser.close()
    assert errors == []
    assert sections == SECTIONS
    assert sorted(charts) == sorted(CHARTS)
    assert "基金运行监测报告" in title
    assert [u for u in requests if not u.startswith("file://")] == []


def test_id_numbers_are_masked(report: tuple[Path, str]) -> None:
    path, body = report
    html = path.read_text(encoding="utf-8")
    assert "********" in html  # the high-cost list shows masked numbers
    full = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])")
    assert not full.search(re.sub(r"<script>.*?</script>", "", html, flags=re.S))
    assert not full.search(body)


def test_json_carries_the_same_figures(report: tuple[Path, str]) -> None:
    path, body = report
    import json

    data = json.loads(body)
    html = path.read_text(encoding="utf-8")
    total = next(r for r in data["indicators"]["spending"]
                 if r["region"] == "360400" and r["visit_type"] == "all")
    whole, cents = total["basic"].split(".")
    assert f"{int(whole):,}.{cents}" in html
    assert data["what_if"]["payers"]
