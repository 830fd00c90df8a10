"""The figures that set how much a synthetic city uses and what it costs (all illustrative).

Calibrated so that a 九江 year under the shipped 360400 policy roughly balances: basic-fund
spending plus the 大病保险 transfer a little under income (九府办发〔2023〕6号 一 and (十):
当期收支平衡、略有结余), an inpatient policy-scope reimbursement ratio near 70%
(医保发〔2023〕24号 二), 15–20 admissions per 100 enrollees, frequent cheap general outpatient
visits, monthly chronic visits for the certified, and a short high-cost list. The targets and
what the synthetic year gives are in docs/decisions.md ("Synthetic city"); the checks are in
tests/test_synth.py. Money in yuan; ages in completed years.
"""

from __future__ import annotations

# ── utilisation: expected visits per person-year, interpolated over age ──────────────────
AGE_POINTS = (0, 5, 15, 45, 65, 80, 90)
ADMISSIONS = (0.13, 0.07, 0.055, 0.10, 0.24, 0.36, 0.42)
OUTPATIENT_VISITS = (6.0, 4.0, 2.5, 3.0, 5.0, 6.0, 6.0)
CHRONIC_VISITS = 11.0  # for a person with a certified disease: about one refill a month
UNCERTIFIED_CHRONIC = 0.01  # stray chronic claims of the uncertified aged 40+ (NOT_CERTIFIED)
FERTILITY_AGES = (20, 25, 30, 35, 40, 45)
FERTILITY = (0.05, 0.09, 0.08, 0.04, 0.015, 0.003)

# ── facility level mix (primary, secondary, tertiary) ────────────────────────────────────
INPATIENT_LEVELS = (0.40, 0.40, 0.20)
OUTPATIENT_LEVELS = (0.70, 0.22, 0.08)
CHRONIC_LEVELS = (0.60, 0.25, 0.15)
MATERNITY_LEVELS = (0.20, 0.50, 0.30)
#: share of admissions in a hospital outside the region (异地就医), at level 2 or 3
OUT_OF_REGION = 0.05
OUT_OF_REGION_LEVEL3 = 0.8
OUT_OF_REGION_COST = 1.3

# ── costs: lognormal around a median per level ───────────────────────────────────────────
INPATIENT_MEDIAN = (1700.0, 3800.0, 8000.0)
INPATIENT_SEVERITY_SD = 0.55  # shared by the stay and the cost
INPATIENT_NOISE_SD = 0.45
STAY_MEDIAN_DAYS = (5.0, 7.0, 9.0)
OUTPATIENT_MEDIAN = (50.0, 100.0, 200.0)
OUTPATIENT_SD = 0.8
#: per visit, by disease in tables.CHRONIC order, and a factor per level
CHRONIC_MEDIAN = (150.0, 250.0, 300.0, 450.0, 1200.0, 600.0)
CHRONIC_LEVEL_FACTOR = (0.8, 1.0, 1.3)
CHRONIC_SD = 0.6
MATERNITY_MEDIAN = (3500.0, 7000.0)  # vaginal, cesarean
MATERNITY_LEVEL_FACTOR = (0.7, 1.0, 1.4)
MATERNITY_SD = 0.3
MAX_CLAIM = 3e6

# ── self-pay: 全自费 and 乙类先行自付 as products of uniforms (mostly small) ─────────────────
NO_SELF_PAY = 0.25  # share of claims with no 全自费 part
SELF_PAY_MAX = 0.25
CLASS_B_MAX = 0.20
