"""数据导入 pages: upload a file, see its errors line by line before anything lands, then
import it in one transaction, with its progress polled. Administrators only."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, cast

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from yibao.api.deps import StateDep
from yibao.errors import InputError, Problem, fail
from yibao.store.auth import AccessError, require_role
from yibao.store.importer import KINDS, Kind
from yibao.store.models import User
from yibao.store.online import NotFoundError
from yibao.web.jobs import SUFFIXES, Job, start_check, start_import
from yibao.web.render import render
from yibao.web.session import PATH, ConsoleUser, ReadingUser, Viewer, require_csrf

router = APIRouter()
IMPORT_ROLES = frozenset({"admin"})


def _job(job_id: str, user: User | Viewer) -> Job:
    try:
        job = Job(job_id)
        owner = job.read()["user"]
    except KeyError:
        raise fail(NotFoundError, "UNKNOWN_JOB", f"no import job {job_id!r}", "", "job") from None
    if owner != user.username:
        raise fail(AccessError, "FORBIDDEN", "无权查看他人的导入 / another user's import", "",
                   "job")
    return job


@router.get("/import")
def import_form(request: Request, user: ConsoleUser) -> Response:
    require_role(user, IMPORT_ROLES, "import data")
    return render(request, "import.html", {"kinds": KINDS})


@router.post("/import")
def import_upload(request: Request, user: ConsoleUser,
                  kind: Annotated[str, Form(pattern="^(persons|enrollments|claims)$")],
                  file: Annotated[UploadFile, File()],
                  csrf: Annotated[str, Form()] = "") -> Response:
    require_csrf(request, user, csrf)
    require_role(user, IMPORT_ROLES, "import data")
    if Path(file.filename or "").suffix.lower() not in SUFFIXES:
        raise InputError([Problem("BAD_FORMAT", "文件须为 .csv、.parquet、.jsonl 或 .ndjson / "
                                  "the file must be .csv, .parquet, .jsonl or .ndjson",
                                  file.filename or "", "file")])
    job_kind: Kind = "persons" if kind == "persons" else (
        "enrollments" if kind == "enrollments" else "claims")
    job = Job.create(job_kind, file.filename or "upload", user.username)
    with job.file.open("wb") as out:
        shutil.copyfileobj(file.file, out, 1 << 20)
    start_check(job)
    return RedirectResponse(f"{PATH}/import/{job.id}", status_code=303)


@router.get("/import/{job_id}")
def import_status(request: Request, job_id: str, user: ReadingUser) -> Response:
    """Polled while a job runs: reads no more than the token, and never waits for the import's
    write lock (``ReadingUser``)."""
    require_role(cast(User, user), IMPORT_ROLES, "import data")  # reads only .role
    status = _job(job_id, user).read()
    return render(request, "import_job.html", {"job": status,
                                               "running": status["state"] in ("checking",
                                                                              "importing")})


@router.post("/import/{job_id}/commit")
def import_commit(request: Request, job_id: str, user: ConsoleUser, state: StateDep,
                  csrf: Annotated[str, Form()] = "") -> Response:
    require_csrf(request, user, csrf)
    require_role(user, IMPORT_ROLES, "import data")
    job = _job(job_id, user)
    if job.read()["state"] != "checked":
        raise fail(InputError, "NOT_CHECKED", "该文件未通过校验或已导入 / the file is not "
                   "checked, or was imported already", "", "job")
    start_import(job, state.engine)
    return RedirectResponse(f"{PATH}/import/{job.id}", status_code=303)
