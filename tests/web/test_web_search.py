"""Person search: a pattern finds exactly the persons whose 身份证号 it matches, on SQLite and
PostgreSQL; and an upload's name can never leave its job folder."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from yibao.io.idcard import check_char
from yibao.store.db import make_engine, upgrade
from yibao.store.models import Person
from yibao.web.jobs import safe_name
from yibao.web.search import search_persons


def _api_support() -> ModuleType:
    """The API tests' helpers (a PostgreSQL database per use), loaded by path."""
    path = Path(__file__).parents[1] / "api" / "api_support.py"
    spec = importlib.util.spec_from_file_location("api_support", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get("api_support") or importlib.util.module_from_spec(spec)
    if "api_support" not in sys.modules:
        spec.loader.exec_module(module)
    return module


postgres_database = _api_support().postgres_database


def id_number(seed: int) -> str:
    first17 = f"3604{seed % 100:02d}19{seed % 90 + 10:02d}0{seed % 9 + 1}{seed % 28 + 1:02d}" \
              f"{seed % 1000:03d}"
    return first17 + check_char(first17)


IDS = [id_number(s) for s in range(0, 4000, 37)]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'yibao.db'}"
        yield from _filled(url)
        return
    with postgres_database() as url:
        yield from _filled(url)


def _filled(url: str) -> Iterator[Engine]:
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        s.execute(delete(Person))
        s.add_all(Person(person_id=f"P{i:05d}", id_number=n, sex="F",
                         birth_date=dt.date(1970, 1, 1), death_date=None, region="360402",
                         categories="", chronic="") for i, n in enumerate(IDS))
    yield engine
    engine.dispose()


def matches(pattern: str, value: str) -> bool:
    """The search's rule, stated plainly: in an 18-character pattern each * is one character,
    in a shorter one a run of any length; ? is one character."""
    star = "." if len(pattern) == 18 else ".*"
    rx = "".join(star if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.upper())
    return re.fullmatch(rx, value) is not None


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(IDS), st.sets(st.integers(0, 17), max_size=12), st.booleans())
def test_a_masked_pattern_finds_exactly_its_matches(engine: Engine, target: str,
                                                     hidden: set[int], short: bool) -> None:
    pattern = "".join("*" if i in hidden else c for i, c in enumerate(target))
    if short:  # the masked form's run of stars written as one
        pattern = re.sub(r"\*+", "*", pattern)
    if "*" not in pattern:
        pattern = target
    with Session(engine) as s:
        found = {p.id_number for p in search_persons(s, pattern)}
    expected = {n for n in IDS if matches(pattern, n)} if "*" in pattern else {target}
    if len(expected) <= 50:
        assert found == expected
    else:  # the first 50 matches only
        assert len(found) == 50 and found <= expected


def test_person_id_prefix_and_nothing_for_junk(engine: Engine) -> None:
    with Session(engine) as s:
        assert [p.person_id for p in search_persons(s, "P0001")][:3] == [
            "P00010", "P00011", "P00012"]
        assert search_persons(s, "") == [] and search_persons(s, "'; drop table persons") == []


@given(st.text(max_size=200))
@example(".\x00")  # a NUL after the last dot once came through into the name
@example("a." + "x" * 150)
def test_an_upload_name_stays_a_plain_file_name(name: str) -> None:
    safe = safe_name(name)
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in (".", "..") and len(safe) <= 120
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".parquet", ".jsonl") and Path(name).stem.strip("."):
        assert safe.endswith(suffix)
