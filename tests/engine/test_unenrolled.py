"""A claim of a person with no enrolment at all in the year settles as NOT_ENROLLED.

Regression: with benefit starts worked out (settle_claims), a batch in which no claim's
person-year had an enrolment left the person-year terms empty and the kernel preparation
indexed into the empty frame.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from yibao.engine.person_years import settle_claims
from yibao.policy import load_policy


def test_claim_without_any_enrolment_is_not_enrolled() -> None:
    persons = pl.DataFrame(
        {"person_id": ["P1"], "id_number": [None], "sex": ["F"],
         "birth_date": [dt.date(1980, 1, 1)],
         "death_date": [None], "region": ["360402"], "categories": [[]], "chronic": [[]]},
        schema_overrides={"id_number": pl.String, "death_date": pl.Date,
                          "categories": pl.List(pl.String), "chronic": pl.List(pl.String)})
    enrollments = pl.DataFrame(schema={
        "person_id": pl.String, "year": pl.Int32, "region": pl.String, "scheme": pl.String,
        "paid_date": pl.Date, "contribution_paid": pl.Int64, "repaid_years": pl.Int32,
        "employee_end_date": pl.Date})
    claims = pl.DataFrame({
        "claim_id": ["C1"], "person_id": ["P1"], "facility_id": ["F1"], "facility_level": [3],
        "visit_type": ["inpatient"], "chronic_disease": [None], "maternity_kind": [None],
        "admit_date": [dt.date(2023, 3, 1)], "settle_date": [dt.date(2023, 3, 5)],
        "total": [1_000_000], "self_pay": [0], "class_b_self_pay": [0], "out_of_region": [False],
        "diagnosis": ["K35.8"], "procedure": [None], "procedure_kind": [None]},
        schema_overrides={"facility_level": pl.Int8, "chronic_disease": pl.String,
                          "maternity_kind": pl.String, "procedure": pl.String,
                          "procedure_kind": pl.String})
    row = settle_claims(load_policy("360400"), persons, enrollments, claims).results.row(
        0, named=True)
    # SPEC §5.1: not enrolled → every payer 0, oop the whole 10000.00
    assert (row["covered"], row["reason"], row["basic"], row["oop"]) == (
        False, "NOT_ENROLLED", 0, 1_000_000)
