"""Synthetic persons, enrolments and claims (合成数据) for demos, tests and benchmarks.

``synth_frames`` draws one year; ``synth_history`` a span of years with the enrolment histories
SPEC §5.4 and §6.2 work on (breaks, late payers, newborns, moves from 职工医保, repaid years,
zero-claim years); ``write_synth`` writes either to files.

Every column is drawn with NumPy from one seed, a whole column at a time (no per-row Python), so
2 M persons and 20 M claims take seconds and the same (region, year, persons, seed,
claims_per_person) always gives the same frames. The frames have the columns and dtypes of
SPEC §4 as the readers return them: money Int64 fen, dates Date, lists List(Utf8).

Persons are registered at county codes with a matching 身份证号 (``geography``); what they
owe comes from the region's resolved policy (``enrolment``); utilisation and costs are
calibrated so that a year of the 九江 demo city roughly balances (``calibration``). A few
records are irregular on purpose — no enrolment, late payment, underpayment, a chronic claim
for an uncertified disease, a visit after death — so that every coverage reason of SPEC §5.1
has cases.

Modules: ``columns`` (NumPy → Arrow columns), ``tables`` (code tables), ``geography``,
``population``, ``enrolment``, ``claims``, ``calibration``, ``history``, ``frames`` (the
generators), ``writing``.
"""

from yibao.synth.frames import synth_frames, synth_history
from yibao.synth.tables import (
    ASSIST,
    CATEGORIES,
    CHRONIC,
    CHRONIC_ICD,
    MATERNITY_KINDS,
    MONEY_COLUMNS,
    PROCEDURE_KINDS,
    VISIT_TYPES,
)
from yibao.synth.writing import write_synth

__all__ = [
    "ASSIST",
    "CATEGORIES",
    "CHRONIC",
    "CHRONIC_ICD",
    "MATERNITY_KINDS",
    "MONEY_COLUMNS",
    "PROCEDURE_KINDS",
    "VISIT_TYPES",
    "synth_frames",
    "synth_history",
    "write_synth",
]
