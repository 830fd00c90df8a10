"""Synthetic persons (参保人员): age and sex, births and deaths, county of registration with a
matching 身份证号, 医疗救助 and other categories, certified chronic diseases.

Residents skew to children and the old (most working-age people are in 职工医保). Every
column is drawn a whole column at a time from one generator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from yibao.days import day_number
from yibao.synth.columns import (
    BOOL,
    F64,
    I64,
    U8,
    ascii_series,
    coded,
    dates,
    list_series,
    numbered,
    put_digits,
    year_days,
)
from yibao.synth.geography import Geography
from yibao.synth.tables import (
    ASSIST,
    ASSIST_SHARE,
    CATEGORIES,
    CHRONIC,
    CHRONIC_AGES,
    CHRONIC_PREVALENCE,
)

#: share of persons without a 身份证号 on file (children not yet registered, foreigners…)
NO_ID_SHARE = 0.10


@dataclass(frozen=True)
class People:
    """Per-person arrays the enrolment and claim generators need (index = person row)."""

    female: BOOL
    age: I64  # completed years on 1 January; -1 for those born during the year
    birth_day: I64  # day index of the birth date (negative: before 1 January)
    first_day: I64  # first day alive in the year, as a day index 0 .. days-1
    last_day: I64  # last day alive in the year
    dies: BOOL
    county: I64  # index into Geography.counties
    assist: I64  # index into ASSIST, -1 for none
    member: BOOL  # (n, len(CATEGORIES)) categories held
    chronic: BOOL  # (n, len(CHRONIC)) certified diseases
    id_prefix: str
    id_width: int

    def in_year(self, jan1: int, days: int, birth: I64, death: I64, age: I64) -> People:
        """The same persons seen in another year (jan1, days) given epoch-day births and deaths
        (death beyond the span for those alive) and their ages on that 1 January."""
        alive = (birth < jan1 + days) & (death >= jan1)
        first = np.where(alive, np.clip(birth - jan1, 0, days - 1), 0)
        dies = alive & (death < jan1 + days)
        last = np.where(dies, np.clip(death - jan1, 0, days - 1), np.where(alive, days - 1, 0))
        return replace(self, age=age.astype(np.int64), birth_day=birth - jan1,
                       first_day=first.astype(np.int64), last_day=last.astype(np.int64),
                       dies=dies)


def mortality(age: I64) -> F64:
    """Yearly probability of death by completed age (a Gompertz curve, illustrative)."""
    return np.where(age <= 0, 0.003, np.minimum(0.4, 1.5e-5 * np.exp(0.1 * age)))


def id_numbers(rng: np.random.Generator, county: I64, birth: I64, female: BOOL) -> U8:
    """18-digit 身份证号: county code, birth date, sequence (odd for men), GB 11643 check digit."""
    n = len(county)
    b = birth.astype("datetime64[D]")
    month_start = b.astype("datetime64[M]")
    ymd = (
        (b.astype("datetime64[Y]").astype(np.int64) + 1970) * 10000
        + (month_start.astype(np.int64) % 12 + 1) * 100
        + (b - month_start).astype(np.int64) + 1
    )
    buf = np.empty((n, 18), dtype=np.uint8)
    put_digits(buf, county, 0, 6)
    put_digits(buf, ymd, 6, 8)
    put_digits(buf, rng.integers(0, 500, n) * 2 + ~female, 14, 3)
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
    total = (buf[:, :17].astype(np.int64) - 48) @ weights
    buf[:, 17] = np.frombuffer(b"10X98765432", dtype=np.uint8)[total % 11]
    return buf


def draw_people(rng: np.random.Generator, region: str, geo: Geography, year: int,
                n: int) -> tuple[pl.DataFrame, People]:
    """n persons alive at some point of ``year``, as the persons frame and as arrays."""
    jan1, days = year_days(year)
    female = rng.random(n) < 0.505
    ages = np.arange(101)
    age_w = np.interp(ages, (0, 17, 18, 44, 45, 60, 79, 80, 90, 100),
                      (1.3, 1.3, 0.8, 0.8, 1.2, 1.4, 1.4, 0.7, 0.2, 0.01))
    age = rng.choice(ages, size=n, p=age_w / age_w.sum()).astype(np.int64)
    birth = jan1 - 1 - np.floor((age + rng.random(n)) * 365.2425).astype(np.int64)
    born_in_year = rng.random(n) < 0.006
    birth[born_in_year] = jan1 + rng.integers(0, days, born_in_year.sum())
    age[born_in_year] = -1
    first_day = np.maximum(birth - jan1, 0)

    dies = rng.random(n) < mortality(age)
    last_day = np.full(n, days - 1, dtype=np.int64)
    span = days - first_day[dies]
    last_day[dies] = first_day[dies] + np.floor(rng.random(dies.sum()) * span).astype(np.int64)

    county = rng.choice(len(geo.counties), size=n, p=geo.share).astype(np.int64)
    codes = np.array([int(c) for c in geo.counties], dtype=np.int64)
    id_buf = id_numbers(rng, codes[county], birth, female)

    p_assist = (*ASSIST_SHARE, 1 - sum(ASSIST_SHARE))
    assist = rng.choice(len(ASSIST) + 1, size=n, p=p_assist).astype(np.int64)
    assist[assist == len(ASSIST)] = -1
    member = np.zeros((n, len(CATEGORIES)), dtype=bool)
    member[assist >= 0, assist[assist >= 0]] = True
    at_school = rng.random(n) < np.where(age <= 18, 0.9, 0.6)
    member[:, CATEGORIES.index("student")] = (age >= 6) & (age <= 22) & at_school
    member[:, CATEGORIES.index("newborn")] = birth >= day_number(dt.date(year - 1, 1, 1))
    member[:, CATEGORIES.index("residence_permit")] = rng.random(n) < 0.02
    prevalence = np.stack([np.interp(age, CHRONIC_AGES, p) for p in CHRONIC_PREVALENCE], axis=1)
    chronic = rng.random((n, len(CHRONIC))) < prevalence

    width = max(8, len(str(max(n - 1, 0))))
    frame = pl.DataFrame([
        numbered("person_id", f"P{region}", np.arange(n), width),
        ascii_series("id_number", id_buf, rng.random(n) >= NO_ID_SHARE),
        pl.Series("sex", np.where(female, "F", "M"), dtype=pl.String),
        dates("birth_date", birth - jan1, jan1),
        dates("death_date", last_day, jan1, dies),
        coded("region", geo.counties, county),
        list_series("categories", member, CATEGORIES),
        list_series("chronic", chronic, CHRONIC),
    ])
    people = People(female, age, birth - jan1, first_day, last_day, dies, county, assist, member,
                    chronic, f"P{region}", width)
    return frame, people
