"""The code tables synth draws from: person categories, certified chronic diseases, and the
diagnoses, procedures and visit kinds of each visit type (ICD-10 / ICD-9-CM-3 codes).

Weights and cost factors are relative; the levels they are scaled to live in
``yibao.synth.calibration``.
"""

from __future__ import annotations

import numpy as np

from yibao.synth.columns import F64, I64, cdf

ASSIST = ("tekun", "dibao", "fanpin", "monitor", "dibao_edge", "illness_poverty")
#: population share holding each 医疗救助 category (illustrative)
ASSIST_SHARE = (0.005, 0.03, 0.01, 0.01, 0.01, 0.005)
CATEGORIES = (*ASSIST, "student", "newborn", "residence_permit")
CHRONIC = ("hypertension", "diabetes", "tuberculosis", "hepatitis_b", "hepatitis_c", "cirrhosis")
CHRONIC_ICD = ("I10", "E11.9", "A15.0", "B18.1", "B18.2", "K74.6")
CHRONIC_AGES = (0, 30, 40, 50, 60, 70, 80)
CHRONIC_PREVALENCE = (  # certified share by age, one row per CHRONIC entry
    (0.001, 0.01, 0.05, 0.15, 0.25, 0.35, 0.40),
    (0.0005, 0.004, 0.02, 0.06, 0.10, 0.13, 0.13),
    (0.0002, 0.0005, 0.0005, 0.0008, 0.001, 0.0012, 0.0012),
    (0.0005, 0.004, 0.006, 0.006, 0.005, 0.004, 0.003),
    (0.0, 0.0005, 0.001, 0.0015, 0.0015, 0.001, 0.001),
    (0.0, 0.0003, 0.001, 0.002, 0.003, 0.003, 0.002),
)
VISIT_TYPES = ("inpatient", "outpatient", "chronic", "maternity")
INPATIENT, OUTPATIENT, CHRONIC_VISIT, MATERNITY = range(4)
PROCEDURE_KINDS = ("conservative", "diagnostic", "therapeutic", "surgery")
MATERNITY_KINDS = ("vaginal", "cesarean")
MONEY_COLUMNS = ("contribution_paid", "total", "self_pay", "class_b_self_pay")

# Inpatient (diagnosis, ICD-9-CM-3 procedure, kind, cost factor, weights for the groups
# child M, child F, adult M, adult F, old M, old F). Sex- and age-specific codes get weight 0
# where they would trip the supervision rules.
_INPATIENT: tuple[tuple[str, str | None, str, float, tuple[float, ...]], ...] = (
    ("J18.9", None, "conservative", 0.8, (30, 30, 6, 6, 14, 14)),
    ("J20.9", None, "conservative", 0.5, (20, 20, 2, 2, 2, 2)),
    ("A09.9", None, "conservative", 0.5, (12, 12, 3, 3, 2, 2)),
    ("N39.0", None, "conservative", 0.5, (0.5, 1, 0.5, 2, 1, 2)),
    ("S52.5", "79.02", "therapeutic", 1.0, (5, 3, 2, 2, 1, 2)),
    ("K35.8", "47.01", "surgery", 1.3, (6, 6, 5, 5, 1, 1)),
    ("K35.8", "47.09", "surgery", 1.1, (2, 2, 2, 2, 1, 1)),
    ("K35.8", None, "conservative", 0.6, (1, 1, 1, 1, 0.5, 0.5)),
    ("K40.9", "53.00", "surgery", 1.2, (2, 0.5, 2, 0.3, 2, 0.2)),
    ("K80.2", "51.23", "surgery", 1.6, (0, 0, 4, 5, 3, 3)),
    ("N20.0", "98.51", "therapeutic", 0.7, (0, 0, 4, 3, 1, 1)),
    ("N20.0", None, "conservative", 0.5, (0, 0, 2, 1, 1, 1)),
    ("K29.7", "45.13", "diagnostic", 0.5, (0, 0, 3, 3, 3, 3)),
    ("M51.2", "80.51", "surgery", 2.2, (0, 0, 2, 2, 1, 1)),
    ("M51.2", None, "conservative", 0.6, (0, 0, 3, 3, 2, 2)),
    ("S72.0", "81.51", "surgery", 3.0, (0, 0, 0.5, 0.5, 2, 4)),
    ("S72.0", "79.35", "surgery", 2.2, (0, 0, 1, 1, 1.5, 2)),
    ("C34.9", "32.41", "surgery", 4.0, (0, 0, 0.5, 0.3, 1.5, 0.8)),
    ("C34.9", "99.25", "therapeutic", 1.0, (0, 0, 1, 0.6, 3, 1.5)),
    ("C16.9", "43.7", "surgery", 4.0, (0, 0, 0.3, 0.2, 1, 0.5)),
    ("C16.9", "99.25", "therapeutic", 1.0, (0, 0, 0.5, 0.3, 1.5, 0.8)),
    ("C22.0", None, "conservative", 1.5, (0, 0, 0.3, 0.1, 0.8, 0.3)),
    ("C50.9", "85.43", "surgery", 2.5, (0, 0, 0, 1, 0, 0.6)),
    ("C50.9", "99.25", "therapeutic", 1.0, (0, 0, 0, 1.5, 0, 0.8)),
    ("D25.9", "68.49", "surgery", 2.0, (0, 0, 0, 2, 0, 0.3)),
    ("D25.9", "68.29", "surgery", 1.6, (0, 0, 0, 1.5, 0, 0)),
    ("N40", "60.29", "surgery", 1.8, (0, 0, 0.3, 0, 3, 0)),
    ("I63.9", None, "conservative", 1.2, (0, 0, 3, 2, 12, 10)),
    ("I63.9", "99.10", "therapeutic", 2.0, (0, 0, 0.3, 0.2, 1, 1)),
    ("I61.9", None, "conservative", 2.5, (0, 0, 0.5, 0.3, 1.5, 1)),
    ("I25.1", "36.07", "therapeutic", 3.5, (0, 0, 1, 0.3, 3, 1.5)),
    ("I25.1", "88.56", "diagnostic", 1.2, (0, 0, 1, 0.5, 2, 1.5)),
    ("I25.1", None, "conservative", 0.8, (0, 0, 1, 1, 5, 5)),
    ("I50.9", None, "conservative", 1.0, (0, 0, 0.3, 0.3, 4, 4)),
    ("J44.1", None, "conservative", 0.9, (0, 0, 0.5, 0.3, 8, 5)),
    ("M17.9", "81.54", "surgery", 3.5, (0, 0, 0.2, 0.3, 1, 2)),
    ("M17.9", None, "conservative", 0.5, (0, 0, 0.5, 1, 1.5, 3)),
    ("E11.9", None, "conservative", 0.7, (0, 0, 1, 1, 3, 3)),
    ("I10", None, "conservative", 0.6, (0, 0, 1, 1, 3, 3)),
)
# General outpatient diagnoses with weights for child, adult, old.
_OUTPATIENT: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("J06.9", (30, 12, 8)), ("J02.9", (10, 6, 3)), ("J20.9", (10, 4, 5)),
    ("K29.7", (1, 10, 8)), ("K52.9", (6, 4, 3)), ("M54.5", (0, 8, 8)), ("M79.1", (0, 4, 4)),
    ("L30.9", (5, 5, 3)), ("H10.9", (4, 2, 2)), ("R51", (1, 4, 2)), ("N39.0", (1, 4, 4)),
    ("K02.9", (6, 4, 3)), ("I10", (0, 3, 10)), ("E11.9", (0, 1, 4)), ("M17.9", (0, 1, 5)),
)
# Maternity: (kind, diagnosis, procedure, procedure kind, weight).
_MATERNITY: tuple[tuple[int, str, str | None, str, float], ...] = (
    (0, "O80.0", "73.59", "therapeutic", 0.3), (0, "O80.0", None, "conservative", 0.3),
    (1, "O82.0", "74.1", "surgery", 0.25), (1, "O82.1", "74.1", "surgery", 0.15),
)

