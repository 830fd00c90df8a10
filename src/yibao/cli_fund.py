"""``yibao report fund``: the fund monitoring report (基金运行监测报告) as one HTML page, from
batch files or from the store; the figures as JSON with ``--json``."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import typer

from yibao.cli_common import out, phase, reports_errors

report_app = typer.Typer(help="报告 reports.", no_args_is_help=True)
Opt = typer.Option


def _yuan(text: str) -> int:
    from yibao.money import to_fen

    negative = text.strip().startswith("-")
    fen = to_fen(text.strip().lstrip("-"))
    return -fen if negative else fen


def _opening(balance: str | None, accounts: Path | None, region: str) -> dict[str, int]:
    """Opening accumulated balances by region code: ``--opening-balance`` for the whole
    region, and/or a fund-accounts file (region, opening_balance in yuan) per county."""
    from yibao.errors import InputError, Problem
    from yibao.io import read_frame_any

    opening: dict[str, int] = {}
    if accounts is not None:
        frame = read_frame_any(accounts)
        for i, row in enumerate(frame.iter_rows(named=True), start=2):
            try:
                opening[str(row["region"])] = _yuan(str(row["opening_balance"]))
            except (KeyError, ValueError) as exc:
                raise InputError([Problem("BAD_OPENING_BALANCE", str(exc), f"{accounts}:{i}",
                                          "opening_balance")]) from None
    if balance is not None:
        try:
            opening[region] = _yuan(balance)
        except ValueError as exc:
            raise InputError([Problem("BAD_OPENING_BALANCE", str(exc), "--opening-balance",
                                      "opening_balance")]) from None
    return opening


@report_app.command("fund")
@reports_errors
def fund(
    region: Annotated[str, Opt(help="Region code (e.g. 360400) or a policy YAML file.")],
    year: Annotated[int, Opt(help="The year to report.")],
    out_path: Annotated[Path, Opt("--out", help="The HTML page to write.")],
    persons: Annotated[Path | None, Opt(help="Persons file (batch mode).")] = None,
    enrollments: Annotated[Path | None, Opt(help="Enrolments file (batch mode).")] = None,
    claims: Annotated[Path | None, Opt(help="Claims file (batch mode).")] = None,
    results: Annotated[Path | None, Opt(help="Settlement results of those claims; default: "
                                        "settle them now.")] = None,
    database_url: Annotated[str | None, Opt(help="Read everything from the store instead.")]
    = None,
    targets: Annotated[Path | None, Opt(help="Target population: region, category, target. "
                                        "Default: the persons registry.")] = None,
    opening_balance: Annotated[str | None, Opt(help="Accumulated balance on 1 January, yuan, "
                                               "whole region.")] = None,
    fund_accounts: Annotated[Path | None, Opt(help="Opening balances per region/county: "
                                              "region, opening_balance (yuan).")] = None,
    policy_change: Annotated[Path | None, Opt(help="A change file (region and parent = the "
                                              "region) for the what-if.")] = None,
    years: Annotated[int, Opt(help="Projection years.")] = 5,
    cost_growth: Annotated[str, Opt(help="Yearly growth of cost per claim.")] = "0.05",
    utilisation_growth: Annotated[str, Opt(help="Yearly growth of claims per head.")] = "0.02",
    population_growth: Annotated[str, Opt(help="Yearly growth of enrollees.")] = "0",
    contribution_step: Annotated[str, Opt(help="Yuan added to the contribution each year.")]
    = "30",
    subsidy_step: Annotated[str, Opt(help="Yuan added to the subsidy each year.")] = "30",
    replicates: Annotated[int, Opt(help="Bootstrap resamples for the range.")] = 200,
    seed: Annotated[int, Opt(help="Bootstrap seed.")] = 0,
    json_path: Annotated[Path | None, Opt("--json", help="Also write the figures as JSON.")]
    = None,
) -> None:
    """基金运行监测报告: indicators, alerts, projection (and a what-if) as one HTML page."""
    from yibao.fund import (
        Assumptions,
        alerts,
        base_of,
        indicators,
        load_change,
        project,
        to_json,
    )
    from yibao.fund.baseline import prepare
    from yibao.fund.report import render_report
    from yibao.fund.whatif import what_if_on
    from yibao.policy import load_policy

    pol = load_policy(region)
    try:
        assumptions = Assumptions(years, Fraction(population_growth), Fraction(cost_growth),
                                  Fraction(utilisation_growth), _yuan(contribution_step),
                                  _yuan(subsidy_step))
    except (ValueError, ZeroDivisionError) as exc:
        from yibao.errors import InputError, Problem

        raise InputError([Problem("BAD_ASSUMPTION", str(exc), "", "assumptions")]) from None
    opening = _opening(opening_balance, fund_accounts, pol.region)
    frames, inputs = _inputs(pol, year, persons, enrollments, claims, results, database_url,
                             targets, opening)
    with phase("指标 indicators"):
        ind = indicators(inputs)
        found = alerts(pol, ind)
    change = None
    if policy_change is None:
        with phase("预测 projection"):
            projection = project(base_of(ind, inputs), assumptions, replicates=replicates,
                                 seed=seed)
    else:  # the what-if's baseline gives the projection and its draws to both
        with phase("预测 projection"):
            baseline = prepare(inputs, ind, *frames)
            projection = baseline.projection(assumptions, replicates, seed)
        with phase(f"政策测算 what-if {policy_change.name}"):
            change = what_if_on(baseline, load_change(pol, policy_change),
                                assumptions=assumptions, replicates=replicates, seed=seed)
    with phase(f"写出 write {out_path}"):
        out_path.write_text(render_report(pol, ind, found, projection, change),
                            encoding="utf-8")
        if json_path is not None:
            body = {"indicators": to_json(ind), "alerts": to_json(found),
                    "projection": to_json(projection),
                    "what_if": None if change is None else to_json(change)}
            json_path.write_text(json.dumps(body, ensure_ascii=False, indent=1),
                                 encoding="utf-8")
    out.print(f"{out_path}: {len(found)} alert(s)")
    for a in found:
        out.print(f"  [{a.level}] {a.region} {a.period} {a.message}")


def _inputs(pol: Any, year: int, persons: Path | None, enrollments: Path | None,
            claims: Path | None, results: Path | None, database_url: str | None,
            targets: Path | None, opening: dict[str, int]) -> tuple[Any, Any]:
    from yibao.errors import InputError, Problem
    from yibao.fund import from_frames, read_targets
    from yibao.io import read_frame_any

    target_frame = None if targets is None else read_targets(read_frame_any(targets),
                                                             str(targets))
    if database_url is not None:
        from yibao.fund.store_inputs import store_frames
        from yibao.store.db import make_engine, sessions

        engine = make_engine(database_url)
        try:
            with phase("读取数据库 read the store"), sessions(engine).begin() as session:
                p, e, c, r = store_frames(session, year)
        finally:
            engine.dispose()
    else:
        if persons is None or enrollments is None or claims is None:
            raise InputError([Problem("MISSING_INPUT", "give --persons, --enrollments and "
                                      "--claims, or --database-url", "", "persons")])
        from yibao.cli import _inputs as read_inputs

        p, e, c = read_inputs(persons, enrollments, claims)
        if results is None:
            from yibao.engine.person_years import settle_claims

            with phase("结算 settle"):
                r = settle_claims(pol, p, e, c).results
        else:
            from yibao.io import read_results

            r = read_results(results)
    with phase("汇集 gather"):
        inputs = from_frames(pol, year, p, e, c, r, targets=target_frame, opening=opening)
    return (p, e, c), inputs


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
