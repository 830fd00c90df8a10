"""settle() takes plain-Python lookups for tiny inputs (online settlement) and vectorised ones
for batches, and caches the policy's term tables: neither may change a figure.

The hand-worked figures of tests/cases run the tiny paths (and, through their one-claim-at-a-
time check, the term cache across dated terms); here the same synthetic city is settled down
every path and the results compared row for row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from yibao.engine import codes, kernel
from yibao.engine.person_years import settle_claims
from yibao.engine.settlement import CLAIM_COLUMNS, settle
from yibao.engine.summary import summarise
from yibao.engine.terms import policy_terms
from yibao.errors import InputError
from yibao.io import CLAIMS, ENROLLMENTS, PERSONS
from yibao.policy import Policy, load_policy, read_region_file
from yibao.policy.loader import Entry
from yibao.policy.model import parse_value
from yibao.synth import synth_frames

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def city() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    persons, enrollments, claims = synth_frames("360400", 2023, 400, seed=5)
    # the batch must be big enough for the vectorised paths, with every visit type
    assert persons.height > codes.SMALL_INPUT and claims.height > codes.SMALL_INPUT
    assert set(claims["visit_type"]) == {"inpatient", "outpatient", "chronic", "maternity"}
    return persons, enrollments, claims


@pytest.mark.parametrize("small", [0, 10**9], ids=["all-vectorised", "all-python"])
def test_every_path_settles_the_batch_alike(city: tuple[pl.DataFrame, ...], small: int,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    persons, enrollments, claims = city
    policy = load_policy("360400")
    usual = settle(policy, persons, enrollments, claims)
    monkeypatch.setattr(codes, "SMALL_INPUT", small)
    forced = settle(policy, persons, enrollments, claims)
    assert forced.results.equals(usual.results)
    assert forced.closing.equals(usual.closing)


def test_threads_settle_the_batch_alike(city: tuple[pl.DataFrame, ...],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel's chunks of person-years on threads give the single-threaded figures, the
    same closing accumulators, and the same unknown maternity kinds in the same order."""
    persons, enrollments, claims = city
    policy = load_policy("360400")
    monkeypatch.setattr(kernel, "PARALLEL_MIN_CLAIMS", 10**12)
    alone = settle(policy, persons, enrollments, claims)
    monkeypatch.setattr(kernel, "PARALLEL_MIN_CLAIMS", 1)
    monkeypatch.setattr(kernel, "_CHUNKS_PER_THREAD", 40)  # many small chunks
    threaded = settle(policy, persons, enrollments, claims)
    assert threaded.results.equals(alone.results)
    assert threaded.closing.equals(alone.closing)
    # a maternity kind the lump-sum table lacks on every 37th claim, across many chunks
    odd = pl.int_range(pl.len()) % 37 == 0
    births = claims.with_columns(
        visit_type=pl.when(odd).then(pl.lit("maternity")).otherwise(pl.col("visit_type")),
        maternity_kind=pl.when(odd).then(pl.lit("twins?")).otherwise(pl.col("maternity_kind")))
    errors = []
    for least in (10**12, 1):
        monkeypatch.setattr(kernel, "PARALLEL_MIN_CLAIMS", least)
        with pytest.raises(InputError) as caught:
            settle(policy, persons, enrollments, births)
        errors.append([(p.code, p.record) for p in caught.value.problems])
    assert errors[0] == errors[1]
    assert {code for code, _ in errors[0]} == {"UNKNOWN_MATERNITY_KIND"}
    assert len(errors[0]) > 10


def test_one_person_alone_settles_as_in_the_batch(city: tuple[pl.DataFrame, ...]) -> None:
    """Each person's claims settled on their own (tiny paths) equal their rows of the batch
    (vectorised paths)."""
    persons, enrollments, claims = city
    policy = load_policy("360400")
    batch = settle(policy, persons, enrollments, claims).results
    for pid in claims["person_id"].unique(maintain_order=True).head(40):
        own = claims.filter(pl.col("person_id") == pid)
        alone = settle(policy, persons.filter(pl.col("person_id") == pid),
                       enrollments.filter(pl.col("person_id") == pid), own).results
        assert alone.equals(batch.filter(pl.col("person_id") == pid)), pid


def _ratio_change_policy() -> Policy:
    """The test city with the level-1 inpatient ratio 0.9 until June and 0.7 from 1 July."""
    base = read_region_file(ROOT / "tests" / "fixtures" / "test_city.yaml")
    key = "basic.inpatient.ratio"
    entries = tuple(Entry(day, parse_value(key, raw), raw, "test")
                    for day, raw in ((dt.date(2023, 1, 1), {1: 0.9, 2: 0.8, 3: 0.6}),
                                     (dt.date(2023, 7, 1), {1: 0.7, 2: 0.8, 3: 0.6})))
    return Policy((dataclasses.replace(base, parameters={**base.parameters, key: entries}),))