DIAGNOSES = tuple(sorted(
    {o[0] for o in _INPATIENT} | {o[0] for o in _OUTPATIENT} | set(CHRONIC_ICD)
    | {o[1] for o in _MATERNITY}
))
PROCEDURES = tuple(sorted({o[1] for o in _INPATIENT if o[1]}
                          | {o[2] for o in _MATERNITY if o[2]}))


def _index_of(codes: tuple[str, ...], values: list[str | None]) -> I64:
    return np.array([codes.index(v) if v is not None else -1 for v in values], dtype=np.int64)


def _relative(factor: list[float], weight: F64) -> F64:
    """Cost factors over their weighted geometric mean, so a level's median stays as set."""
    log = np.log(factor)
    return np.asarray(np.exp(log - (weight @ log) / weight.sum()), dtype=np.float64)


_IN_W = np.array([o[4] for o in _INPATIENT], dtype=np.float64)
IN_DIAG = _index_of(DIAGNOSES, [o[0] for o in _INPATIENT])
IN_PROC = _index_of(PROCEDURES, [o[1] for o in _INPATIENT])
IN_KIND = _index_of(PROCEDURE_KINDS, [o[2] for o in _INPATIENT])
IN_CDF = cdf(_IN_W.T)  # rows: child M, child F, adult M, adult F, old M, old F
IN_COST = _relative([o[3] for o in _INPATIENT], _IN_W.sum(axis=1))
OUT_DIAG = _index_of(DIAGNOSES, [o[0] for o in _OUTPATIENT])
OUT_CDF = cdf(np.array([o[1] for o in _OUTPATIENT], dtype=np.float64).T)  # child, adult, old
CHR_DIAG = _index_of(DIAGNOSES, list(CHRONIC_ICD))
MAT_DIAG = _index_of(DIAGNOSES, [o[1] for o in _MATERNITY])
MAT_PROC = _index_of(PROCEDURES, [o[2] for o in _MATERNITY])
MAT_KIND = _index_of(PROCEDURE_KINDS, [o[3] for o in _MATERNITY])
MAT_CESAREAN = np.array([o[0] for o in _MATERNITY], dtype=np.int64)
MAT_CDF = cdf(np.array([[o[4] for o in _MATERNITY]], dtype=np.float64))
