"""What every ``yibao`` command shares: the consoles, turning a YibaoError into its list of
problems and exit code 2, and a progress bar over the phases of a long job."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from yibao.errors import YibaoError

F = TypeVar("F", bound=Callable[..., Any])

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

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


_jobs: list[tuple[Progress, TaskID]] = []


@contextmanager
def job(title: str, phases: int) -> Iterator[None]:
    """A progress bar over the phases of a long job (read, validate, settle, write)."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as progress:
        _jobs.append((progress, progress.add_task(title, total=phases)))
        try:
            yield
        finally:
            _jobs.pop()


@contextmanager
def phase(label: str) -> Iterator[None]:
    """One phase of a long job: advances the job's bar (or shows a spinner) and its time."""
    start = time.perf_counter()
    if _jobs:
        progress, task = _jobs[-1]
        progress.update(task, description=label)
        yield
        progress.advance(task)
        progress.console.print(f"[dim]{label}: {time.perf_counter() - start:.2f} s[/]")
        return
    with err.status(f"{label} …"):
        yield
    err.print(f"[dim]{label}: {time.perf_counter() - start:.2f} s[/]")
