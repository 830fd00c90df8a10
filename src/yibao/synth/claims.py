"""A year of synthetic claims: visit counts by age, facility levels and places, stays, costs
and self-pay shares (figures in ``yibao.synth.calibration``).

Each visit type is drawn as a block over the persons that have such visits (a person index
repeated per visit), then the blocks are concatenated into the SPEC §4 claims frame. Claim
rows come grouped by visit type, then person; claim_id numbers them in settlement-date order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.synth import calibration as cal
from yibao.synth.columns import BOOL, F64, I64, coded, dates, numbered, pick, uniform_days
from yibao.synth.geography import Facilities
from yibao.synth.population import People
from yibao.synth.tables import (
    CHR_DIAG,
    CHRONIC,
    CHRONIC_VISIT,
    DIAGNOSES,
    IN_CDF,
    IN_COST,
    IN_DIAG,
    IN_KIND,
    IN_PROC,
    INPATIENT,
    MAT_CDF,
    MAT_CESAREAN,
    MAT_DIAG,
    MAT_KIND,
    MAT_PROC,
    MATERNITY,
    MATERNITY_KINDS,
    OUT_CDF,
    OUT_DIAG,
    OUTPATIENT,
    PROCEDURE_KINDS,
    PROCEDURES,
    VISIT_TYPES,
)

_Block = dict[str, npt.NDArray[Any]]
_CODES = ("diagnosis", "procedure", "kind", "disease", "maternity")


def _level(rng: np.random.Generator, m: int, shares: tuple[float, float, float]) -> I64:
    u = rng.random(m)
    return 1 + (u >= shares[0]).astype(np.int64) + (u >= shares[0] + shares[1])


def _age_band(age: I64) -> I64:
    return np.where(age < 15, 0, np.where(age < 60, 1, 2))


def _lognormal(rng: np.random.Generator, median: F64, sd: float) -> F64:
    return np.asarray(median * np.exp(sd * rng.standard_normal(len(median))), dtype=np.float64)


class _Draw:
    """Draws the claims of each visit type for persons given by index (repeated per claim)."""

    def __init__(self, rng: np.random.Generator, people: People, places: Facilities,
                 days: int) -> None:
        self.rng, self.people, self.places, self.days = rng, people, places, days

    def _facility(self, place: I64, level: I64) -> I64:
        # popularity falls with the index: a few busy hospitals, many quiet clinics
        u = self.rng.random(len(place))
        first, count = self.places.first.ravel(), self.places.count.ravel()
        cell = place * 3 + level - 1
        index: I64 = first[cell] + (u * u * count[cell]).astype(np.int64)
        return index

    def _stay(self, person: I64, los: I64) -> tuple[I64, I64]:
        """Admission and discharge inside the days alive; a short window shortens the stay."""
        lo, hi = self.people.first_day[person], self.people.last_day[person]
        los = np.minimum(los, hi - lo)
        admit = uniform_days(self.rng, lo, hi - los)
        return admit, admit + los

    def _visit_day(self, person: I64) -> I64:
        """A day the person was alive; for 2% of the claims of the dead, a day after death."""
        p, m = self.people, len(person)
        lo, hi = p.first_day[person], p.last_day[person]
        after = p.dies[person] & (hi < self.days - 1) & (self.rng.random(m) < 0.02)
        return uniform_days(self.rng, np.where(after, hi + 1, lo),
                            np.where(after, self.days - 1, hi))

    def _block(self, visit: int, person: I64, level: I64, place: I64, admit: I64, settle: I64,
               yuan: F64, **codes: npt.NDArray[Any]) -> _Block:
        m = len(person)
        away = codes.pop("out_of_region", np.zeros(m, dtype=bool))
        block: _Block = {
            "person": person.astype(np.int32),
            "visit": np.full(m, visit, dtype=np.int8),
            "facility": self._facility(place, level).astype(np.int16),
            "admit": admit.astype(np.int16),
            "settle": settle.astype(np.int16),
            "total": np.maximum(np.rint(np.minimum(yuan, cal.MAX_CLAIM) * 100), 100).astype(
                np.int64),
            "out_of_region": away.astype(bool),
        }
        none = np.full(m, -1, dtype=np.int8)
        for key in _CODES:
            block[key] = codes[key].astype(np.int8) if key in codes else none
        return block

    def _same_day(self, visit: int, person: I64, levels: tuple[float, float, float],
                  median: F64, factor: tuple[float, float, float], sd: float, floor: float,
                  **codes: npt.NDArray[Any]) -> _Block:
        """A visit settled on the day it happens, at the person's own county."""
        level = _level(self.rng, len(person), levels)
        day = self._visit_day(person)
        yuan = _lognormal(self.rng, median * np.array(factor)[level - 1], sd)
        return self._block(visit, person, level, self.people.county[person], day, day,
                           np.maximum(yuan, floor), **codes)

    def inpatient(self, person: I64) -> _Block:
        rng, p, m = self.rng, self.people, len(person)
        opt = pick(rng, IN_CDF, _age_band(p.age[person]) * 2 + p.female[person])
        away = rng.random(m) < cal.OUT_OF_REGION
        level = np.where(away, 2 + (rng.random(m) < cal.OUT_OF_REGION_LEVEL3),
                         _level(rng, m, cal.INPATIENT_LEVELS))
        place = np.where(away, self.places.elsewhere, p.county[person])
        severity = rng.standard_normal(m)  # drives both the stay and the cost
        los = np.exp(np.log(cal.STAY_MEDIAN_DAYS)[level - 1] + 0.5 * severity
                     + 0.3 * rng.standard_normal(m))
        admit, settle = self._stay(person, np.clip(np.rint(los), 1, 60).astype(np.int64))
        median = (np.array(cal.INPATIENT_MEDIAN)[level - 1] * IN_COST[opt]
                  * np.where(away, cal.OUT_OF_REGION_COST, 1.0))
        yuan = _lognormal(rng, median * np.exp(cal.INPATIENT_SEVERITY_SD * severity),
                          cal.INPATIENT_NOISE_SD)
        return self._block(INPATIENT, person, level, place, admit, settle, yuan,
                           diagnosis=IN_DIAG[opt], procedure=IN_PROC[opt], kind=IN_KIND[opt],
                           out_of_region=away)

    def outpatient(self, person: I64) -> _Block:
        diagnosis = OUT_DIAG[pick(self.rng, OUT_CDF, _age_band(self.people.age[person]))]
        median = np.full(len(person), 1.0)
        return self._same_day(OUTPATIENT, person, cal.OUTPATIENT_LEVELS, median,
                              cal.OUTPATIENT_MEDIAN, cal.OUTPATIENT_SD, 5.0, diagnosis=diagnosis)

    def chronic(self, person: I64) -> _Block:
        rng, m = self.rng, len(person)
        certified = self.people.chronic[person]
        # one of the person's certified diseases; else (and for 1%) any: NOT_CERTIFIED cases
        draw = rng.random((m, len(CHRONIC)), dtype=np.float32) * certified
        disease = np.argmax(draw, axis=1).astype(np.int64)
        stray = ~certified.any(axis=1) | (rng.random(m) < 0.01)
        disease[stray] = rng.integers(0, len(CHRONIC), stray.sum())
        return self._same_day(CHRONIC_VISIT, person, cal.CHRONIC_LEVELS,
                              np.array(cal.CHRONIC_MEDIAN)[disease], cal.CHRONIC_LEVEL_FACTOR,
                              cal.CHRONIC_SD, 10.0, diagnosis=CHR_DIAG[disease], disease=disease)

    def maternity(self, person: I64) -> _Block:
        rng, p, m = self.rng, self.people, len(person)
        opt = pick(rng, MAT_CDF, np.zeros(m, dtype=np.int64))
        cesarean = MAT_CESAREAN[opt]
        level = _level(rng, m, cal.MATERNITY_LEVELS)
        admit, settle = self._stay(person, np.where(cesarean == 1, rng.integers(4, 8, m),
                                                    rng.integers(2, 5, m)))
        median = (np.array(cal.MATERNITY_MEDIAN)[cesarean]
                  * np.array(cal.MATERNITY_LEVEL_FACTOR)[level - 1])
        return self._block(MATERNITY, person, level, p.county[person], admit, settle,
                           _lognormal(rng, median, cal.MATERNITY_SD), diagnosis=MAT_DIAG[opt],
                           procedure=MAT_PROC[opt], kind=MAT_KIND[opt], maternity=cesarean)


