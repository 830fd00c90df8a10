"""The ``yibao`` command line: policy, settle, explain, synth.

Every command is a thin adapter over the engine: it reads files with
``yibao.io``, calls the engine, and prints with Rich. A ``YibaoError`` becomes
its list of problems on stderr and exit code 2; nothing is written on error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from yibao.cli_common import err as err
from yibao.cli_common import job, out, phase, reports_errors
from yibao.cli_fund import register as register_fund
from yibao.cli_service import register as register_service
from yibao.cli_store import register as register_store
from yibao.money import fen_to_yuan

app = typer.Typer(help="yibao 医保: 城乡居民基本医疗保险 policy, settlement and monitoring.",
                  no_args_is_help=True, add_completion=False)
policy_app = typer.Typer(help="政策参数 policy parameters.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
PolicyOpt = Annotated[str, typer.Option(help="Region code (e.g. 360400) or a policy YAML file.")]
FileOpt = Annotated[Path, typer.Option(help="CSV, Parquet or JSON Lines file.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Results file: .csv, .parquet or .jsonl.")]
HistoryOpt = Annotated[list[Path] | None, typer.Option(
    "--history", help="Earlier years' settlement results (repeatable), for the incentives.")]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        err.print(f"[red]--date must be YYYY-MM-DD, got {text!r}[/]")
        raise typer.Exit(2) from None


@policy_app.command("show")
@reports_errors
def policy_show(
    region: Annotated[str, typer.Argument(help="Region code or policy YAML file.")],
    date: Annotated[str, typer.Option(help="Resolve on this date, YYYY-MM-DD.")] = "",
) -> None:
    """Print the resolved parameters of REGION on --date, each with its region and source."""
    from yibao.policy import load_policy

    policy = load_policy(region)
    on = _date(date) if date else dt.date.today()
    chain = " → ".join(f"{rf.region} {rf.name}" for rf in policy.chain)
    table = Table(title=f"{policy.name} ({policy.region}) on {on} — {chain}", show_lines=True)
    table.add_column("key", no_wrap=True)
    for column in ("value", "region", "from", "source"):
        table.add_column(column, overflow="fold")
    for p in policy.resolve(on).all():
        table.add_row(p.key, _show_raw(p.raw), f"{p.region} {p.region_name}", str(p.start),
                      p.source)
    out.print(table)


def _show_raw(raw: object) -> str:
    import yaml

    if isinstance(raw, dict | list):
        return yaml.safe_dump(raw, allow_unicode=True, default_flow_style=True, width=60).strip()
    return str(raw)


def _inputs(persons: Path, enrollments: Path, claims: Path,
            claim_columns: Sequence[str] | None = None,
            claim_codes: bool = False) -> tuple[Any, Any, Any]:
    from yibao.io import check_references, read_inputs

    with phase("读取与校验 read and validate"):
        p, e, c = read_inputs(persons, enrollments, claims, claim_columns,
                              claim_codes=claim_codes)
        check_references(p, e, c, claims_name=str(claims), enrollments_name=str(enrollments))
    return p, e, c


@app.command()
@reports_errors
def settle(policy: PolicyOpt, persons: FileOpt, enrollments: FileOpt, claims: FileOpt,
           out_path: OutOpt, history: HistoryOpt = None) -> None:
    """一站式结算: settle every claim (basic → major illness → assistance) and write results."""
    from yibao.engine.person_years import settle_claims
    from yibao.engine.settlement import CLAIM_COLUMNS, MONEY_COLUMNS
    from yibao.io import write_frame
    from yibao.policy import load_policy

    pol = load_policy(policy)
    with job("settle", 4 if history else 3):
        # all checked, but the claims' columns no settlement rule reads are let go at once
        # and visit_type, chronic_disease, maternity_kind are held as codes (Enums)
        p, e, c = _inputs(persons, enrollments, claims, CLAIM_COLUMNS, claim_codes=True)
        past = _history(history)
        with phase(f"结算 settle {c.height:,} claims"):
            run = settle_claims(pol, p, e, c, history=past)
        with phase(f"写出 write {out_path}"):
            write_frame(run.results, out_path, MONEY_COLUMNS)
    _print_summary(c, run.results, pol.name)


def _history(paths: list[Path] | None) -> Any:
    from yibao.io import read_results

    if not paths:
        return None
    import polars as pl

    with phase("读取历史结算 read history"):
        return pl.concat([read_results(path) for path in paths])


def _print_summary(claims: Any, results: Any, name: str) -> None:
    from yibao.engine.summary import PAYERS, summarise, uncovered_reasons

    table = Table(title=f"{name} 结算汇总 settlement summary (yuan)")
    for column in ("visit_type", "claims", "covered", *PAYERS):
        table.add_column(column, justify="left" if column == "visit_type" else "right")
    for row in summarise(claims, results).iter_rows(named=True):
        table.add_row(row["visit_type"], f"{row['claims']:,}", f"{row['covered']:,}",
                      *[fen_to_yuan(row[c]) for c in PAYERS])
    out.print(table)
    reasons = uncovered_reasons(results)
    if reasons.height:
        out.print("不予支付 uncovered: " + ", ".join(
            f"{r['reason']} {r['claims']:,}" for r in reasons.iter_rows(named=True)))


@app.command()
@reports_errors
def explain(claim_id: Annotated[str, typer.Argument(help="The claim to explain.")],
            policy: PolicyOpt, persons: FileOpt, enrollments: FileOpt, claims: FileOpt,
            history: HistoryOpt = None) -> None:
    """Explain one claim: each step, its figure, and the parameter and source behind it."""
    from yibao.engine.explain import explain_claim
    from yibao.policy import load_policy

    pol = load_policy(policy)
    p, e, c = _inputs(persons, enrollments, claims)
    ex = explain_claim(pol, p, e, c, claim_id, history=_history(history))
    r = ex.result
    out.print(f"[bold]claim {claim_id}[/] person {r['person_id']} · {ex.claim['visit_type']} · "
              f"level {ex.claim['facility_level']} · settled {ex.claim['settle_date']}")
    table = Table(show_lines=True)
    for column in ("step", "working", "amount", "parameters (region, from, source)"):
        table.add_column(column, overflow="fold")
    for s in ex.steps:
        params = "\n".join(f"{q.key} = {_show_raw(q.raw)}\n  ← {q.region} {q.region_name}, "
                           f"from {q.start}, {q.source}" for q in s.params)
        table.add_row(s.title, s.formula, "" if s.amount is None else fen_to_yuan(s.amount),
                      params)
    out.print(table)
    out.print("基本医保 {} · 大病保险 {} · 医疗救助 {} · 个人自付 {}".format(
        *(fen_to_yuan(r[k]) for k in ("basic", "major", "assistance", "oop"))))


@app.command()
@reports_errors
def finance(policy: PolicyOpt, persons: FileOpt, enrollments: FileOpt,
            year: Annotated[int, typer.Option(help="The enrolment year.")], out_path: OutOpt,
            summary: Annotated[Path | None, typer.Option(help="Write the region-level figures.")]
            = None) -> None:
    """参保与筹资: contribution, assisted amount, owed, subsidy split and benefit start."""
    from yibao.engine.enrollment import build_history
    from yibao.engine.financing import ENROLMENT_MONEY, SUMMARY_MONEY, finance, summarise_financing
    from yibao.io import read_enrollments, read_persons, write_frame
    from yibao.policy import load_policy

    pol = load_policy(policy)
    with phase("读取与校验 read and validate"):
        p, e = read_persons(persons), read_enrollments(enrollments)
    with phase(f"筹资 finance {year}"):
        rows = finance(pol, p, e, year, build_history(p, e, through=year))
        totals = summarise_financing(pol, rows, year)
    with phase(f"写出 write {out_path}"):
        write_frame(rows, out_path, ENROLMENT_MONEY)
        if summary is not None:
            write_frame(totals, summary, SUMMARY_MONEY)
    table = Table(title=f"{pol.name} {year} 筹资汇总 financing summary (yuan)")
    for column in ("region", "enrollees", *SUMMARY_MONEY):
        table.add_column(column, justify="left" if column == "region" else "right")
    for r in totals.iter_rows(named=True):
        table.add_row(r["region"], f"{r['enrollees']:,}", *[
            "—" if r[c] is None else fen_to_yuan(r[c]) for c in SUMMARY_MONEY])
    out.print(table)


@app.command()
@reports_errors
def check(persons: FileOpt, enrollments: FileOpt,
          out_path: Annotated[Path | None, typer.Option("--out", help="Write the findings.")]
          = None) -> None:
    """重复参保与登记核查: duplicate enrolments and records that contradict a person."""
    from yibao.engine.registry import CHECKS, check_registry
    from yibao.io import read_enrollments, read_persons, write_frame

    with phase("读取与校验 read and validate"):
        p, e = read_persons(persons), read_enrollments(enrollments)
    findings = check_registry(p, e)
    if out_path is not None:
        write_frame(findings, out_path, [])
    table = Table(title=f"登记核查 registry check: {findings.height:,} finding(s)")
    for column in ("check", "person_id", "year", "record_a", "record_b", "detail"):
        table.add_column(column, overflow="fold")
    for r in findings.head(50).iter_rows(named=True):
        table.add_row(r["check"], r["person_id"], str(r["year"]), r["record_a"],
                      r["record_b"] or "", r["detail"])
    out.print(table)
    counts = findings.group_by("check").len().sort("check")
    for r in counts.iter_rows(named=True):
        out.print(f"{r['check']}: {r['len']:,} — {CHECKS[r['check']]}")


@app.command()
@reports_errors
def synth(
    region: Annotated[str, typer.Option(help="Region code, e.g. 360400.")],
    year: Annotated[int, typer.Option(help="The benefit year.")],
    persons: Annotated[int, typer.Option(help="Number of persons.", min=1)],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write into.")],
    fmt: Annotated[str, typer.Option("--format", help="parquet, csv or jsonl.")] = "parquet",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    claims_per_person: Annotated[float | None, typer.Option(help="Average claims per person.")]
    = None,
    first_year: Annotated[int | None, typer.Option(
        "--first-year", help="First year of a multi-year history ending at --year.")] = None,
) -> None:
    """Write a synthetic population, enrolments and claims (one year, or --first-year..--year)."""
    from yibao.synth import write_synth

    with phase(f"synth {persons:,} persons"):
        paths = write_synth(out_dir, region, year, persons, seed=seed, fmt=fmt,
                            claims_per_person=claims_per_person, first_year=first_year)
    for kind, path in paths.items():
        out.print(f"{kind}: {path}")


register_store(app)
register_service(app)
register_fund(app)


def main() -> None:
    app()
