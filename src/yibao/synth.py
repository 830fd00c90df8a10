"""Synthetic persons, enrolments and claims (合成数据) for demos, tests and benchmarks.

``synth_frames`` draws one year; ``synth_history`` a span of years with the enrolment histories
SPEC §5.4 and §6.2 work on (breaks, late payers, newborns, moves from 职工医保, repaid years,
zero-claim years).

Every column is drawn with NumPy from one seed, a whole column at a time (no per-row Python), so
2 M persons and 20 M claims take seconds and the same (region, year, persons, seed,
claims_per_person) always gives the same frames. The frames have the columns and dtypes of
SPEC §4 as the readers return them: money Int64 fen, dates Date, lists List(Utf8).

The figures are plausible, not calibrated to published statistics. A few records are irregular
on purpose — no enrolment, late payment, underpayment, a chronic claim for an uncertified disease,
a visit after death — so that every coverage reason of SPEC §5.1 has cases. The file is longer
than most because it carries the code tables (diagnoses, procedures, places) it draws from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.signedinteger[Any]]

ASSIST = ("tekun", "dibao", "fanpin", "monitor", "dibao_edge", "illness_poverty")
ASSIST_SHARE = (0.005, 0.03, 0.01, 0.01, 0.01, 0.005)
#: Share of the standard contribution a holder pays himself (分类资助参保: 特困 in full).
ASSIST_PAYS = (0.0, 0.25, 0.5, 0.5, 0.5, 1.0)
CATEGORIES = (*ASSIST, "student", "newborn", "residence_permit")
CHRONIC = ("hypertension", "diabetes", "tuberculosis", "hepatitis_b", "hepatitis_c", "cirrhosis")
CHRONIC_ICD = ("I10", "E11.9", "A15.0", "B18.1", "B18.2", "K74.6")
CHRONIC_MEDIAN_YUAN = (270.0, 420.0, 450.0, 650.0, 1500.0, 850.0)
_CHRONIC_AGES = (0, 30, 40, 50, 60, 70, 80)
_CHRONIC_PREVALENCE = (  # certified share by age, one row per CHRONIC entry
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
MONEY_COLUMNS = ("contribution_paid", "total", "self_pay", "class_b_self_pay")

#: 个人缴费标准 (yuan) by year; SPEC §10 gives 2021 and 2023, the others are the national notices'.
_STANDARD_YUAN = {2018: 220, 2019: 250, 2020: 280, 2021: 320, 2022: 350, 2023: 380, 2024: 400}

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
MATERNITY_KINDS = ("vaginal", "cesarean")

_PROVINCE_CITIES = {
    "37": ("370100", "370200", "370600", "371300", "371500"),
    "36": ("360100", "360400", "360700", "360800", "361100"),
    "15": ("150100", "150200", "150400", "150500", "150600"),
}
_NATIONAL_CITIES = ("370100", "371500", "360100", "360400", "150100")
_CITY_COUNTIES = {
    "360400": ("02", "03", "04", "23", "24", "25", "26", "28", "29", "30", "81", "82", "83"),
    "371500": ("02", "03", "21", "22", "24", "25", "26", "81"),
}
_GENERIC_COUNTIES = ("02", "03", "04", "21", "22", "81")
_ELSEWHERE_CITIES = ("110100", "310100", "440100", "330100", "420100", "510100")


@dataclass(frozen=True)
class _People:
    """Per-person arrays the enrolment and claim generators need (index = person row)."""

    female: BOOL
    age: I64  # completed years on 1 January; -1 for those born during the year
    birth_day: I64  # day index of the birth date (negative: before 1 January)
    first_day: I64  # first day alive in the year, as a day index 0 .. days-1
    last_day: I64  # last day alive in the year
    dies: BOOL
    city: I64
    assist: I64  # index into ASSIST, -1 for none
    chronic: BOOL  # (n, len(CHRONIC)) certified diseases
    id_prefix: str
    id_width: int


def _epoch_day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _year_days(year: int) -> tuple[int, int]:
    """1 January as days since 1970-01-01, and the number of days in the year."""
    jan1 = _epoch_day(dt.date(year, 1, 1))
    return jan1, _epoch_day(dt.date(year + 1, 1, 1)) - jan1


def _standard_fen(year: int) -> int:
    known = min(max(year, min(_STANDARD_YUAN)), max(_STANDARD_YUAN))
    return _STANDARD_YUAN[known] * 100


# ---- building Arrow/Polars columns straight from NumPy buffers ----

#: "0000" .. "9999" as little-endian uint32 words: four ASCII digits per table look-up
_FOUR_DIGITS = np.array(
    [int.from_bytes(f"{i:04d}".encode(), "little") for i in range(10_000)], dtype=np.uint32
)


def _put_digits(out: U8, values: Ints, start: int, width: int) -> None:
    """Write values zero-padded to width ASCII digits into columns start.. of out."""
    chunks = -(-width // 4)
    digits = np.empty((len(values), chunks * 4), dtype=np.uint8)
    words = digits.view(np.uint32)
    # unsigned 32-bit division is several times faster than 64-bit where the values fit
    small = len(values) == 0 or int(values.max()) < 2**32
    v: npt.NDArray[Any] = values.astype(np.uint32 if small else np.uint64)
    base: Any = v.dtype.type(10_000)
    for j in range(chunks - 1, -1, -1):  # a loop over 4-digit chunks, not over rows
        q = v // base
        words[:, j] = _FOUR_DIGITS[v - q * base]
        v = q
    out[:, start : start + width] = digits[:, chunks * 4 - width :]


def _ascii_series(name: str, buf: U8, valid: BOOL | None = None) -> pl.Series:
    """Rows of a (n, width) ASCII byte matrix as a Utf8 series, without a Python str per row."""
    n, width = buf.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    data = pa.py_buffer(np.ascontiguousarray(buf))
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), data, bitmap)
    return pl.Series(name, arr, dtype=pl.String)


def _numbered(name: str, prefix: str, numbers: Ints, width: int) -> pl.Series:
    """prefix + zero-padded number (P360400 + 00000042): fixed width, so text order is numeric."""
    pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
    buf = np.empty((len(numbers), len(pre) + width), dtype=np.uint8)
    buf[:, : len(pre)] = pre
    _put_digits(buf, numbers, len(pre), width)
    return _ascii_series(name, buf)


def _coded(name: str, codes: tuple[str, ...], index: Ints) -> pl.Series:
    """codes[index] as a Utf8 series; a negative index gives null."""
    missing = index < 0
    idx = pa.array(index.astype(np.int32), mask=missing if missing.any() else None)
    return pl.Series(name, codes, dtype=pl.String).gather(pl.Series(idx).cast(pl.UInt32))


def _list_series(name: str, member: BOOL, names: tuple[str, ...]) -> pl.Series:
    """A (n, k) membership matrix as a List(Utf8) series, names in column order."""
    offsets = np.zeros(member.shape[0] + 1, dtype=np.int64)
    np.cumsum(member.sum(axis=1), out=offsets[1:])
    values = pa.array(names, pa.large_string()).take(pa.array(np.nonzero(member)[1]))
    arr = pa.LargeListArray.from_arrays(pa.array(offsets), values)
    return pl.Series(name, arr, dtype=pl.List(pl.String))


def _dates(name: str, day: Ints, jan1: int, valid: BOOL | None = None) -> pl.Series:
    """Day indexes of the year as a Date series; rows where valid is False are null."""
    days = day.astype(np.int32) + np.int32(jan1)
    mask = None if valid is None else ~valid
    return pl.Series(name, pa.array(days, pa.int32(), mask=mask).cast(pa.date32()), dtype=pl.Date)


# ---- drawing ----

def _cdf(weights: F64) -> F64:
    c = np.cumsum(weights, axis=-1)
    return np.asarray(c / c[..., -1:], dtype=np.float64)


def _pick(rng: np.random.Generator, cdf: F64, group: Ints) -> I64:
    """One option per row from the cumulative weights cdf[group] (each cdf row ends at 1)."""
    u = rng.random(len(group))
    out = np.empty(len(group), dtype=np.int64)
    for g in range(cdf.shape[0]):  # a handful of groups, vectorised within each
        rows = np.flatnonzero(group == g)
        out[rows] = np.searchsorted(cdf[g], u[rows], side="right")
    picked: I64 = np.minimum(out, cdf.shape[1] - 1)
    return picked


def _level(rng: np.random.Generator, m: int, shares: tuple[float, float, float]) -> I64:
    u = rng.random(m)
    return 1 + (u >= shares[0]).astype(np.int64) + (u >= shares[0] + shares[1])


def _age_band(age: I64) -> I64:
    return np.where(age < 15, 0, np.where(age < 60, 1, 2))


def _geography(region: str) -> tuple[tuple[str, ...], F64, list[tuple[str, ...]]]:
    """Cities people enrol in, their shares, and the county codes (县级) under each."""
    if len(region) != 6 or not region.isdigit():
        raise ValueError(f"region must be a 6-digit 行政区划代码: {region!r}")
    if region == "000000":
        cities: tuple[str, ...] = _NATIONAL_CITIES
    elif region.endswith("0000"):
        p = region[:2]
        cities = _PROVINCE_CITIES.get(p, tuple(f"{p}{k:02d}00" for k in range(1, 6)))
    else:
        cities = (region,)
    share = np.array([0.3, 0.25, 0.2, 0.15, 0.1][: len(cities)])
    counties = [
        tuple(c[:4] + s for s in _CITY_COUNTIES.get(c, _GENERIC_COUNTIES)) if c.endswith("00")
        else (c,)
        for c in cities
    ]
    return cities, share / share.sum(), counties


def _id_numbers(rng: np.random.Generator, county: I64, birth: I64, female: BOOL) -> U8:
    """18-digit 身份证号: county, birth date, sequence (odd for men), GB 11643 check digit."""
    n = len(county)
    b = birth.astype("datetime64[D]")
    month_start = b.astype("datetime64[M]")
    ymd = (
        (b.astype("datetime64[Y]").astype(np.int64) + 1970) * 10000
        + (month_start.astype(np.int64) % 12 + 1) * 100
        + (b - month_start).astype(np.int64) + 1
    )
    buf = np.empty((n, 18), dtype=np.uint8)
    _put_digits(buf, county, 0, 6)
    _put_digits(buf, ymd, 6, 8)
    _put_digits(buf, rng.integers(0, 500, n) * 2 + ~female, 14, 3)
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
    total = (buf[:, :17].astype(np.int64) - 48) @ weights
    buf[:, 17] = np.frombuffer(b"10X98765432", dtype=np.uint8)[total % 11]
    return buf


def _people(
    rng: np.random.Generator, region: str, year: int, n: int
) -> tuple[pl.DataFrame, _People]:
    jan1, days = _year_days(year)
    cities, city_share, counties = _geography(region)

    female = rng.random(n) < 0.505
    ages = np.arange(101)
    # residents skew to children and the old: most working-age people are in 职工医保
    age_w = np.interp(ages, (0, 17, 18, 44, 45, 60, 79, 80, 90, 100),
                      (1.3, 1.3, 0.8, 0.8, 1.2, 1.4, 1.4, 0.7, 0.2, 0.01))
    age = rng.choice(ages, size=n, p=age_w / age_w.sum()).astype(np.int64)
    birth = jan1 - 1 - np.floor((age + rng.random(n)) * 365.2425).astype(np.int64)
    born_in_year = rng.random(n) < 0.006
    birth[born_in_year] = jan1 + rng.integers(0, days, born_in_year.sum())
    age[born_in_year] = -1
    first_day = np.maximum(birth - jan1, 0)

    dies = rng.random(n) < np.where(age <= 0, 0.003, np.minimum(0.4, 1.5e-5 * np.exp(0.1 * age)))
    last_day = np.full(n, days - 1, dtype=np.int64)
    span = days - first_day[dies]
    last_day[dies] = first_day[dies] + np.floor(rng.random(dies.sum()) * span).astype(np.int64)

    city = rng.choice(len(cities), size=n, p=city_share).astype(np.int64)
    n_county = np.array([len(c) for c in counties])
    county_table = np.zeros((len(cities), n_county.max()), dtype=np.int64)
    for row, codes in enumerate(counties):
        county_table[row, : len(codes)] = [int(c) for c in codes]
    county = county_table[city, np.floor(rng.random(n) * n_county[city]).astype(np.int64)]
    id_buf = _id_numbers(rng, county, birth, female)

    p_assist = (*ASSIST_SHARE, 1 - sum(ASSIST_SHARE))
    assist = rng.choice(len(ASSIST) + 1, size=n, p=p_assist).astype(np.int64)
    assist[assist == len(ASSIST)] = -1
    member = np.zeros((n, len(CATEGORIES)), dtype=bool)
    member[assist >= 0, assist[assist >= 0]] = True
    at_school = rng.random(n) < np.where(age <= 18, 0.9, 0.6)
    member[:, CATEGORIES.index("student")] = (age >= 6) & (age <= 22) & at_school
    member[:, CATEGORIES.index("newborn")] = birth >= _epoch_day(dt.date(year - 1, 1, 1))
    member[:, CATEGORIES.index("residence_permit")] = rng.random(n) < 0.02
    prevalence = np.stack([np.interp(age, _CHRONIC_AGES, p) for p in _CHRONIC_PREVALENCE], axis=1)
    chronic = rng.random((n, len(CHRONIC))) < prevalence

    width = max(8, len(str(max(n - 1, 0))))
    frame = pl.DataFrame([
        _numbered("person_id", f"P{region}", np.arange(n), width),
        _ascii_series("id_number", id_buf, rng.random(n) >= 0.10),
        pl.Series("sex", np.where(female, "F", "M"), dtype=pl.String),
        _dates("birth_date", birth - jan1, jan1),
        _dates("death_date", last_day, jan1, dies),
        _coded("region", cities, city),
        _list_series("categories", member, CATEGORIES),
        _list_series("chronic", chronic, CHRONIC),
    ])
    people = _People(female, age, birth - jan1, first_day, last_day, dies, city, assist, chronic,
                     f"P{region}", width)
    return frame, people


def _enrollments(
    rng: np.random.Generator, year: int, people: _People, persons: pl.DataFrame
) -> tuple[pl.DataFrame, BOOL]:
    """One enrolment per person for the year (2% have none); returns it and who may claim."""
    n = len(people.age)
    jan1, days = _year_days(year)
    enrolled = rng.random(n) >= 0.02
    employee = enrolled & (rng.random(n) < 0.01)  # 职工医保: settled elsewhere, so no claims here

    # 集中参保期 1 September – 31 December, with a rush before the deadline; 6% pay late.
    window = jan1 - _epoch_day(dt.date(year - 1, 9, 1))
    paid = -window + np.floor(window * rng.random(n) ** 0.7).astype(np.int64)
    late = rng.random(n) < 0.06
    paid[late] = np.minimum(rng.exponential(45.0, late.sum()), days - 1).astype(np.int64)
    paid = np.maximum(paid, people.birth_day + rng.integers(0, 60, n))  # newborns pay after birth
    paid = np.minimum(paid, people.last_day)
    paid[employee] = 0

    pays = np.append(np.array(ASSIST_PAYS), 1.0)[people.assist]  # assist -1 takes the 1.0
    contribution = np.round(_standard_fen(year) * pays / 100).astype(np.int64) * 100
    under = rng.random(n) < 0.005
    shortfall = rng.random(under.sum())
    contribution[under] = (contribution[under] * shortfall // 100).astype(np.int64) * 100
    contribution[employee] = 0
    repaid = np.where(late & (rng.random(n) < 0.1), rng.integers(1, 4, n), 0)
    from_employee = ~employee & (rng.random(n) < 0.01)  # left 职工医保 shortly before paying

    frame = pl.DataFrame([
        persons["person_id"],
        pl.Series("year", np.full(n, year, dtype=np.int32), dtype=pl.Int32),
        persons["region"],
        pl.Series("scheme", np.where(employee, "employee", "resident"), dtype=pl.String),
        _dates("paid_date", paid, jan1),
        pl.Series("contribution_paid", contribution, dtype=pl.Int64),
        pl.Series("repaid_years", repaid.astype(np.int32), dtype=pl.Int32),
        _dates("employee_end_date", paid - rng.integers(1, 90, n), jan1, from_employee),
    ]).filter(pl.Series(enrolled))
    return frame, ~employee


# ---- claims ----

_DIAG = tuple(sorted(
    {o[0] for o in _INPATIENT} | {o[0] for o in _OUTPATIENT} | set(CHRONIC_ICD)
    | {o[1] for o in _MATERNITY}
))
_PROC = tuple(sorted({o[1] for o in _INPATIENT if o[1]} | {o[2] for o in _MATERNITY if o[2]}))


def _index_of(codes: tuple[str, ...], values: list[str | None]) -> I64:
    return np.array([codes.index(v) if v is not None else -1 for v in values], dtype=np.int64)


_IN_DIAG = _index_of(_DIAG, [o[0] for o in _INPATIENT])
_IN_PROC = _index_of(_PROC, [o[1] for o in _INPATIENT])
_IN_KIND = _index_of(PROCEDURE_KINDS, [o[2] for o in _INPATIENT])
_IN_W = np.array([o[4] for o in _INPATIENT], dtype=np.float64)
_IN_CDF = _cdf(_IN_W.T)
_IN_LOG_COST = np.log([o[3] for o in _INPATIENT])
#: cost factors over their weighted geometric mean, so the level medians stay as stated
_IN_COST = np.exp(_IN_LOG_COST - (_IN_W.sum(axis=1) @ _IN_LOG_COST) / _IN_W.sum())
_OUT_DIAG = _index_of(_DIAG, [o[0] for o in _OUTPATIENT])
_OUT_CDF = _cdf(np.array([o[1] for o in _OUTPATIENT], dtype=np.float64).T)
_CHR_DIAG = _index_of(_DIAG, list(CHRONIC_ICD))
_MAT_DIAG = _index_of(_DIAG, [o[1] for o in _MATERNITY])
_MAT_PROC = _index_of(_PROC, [o[2] for o in _MATERNITY])
_MAT_KIND = _index_of(PROCEDURE_KINDS, [o[3] for o in _MATERNITY])
_MAT_CDF = _cdf(np.array([[o[4] for o in _MATERNITY]], dtype=np.float64))

_Block = dict[str, npt.NDArray[Any]]


def _facilities(region: str, cities: tuple[str, ...]) -> tuple[tuple[str, ...], I64, I64, I64]:
    """A few hundred facilities with fixed levels: ids, levels, and per (city, level) the first
    index and the count. The last city row is a big hospital town outside the region (异地就医)."""
    per_city = max(20, 300 // len(cities))
    n3, n2 = max(1, per_city // 20), max(1, per_city // 5)
    plan = [(c, (per_city - n2 - n3, n2, n3)) for c in cities]
    plan.append((next(c for c in _ELSEWHERE_CITIES if c[:2] != region[:2]), (0, 6, 18)))
    ids: list[str] = []
    levels: list[int] = []
    first = np.zeros((len(plan), 3), dtype=np.int64)
    count = np.zeros((len(plan), 3), dtype=np.int64)
    for row, (city, sizes) in enumerate(plan):
        for lv, size in enumerate(sizes):
            start = len(ids)
            first[row, lv], count[row, lv] = start, size
            ids.extend(f"H{city}{start + k:04d}" for k in range(size))
            levels.extend([lv + 1] * size)
    return tuple(ids), np.array(levels, dtype=np.int64), first, count


class _Claims:
    """Draws the claims of each visit type for persons given by index (repeated per claim)."""

    def __init__(self, rng: np.random.Generator, people: _People, region: str, days: int) -> None:
        self.rng, self.people, self.days = rng, people, days
        self.ids, self.levels, self.first, self.count = _facilities(region, _geography(region)[0])

    def _facility(self, city: I64, level: I64) -> I64:
        # popularity falls with the index: a few busy hospitals, many quiet clinics
        u = self.rng.random(len(city))
        cell = city * 3 + level - 1
        index: I64 = self.first.ravel()[cell] + (u * u * self.count.ravel()[cell]).astype(np.int64)
        return index

    def _stay(self, person: I64, los: I64) -> tuple[I64, I64]:
        """Admission and discharge inside the days alive; a short window shortens the stay."""
        lo, hi = self.people.first_day[person], self.people.last_day[person]
        los = np.minimum(los, hi - lo)
        admit = lo + np.floor(self.rng.random(len(lo)) * (hi - lo - los + 1)).astype(np.int64)
        return admit, admit + los

    def _visit_day(self, person: I64) -> I64:
        """A day the person was alive; for 2% of the claims of the dead, a day after death."""
        p, m = self.people, len(person)
        lo, hi = p.first_day[person], p.last_day[person]
        after = p.dies[person] & (hi < self.days - 1) & (self.rng.random(m) < 0.02)
        lo = np.where(after, hi + 1, lo)
        hi = np.where(after, self.days - 1, hi)
        return lo + np.floor(self.rng.random(m) * (hi - lo + 1)).astype(np.int64)

    def _block(self, visit: int, person: I64, level: I64, city: I64, admit: I64, settle: I64,
               yuan: F64, **codes: npt.NDArray[Any]) -> _Block:
        m = len(person)
        none = np.full(m, -1, dtype=np.int8)
        block: _Block = {
            "person": person.astype(np.int32),
            "visit": np.full(m, visit, dtype=np.int8),
            "facility": self._facility(city, level).astype(np.int16),
            "admit": admit.astype(np.int16),
            "settle": settle.astype(np.int16),
            "total": np.maximum(np.rint(np.minimum(yuan, 3e6) * 100), 100).astype(np.int64),
            "out_of_region": codes.pop("out_of_region", np.zeros(m, dtype=np.int64)).astype(bool),
        }
        for key in ("diagnosis", "procedure", "kind", "disease", "maternity"):
            block[key] = codes[key].astype(np.int8) if key in codes else none
        return block

    def inpatient(self, person: I64) -> _Block:
        rng, p, m = self.rng, self.people, len(person)
        opt = _pick(rng, _IN_CDF, _age_band(p.age[person]) * 2 + p.female[person])
        away = rng.random(m) < 0.05
        level = np.where(away, 2 + (rng.random(m) < 0.8), _level(rng, m, (0.35, 0.40, 0.25)))
        city = np.where(away, self.first.shape[0] - 1, p.city[person])
        severity = rng.standard_normal(m)  # drives both the stay and the cost
        los = np.exp(np.log([5.0, 7.0, 9.0])[level - 1] + 0.5 * severity
                     + 0.3 * rng.standard_normal(m))
        admit, settle = self._stay(person, np.clip(np.rint(los), 1, 60).astype(np.int64))
        median = np.array([3000.0, 7000.0, 15000.0])[level - 1] * _IN_COST[opt] * (1 + 0.3 * away)
        yuan = median * np.exp(0.6 * severity + 0.45 * rng.standard_normal(m))
        return self._block(INPATIENT, person, level, city, admit, settle, yuan,
                           diagnosis=_IN_DIAG[opt], procedure=_IN_PROC[opt], kind=_IN_KIND[opt],
                           out_of_region=away)

    def outpatient(self, person: I64) -> _Block:
        rng, p, m = self.rng, self.people, len(person)
        level = _level(rng, m, (0.70, 0.22, 0.08))
        day = self._visit_day(person)
        yuan = np.array([60.0, 120.0, 250.0])[level - 1] * np.exp(0.8 * rng.standard_normal(m))
        diagnosis = _OUT_DIAG[_pick(rng, _OUT_CDF, _age_band(p.age[person]))]
        return self._block(OUTPATIENT, person, level, p.city[person], day, day,
                           np.maximum(yuan, 5.0), diagnosis=diagnosis)

    def chronic(self, person: I64) -> _Block:
        rng, p, m = self.rng, self.people, len(person)
        certified = p.chronic[person]
        # one of the person's certified diseases; else (and for 1%) any: NOT_CERTIFIED cases
        draw = rng.random((m, len(CHRONIC)), dtype=np.float32) * certified
        disease = np.argmax(draw, axis=1).astype(np.int64)
        stray = ~certified.any(axis=1) | (rng.random(m) < 0.01)
        disease[stray] = rng.integers(0, len(CHRONIC), stray.sum())
        level = _level(rng, m, (0.60, 0.25, 0.15))
        day = self._visit_day(person)
        yuan = (np.array(CHRONIC_MEDIAN_YUAN)[disease] * np.array([0.8, 1.0, 1.3])[level - 1]
                * np.exp(0.6 * rng.standard_normal(m)))
        return self._block(CHRONIC_VISIT, person, level, p.city[person], day, day,
                           np.maximum(yuan, 10.0), diagnosis=_CHR_DIAG[disease], disease=disease)

    def maternity(self, person: I64) -> _Block:
        rng, p, m = self.rng, self.people, len(person)
        opt = _pick(rng, _MAT_CDF, np.zeros(m, dtype=np.int64))
        cesarean = np.array([o[0] for o in _MATERNITY])[opt]
        level = _level(rng, m, (0.20, 0.50, 0.30))
        admit, settle = self._stay(person, np.where(cesarean == 1, rng.integers(4, 8, m),
                                                    rng.integers(2, 5, m)))
        yuan = (np.where(cesarean == 1, 7000.0, 3500.0) * np.array([0.7, 1.0, 1.4])[level - 1]
                * np.exp(0.3 * rng.standard_normal(m)))
        return self._block(MATERNITY, person, level, p.city[person], admit, settle, yuan,
                           diagnosis=_MAT_DIAG[opt], procedure=_MAT_PROC[opt],
                           kind=_MAT_KIND[opt], maternity=cesarean)


def _claims(rng: np.random.Generator, region: str, year: int, people: _People, may_claim: BOOL,
            claims_per_person: float | None) -> pl.DataFrame:
    jan1, days = _year_days(year)
    n = len(people.age)
    age = np.maximum(people.age, 0)
    exposure = (people.last_day - people.first_day + 1) / days * may_claim
    lam_out = np.interp(age, (0, 5, 15, 45, 65, 80), (6.0, 4.0, 2.5, 3.0, 5.0, 6.0))
    lam_in = np.interp(age, (0, 5, 15, 45, 65, 80, 90), (0.14, 0.07, 0.06, 0.11, 0.26, 0.40, 0.45))
    lam_chr = np.where(people.chronic.any(axis=1), 11.0, np.where(age >= 40, 0.01, 0.0))
    fertile = people.female & (people.age >= 20) & (people.age <= 44)
    fertility = np.interp(age, (20, 25, 30, 35, 40, 45), (0.05, 0.09, 0.08, 0.04, 0.015, 0.003))
    p_mat = np.where(fertile, fertility, 0.0) * exposure
    scale = 1.0
    if claims_per_person is not None:
        if claims_per_person < 0:
            raise ValueError(f"claims_per_person must be ≥ 0: {claims_per_person}")
        base = float(((lam_out + lam_in + lam_chr) * exposure).sum())
        want = claims_per_person * n - float(p_mat.sum())
        scale = max(0.0, want / base) if base > 0 else 0.0

    draw = _Claims(rng, people, region, days)
    everyone = np.arange(n, dtype=np.int64)
    blocks = [
        draw.inpatient(np.repeat(everyone, rng.poisson(lam_in * exposure * scale))),
        draw.outpatient(np.repeat(everyone, rng.poisson(lam_out * exposure * scale))),
        draw.chronic(np.repeat(everyone, rng.poisson(lam_chr * exposure * scale))),
        draw.maternity(np.flatnonzero(rng.random(n) < p_mat)),
    ]

    def column(key: str) -> npt.NDArray[Any]:
        return np.concatenate([b.pop(key) for b in blocks])  # pop: free each block as we go

    total = column("total")
    m = len(total)
    # self-pay shares: products of uniforms, mostly small; never above 15% and 10%
    self_pay = (total * np.where(rng.random(m) < 0.25, 0.0, 0.15 * rng.random(m) * rng.random(m)))
    class_b = total * (0.10 * rng.random(m) * rng.random(m))
    settle = column("settle")
    serial = np.empty(m, dtype=np.int64)  # claim ids follow settlement order, rows stay as drawn
    serial[np.argsort(settle, kind="stable")] = np.arange(m)
    facility = column("facility")
    return pl.DataFrame([
        _numbered("claim_id", f"C{region}{year}", serial, max(9, len(str(m - 1)))),
        _numbered("person_id", people.id_prefix, column("person"), people.id_width),
        _coded("facility_id", draw.ids, facility),
        pl.Series("facility_level", draw.levels[facility], dtype=pl.Int8),
        _coded("visit_type", VISIT_TYPES, column("visit")),
        _coded("chronic_disease", CHRONIC, column("disease")),
        _coded("maternity_kind", MATERNITY_KINDS, column("maternity")),
        _dates("admit_date", column("admit"), jan1),
        _dates("settle_date", settle, jan1),
        pl.Series("total", total, dtype=pl.Int64),
        pl.Series("self_pay", self_pay.astype(np.int64), dtype=pl.Int64),
        pl.Series("class_b_self_pay", class_b.astype(np.int64), dtype=pl.Int64),
        pl.Series("out_of_region", column("out_of_region"), dtype=pl.Boolean),
        _coded("diagnosis", _DIAG, column("diagnosis")),
        _coded("procedure", _PROC, column("procedure")),
        _coded("procedure_kind", PROCEDURE_KINDS, column("kind")),
    ])


def synth_frames(
    region: str, year: int, persons: int, seed: int = 0, claims_per_person: float | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Synthetic persons, their enrolments for ``year`` and the year's claims (SPEC §4 columns).

    ``region`` is a city (all enrol there) or a province (spread over a few of its cities).
    ``claims_per_person`` replaces the natural mean (about 6 claims a person-year) by scaling
    the outpatient, chronic and inpatient rates; maternity keeps its rate. Persons, enrolments
    and claims come from separate streams of the seed, so changing the claim volume leaves the
    population as it was. Claim rows come grouped by visit type, then person; claim_id numbers
    them in settlement-date order (reordering 20 M rows would cost more than drawing them).
    """
    _geography(region)  # validates region
    if persons < 0:
        raise ValueError(f"persons must be ≥ 0: {persons}")
    streams = np.random.SeedSequence([seed, int(region), year]).spawn(3)
    rng_people, rng_enrol, rng_claims = (np.random.default_rng(s) for s in streams)
    person_frame, people = _people(rng_people, region, year, persons)
    enrollments, may_claim = _enrollments(rng_enrol, year, people, person_frame)
    claims = _claims(rng_claims, region, year, people, may_claim, claims_per_person)
    return person_frame, enrollments, claims


