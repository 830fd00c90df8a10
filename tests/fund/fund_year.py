"""A small hand-worked year in 九江 (360400, 2023) for the fund tests: four persons in two
counties, four claims with results written by hand (not by the engine), so every indicator can
be worked out on paper from the figures below and the shipped parameters:

- contribution 380 yuan, subsidy 640 = central 384 (0.6) + provincial 128 ((640−384) × 0.5)
  + local 128 (360000); dibao assisted 250 (360000); transfer to 大病保险 80 a head (360000);
  disposable income 32419 yuan (360000, in force on 2023-12-31), high_cost_fraction 1.0.
- PA 360402 paid 380 on 2022-10-01 (→ January); PB 360402 dibao paid 130 on 2023-03-15 (→
  March, and 250 assisted); PC 360403 paid 380 on 2022-11-01 (→ January); PD 360403 never
  enrolled.
- C1 PA inpatient L3 Feb: total 37419, scope 9000, deductible 600, basic 5000, oop 32419.00
  (exactly the high-cost threshold: not listed). C2 PB outpatient L1 Mar: total 100, basic 65,
  oop 35. C3 PC inpatient L2 Feb: total 40000, scope 30000, basic 20000, major 1000, oop
  19000. C4 PD outpatient L1 May, not enrolled: oop 32419.01 (listed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from yibao.io import CLAIMS, ENROLLMENTS, PERSONS, RESULTS

D = dt.date
Y = 100  # fen per yuan


def persons() -> pl.DataFrame:
    rows = [("PA", "360402196005011234", "F", D(1960, 5, 1), None, "360402", [], []),
            ("PB", None, "M", D(1970, 1, 1), None, "360402", ["dibao"], []),
            ("PC", None, "F", D(1980, 1, 1), None, "360403", [], []),
            ("PD", "360403198001011235", "M", D(1980, 1, 1), None, "360403", [], [])]
    return pl.DataFrame(rows, schema=dict(PERSONS.schema), orient="row")


def enrollments() -> pl.DataFrame:
    rows = [("PA", 2023, "360402", "resident", D(2022, 10, 1), 380 * Y, 0, None),
            ("PB", 2023, "360402", "resident", D(2023, 3, 15), 130 * Y, 0, None),
            ("PC", 2023, "360403", "resident", D(2022, 11, 1), 380 * Y, 0, None)]
    return pl.DataFrame(rows, schema=dict(ENROLLMENTS.schema), orient="row")


def _claim(cid: str, pid: str, level: int, visit: str, day: dt.date, total: int,
           self_pay: int) -> tuple[Any, ...]:
    return (cid, pid, "F1", level, visit, None, None, day, day, total, self_pay, 0, False,
            "K35.8", None, None)


def claims() -> pl.DataFrame:
    rows = [_claim("C1", "PA", 3, "inpatient", D(2023, 2, 10), 37419 * Y, 28419 * Y),
            _claim("C2", "PB", 1, "outpatient", D(2023, 3, 20), 100 * Y, 0),
            _claim("C3", "PC", 2, "inpatient", D(2023, 2, 1), 40000 * Y, 10000 * Y),
            _claim("C4", "PD", 1, "outpatient", D(2023, 5, 1), 3241901, 0)]
    return pl.DataFrame(rows, schema=dict(CLAIMS.schema), orient="row")


def results() -> pl.DataFrame:
    rows = [("C1", "PA", 2023, True, "", 9000 * Y, 600 * Y, 5000 * Y, 0, 0, 32419 * Y, None),
            ("C2", "PB", 2023, True, "", 100 * Y, 0, 65 * Y, 0, 0, 35 * Y, None),
            ("C3", "PC", 2023, True, "", 30000 * Y, 400 * Y, 20000 * Y, 1000 * Y, 0,
             19000 * Y, None),
            ("C4", "PD", 2023, False, "NOT_ENROLLED", 3241901, 0, 0, 0, 0, 3241901, None)]
    return pl.DataFrame(rows, schema=dict(RESULTS.schema), orient="row")


def targets() -> pl.DataFrame:
    return pl.DataFrame({"region": ["360402", "360403", "360402"],
                         "category": ["all", "all", "low_income"], "target": [2, 2, 1]})
