"""Where synthetic people live and are treated: cities, counties (县级) and facilities.

Persons are registered at a county code (GB/T 2260, 6 digits) under their city, so fund
monitoring can break a city down by county. Facilities carry the county code in their id:
primary (乡镇卫生院、社区) and secondary (县医院) ones in every county, the tertiary hospitals
of a city in its central districts, and a few hospitals in a big city of another province for
异地就医.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.synth.columns import F64, I64

#: 九江市's county-level divisions with their resident population in 万人, roughly as the 2020
#: census (七普) reported them — illustrative: figures recalled from secondary sources, not
#: checked against the census tables. 360404 柴桑区 was 九江县 (360421) until 2017 and 360483
#: 庐山市 was 星子县 (360427) until 2016.
JIUJIANG_COUNTIES = (
    ("360402", "濂溪区", 40), ("360403", "浔阳区", 38), ("360404", "柴桑区", 30),
    ("360423", "武宁县", 33), ("360424", "修水县", 68), ("360425", "永修县", 32),
    ("360426", "德安县", 19), ("360428", "都昌县", 62), ("360429", "湖口县", 23),
    ("360430", "彭泽县", 30), ("360481", "瑞昌市", 39), ("360482", "共青城市", 22),
    ("360483", "庐山市", 24),
)
#: county codes (last two digits) of the other cities synth knows, weighted equally
_CITY_COUNTIES = {
    "371500": ("02", "03", "21", "22", "24", "25", "26", "81"),  # 聊城
}
_GENERIC_COUNTIES = ("02", "03", "04", "21", "22", "81")
_PROVINCE_CITIES = {
    "37": ("370100", "370200", "370600", "371300", "371500"),
    "36": ("360100", "360400", "360700", "360800", "361100"),
    "15": ("150100", "150200", "150400", "150500", "150600"),
}
_NATIONAL_CITIES = ("370100", "371500", "360100", "360400", "150100")
_CITY_SHARE = (0.3, 0.25, 0.2, 0.15, 0.1)
#: 城乡居民医保 covers fewer of a district's people (more of them are in 职工医保)
_DISTRICT_FACTOR = 0.8
#: districts of big cities elsewhere with hospitals that take 异地就医 patients (illustrative)
_ELSEWHERE = ("110102", "310104", "440104", "330106", "420106", "510107")
#: facilities per city: primary, secondary (per county, by population) and tertiary
_PER_CITY = 300


@dataclass(frozen=True)
class Geography:
    """The counties people register in (flat over cities) and their shares."""

    cities: tuple[str, ...]
    counties: tuple[str, ...]
    county_city: I64  # city index of each county
    share: F64  # share of the population in each county (sums to 1)
    hubs: tuple[tuple[int, ...], ...]  # per city, the counties that hold its tertiary hospitals


def _is_district(code: str) -> bool:
    return code[4:6] < "21"  # 市辖区 are numbered 01–20 under their city


def _city_counties(city: str) -> tuple[tuple[str, ...], F64]:
    if city == "360400":
        codes = tuple(c for c, _, _ in JIUJIANG_COUNTIES)
        people = np.array([p for _, _, p in JIUJIANG_COUNTIES], dtype=np.float64)
    else:
        codes = tuple(city[:4] + s for s in _CITY_COUNTIES.get(city, _GENERIC_COUNTIES))
        people = np.ones(len(codes))
    weight = people * np.where([_is_district(c) for c in codes], _DISTRICT_FACTOR, 1.0)
    return codes, weight / weight.sum()


def geography(region: str) -> Geography:
    """Cities and counties of ``region``: a county enrols only there, a city in its counties,
    a province in a few of its cities, the nation in a few cities of three provinces."""
    if len(region) != 6 or not region.isdigit():
        raise ValueError(f"region must be a 6-digit 行政区划代码: {region!r}")
    if region == "000000":
        cities: tuple[str, ...] = _NATIONAL_CITIES
    elif region.endswith("0000"):
        p = region[:2]
        cities = _PROVINCE_CITIES.get(p, tuple(f"{p}{k:02d}00" for k in range(1, 6)))
    else:
        cities = (region,)
    city_share = np.array(_CITY_SHARE[: len(cities)])
    city_share /= city_share.sum()
    counties: list[str] = []
    county_city: list[int] = []
    share: list[float] = []
    hubs: list[tuple[int, ...]] = []
    for k, city in enumerate(cities):
        codes, within = _city_counties(city) if city.endswith("00") else ((city,), np.ones(1))
        first = len(counties)
        districts = [first + i for i, c in enumerate(codes) if _is_district(c)][:2]
        hubs.append(tuple(districts) or (first,))
        counties.extend(codes)
        county_city.extend([k] * len(codes))
        share.extend(city_share[k] * within)
    return Geography(cities, tuple(counties), np.array(county_city, dtype=np.int64),
                     np.array(share, dtype=np.float64), tuple(hubs))


@dataclass(frozen=True)
class Facilities:
    """Facility ids and levels; per place (county, then one place elsewhere) and level, the
    first facility index and the count. A county's tertiary cell is its city's."""

    ids: tuple[str, ...]
    levels: I64
    first: I64  # (places, 3)
    count: I64  # (places, 3)

    @property
    def elsewhere(self) -> int:
        """The place index of the hospitals outside the region (异地就医)."""
        return int(self.first.shape[0]) - 1


def facilities(region: str, geo: Geography) -> Facilities:
    """A few hundred facilities with fixed levels, numbered in one sequence."""
    per_city = max(20, _PER_CITY // len(geo.cities))
    ids: list[str] = []
    levels: list[int] = []
    places = len(geo.counties) + 1
    first = np.zeros((places, 3), dtype=np.int64)
    count = np.zeros((places, 3), dtype=np.int64)

    def add(codes: list[str], level: int) -> tuple[int, int]:
        start = len(ids)
        ids.extend(f"H{code}{start + k:04d}" for k, code in enumerate(codes))
        levels.extend([level] * len(codes))
        return start, len(codes)

    for k in range(len(geo.cities)):
        own = np.flatnonzero(geo.county_city == k)
        within = geo.share[own] / geo.share[own].sum()
        for level, part in ((1, 0.75), (2, 0.2)):
            for c, w in zip(own, within, strict=True):
                n = max(1, round(part * per_city * w))
                first[c, level - 1], count[c, level - 1] = add([geo.counties[c]] * n, level)
        hub = geo.hubs[k]
        n3 = max(1, per_city // 20)
        start, n = add([geo.counties[hub[j % len(hub)]] for j in range(n3)], 3)
        first[own, 2], count[own, 2] = start, n
    away = next(c for c in _ELSEWHERE if c[:2] != region[:2])
    for level, n in ((2, 6), (3, 18)):
        first[-1, level - 1], count[-1, level - 1] = add([away] * n, level)
    return Facilities(tuple(ids), np.array(levels, dtype=np.int64), first, count)