# ---- multi-year histories ----

#: kinds of enrolment history and their shares: every year alive; a break of 1–5 years and a
#: return; never enrolled; 职工医保 throughout; 职工医保 then resident (a transfer); a first
#: enrolment in a later year (not a newborn); stopped enrolling
_KINDS = ("regular", "break", "never", "employee", "transfer", "joiner", "lapsed")
_KIND_SHARE = (0.80, 0.09, 0.02, 0.01, 0.04, 0.02, 0.02)
REGULAR, BREAK, NEVER, EMPLOYEE, TRANSFER, JOINER, LAPSED = range(len(_KINDS))
_NO_DEATH = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class _Span:
    """Per (year, person) matrices of a multi-year history, years first."""

    years: I64
    jan1: I64  # [Y] epoch day of 1 January
    days: I64  # [Y]
    alive: BOOL  # alive at some point of the year
    resident: BOOL  # resident enrolment
    employee: BOOL  # 职工医保 enrolment


def _mortality(age: I64) -> F64:
    return np.where(age <= 0, 0.003, np.minimum(0.4, 1.5e-5 * np.exp(0.1 * age)))


def _span_deaths(rng: np.random.Generator, people: _People, birth: I64, first_year: int,
                 last_year: int) -> I64:
    """Death as an epoch day (_NO_DEATH: alive at the end), at the same age-specific rates
    in every year of the span; those who die earlier do not die again in the last year."""
    death = np.full(len(birth), _NO_DEATH, dtype=np.int64)
    for y in range(first_year, last_year):
        jan1, days = _year_days(y)
        alive = (birth < jan1 + days) & (death == _NO_DEATH)
        dies = alive & (rng.random(len(birth)) < _mortality(people.age - (last_year - y)))
        lo = np.maximum(birth[dies], jan1)
        death[dies] = lo + np.floor(rng.random(dies.sum()) * (jan1 + days - lo)).astype(np.int64)
    jan1_last = _year_days(last_year)[0]
    last = people.dies & (death == _NO_DEATH)
    death[last] = jan1_last + people.last_day[last]
    return death


