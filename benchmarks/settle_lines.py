"""Where the time goes inside ``engine.settlement.settle``, line by line.

    .venv/bin/python benchmarks/settle_lines.py /tmp/yibao-bench/20000000 [--top 25]

Reads a benchmark directory's Parquet files with the ``yibao.io`` readers, warms the Numba
kernels up, then settles once under a line tracer that only looks at ``settle``'s own frame
(a few hundred line events, so the tracing costs nothing measurable) and prints the slowest
lines. Each line's time includes whatever it calls.
"""

from __future__ import annotations

import argparse
import linecache
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from yibao.engine import settlement
from yibao.io import read_claims, read_enrollments, read_persons
from yibao.policy import load_policy
from yibao.synth import synth_frames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=Path)
    ap.add_argument("--policy", default="360400")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=1, help="settle this many times, report the last")
    a = ap.parse_args()

    policy = load_policy(a.policy)
    settlement.settle(policy, *synth_frames("360400", 2023, 200, seed=1))   # warm-up
    persons = read_persons(a.dir / "persons.parquet")
    enrollments = read_enrollments(a.dir / "enrollments.parquet")
    claims = read_claims(a.dir / "claims.parquet")

    code = settlement.settle.__code__
    spent: dict[int, float] = {}
    state: dict[str, Any] = {"line": None, "t": 0.0}

    def local(frame: FrameType, event: str, arg: object) -> Any:
        now = time.perf_counter()
        if state["line"] is not None:
            spent[state["line"]] = spent.get(state["line"], 0.0) + now - state["t"]
        state["line"] = frame.f_lineno if event == "line" else None
        state["t"] = time.perf_counter()
        return local

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code is code else None

    for _ in range(a.repeat - 1):
        settlement.settle(policy, persons, enrollments, claims)
    t = time.perf_counter()
    sys.settrace(tracer)
    try:
        settlement.settle(policy, persons, enrollments, claims)
    finally:
        sys.settrace(None)
    total = time.perf_counter() - t
    print(f"settle(): {total:.2f} s for {claims.height:,} claims "
          f"({sum(spent.values()):.2f} s on its own lines)")
    for line, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[: a.top]:
        text = linecache.getline(code.co_filename, line).strip()
        print(f"{seconds:7.3f} s  {seconds / total:4.0%}  settlement.py:{line:<4d} {text[:90]}")


if __name__ == "__main__":
    main()
