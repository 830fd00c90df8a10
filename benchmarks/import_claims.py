"""Benchmark: `yibao import` of persons, enrolments and N claims into PostgreSQL.

    .venv/bin/python benchmarks/import_claims.py            # 1 000 000 claims
    .venv/bin/python benchmarks/import_claims.py 200000 --fmt csv

Synthetic data of policy 360400, year 2023 (``yibao.synth``, about 6 claims a person, cached
in /tmp/yibao-bench/import-<N>-<fmt>/) is imported into a database the script creates on the
local server (``YIBAO_BENCH_PG``, default postgresql://postgres@127.0.0.1:5432/, through the
``test`` database) and drops afterwards. Each import is timed with its phases (read and
validate, COPY into staging, checks against the store, merge), then the same three files are
imported again: the re-run must insert nothing, and its time is what an idempotent re-run
costs. Prints claims/s of the first claims import.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import psycopg

from yibao.store.db import make_engine, upgrade
from yibao.store.importer import KINDS, ImportReport, import_file
from yibao.synth import write_synth

SERVER = os.environ.get("YIBAO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/")
ROOT = Path(os.environ.get("YIBAO_BENCH_DIR", "/tmp/yibao-bench"))
CLAIMS_PER_PERSON = 6.0


def data(n: int, fmt: str) -> dict[str, Path]:
    out = ROOT / f"import-{n}-{fmt}"
    paths = {k: out / f"{k}.{fmt}" for k in KINDS}
    if not all(p.exists() for p in paths.values()):
        print(f"writing synthetic data to {out} …", flush=True)
        write_synth(out, "360400", 2023, persons=max(1, round(n / CLAIMS_PER_PERSON)),
                    fmt=fmt, claims_per_person=CLAIMS_PER_PERSON)
    return paths


class Timer:
    """Phase times of one import, from the importer's on_phase calls."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, float]] = []
        self._label = ""
        self._start = 0.0

    def __call__(self, label: str) -> None:
        self.close()
        self._label, self._start = label, time.perf_counter()

    def close(self) -> None:
        if self._label:
            self.phases.append((self._label, time.perf_counter() - self._start))
        self._label = ""


def run(url: str, paths: dict[str, Path], title: str) -> dict[str, ImportReport]:
    engine = make_engine(url)
    reports = {}
    print(f"\n{title}")
    for kind in KINDS:
        timer = Timer()
        report = import_file(engine, kind, paths[kind], on_phase=timer)
        timer.close()
        reports[kind] = report
        print(f"  {kind:<12} {report.rows:>10,} rows  {report.seconds:7.2f} s  "
              f"inserted {report.inserted:,}  updated {report.updated:,}  "
              f"unchanged {report.unchanged:,}")
        for label, seconds in timer.phases:
            print(f"      {seconds:7.2f} s  {label}")
    engine.dispose()
    return reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000, help="claims to import")
    parser.add_argument("--fmt", default="parquet", choices=["parquet", "csv", "jsonl"])
    args = parser.parse_args()
    paths = data(args.n, args.fmt)
    name = f"yibao_bench_import_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER + "test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(SERVER + name)
        first = run(SERVER + name, paths, f"first import ({args.fmt})")
        again = run(SERVER + name, paths, "re-run (nothing new)")
    finally:
        with psycopg.connect(SERVER + "test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    claims = first["claims"]
    total = sum(r.seconds for r in first.values())
    print(f"\nclaims: {claims.rows:,} in {claims.seconds:.2f} s = "
          f"{claims.rows / claims.seconds:,.0f} claims/s; persons + enrollments + claims "
          f"{total:.2f} s; re-run {sum(r.seconds for r in again.values()):.2f} s")
    if any(r.inserted or r.updated for r in again.values()):
        print("re-run changed the store", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
