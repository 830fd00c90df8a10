"""The store's commands: ``yibao db upgrade``, ``yibao import persons|enrollments|claims FILE``,
``yibao resettle`` and ``yibao post``, added to the main app by ``register(app)``.

The database is ``--database-url``, else ``YIBAO_DATABASE_URL``, else ``sqlite:///yibao.db``.
Like every command, a ``YibaoError`` becomes its list of problems on stderr and exit code 2,
with nothing written. ``resettle`` exits 1 when it finds differences (as ``diff`` does), so a
scheduled check can raise an alarm.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yibao.cli_common import err, out, reports_errors
from yibao.errors import InputError, Problem

UrlOpt = Annotated[str | None, typer.Option(
    "--database-url", show_default=False,
    help="SQLAlchemy URL of the store (default: $YIBAO_DATABASE_URL, else sqlite:///yibao.db).")]
FileArg = Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines file.")]
KIND_HELP = {
    "persons": "参保人 persons: upsert on person_id (a corrected record updates the stored one).",
    "enrollments": "参保登记 enrolments: upsert on (person_id, year, region, scheme).",
    "claims": "医疗费用 claims: insert-if-absent on claim_id; a claim held with other values "
              "is a CLAIM_CONFLICT and nothing lands.",
}


def _engine(url: str | None) -> Any:
    """An engine on a migrated store, else NO_SCHEMA (run ``yibao db upgrade``)."""
    from sqlalchemy import inspect

    from yibao.store.db import make_engine

    engine = make_engine(url)
    if not inspect(engine).has_table("alembic_version"):
        shown = engine.url.render_as_string(hide_password=True)
        engine.dispose()
        raise InputError([Problem(
            "NO_SCHEMA", f"数据库未初始化 / {shown} has no yibao schema: run `yibao db upgrade`",
            shown)])
    return engine


@contextmanager
def _phases(title: str) -> Iterator[Callable[[str], None]]:
    """A spinner naming the current phase; each finished phase is printed with its time."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(title)
        current: list[tuple[str, float]] = []

        def close() -> None:
            if current:
                label, start = current.pop()
                progress.console.print(f"[dim]{escape(label)}: "
                                       f"{time.perf_counter() - start:.2f} s[/]")

        def step(label: str) -> None:
            close()
            current.append((label, time.perf_counter()))
            progress.update(task, description=label)

        try:
            yield step
        finally:
            close()


def db_upgrade(database_url: UrlOpt = None) -> None:
    """Apply the Alembic migrations up to head (creates the schema in an empty database)."""
    from sqlalchemy.engine import make_url

    from yibao.store.db import database_url as resolve
    from yibao.store.db import upgrade

    url = resolve(database_url)
    upgrade(url)
    out.print(f"migrated {escape(make_url(url).render_as_string(hide_password=True))} to head")


def _import_command(kind: str) -> Callable[..., None]:
    @reports_errors
    def command(file: FileArg, database_url: UrlOpt = None,
                user: Annotated[str, typer.Option(help="Name in the audit log.")] = "import",
                ) -> None:
        from yibao.store.importer import import_file

        engine = _engine(database_url)
        try:
            with _phases(f"import {kind}") as step:
                report = import_file(engine, kind, file, username=user,  # type: ignore[arg-type]
                                     on_phase=step)
        finally:
            engine.dispose()
        table = Table(title=f"导入 import {kind} — {escape(str(file))}")
        for column in ("rows", "inserted", "updated", "unchanged", "seconds"):
            table.add_column(column, justify="right")
        table.add_row(f"{report.rows:,}", f"{report.inserted:,}", f"{report.updated:,}",
                      f"{report.unchanged:,}", f"{report.seconds:.2f}")
        out.print(table)

    command.__doc__ = f"导入 Import {KIND_HELP[kind]} Validated as the readers do; atomic."
    return command


