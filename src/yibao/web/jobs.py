"""Background import jobs of the console: check a file, then (on request) import it.

A job is a folder under the job root holding the uploaded file and ``status.json``; threads
update the status and the page polls it, so a large file shows its phase and elapsed time.
The status lives on disk rather than in memory so that any server worker can answer for it.
The uploaded file is deleted once it is no longer needed (imported, failed or refused).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from yibao.errors import InputError, Problem, YibaoError, fail
from yibao.io.report import scrub
from yibao.store.importer import KINDS, SPECS, Kind, import_file

SUFFIXES = (".csv", ".parquet", ".jsonl", ".ndjson")
_JOB = re.compile(r"^[0-9a-f]{16}$")


def root() -> Path:
    base = os.environ.get("YIBAO_IMPORT_DIR") or Path(tempfile.gettempdir()) / "yibao-imports"
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def safe_name(name: str) -> str:
    """The uploaded file's name reduced to safe characters, keeping its extension."""
    stem, dot, suffix = Path(name or "upload").name.rpartition(".")
    clean = re.sub(r"[^\w.-]", "_", stem if dot else suffix)[:80] or "upload"
    if not dot:
        return clean
    # the extension through the same filter (a NUL or a backslash can follow the last dot)
    extension = re.sub(r"[^\w-]", "_", suffix.lower())[:16]
    return f"{clean}.{extension}"


def _problems(exc: YibaoError) -> list[dict[str, str]]:
    return [{"code": p.code, "message": scrub(p.message), "record": scrub(p.record),
             "field": p.field} for p in exc.problems]


class Job:
    """One import job's folder and status."""

    def __init__(self, job_id: str) -> None:
        if not _JOB.match(job_id):
            raise KeyError(job_id)
        self.id = job_id
        self.dir = root() / job_id

    @classmethod
    def create(cls, kind: Kind, name: str, username: str) -> Job:
        job = cls(secrets.token_hex(8))
        job.dir.mkdir(mode=0o700)
        job.write({"id": job.id, "kind": kind, "name": safe_name(name), "user": username,
                   "state": "checking", "rows": None, "problems": [], "phases": [],
                   "report": None, "started": time.time(), "finished": None})
        return job

    @property
    def file(self) -> Path:
        return self.dir / str(self.read()["name"])

    def read(self) -> dict[str, Any]:
        try:
            status: dict[str, Any] = json.loads((self.dir / "status.json").read_text("utf-8"))
        except FileNotFoundError as exc:
            raise KeyError(self.id) from exc
        return status

    def write(self, status: dict[str, Any]) -> None:
        tmp = self.dir / "status.json.tmp"
        tmp.write_text(json.dumps(status, ensure_ascii=False), "utf-8")
        os.replace(tmp, self.dir / "status.json")

    def update(self, **changes: Any) -> None:
        self.write({**self.read(), **changes})

    def finish(self, state: str, **changes: Any) -> None:
        self.file.unlink(missing_ok=True)
        self.update(state=state, finished=time.time(), **changes)


def _run(job: Job, work: Callable[[], None]) -> None:
    def guarded() -> None:
        try:
            work()
        except YibaoError as exc:
            job.finish("invalid" if job.read()["state"] == "checking" else "failed",
                       problems=_problems(exc))
        except Exception as exc:  # a bug must still end the job, not leave it spinning
            problem = Problem("INTERNAL_ERROR", f"{type(exc).__name__}: {scrub(str(exc))}")
            job.finish("failed", problems=[{"code": problem.code, "message": problem.message,
                                            "record": "", "field": ""}])

    threading.Thread(target=guarded, name=f"import-{job.id}", daemon=True).start()


def start_check(job: Job) -> None:
    """Read and validate the file as ``yibao import`` does; nothing touches the store."""
    status = job.read()

    def check() -> None:
        rows = SPECS[status["kind"]].read(job.file).height
        job.update(state="checked", rows=rows)

    _run(job, check)


def start_import(job: Job, engine: Engine) -> None:
    """Import the checked file in one transaction (``import_file``): all of it or nothing."""
    try:  # mkdir is atomic: a second click (or worker) cannot start the import twice
        (job.dir / "committed").mkdir()
    except FileExistsError:
        raise fail(InputError, "NOT_CHECKED", "该文件已在导入 / the import has started already",
                   "", "job") from None
    status = job.read()
    job.update(state="importing", phases=[])

    def phase(label: str) -> None:
        current = job.read()
        job.update(phases=[*current["phases"], {"label": label, "at": time.time()}])

    def run() -> None:
        report = import_file(engine, status["kind"], job.file, username=status["user"],
                             on_phase=phase)
        job.finish("done", report={"rows": report.rows, "inserted": report.inserted,
                                   "updated": report.updated, "unchanged": report.unchanged,
                                   "seconds": round(report.seconds, 2)})

    _run(job, run)


__all__ = ["KINDS", "SUFFIXES", "Job", "start_check", "start_import"]
