"""The ``yibao`` command line: policy, settle, explain, synth.

Every command is a thin adapter over the engine: it reads files with
``yibao.io``, calls the engine, and prints with Rich. A ``YibaoError`` becomes
its list of problems on stderr and exit code 2; nothing is written on error.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from yibao.errors import YibaoError
from yibao.money import fen_to_yuan

app = typer.Typer(help="yibao 医保: 城乡居民基本医疗保险 policy, settlement and monitoring.",
                  no_args_is_help=True, add_completion=False)
policy_app = typer.Typer(help="政策参数 policy parameters.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

PolicyOpt = Annotated[str, typer.Option(help="Region code (e.g. 360400) or a policy YAML file.")]
FileOpt = Annotated[Path, typer.Option(help="CSV, Parquet or JSON Lines file.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Results file: .csv, .parquet or .jsonl.")]


def reports_errors(fn: F) -> F:
    """Turn a YibaoError into a readable list of problems and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except YibaoError as exc:
            err.print(f"[bold red]错误 error[/] ({len(exc.problems)} problem(s)); nothing written")
            for problem in exc.problems:
                err.print(f"  [red]{problem.code}[/] {escape(problem.record)} "
                          f"{escape(problem.field)}: {escape(problem.message)}")
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def phase(label: str) -> Iterator[None]:
    """A status spinner for one phase of a long job, with its elapsed time."""
    start = time.perf_counter()
    with err.status(f"{label} …"):
        yield
    err.print(f"[dim]{label}: {time.perf_counter() - start:.2f} s[/]")


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
    for column in ("key", "value", "region", "from", "source"):
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


def _inputs(persons: Path, enrollments: Path, claims: Path) -> tuple[Any, Any, Any]:
    from yibao.io import check_references, read_claims, read_enrollments, read_persons

    with phase("读取与校验 read and validate"):
        p, e, c = read_persons(persons), read_enrollments(enrollments), read_claims(claims)
        check_references(p, e, c, claims_name=str(claims), enrollments_name=str(enrollments))
    return p, e, c


@app.command()
@reports_errors
def settle(policy: PolicyOpt, persons: FileOpt, enrollments: FileOpt, claims: FileOpt,
           out_path: OutOpt) -> None:
    """一站式结算: settle every claim (basic → major illness → assistance) and write results."""
    from yibao.engine.settlement import MONEY_COLUMNS
    from yibao.engine.settlement import settle as run_settle
    from yibao.io import write_frame
    from yibao.policy import load_policy

    pol = load_policy(policy)
    p, e, c = _inputs(persons, enrollments, claims)
    with phase(f"结算 settle {c.height:,} claims"):
        run = run_settle(pol, p, e, c)
    with phase(f"写出 write {out_path}"):
        write_frame(run.results, out_path, MONEY_COLUMNS)
    _print_summary(c, run.results, pol.name)


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
            policy: PolicyOpt, persons: FileOpt, enrollments: FileOpt, claims: FileOpt) -> None:
    """Explain one claim: each step, its figure, and the parameter and source behind it."""
    from yibao.engine.explain import explain_claim
    from yibao.policy import load_policy

    pol = load_policy(policy)
    p, e, c = _inputs(persons, enrollments, claims)
    ex = explain_claim(pol, p, e, c, claim_id)
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
def synth(
    region: Annotated[str, typer.Option(help="Region code, e.g. 360400.")],
    year: Annotated[int, typer.Option(help="The benefit year.")],
    persons: Annotated[int, typer.Option(help="Number of persons.", min=1)],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write into.")],
    fmt: Annotated[str, typer.Option("--format", help="parquet, csv or jsonl.")] = "parquet",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    claims_per_person: Annotated[float | None, typer.Option(help="Average claims per person.")]
    = None,
) -> None:
    """Write a synthetic population, enrolments and a year of claims."""
    from yibao.synth import write_synth

    with phase(f"synth {persons:,} persons"):
        paths = write_synth(out_dir, region, year, persons, seed=seed, fmt=fmt,
                            claims_per_person=claims_per_person)
    for kind, path in paths.items():
        out.print(f"{kind}: {path}")


def main() -> None:
    app()
