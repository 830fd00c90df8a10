"""Person rows for records in (or out of) the persons' order: `engine.follow.Follower`.

Every person_id here is ``P<row>``, so the expected row of a record is the number in its id;
each path of the lookup is driven on purpose — records in the persons' order (the window),
a new year starting over from the first person (the anchors), a few records out of place (the
one pass over the persons) and records in no order at all (the hash table) — and must give
the same rows, and the same UNKNOWN_PERSON errors, as `order.person_index`.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.engine.follow import Follower, hash_exprs
from yibao.engine.order import person_index
from yibao.errors import InputError

N = 1000
IDS = pl.Series("person_id", [f"P{r}" for r in range(N)])


def ids(rows: list[int] | np.ndarray) -> pl.Series:
    return pl.Series("person_id", [f"P{r}" for r in rows], pl.String)


def test_records_by_year_then_person() -> None:
    # five years, each a sorted subset of the persons with gaps of up to 20 rows (beyond the
    # window of 16: found through the anchors, or by the pass over the persons)
    rng = np.random.default_rng(1)
    rows = np.concatenate([np.sort(rng.choice(N, 700, replace=False)) for _ in range(5)])
    assert (Follower(IDS)(ids(rows), "enrollments") == rows).all()


def test_records_in_no_order_and_a_few_out_of_place() -> None:
    rng = np.random.default_rng(2)
    shuffled = rng.permutation(np.repeat(np.arange(N), 3))  # the hash table's path
    assert (Follower(IDS)(ids(shuffled), "results") == shuffled).all()
    few = np.arange(N)
    few[[10, 500]] = few[[500, 10]]  # two out of place: the pass over the persons
    assert (Follower(IDS)(ids(few), "results") == few).all()


def test_a_stretch_out_of_order() -> None:
    # 800 records in order, then 200 in random order: more left over than one pass over the
    # persons takes (1000 // 16), fewer than half: those 200 go through the hash table
    rng = np.random.default_rng(3)
    rows = np.concatenate([np.arange(800), rng.permutation(np.arange(800, N))])
    keep = np.ones(N, bool)
    keep[::7] = False
    assert (Follower(IDS)(ids(rows), "results") == rows).all()
    assert (Follower(IDS)(ids(rows), "results", keep) == rows[keep]).all()
    with pytest.raises(InputError) as ours:
        Follower(IDS)(ids(rows).scatter(950, "Q1"), "results", keep)
    with pytest.raises(InputError) as theirs:
        person_index(IDS, ids(rows).scatter(950, "Q1").filter(pl.Series(keep)), "results")
    assert str(ours.value) == str(theirs.value)


def test_keep_and_given_hashes() -> None:
    rows = np.arange(0, N, 3)
    keep = rows % 2 == 0
    wanted = ids(rows)
    got = Follower(IDS)(wanted, "enrollments", keep)
    assert (got == rows[keep]).all()
    frame = pl.DataFrame({"person_id": wanted})
    h = frame.select(hash_exprs("person_id"))
    again = Follower(IDS)(wanted, "enrollments", keep,
                          (h["_hash_a"].to_numpy(), h["_hash_b"].to_numpy()))
    assert (again == rows[keep]).all()


@pytest.mark.parametrize("wanted", [
    ["P1", "P2", "Q7", "P3"],                       # in order, one unknown
    ["P900", "P3", "Q7", "P5", "Q8"] + [f"P{r}" for r in range(300, 0, -1)],  # no order
    ["P1", None, "P2"],                             # a null id
])
def test_unknown_ids_are_the_same_error(wanted: list[str | None]) -> None:
    s = pl.Series("person_id", wanted, pl.String)
    with pytest.raises(InputError) as ours:
        Follower(IDS)(s, "claims")
    with pytest.raises(InputError) as theirs:
        person_index(IDS, s, "claims")
    assert str(ours.value) == str(theirs.value)
    assert "UNKNOWN_PERSON" in str(ours.value)


@pytest.mark.parametrize("wanted", [["P3", "Q7"], ["P1", None]])
def test_a_few_persons_in_a_dict(wanted: list[str | None]) -> None:
    # up to 64 persons (one person online) are looked up in a dict: same rows, same errors
    few = ids(list(range(40)))
    assert (Follower(few)(ids([39, 0, 7, 7]), "claims") == [39, 0, 7, 7]).all()
    assert (Follower(few)(ids([5, 6, 7]), "claims", np.array([True, False, True])) == [5, 7]).all()
    s = pl.Series("person_id", wanted, pl.String)
    with pytest.raises(InputError) as ours:
        Follower(few)(s, "claims")
    with pytest.raises(InputError) as theirs:
        person_index(few, s, "claims")
    assert str(ours.value) == str(theirs.value)


def test_empty() -> None:
    assert Follower(IDS)(ids([]), "claims").size == 0
    assert Follower(ids([]))(ids([]), "claims").size == 0


@given(st.lists(st.integers(0, 199), max_size=300), st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_any_order_gives_the_rows(rows: list[int], runs: int) -> None:
    # property: sorting some stretches (as exports do) or none never changes the answer
    persons = ids(list(range(200)))
    r = np.array(rows, np.int64)
    for k in range(runs):
        part = slice(k * r.size // 4, (k + 1) * r.size // 4)
        r[part] = np.sort(r[part])
    assert (Follower(persons)(ids(r), "enrollments") == r).all()


def test_many_records_in_no_order_go_to_the_table() -> None:
    # 10 000 shuffled records (more than the 4096 followed before giving up on the order): the
    # rows come from the table over the persons' hashes; an unknown id is PersonRows's error
    rng = np.random.default_rng(4)
    shuffled = rng.permutation(np.repeat(np.arange(N), 10))
    keep = rng.random(shuffled.size) < 0.8
    assert (Follower(IDS)(ids(shuffled), "results") == shuffled).all()
    assert (Follower(IDS)(ids(shuffled), "results", keep) == shuffled[keep]).all()
    bad = ids(shuffled).scatter(7000, "Q1")
    with pytest.raises(InputError) as ours:
        Follower(IDS)(bad, "results")
    with pytest.raises(InputError) as theirs:
        person_index(IDS, bad, "results")
    assert str(ours.value) == str(theirs.value)
