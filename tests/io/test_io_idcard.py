"""身份证号 helpers: GB 11643 check digit and masking, worked by hand and by property."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from yibao.io import mask_id_number, valid_id_number
from yibao.io.idcard import check_char, yyyymmdd
from yibao.io.report import scrub

# 11010519491231002X: Σ dᵢ·Wᵢ = 167 (7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4), 167 mod 11 = 2 -> "X".
# 440524188001010014: Σ = 195 (28+36+0+25+16+16+2+8+48+0+0+9+0+5+0+0+2), 195 mod 11 = 8 -> "4".
KNOWN_VALID = ["11010519491231002X", "440524188001010014"]


def test_known_numbers() -> None:
    for number in KNOWN_VALID:
        assert valid_id_number(number)
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"


def test_lower_case_x_and_blanks_accepted() -> None:
    assert valid_id_number(" 11010519491231002x ")


def test_wrong_forms() -> None:
    assert not valid_id_number("110105194912310021")  # check should be X
    assert not valid_id_number("11010519491231002")  # 17 characters
    assert not valid_id_number("11010519491231002XX")
    assert not valid_id_number("1101051949123100AX")
    assert not valid_id_number("１１０１０５１９４９１２３１００２X")  # full-width digits
    assert not valid_id_number("")


def test_mask() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("440524188001010014") == "440524********0014"
    assert mask_id_number("1234567890") == "**********"  # too short to show any of it
    assert mask_id_number("") == ""


seventeen = st.text(alphabet="0123456789", min_size=17, max_size=17)


@given(seventeen)
def test_built_numbers_are_valid(first: str) -> None:
    assert valid_id_number(first + check_char(first))


@given(seventeen, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_any_one_digit_changed_is_invalid(first: str, position: int, shift: int) -> None:
    """Weights are nonzero mod 11 and 11 is prime, so changing one digit always changes the sum
    mod 11, hence the check character."""
    number = first + check_char(first)
    digit = (int(number[position]) + shift) % 10
    changed = number[:position] + str(digit) + number[position + 1 :]
    assert not valid_id_number(changed)


@given(seventeen)
def test_mask_keeps_six_and_four(first: str) -> None:
    number = first + check_char(first)
    masked = mask_id_number(number)
    assert masked[:6] == number[:6] and masked[-4:] == number[-4:] and masked[6:14] == "*" * 8


def test_yyyymmdd_matches_the_calendar() -> None:
    start = dt.date(1900, 1, 1)
    days = np.arange(
        (start - dt.date(1970, 1, 1)).days, (dt.date(2201, 1, 1) - dt.date(1970, 1, 1)).days, 13
    )
    expected = [
        int((dt.date(1970, 1, 1) + dt.timedelta(days=int(d))).strftime("%Y%m%d")) for d in days
    ]
    assert yyyymmdd(days.astype(np.int64)).tolist() == expected
    assert yyyymmdd(np.array([0, 59, 11016], dtype=np.int64)).tolist() == [
        19700101,
        19700301,
        20000229,
    ]


def test_scrub_masks_numbers_inside_other_text() -> None:
    text = "person_id 'P11010519491231002X', id 11010519491231002x, old 110105491231002"
    assert scrub(text) == (
        "person_id 'P110105********002X', id 110105********002x, old 110105*****1002"
    )


def test_scrub_leaves_longer_digit_runs() -> None:
    claim = "C36040020230086806571"  # 20 digits: no window of it is an id number
    assert scrub(claim) == claim