def _year_view(people: _People, birth: I64, death: I64, last_year: int, year: int) -> _People:
    """The person arrays for one year of the span (ages, days alive, deaths in the year)."""
    jan1, days = _year_days(year)
    alive = (birth < jan1 + days) & (death >= jan1)
    born_before = birth < jan1
    age = np.where(born_before, np.maximum(people.age - (last_year - year), 0), -1)
    first = np.where(alive, np.clip(birth - jan1, 0, days - 1), 0)
    dies = alive & (death < jan1 + days)
    last = np.where(dies, np.clip(death - jan1, 0, days - 1), np.where(alive, days - 1, 0))
    return _People(people.female, age.astype(np.int64), birth - jan1, first.astype(np.int64),
                   last.astype(np.int64), dies, people.city, people.assist, people.chronic,
                   people.id_prefix, people.id_width)


def _span(rng: np.random.Generator, people: _People, birth: I64, death: I64,
          first_year: int, last_year: int) -> tuple[_Span, I64, I64]:
    """Who is enrolled in which year; also each person's kind of history and turning year."""
    years = np.arange(first_year, last_year + 1, dtype=np.int64)
    n, n_years = len(birth), len(years)
    jan1 = np.array([_year_days(int(y))[0] for y in years], dtype=np.int64)
    days = np.array([_year_days(int(y))[1] for y in years], dtype=np.int64)
    alive = (birth[None, :] < (jan1 + days)[:, None]) & (death[None, :] >= jan1[:, None])
    kind = rng.choice(len(_KINDS), size=n, p=_KIND_SHARE).astype(np.int64)
    # a change of scheme needs a working age across the span, and a year before and after
    working = (people.age >= 18 + n_years) & (people.age <= 60)
    kind[np.isin(kind, (EMPLOYEE, TRANSFER)) & ~working] = REGULAR
    if n_years < 3:
        kind[kind == BREAK] = REGULAR
    if n_years < 2:
        kind[np.isin(kind, (TRANSFER, JOINER, LAPSED))] = REGULAR
    k = np.arange(n_years, dtype=np.int64)[:, None]
    # break: `length` missed years from index `start`, with a year enrolled on either side
    length = np.minimum(1 + np.floor(rng.random(n) * 5).astype(np.int64), max(n_years - 2, 1))
    start = 1 + np.floor(rng.random(n) * np.maximum(n_years - 1 - length, 1)).astype(np.int64)
    # transfer / joiner / lapsed: the year index where the history changes
    turn = 1 + np.floor(rng.random(n) * max(n_years - 1, 1)).astype(np.int64)
    resident = alive.copy()
    resident &= ~((kind == BREAK) & (k >= start) & (k < start + length))
    resident &= ~np.isin(kind, (NEVER, EMPLOYEE))
    resident &= ~(np.isin(kind, (TRANSFER, JOINER)) & (k < turn))
    resident &= ~((kind == LAPSED) & (k >= turn))
    employee = alive & ((kind == EMPLOYEE) | ((kind == TRANSFER) & (k < turn)))
    # a few families go on paying after a death (registry check ENROLLED_AFTER_DEATH)
    death_k = np.searchsorted(jan1, death, side="right") - 1  # year index of the death
    ghost = (death_k < n_years - 1) & (death < _NO_DEATH) & (rng.random(n) < 0.02)
    ghost &= resident[np.clip(death_k, 0, n_years - 1), np.arange(n)]
    resident[np.clip(death_k + 1, 0, n_years - 1)[ghost], np.flatnonzero(ghost)] = True
    return _Span(years, jan1, days, alive, resident, employee), kind, turn


