"""The public generators: ``synth_frames`` (one year) and ``synth_history`` (a span of years).

Both draw persons, enrolments and claims from separate streams of one seed, so the same
arguments always give the same frames and changing the claim volume leaves the population as
it was.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from yibao.synth.claims import draw_claims
from yibao.synth.columns import dates, year_days
from yibao.synth.enrolment import enrollments as year_enrollments
from yibao.synth.enrolment import policy_for, terms
from yibao.synth.geography import Facilities, Geography, facilities, geography
from yibao.synth.history import NO_DEATH, history_enrollments, span_deaths, year_view
from yibao.synth.population import draw_people

Frames = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]


def _places(region: str, persons: int) -> tuple[Geography, Facilities, str]:
    """The region's counties and facilities and the code of the policy that rules it."""
    geo = geography(region)  # validates region
    if persons < 0:
        raise ValueError(f"persons must be ≥ 0: {persons}")
    return geo, facilities(region, geo), policy_for(region).region


def synth_frames(
    region: str, year: int, persons: int, seed: int = 0, claims_per_person: float | None = None
) -> Frames:
    """Synthetic persons, their enrolments for ``year`` and the year's claims (SPEC §4 columns).

    ``region`` is a county, a city (persons registered in its counties) or a province (spread
    over a few of its cities). ``claims_per_person`` replaces the natural mean (about 6 claims a
    person-year) by scaling the outpatient, chronic and inpatient rates; maternity keeps its
    rate. Persons, enrolments and claims come from separate streams of the seed, so changing
    the claim volume leaves the population as it was. Claim rows come grouped by visit type,
    then person; claim_id numbers them in settlement-date order (reordering 20 M rows would
    cost more than drawing them).
    """
    geo, places, policy_region = _places(region, persons)
    streams = np.random.SeedSequence([seed, int(region), year]).spawn(3)
    rng_people, rng_enrol, rng_claims = (np.random.default_rng(s) for s in streams)
    person_frame, people = draw_people(rng_people, region, geo, year, persons)
    enrollments, may_claim = year_enrollments(rng_enrol, year, terms(policy_region, year),
                                              people, person_frame)
    jan1, days = year_days(year)
    claims = draw_claims(rng_claims, region, year, jan1, days, people, places, may_claim,
                         claims_per_person)
    return person_frame, enrollments, claims


def synth_history(
    region: str, first_year: int, last_year: int, persons: int, seed: int = 0,
    claims_per_person: float | None = None, claims: bool = True,
) -> Frames:
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
    geo, places, policy_region = _places(region, persons)
    if last_year < first_year:
        raise ValueError(f"last_year {last_year} is before first_year {first_year}")
    n_years = last_year - first_year + 1
    streams = np.random.SeedSequence([seed, int(region), first_year, last_year, 2]).spawn(
        2 + n_years)
    rng_people, rng_enrol = (np.random.default_rng(s) for s in streams[:2])
    person_frame, people = draw_people(rng_people, region, geo, last_year, persons)
    birth = people.birth_day + year_days(last_year)[0]
    death = span_deaths(rng_people, people, birth, first_year, last_year)
    person_frame = person_frame.with_columns(dates("death_date", death, 0, death != NO_DEATH))
    enrollments, sp = history_enrollments(rng_enrol, policy_region, people, person_frame, birth,
                                          death, first_year, last_year)
    if not claims:
        return person_frame, enrollments, synth_frames(region, first_year, 0)[2]
    blocks = []
    for k, year in enumerate(range(first_year, last_year + 1)):
        rng = np.random.default_rng(streams[2 + k])
        view = year_view(people, birth, death, last_year, year)
        # 职工医保 settles its own; the unenrolled claim rarely (NOT_ENROLLED cases); a fifth
        # of the person-years are healthy: no claim at all
        may_claim = (sp.alive[k] & ~sp.employee[k]
                     & (sp.resident[k] | (rng.random(persons) < 0.1))
                     & (rng.random(persons) >= 0.2))
        jan1, days = year_days(year)
        blocks.append(draw_claims(rng, region, year, jan1, days, view, places, may_claim,
                                  claims_per_person))
    return person_frame, enrollments, pl.concat(blocks)
