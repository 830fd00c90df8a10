"""The parameter loader (SPEC §3): errors name the file and key; inheritance; dated resolution."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.errors import PolicyError, Problem
from yibao.policy import load_policy, read_region_file

D = dt.date.fromisoformat


def region_file(tmp_path: Path, parameters: str, *, region: str = "360402",
                parent: str | None = "360400", name: str = "city.yaml") -> Path:
    """Write a region file whose ``parameters:`` block is ``parameters`` (already indented)."""
    head = f'region: "{region}"\nname: 测试区\n'
    if parent is not None:
        head += f'parent: "{parent}"\n'
    path = tmp_path / name
    path.write_text(head + "parameters:\n" + parameters, encoding="utf-8")
    return path


def problem_of(path: Path) -> Problem:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert len(info.value.problems) == 1
    return info.value.problems[0]


def assert_names(problem: Problem, path: Path, key: str, code: str) -> None:
    assert problem.code == code
    assert problem.record == str(path)
    assert key in problem.field
    assert str(path) in str(problem) and key in str(problem)


# ── errors at load time, each naming the file and the key ────────────────────────────────


def test_unknown_key(tmp_path: Path) -> None:
    path = region_file(tmp_path, """\
  basic.inpatient.deductibles:
    - from: 2023-01-01
      value: {1: 100, 2: 400, 3: 600}
      source: "illustrative"
""")
    assert_names(problem_of(path), path, "basic.inpatient.deductibles", "POLICY_UNKNOWN_KEY")


def test_unknown_sub_field(tmp_path: Path) -> None:
    path = region_file(tmp_path, """\
  outpatient.general:
    - from: 2023-01-01
      value: {deductible: {1: 0}, ratio: {1: 0.65}, annual_limt: 150}
      source: "illustrative"
""")
    problem = problem_of(path)
    assert_names(problem, path, "outpatient.general", "POLICY_BAD_VALUE")
    assert "annual_limt" in problem.message


@pytest.mark.parametrize("value", ["600", "{1: 100, 2: 400}", "[100, 400, 600]",
                                   "{1: 100, 2: 400, 3: 600, 4: 900}"])
def test_wrong_shape(tmp_path: Path, value: str) -> None:
    path = region_file(tmp_path, f"""\
  basic.inpatient.deductible:
    - from: 2023-01-01
      value: {value}
      source: "illustrative"
""")
    assert_names(problem_of(path), path, "basic.inpatient.deductible", "POLICY_BAD_VALUE")


def test_ratio_above_one(tmp_path: Path) -> None:
    path = region_file(tmp_path, """\
  basic.inpatient.ratio:
    - from: 2023-01-01
      value: {1: 1.05, 2: 0.80, 3: 0.65}
      source: "illustrative"
""")
    problem = problem_of(path)
    assert_names(problem, path, "basic.inpatient.ratio", "POLICY_BAD_VALUE")
    assert "between 0 and 1" in problem.message


def test_amount_with_three_decimals(tmp_path: Path) -> None:
    path = region_file(tmp_path, """\
  basic.annual_cap:
    - from: 2023-01-01
      value: 150000.005
      source: "illustrative"
""")
    problem = problem_of(path)
    assert_names(problem, path, "basic.annual_cap", "POLICY_BAD_VALUE")
    assert "more than 2 decimal places" in problem.message


def test_from_out_of_order(tmp_path: Path) -> None:
    path = region_file(tmp_path, """\
  basic.annual_cap:
    - from: 2024-01-01
      value: 160000
      source: "illustrative"
    - from: 2023-01-01
      value: 150000
      source: "illustrative"
""")
    problem = problem_of(path)
    assert_names(problem, path, "basic.annual_cap[1]", "POLICY_DATE_ORDER")
    assert "2023-01-01" in problem.message


def test_from_must_be_a_date(tmp_path: Path) -> None:
    path = region_file(tmp_path, """\
  basic.annual_cap:
    - from: "2023"
      value: 150000
      source: "illustrative"
""")
    assert_names(problem_of(path), path, "basic.annual_cap", "POLICY_INVALID")


@pytest.mark.parametrize("source_line", ["", '      source: "  "\n'])
def test_missing_source(tmp_path: Path, source_line: str) -> None:
    path = region_file(tmp_path, """\
  basic.annual_cap:
    - from: 2023-01-01
      value: 150000
""" + source_line)
    problem = problem_of(path)
    assert_names(problem, path, "basic.annual_cap", "POLICY_INVALID")
    assert "source" in problem.message


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    path = region_file(tmp_path, """\
  basic.annual_cap:
    - from: 2023-01-01
      value: 150000
      source: "illustrative"
  basic.annual_cap:
    - from: 2024-01-01
      value: 160000
      source: "illustrative"