def _history_enrollments(rng: np.random.Generator, people: _People, persons: pl.DataFrame,
                         birth: I64, death: I64, first_year: int,
                         last_year: int) -> tuple[pl.DataFrame, _Span]:
    """Resident and 职工医保 enrolments for every year of the span, in (year, person) order."""
    sp, kind, turn = _span(rng, people, birth, death, first_year, last_year)
    n_years, n = sp.resident.shape
    k = np.arange(n_years, dtype=np.int64)[:, None]
    # years missed before each resident enrolment, back to the last one (-1: none before)
    last_k = np.maximum.accumulate(np.where(sp.resident, k, -1), axis=0)
    before = np.vstack([np.full((1, n), -1, dtype=np.int64), last_k[:-1]])
    yk, who = np.nonzero(sp.resident | sp.employee)  # row-major: year, then person
    m = len(yk)
    employee = sp.employee[yk, who]
    missed = np.where(before[yk, who] >= 0, yk - 1 - before[yk, who], 0)
    returning = ~employee & (missed > 0)
    jan1, days = sp.jan1[yk], sp.days[yk]

    # 集中参保期 1 September – 31 December with a rush before the deadline; 6% pay late,
    # 40% of those returning after a break. Day indexes are relative to 1 January.
    window = sp.jan1 - np.array([_epoch_day(dt.date(int(y) - 1, 9, 1)) for y in sp.years])
    paid = -window[yk] + np.floor(window[yk] * rng.random(m) ** 0.7).astype(np.int64)
    late = rng.random(m) < np.where(returning, 0.4, 0.06)
    paid[late] = np.minimum(rng.exponential(45.0, late.sum()).astype(np.int64), days[late] - 1)
    # newborns pay in the weeks after birth, within the birth year
    born_in = (birth[who] >= jan1) & (birth[who] < jan1 + days)
    paid[born_in] = np.minimum(birth[who][born_in] - jan1[born_in]
                               + rng.integers(0, 60, born_in.sum()), days[born_in] - 1)
    # a transfer from 职工医保 pays when the job ends, any day of the year: 85% within the
    # 3 grace months of employee_end_date, the rest 100–300 days after it
    moves = ~employee & (kind[who] == TRANSFER) & (yk == turn[who])
    paid[moves] = np.floor(rng.random(moves.sum()) * days[moves]).astype(np.int64)
    gap = np.where(rng.random(m) < 0.85, rng.integers(1, 90, m), rng.integers(100, 300, m))
    # nobody pays after death (the ghost enrolments of ENROLLED_AFTER_DEATH excepted)
    alive_then = death[who] >= jan1
    paid = np.where(alive_then, np.minimum(paid, death[who] - jan1), paid)
    paid[employee] = 0

    pays = np.append(np.array(ASSIST_PAYS), 1.0)[people.assist[who]]
    standard = np.array([_standard_fen(int(y)) for y in sp.years], dtype=np.int64)[yk]
    contribution = np.round(standard * pays / 100).astype(np.int64) * 100
    under = rng.random(m) < 0.005
    contribution[under] = (contribution[under] * rng.random(under.sum()) // 100).astype(
        np.int64) * 100
    contribution[employee] = 0
    # back contributions after a break of 2 or more years, to shorten the variable wait
    repay = returning & (missed >= 2) & (rng.random(m) < 0.4)
    repaid = np.where(repay, 1 + np.floor(rng.random(m) * (missed - 1)), 0).astype(np.int32)

    pick = pl.Series(who.astype(np.int64))
    frame = pl.DataFrame([
        persons["person_id"].gather(pick),
        pl.Series("year", sp.years[yk].astype(np.int32), dtype=pl.Int32),
        persons["region"].gather(pick),
        pl.Series("scheme", np.where(employee, "employee", "resident"), dtype=pl.String),
        _dates("paid_date", jan1 + paid, 0),
        pl.Series("contribution_paid", contribution, dtype=pl.Int64),
        pl.Series("repaid_years", repaid, dtype=pl.Int32),
        _dates("employee_end_date", jan1 + paid - gap, 0, moves),
    ])
    return frame, sp