def _one_admission(person: str, day: dt.date) -> tuple[pl.DataFrame, ...]:
    persons = pl.DataFrame({"person_id": [person], "sex": ["F"],
                            "birth_date": [dt.date(1980, 1, 1)], "region": ["999900"],
                            "categories": [[]], "chronic": [[]]},
                           schema={k: v for k, v in PERSONS.schema.items()
                                   if k in ("person_id", "sex", "birth_date", "region",
                                            "categories", "chronic")})
    persons = persons.with_columns(pl.lit(None, pl.String).alias("id_number"),
                                   pl.lit(None, pl.Date).alias("death_date"))
    enrollments = pl.DataFrame({"person_id": [person], "year": [2023], "region": ["999900"],
                                "scheme": ["resident"], "paid_date": [dt.date(2022, 12, 1)],
                                "contribution_paid": [38000], "repaid_years": [0],
                                "employee_end_date": [None]}, schema=ENROLLMENTS.schema)
    claims = pl.DataFrame({"claim_id": [f"{person}-1"], "person_id": [person],
                           "facility_id": ["H1"], "facility_level": [1],
                           "visit_type": ["inpatient"], "chronic_disease": [None],
                           "maternity_kind": [None], "admit_date": [day], "settle_date": [day],
                           "total": [1_020_000], "self_pay": [0], "class_b_self_pay": [0],
                           "out_of_region": [False], "diagnosis": ["K35"], "procedure": [None],
                           "procedure_kind": [None]}, schema=CLAIMS.schema)
    return persons, enrollments, claims


def test_cached_terms_follow_a_change_inside_the_year() -> None:
    """One Policy object settles a March admission (caching the first half-year's tables),
    then an August one: 10,200 yuan at level 1, deductible 200 → (10200 − 200) × 0.9 = 9000
    in March and (10200 − 200) × 0.7 = 7000 in August."""
    policy = _ratio_change_policy()
    march = settle(policy, *_one_admission("A", dt.date(2023, 3, 1))).results
    august = settle(policy, *_one_admission("B", dt.date(2023, 8, 1))).results
    assert march.select("deductible", "basic").row(0) == (20_000, 900_000)
    assert august.select("deductible", "basic").row(0) == (20_000, 700_000)
    # the cache keys on the change dates passed, not the day
    assert policy_terms(policy, 2023, dt.date(2023, 3, 1)) is policy_terms(
        policy, 2023, dt.date(2023, 6, 30))
    assert policy_terms(policy, 2023, dt.date(2023, 7, 1)) is not policy_terms(
        policy, 2023, dt.date(2023, 6, 30))


def test_a_prepared_claim_side_settles_alike_under_other_policies(
        city: tuple[pl.DataFrame, ...]) -> None:
    """One ``claim_side`` of the frames, passed back under the city's policy, the stress
    variant (other diseases, maternity kinds, deductibles, caps) and the city's again, gives
    what a plain ``settle`` gives, results, closing and trace; other frames are refused."""
    from yibao.engine.settlement import claim_side

    persons, enrollments, claims = city
    city_policy = load_policy("360400")
    stress = load_policy(ROOT / "benchmarks" / "policies" / "360400-stress.yaml")
    prepared = claim_side(persons, enrollments, claims)
    for policy in (city_policy, stress, city_policy):
        plain = settle(policy, persons, enrollments, claims, trace=True)
        fast = settle(policy, persons, enrollments, claims, trace=True, prepared=prepared)
        assert fast.results.equals(plain.results) and fast.closing.equals(plain.closing)
        assert fast.trace is not None and plain.trace is not None
        assert fast.trace.equals(plain.trace)
    with pytest.raises(ValueError, match="other frames"):
        settle(city_policy, persons, enrollments, claims.head(50), prepared=prepared)

def test_the_claims_amounts_are_left_alone(city: tuple[pl.DataFrame, ...]) -> None:
    """settle() writes oop, policy_scope and deductible over its own copies of the amounts,
    never over the frame's (a one-chunk column could be handed out without a copy)."""
    persons, enrollments, claims = city
    amounts = ("total", "self_pay", "class_b_self_pay")
    claims = claims.rechunk()
    before = {c: claims[c].to_list() for c in amounts}
    results = settle(load_policy("360400"), persons, enrollments, claims).results
    assert {c: claims[c].to_list() for c in amounts} == before
    assert results["oop"].to_list() != before["total"]  # the copies did change


def test_the_settled_claim_columns_are_all_that_settling_reads(
        city: tuple[pl.DataFrame, ...]) -> None:
    """The CLI settles `claims.select(CLAIM_COLUMNS)`: the same figures as the whole frame."""
    persons, enrollments, claims = city
    policy = load_policy("360400")
    kept = claims.select(CLAIM_COLUMNS)
    assert kept.width < claims.width
    _same_settlements(policy, persons, enrollments, claims, kept)


def _same_settlements(policy: Policy, persons: pl.DataFrame, enrollments: pl.DataFrame,
                      claims: pl.DataFrame, other: pl.DataFrame) -> None:
    """settle and settle_claims give ``other`` the results, closing and summary of
    ``claims``."""
    for run in (settle, settle_claims):
        first, second = (run(policy, persons, enrollments, c) for c in (claims, other))
        assert second.results.equals(first.results)
        assert second.closing.equals(first.closing)
    assert summarise(other, settle(policy, persons, enrollments, other).results).equals(
        summarise(claims, settle(policy, persons, enrollments, claims).results))


def test_claim_codes_settle_as_their_text(city: tuple[pl.DataFrame, ...]) -> None:
    """A batch read holds visit_type, chronic_disease and maternity_kind as Enums
    (`read_claims(codes=True)`), whose categories need not be the policy's: the same figures,
    closing accumulators and summary as the text."""
    from yibao.io.readers import CODE_COLUMNS

    persons, enrollments, claims = city
    policy = load_policy("360400")
    kept = claims.select(CLAIM_COLUMNS)

    def enum(name: str) -> pl.Expr:
        values = kept[name].drop_nulls().unique().to_list()
        return pl.col(name).cast(pl.Enum(sorted({*values, "ZZ-not-a-policy-value"})))

    coded = kept.with_columns(enum(c) for c in CODE_COLUMNS)
    assert isinstance(coded.schema["chronic_disease"], pl.Enum)
    _same_settlements(policy, persons, enrollments, kept, coded)