def _rates(people: People, days: int, may_claim: BOOL) -> tuple[F64, F64, F64, F64]:
    """Expected inpatient, outpatient and chronic visits and the chance of a birth, per person
    over the part of the year they are alive and may claim."""
    age = np.maximum(people.age, 0)
    exposure = (people.last_day - people.first_day + 1) / days * may_claim
    lam_in = np.interp(age, cal.AGE_POINTS, cal.ADMISSIONS) * exposure
    lam_out = np.interp(age, cal.AGE_POINTS, cal.OUTPATIENT_VISITS) * exposure
    lam_chr = np.where(people.chronic.any(axis=1), cal.CHRONIC_VISITS,
                       np.where(age >= 40, cal.UNCERTIFIED_CHRONIC, 0.0)) * exposure
    fertile = people.female & (people.age >= 20) & (people.age <= 44)
    p_mat = np.where(fertile, np.interp(age, cal.FERTILITY_AGES, cal.FERTILITY), 0.0) * exposure
    return lam_in, lam_out, lam_chr, p_mat


def draw_claims(rng: np.random.Generator, region: str, year: int, jan1: int, days: int,
                people: People, places: Facilities, may_claim: BOOL,
                claims_per_person: float | None) -> pl.DataFrame:
    """The year's claims of the persons who may claim, as the SPEC §4 claims frame."""
    n = len(people.age)
    lam_in, lam_out, lam_chr, p_mat = _rates(people, days, may_claim)
    scale = 1.0
    if claims_per_person is not None:
        if claims_per_person < 0:
            raise ValueError(f"claims_per_person must be ≥ 0: {claims_per_person}")
        base = float((lam_out + lam_in + lam_chr).sum())
        want = claims_per_person * n - float(p_mat.sum())
        scale = max(0.0, want / base) if base > 0 else 0.0

    draw = _Draw(rng, people, places, days)
    everyone = np.arange(n, dtype=np.int64)
    blocks = [
        draw.inpatient(np.repeat(everyone, rng.poisson(lam_in * scale))),
        draw.outpatient(np.repeat(everyone, rng.poisson(lam_out * scale))),
        draw.chronic(np.repeat(everyone, rng.poisson(lam_chr * scale))),
        draw.maternity(np.flatnonzero(rng.random(n) < p_mat)),
    ]

    def column(key: str) -> npt.NDArray[Any]:
        return np.concatenate([b.pop(key) for b in blocks])  # pop: free each block as we go

    total = column("total")
    m = len(total)
    self_pay = total * np.where(rng.random(m) < cal.NO_SELF_PAY, 0.0,
                                cal.SELF_PAY_MAX * rng.random(m) * rng.random(m))
    class_b = total * (cal.CLASS_B_MAX * rng.random(m) * rng.random(m))
    settle = column("settle")
    serial = np.empty(m, dtype=np.int64)  # claim ids follow settlement order, rows stay as drawn
    serial[np.argsort(settle, kind="stable")] = np.arange(m)
    facility = column("facility")
    return pl.DataFrame([
        numbered("claim_id", f"C{region}{year}", serial, max(9, len(str(m - 1)))),
        numbered("person_id", people.id_prefix, column("person"), people.id_width),
        coded("facility_id", places.ids, facility),
        pl.Series("facility_level", places.levels[facility], dtype=pl.Int8),
        coded("visit_type", VISIT_TYPES, column("visit")),
        coded("chronic_disease", CHRONIC, column("disease")),
        coded("maternity_kind", MATERNITY_KINDS, column("maternity")),
        dates("admit_date", column("admit"), jan1),
        dates("settle_date", settle, jan1),
        pl.Series("total", total, dtype=pl.Int64),
        pl.Series("self_pay", self_pay.astype(np.int64), dtype=pl.Int64),
        pl.Series("class_b_self_pay", class_b.astype(np.int64), dtype=pl.Int64),
        pl.Series("out_of_region", column("out_of_region"), dtype=pl.Boolean),
        coded("diagnosis", DIAGNOSES, column("diagnosis")),
        coded("procedure", PROCEDURES, column("procedure")),
        coded("procedure_kind", PROCEDURE_KINDS, column("kind")),
    ])