def synth_history(
    region: str, first_year: int, last_year: int, persons: int, seed: int = 0,
    claims_per_person: float | None = None, claims: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Synthetic persons with enrolments and claims for every year first_year .. last_year.

    The population is drawn as of ``last_year`` (as ``synth_frames`` draws it) and followed
    back: persons born during the span first enrol in their birth year, deaths fall in any
    year. Histories: most enrol every year they are alive; 9% miss 1–5 consecutive years
    (bounded by the span) and come back, often paying late and sometimes repaying missed years;
    4% move from 职工医保 (employee enrolments for the earlier years, then a resident enrolment
    with ``employee_end_date``); a few never enrol, join late, stop, or stay in 职工医保; 2% of
    those who die go on being enrolled the next year. Every enrolment year has late payers. A
    fifth of the person-years have no claim at all (zero-claim years for the incentives).
    ``claims_per_person`` is per person and year; ``claims=False`` skips the claims (an empty
    frame), for benchmarks of enrolment alone.
    """
    _geography(region)
    if persons < 0:
        raise ValueError(f"persons must be ≥ 0: {persons}")
    if last_year < first_year:
        raise ValueError(f"last_year {last_year} is before first_year {first_year}")
    n_years = last_year - first_year + 1
    streams = np.random.SeedSequence([seed, int(region), first_year, last_year, 2]).spawn(
        2 + n_years)
    rng_people, rng_enrol = (np.random.default_rng(s) for s in streams[:2])
    person_frame, people = _people(rng_people, region, last_year, persons)
    jan1_last = _year_days(last_year)[0]
    birth = people.birth_day + jan1_last
    death = _span_deaths(rng_people, people, birth, first_year, last_year)
    person_frame = person_frame.with_columns(
        _dates("death_date", death, 0, death != _NO_DEATH))
    enrollments, sp = _history_enrollments(rng_enrol, people, person_frame, birth, death,
                                           first_year, last_year)
    if not claims:
        return person_frame, enrollments, synth_frames(region, first_year, 0)[2]
    blocks = []
    for k, year in enumerate(range(first_year, last_year + 1)):
        rng = np.random.default_rng(streams[2 + k])
        view = _year_view(people, birth, death, last_year, year)
        # 职工医保 settles its own; the unenrolled claim rarely (NOT_ENROLLED cases); a fifth
        # of the person-years are healthy: no claim at all
        may_claim = (sp.alive[k] & ~sp.employee[k]
                     & (sp.resident[k] | (rng.random(persons) < 0.1))
                     & (rng.random(persons) >= 0.2))
        blocks.append(_claims(rng, region, year, view, may_claim, claims_per_person))
    return person_frame, enrollments, pl.concat(blocks)


# ---- writing ----

def write_synth(
    out_dir: Path, region: str, year: int, persons: int, seed: int = 0, fmt: str = "parquet",
    claims_per_person: float | None = None, first_year: int | None = None,
) -> dict[str, Path]:
    """Write persons.<fmt>, enrollments.<fmt> and claims.<fmt> into out_dir; return the paths.

    With ``first_year``, a history from first_year to ``year`` (``synth_history``): enrolments
    and claims of every year in the one file each.
    """
    if fmt not in ("parquet", "csv", "jsonl"):
        raise ValueError(f"fmt must be parquet, csv or jsonl: {fmt!r}")
    from yibao.io import write_frame  # money as yuan with two decimals, SPEC §5 conventions

    frames = (synth_frames(region, year, persons, seed, claims_per_person) if first_year is None
              else synth_history(region, first_year, year, persons, seed, claims_per_person))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in zip(("persons", "enrollments", "claims"), frames, strict=True):
        paths[name] = out_dir / f"{name}.{fmt}"
        write_frame(frame, paths[name], [c for c in MONEY_COLUMNS if c in frame.columns])
    return paths