""")
    problem = problem_of(path)
    assert problem.code == "POLICY_YAML"
    assert problem.record == str(path)
    assert "duplicate key 'basic.annual_cap'" in problem.message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = region_file(tmp_path, "  {}\nparameter: {}\n")
    assert_names(problem_of(path), path, "parameter", "POLICY_INVALID")


def test_bad_region_code(tmp_path: Path) -> None:
    path = region_file(tmp_path, "  {}\n", region="3604")
    assert_names(problem_of(path), path, "region", "POLICY_INVALID")


def test_parent_that_does_not_exist(tmp_path: Path) -> None:
    path = region_file(tmp_path, "  {}\n", parent="369900")
    problem = problem_of(path)
    assert_names(problem, path, "parent", "POLICY_UNKNOWN_REGION")
    assert "369900" in problem.message


def test_parent_is_itself(tmp_path: Path) -> None:
    path = region_file(tmp_path, "  {}\n", region="360402", parent="360402")
    problem = problem_of(path)
    assert_names(problem, path, "parent", "POLICY_INVALID")
    assert "loops" in problem.message


def test_parent_loop_through_shipped_files(tmp_path: Path) -> None:
    # A "national" file under 九江 loops: 000000 → 360400 → 360000 → 000000.
    path = region_file(tmp_path, "  {}\n", region="000000", parent="360400")
    problem = problem_of(path)
    assert_names(problem, path, "parent", "POLICY_INVALID")
    assert "000000 → 360400 → 360000 → 000000" in problem.message


def test_missing_parameter_names_key_regions_and_date() -> None:
    resolved = load_policy("360400").resolve(D("2022-06-30"))
    with pytest.raises(PolicyError) as info:
        resolved.get("basic.annual_cap")
    problem = info.value.problems[0]
    assert problem.code == "POLICY_MISSING"
    assert problem.field == "basic.annual_cap"
    assert "basic.annual_cap" in problem.message
    assert "360400 → 360000 → 000000" in problem.message
    assert "2022-06-30" in problem.message
    assert not resolved.has("basic.annual_cap")


def test_unknown_key_at_resolution() -> None:
    with pytest.raises(PolicyError) as info:
        load_policy("360400").resolve(D("2023-06-01")).get("basic.annual_capp")
    assert info.value.code == "POLICY_UNKNOWN_KEY"


# ── inheritance and dated resolution ─────────────────────────────────────────────────────


def test_a_city_file_sets_only_what_differs(tmp_path: Path) -> None:
    path = region_file(tmp_path, """\
  basic.annual_cap:
    - from: 2024-01-01
      value: 200000
      source: "illustrative; test district"
""")
    policy = load_policy(path)
    assert [rf.region for rf in policy.chain] == ["360402", "360400", "360000", "000000"]
    r = policy.resolve(D("2024-06-01"))
    cap = r.provenance("basic.annual_cap")
    assert (cap.value, cap.region) == (20_000_000, "360402")
    assert cap.source == "illustrative; test district"
    # everything else comes from the shipped chain
    assert r.provenance("basic.inpatient.deductible").region == "360400"
    assert r.provenance("major.cap").region == "360000"
    assert r.provenance("financing.fiscal_subsidy").region == "000000"
    # before the city's own entry, its parent's value applies
    assert policy.resolve(D("2023-12-31")).provenance("basic.annual_cap").region == "360400"


def test_value_switches_exactly_on_its_from_date(tmp_path: Path) -> None:
    path = region_file(tmp_path, """\
  basic.annual_cap:
    - from: 2024-01-01
      value: 200000
      source: "illustrative; first"
    - from: 2024-07-01
      value: 210000.50
      source: "illustrative; second"
""")
    policy = load_policy(path)
    assert policy.resolve(D("2024-06-30")).get("basic.annual_cap") == 20_000_000
    after = policy.resolve(D("2024-07-01")).provenance("basic.annual_cap")
    assert (after.value, after.start, after.source) == (21_000_050, D("2024-07-01"),
                                                        "illustrative; second")


def test_shipped_value_switches_on_its_from_date() -> None:
    policy = load_policy("150000")
    assert policy.resolve(D("2023-12-31")).get("financing.individual_contribution") == 38000
    assert policy.resolve(D("2024-01-01")).get("financing.individual_contribution") == 40000


def test_a_newer_parent_entry_supersedes_an_older_child_entry(tmp_path: Path) -> None:
    # SPEC §3: the entry with the latest `from` ≤ date anywhere in the chain applies, so the
    # national 2025 rule (per_break_year_months 1 from 2025-01-01 in 000000) replaces the
    # district's 2023 value from 2025, while 2024 still sees the district's own value.
    path = region_file(tmp_path, """\
  enrollment.waiting.per_break_year_months:
    - from: 2023-01-01
      value: 0
      source: "illustrative; test district"
""")
    policy = load_policy(path)
    key = "enrollment.waiting.per_break_year_months"
    p = policy.resolve(D("2025-06-01")).provenance(key)
    assert (p.value, p.region) == (1, "000000")
    p = policy.resolve(D("2024-12-31")).provenance(key)
    assert (p.value, p.region) == (0, "360402")


def test_on_equal_dates_the_nearest_region_wins(tmp_path: Path) -> None:
    # Both the district and 000000 have an entry from 2025-01-01: the district's applies.
    path = region_file(tmp_path, """\
  enrollment.waiting.per_break_year_months:
    - from: 2025-01-01
      value: 2
      source: "illustrative; test district"
""")
    p = load_policy(path).resolve(D("2025-06-01")).provenance(
        "enrollment.waiting.per_break_year_months")
    assert (p.value, p.region) == (2, "360402")


def test_yuan_and_ratios_become_fen_and_basis_points(tmp_path: Path) -> None:
    path = region_file(tmp_path, """\
  assistance.categories:
    - from: 2024-01-01
      value:
        monitor: {deductible: 2875.30, ratio: 0.7, cap: 30000}
        tekun: {deductible: 0, ratio: 1, cap: null}
      source: "illustrative"
""")
    rf = read_region_file(path)
    entry = rf.parameters["assistance.categories"][0]
    assert list(entry.value) == ["monitor", "tekun"]  # order kept: the first held applies
    assert (entry.value["monitor"].deductible, entry.value["monitor"].ratio) == (287530, 7000)
    assert entry.value["tekun"].cap is None
    assert entry.raw["monitor"]["deductible"] == 2875.30
