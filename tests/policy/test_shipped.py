"""The shipped parameter files (SPEC §3, §10): complete chains, the seeds' figures, sources."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from yibao.policy import Resolved, load_policy, read_region_file, shipped_regions
from yibao.policy.loader import DATA_DIR
from yibao.policy.model import PARAMETERS

D = dt.date.fromisoformat

#: Each region that settles claims on its own, from its first year.
FIRST_DATE = {
    "370000": D("2021-01-01"),
    "150000": D("2023-01-01"),
    "360000": D("2023-01-01"),
    "360400": D("2023-01-01"),
}
PARENT = {"000000": None, "370000": "000000", "150000": "000000", "360000": "000000",
          "360400": "360000"}

#: What settlement (SPEC §5) reads.
SETTLEMENT_KEYS = [
    "basic.inpatient.deductible",
    "basic.inpatient.repeat_factor",
    "basic.inpatient.ratio",
    "basic.inpatient.out_of_region",
    "basic.annual_cap",
    "outpatient.general",
    "outpatient.chronic.diseases",
    "outpatient.chronic.deductible",
    "maternity.lump_sum",
    "major.deductible",
    "major.brackets",
    "major.bracket_basis",
    "major.include_basic_deductible",
    "major.cap",
    "major.visit_types",
    "major.tilt",
    "assistance.categories",
    "assistance.visit_types",
]
#: What enrolment, financing and fund monitoring (SPEC §6, §7) read.
OTHER_KEYS = [
    "financing.individual_contribution",
    "financing.fiscal_subsidy",
    "financing.central_share",
    "financing.provincial_share",
    "financing.region_class",
    "financing.major_illness_funding",
    "financing.assistance_subsidy",
    "enrollment.concentrated_period",
    "enrollment.waiting.fixed_months",
    "enrollment.waiting.per_break_year_months",
    "enrollment.waiting.free_break_years",
    "enrollment.waiting.long_break_years",
    "enrollment.waiting.long_break_min_months",
    "enrollment.waiting.exempt_categories",
    "enrollment.waiting.employee_grace_months",
    "region.disposable_income",
    "fund.alert",
]

#: A citation of a seed document by number (or, for Inner Mongolia's, which shows no number,
#: by title and date) followed by its clause; seed 004 is a news report without clauses.
_CLAUSE = r" (?:政策解读 )?(?:[一二三四五六七八九十]+|\([一二三四五六七八九十]+\))"
SEED_CITATION = re.compile(
    r"(?:医保发〔2023〕24号|鲁医保发〔2021〕42号|九府办发〔2023〕6号"
    r"|内蒙古《关于做好2023年城乡居民基本医疗保障工作的通知》\(2023-08-10\))" + _CLAUSE
    + r"|国办发〔2024〕38号 \(as reported, seed 004\)"
)


def at(region: str, day: str) -> Resolved:
    return load_policy(region).resolve(D(day))


def test_the_five_regions_are_shipped_with_their_parents() -> None:
    assert shipped_regions() == sorted(PARENT)
    for region, parent in PARENT.items():
        rf = read_region_file(DATA_DIR / f"{region}.yaml")
        assert rf.region == region, "a file's region must match its file name"
        assert rf.parent == parent
        assert rf.name


@pytest.mark.parametrize("region", sorted(FIRST_DATE))
@pytest.mark.parametrize("when", ["first", "2025-06-01"])
def test_every_region_settles_on_its_own(region: str, when: str) -> None:
    day = FIRST_DATE[region] if when == "first" else D(when)
    resolved = load_policy(region).resolve(day)
    for key in SETTLEMENT_KEYS + OTHER_KEYS:
        resolved.get(key)  # raises POLICY_MISSING naming the key if the chain lacks it
    assert resolved.get("financing.region_class") in resolved.get("financing.provincial_share")
    if day.year >= 2025:
        assert resolved.get("major.incentives").count_from == 2025


@pytest.mark.parametrize("region", sorted(FIRST_DATE))
def test_nothing_settles_before_a_region_starts(region: str) -> None:
    day = FIRST_DATE[region] - dt.timedelta(days=1)
    assert not load_policy(region).resolve(day).has("basic.inpatient.deductible")


def test_every_source_cites_a_seed_or_says_illustrative() -> None:
    for region in shipped_regions():
        rf = read_region_file(DATA_DIR / f"{region}.yaml")
        for key, entries in rf.parameters.items():
            for e in entries:
                where = f"{region} {key} from {e.start}: {e.source}"
                assert SEED_CITATION.search(e.source) or "illustrative" in e.source, where
                if "reported:" in e.source:  # a secondary source is never passed off as policy
                    assert "illustrative (reported:" in e.source, where


# ── the figures of SPEC §10, with where they come from ──────────────────────────────────────


def test_jiujiang_2023() -> None:
    r = at("360400", "2023-06-01")
    p = r.provenance("basic.inpatient.deductible")
    assert (p.value, p.region) == ({1: 10000, 2: 40000, 3: 60000}, "360400")
    assert "illustrative" in p.source
    p = r.provenance("basic.inpatient.ratio")
    assert (p.value, p.region) == ({1: 9000, 2: 8000, 3: 6500}, "360400")
    assert r.provenance("basic.inpatient.repeat_factor").region == "360000"
    assert r.get("basic.annual_cap") == 15_000_000
    general = r.get("outpatient.general")
    assert (general.ratio, general.annual_limit) == ({1: 6500}, 15000)
    p = r.provenance("financing.fiscal_subsidy")
    assert (p.value, p.region) == (64000, "000000")
    assert "医保发〔2023〕24号 一" in p.source
    p = r.provenance("financing.individual_contribution")
    assert (p.value, p.region) == (38000, "000000")
    p = r.provenance("financing.central_share")
    assert (p.value, p.region) == (6000, "360000")
    assert "24号 一" in p.source


def test_jiujiang_major_illness_is_the_province_schedule() -> None:
    r = at("360400", "2023-06-01")
    p = r.provenance("major.deductible")
    assert (p.value, p.region) == (1_500_000, "360000")
    assert "九府办发〔2023〕6号 (十三)" in p.source
    brackets = [(b.upto, b.ratio) for b in r.get("major.brackets")]
    assert brackets == [(5_000_000, 6000), (10_000_000, 6500), (None, 7500)]
    assert r.get("major.cap") == 35_000_000
    p = r.provenance("major.bracket_basis")
    assert (p.value, p.region) == ("above_deductible", "000000")
    p = r.provenance("major.include_basic_deductible")
    assert (p.value, p.region) == (True, "000000")
    assert "SPEC §10" in p.source
    tilt = r.get("major.tilt")
    assert list(tilt) == ["tekun", "dibao", "fanpin"]
    assert all((t.deductible_factor, t.ratio_delta, t.no_cap) == (5000, 500, True)
               for t in tilt.values())


def test_jiujiang_assistance_most_generous_first() -> None:
    p = at("360400", "2023-06-01").provenance("assistance.categories")
    assert p.region == "360400"
    terms = {c: (t.deductible, t.ratio, t.cap, t.second) for c, t in p.value.items()}
    assert list(terms) == ["tekun", "dibao", "fanpin", "monitor", "dibao_edge", "illness_poverty"]
    assert terms == {
        "tekun": (0, 10000, None, None),
        "dibao": (0, 7500, 5_000_000, None),
        "fanpin": (0, 7500, 5_000_000, None),
        "monitor": (287530, 7000, 3_000_000, None),
        "dibao_edge": (287530, 7000, 3_000_000, None),
        "illness_poverty": (718825, 5000, 2_000_000, None),
    }


def test_jiujiang_fund_target_from_its_document_date() -> None:
    p = at("360400", "2023-07-03").provenance("fund.alert")
    assert p.region == "360400"
    assert "九府办发〔2023〕6号 一" in p.source
    assert (p.value.months_danger, p.value.months_warning, p.value.months_excess) == (3, 6, 12)
    assert at("360400", "2023-07-02").provenance("fund.alert").region == "000000"


def test_maternity_both_paths() -> None:
    p = at("360400", "2023-06-01").provenance("maternity.lump_sum")
    assert (p.value, p.region) == ({"vaginal": 80000, "cesarean": 150000}, "360400")
    p = at("370000", "2021-06-01").provenance("maternity.lump_sum")
    assert (p.value, p.region) == (None, "370000")


def test_shandong_2021() -> None:
    r = at("370000", "2021-06-01")
    p = r.provenance("financing.major_illness_funding")
    assert (p.value, p.region) == (9000, "370000")
    assert "鲁医保发〔2021〕42号 一" in p.source
    p = r.provenance("financing.individual_contribution")
    assert (p.value, p.region) == (32000, "000000")
    assert r.get("financing.fiscal_subsidy") == 58000
    assert r.get("financing.central_share") == 5000
    assert r.get("basic.inpatient.deductible") == {1: 20000, 2: 50000, 3: 90000}
    assert r.get("basic.inpatient.ratio") == {1: 8000, 2: 7000, 3: 6000}
    assert r.get("basic.inpatient.repeat_factor") == [10000, 5000, 0]
    assert r.get("basic.annual_cap") == 12_000_000
    p = r.provenance("outpatient.general")
    assert (p.value.ratio, p.value.annual_limit) == ({1: 5000}, 20000)
    assert "鲁医保发〔2021〕42号 二" in p.source
    subsidy = r.get("financing.assistance_subsidy")
    assert subsidy["tekun"].ratio == 10000


def test_shandong_waiting_period_before_and_after_2025() -> None:
    r = at("370000", "2021-06-01")
    for key, value in [("enrollment.waiting.fixed_months", 3),
                       ("enrollment.waiting.employee_grace_months", 3)]:
        p = r.provenance(key)
        assert (p.value, p.region) == (value, "370000")
        assert "鲁医保发〔2021〕42号 二" in p.source
    exempt = r.get("enrollment.waiting.exempt_categories")
    assert {"newborn", "tekun", "dibao"} <= set(exempt)
    assert r.get("enrollment.waiting.per_break_year_months") == 0
    r = at("370000", "2025-06-01")
    assert r.get("enrollment.waiting.fixed_months") == 3
    p = r.provenance("enrollment.waiting.per_break_year_months")
    assert (p.value, p.region) == (1, "000000")


def test_inner_mongolia() -> None:
    r = at("150000", "2023-06-01")
    assert r.get("financing.individual_contribution") == 38000
    assert r.get("financing.central_share") == 8000
    p = r.provenance("financing.provincial_share")
    assert (p.value, p.region) == ({"class1": 3000, "class2": 5000, "class3": 7000}, "150000")
    assert p.source.startswith("内蒙古《关于做好2023年城乡居民基本医疗保障工作的通知》")
    p = r.provenance("financing.region_class")
    assert p.value == "class2"
    assert "illustrative" in p.source
    assert r.get("major.bracket_basis") == "cumulative"
    p = at("150000", "2024-03-01").provenance("financing.individual_contribution")
    assert (p.value, p.region, p.start) == (40000, "150000", D("2024-01-01"))
    assert at("150000", "2023-12-31").get("financing.individual_contribution") == 38000


def test_national_financing_by_year() -> None:
    expected = {2021: (32000, 58000), 2022: (35000, 61000), 2023: (38000, 64000),
                2025: (38000, 64000)}
    for year, figures in expected.items():
        r = at("000000", f"{year}-06-01")
        assert (r.get("financing.individual_contribution"),
                r.get("financing.fiscal_subsidy")) == figures


def test_national_2025_rules() -> None:
    r = at("360400", "2025-06-01")
    waiting = {k.rsplit(".", 1)[1]: r.get(k) for k in PARAMETERS
               if k.startswith("enrollment.waiting.")}
    assert waiting == {
        "fixed_months": 3, "per_break_year_months": 1, "free_break_years": 1,
        "long_break_years": 4, "long_break_min_months": 6, "exempt_categories": ["newborn"],
        "employee_grace_months": 3,
    }
    p = r.provenance("major.incentives")
    assert p.region == "000000"
    assert "国办发〔2024〕38号 (as reported, seed 004)" in p.source
    inc = p.value
    assert (inc.count_from, inc.after_years, inc.continuity_step, inc.zero_claim_step,
            inc.max_fraction) == (2025, 4, 100000, 100000, 2000)
    assert inc.zero_claim_reset_on_break is False
    assert not at("360400", "2024-12-31").has("major.incentives")
    assert at("360400", "2024-12-31").get("enrollment.waiting.fixed_months") == 0


def test_chronic_diseases() -> None:
    p = at("360400", "2023-06-01").provenance("outpatient.chronic.diseases")
    assert p.region == "000000"
    icd = {code: d.icd10 for code, d in p.value.items()}
    assert icd == {
        "hypertension": ["I10", "I11", "I12", "I13", "I15"],
        "diabetes": ["E10", "E11", "E12", "E13", "E14"],
        "tuberculosis": ["A15", "A16", "A17", "A18", "A19"],
        "hepatitis_b": ["B18.0", "B18.1"],
        "hepatitis_c": ["B18.2"],
        "cirrhosis": ["K74"],
    }
    assert p.value["hypertension"].annual_limit == 30000
    assert p.value["diabetes"].annual_limit == 60000
    assert all(p.value[c].ratio >= 5000 for c in ("hypertension", "diabetes"))


@pytest.mark.parametrize("region", sorted(FIRST_DATE))
def test_major_deductible_within_half_of_income(region: str) -> None:
    # 鲁医保发〔2021〕42号 二: 最高不超过当地上年居民人均可支配收入的50%
    r = load_policy(region).resolve(FIRST_DATE[region])
    assert 2 * r.get("major.deductible") <= r.get("region.disposable_income")


@pytest.mark.parametrize("region", sorted(FIRST_DATE))
def test_lump_sum_kinds(region: str) -> None:
    lump = load_policy(region).resolve(D("2025-06-01")).get("maternity.lump_sum")
    assert lump is None or set(lump) == {"vaginal", "cesarean"}
