"""The one-claim validator of online settlement accepts, types and rejects a body exactly as
``records_frame`` (the file readers' rules) does: the same frame, or the same problems."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.errors import InputError
from yibao.io import CLAIMS, records_frame
from yibao.store import claim_input
from yibao.store.claim_input import validate_claim

GOOD: dict[str, Any] = {
    "claim_id": "C1", "person_id": "P1", "facility_id": "F1", "facility_level": 3,
    "visit_type": "inpatient", "admit_date": "2023-03-01", "settle_date": "2023-03-05",
    "total": "12345.60", "self_pay": "100", "class_b_self_pay": 0.5, "out_of_region": False,
    "diagnosis": "C34.9"}
#: per field, values good and bad (wrong form, range, decimals, sign, case, blanks)
CHOICES: dict[str, list[Any]] = {
    "claim_id": ["C1", "C2", " C3 ", "", "x" * 65],
    "person_id": ["P1", "P2", None],
    "facility_level": [1, 3, "2", 0, 4, "2.0", "two", 2.5],
    "visit_type": ["inpatient", "Outpatient", "chronic", "maternity", "dental", ""],
    "chronic_disease": [None, "hypertension", ""],
    "maternity_kind": [None, "normal", ""],
    "admit_date": ["2023-03-01", "2023-02-30", "2023/03/01", "1899-12-31", None],
    "settle_date": ["2023-03-05", "2023-02-28", "20230305"],
    "total": ["12345.60", 12345.6, "0", "-1.00", "1.234", "1e3", "12,00", 10**13, True],
    "self_pay": ["100", "0.00", "99999.99", ".5", "+3"],
    "class_b_self_pay": [0.5, "0", "abc", None],
    "out_of_region": [False, True, "TRUE", "0", 2, "no"],
    "diagnosis": ["C34.9", "c34.9", "K35.800X001", "ZZZ", ""],
    "procedure": [None, "x"],
    "procedure_kind": [None, "surgery", "Surgery", "magic"],
}


def _outcome(body: dict[str, Any], check: Any) -> Any:
    try:
        return check(body)
    except InputError as exc:
        return [(p.code, p.record, p.field, p.message) for p in exc.problems]


def _same(body: dict[str, Any]) -> None:
    lean = _outcome(body, validate_claim)
    full = _outcome(body, lambda b: records_frame([b], CLAIMS, "/claim"))
    if isinstance(full, list):
        assert lean == full
    else:
        assert not isinstance(lean, list) and lean.equals(full)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CHOICES.items()}),
       st.booleans())
def test_lean_validation_equals_the_readers(changes: dict[str, Any], remembered: bool) -> None:
    if not remembered:  # also with nothing remembered from earlier examples
        for memo in claim_input._memo.values():
            memo.clear()
    _same({**GOOD, **{k: v for k, v in changes.items() if v is not None or k in GOOD}})


@pytest.mark.parametrize("body", [
    {**GOOD, "extra": 1},  # unknown field
    {k: v for k, v in GOOD.items() if k != "total"},  # missing required field
    {**GOOD, "self_pay": "20000.00"},  # cross-field: self_pay + class_b > total
    {**GOOD, "visit_type": "chronic"},  # chronic without chronic_disease
])
def test_rejections_are_the_readers(body: dict[str, Any]) -> None:
    _same(body)
    with pytest.raises(InputError):
        validate_claim(body)


def test_a_good_body_is_typed_in_fen() -> None:
    row = validate_claim(GOOD).row(0, named=True)
    assert (row["total"], row["self_pay"], row["class_b_self_pay"]) == (1234560, 10000, 50)


def _valid(field: str, value: Any) -> bool:
    body = {**GOOD, field: value}
    if value is None:
        body.pop(field)
    try:
        records_frame([body], CLAIMS, "/claim")
    except InputError:
        return False
    return True


#: the values that are good on their own (a body of them may still break a cross-field rule)
VALID = {k: [v for v in values if _valid(k, v)] for k, values in CHOICES.items()}


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in VALID.items()}))
def test_good_bodies_are_typed_as_the_readers_type_them(changes: dict[str, Any]) -> None:
    _same({**GOOD, **{k: v for k, v in changes.items() if v is not None or k in GOOD}})


#: ids and amounts as a desk system may write them: the plain forms typed without the
#: parsers, and their near misses (blanks, non-ASCII, too long, signs, three decimals …)
IDS = st.one_of(st.from_regex(r"[!-~]{1,70}", fullmatch=True), st.text(max_size=70),
                st.integers(-10, 10**12),
                st.sampled_from([" C1", "C1 ", "C 1", "C1\t", "\u3000C1", "x" * 64, "é" * 33]))
AMOUNTS = st.one_of(st.from_regex(r" ?[+-]?[0-9]{0,14}(\.[0-9]{0,3})? ?", fullmatch=True),
                    st.integers(0, 10**15), st.sampled_from(["99999999999.99", "1e2", "٣"]))


@settings(max_examples=400, deadline=None)
@given(IDS, IDS, AMOUNTS, AMOUNTS, AMOUNTS)
def test_plain_ids_and_amounts_are_typed_as_the_readers(
        claim_id: Any, facility_id: Any, total: Any, self_pay: Any, class_b: Any) -> None:
    _same({**GOOD, "claim_id": claim_id, "facility_id": facility_id, "total": total,
           "self_pay": self_pay, "class_b_self_pay": class_b})