@reports_errors
def resettle(
    policy: Annotated[str, typer.Option(help="Region code (e.g. 360400) or a policy YAML file.")],
    year: Annotated[int, typer.Option(help="The settlement year to recompute.")],
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="Write every difference here (.csv, .parquet or .jsonl).")] = None,
    show: Annotated[int, typer.Option(help="Differences printed.")] = 20,
    database_url: UrlOpt = None,
) -> None:
    """重新结算 Recompute a year in batch from the store; list claims whose online result differs.

    There are none when claims were settled in date order. Exit code 1 on differences.
    """
    from yibao.io import write_frame
    from yibao.policy import load_policy
    from yibao.store.resettle import resettle as run

    pol = load_policy(policy)
    engine = _engine(database_url)
    try:
        with _phases("resettle") as step:
            step(f"重新结算 resettle {year} under {pol.region}")
            results, differences = run(engine, pol, year)
            if out_path is not None:
                step(f"写出 write {out_path}")
                write_frame(differences, out_path, [])
    finally:
        engine.dispose()
    claims = differences["claim_id"].n_unique()
    out.print(f"{pol.name} ({pol.region}) {year}: {results.height:,} settled claims "
              f"re-settled; {differences.height:,} differences in {claims:,} claims")
    if differences.height == 0:
        return
    table = Table(title=f"first {min(show, differences.height)} differences (yuan)")
    for column in differences.columns:
        table.add_column(column, justify="right" if column in ("online", "batch") else "left")
    for row in differences.head(show).iter_rows():
        table.add_row(*(escape("" if v is None else str(v)) for v in row))
    out.print(table)
    raise typer.Exit(1)


@reports_errors
def post(
    policy: Annotated[str, typer.Option(help="Region code (e.g. 360400) or a policy YAML file.")],
    year: Annotated[int, typer.Option(help="The settlement year to post.")],
    database_url: UrlOpt = None,
    user: Annotated[str, typer.Option(help="Name on the postings and in the audit log.")]
    = "batch",
) -> None:
    """记账 Settle and post, in one batch, every imported claim of the year not yet settled.

    The same kernel as online settlement, in (settle_date, claim_id) order, all or nothing;
    running it again posts nothing new. A person-year settled online continues from its stored
    accumulators if its unposted claims all come after its settled ones.
    """
    from yibao.money import fen_to_yuan
    from yibao.policy import load_policy
    from yibao.store.post import post_year

    pol = load_policy(policy)
    engine = _engine(database_url)
    try:
        with _phases("post") as step:
            report = post_year(engine, pol, year, username=user, on_phase=step)
    finally:
        engine.dispose()
    table = Table(title=f"记账 post {escape(pol.name)} ({pol.region}) {year}")
    for column in ("claims", "person-years", "continued", "basic", "major", "assistance",
                   "oop", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(f"{report.claims:,}", f"{report.person_years:,}", f"{report.continued:,}",
                  *(fen_to_yuan(v) for v in (report.basic, report.major, report.assistance,
                                             report.oop)), f"{report.seconds:.2f}")
    out.print(table)
    if report.claims == 0:
        out.print("nothing to post: every claim of the year is settled")


def register(app: typer.Typer) -> None:
    """Add ``db upgrade``, ``import persons|enrollments|claims``, ``resettle`` and ``post`` to
    ``app``."""
    db_app = typer.Typer(help="数据库 the store's database.", no_args_is_help=True)
    db_app.command("upgrade")(db_upgrade)
    app.add_typer(db_app, name="db")
    import_app = typer.Typer(help="导入 validated records into the store, atomically and "
                                  "re-runnably.", no_args_is_help=True)
    for kind in KIND_HELP:  # the importer's KINDS, without importing it at start-up
        import_app.command(kind)(_import_command(kind))
    app.add_typer(import_app, name="import")
    app.command("resettle")(resettle)
    app.command("post")(post)


__all__ = ["register"]
