"""The console in a real browser (Debian's Chromium driven by Playwright), on a uvicorn server
over a small synthetic city: log in, find a person, settle and reverse a claim with its
explanation, import a file with an error, and the two access rules a browser must show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from web_support import SECRET, City, serve

from yibao.io import valid_id_number

CHROMIUM = "/usr/bin/chromium"
ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


@pytest.fixture(scope="module")
def base_url(city: City) -> Iterator[str]:
    with serve(city.url) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is required: apt-get install -y chromium", pytrace=False)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/console/")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(SECRET)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("首页")


def test_login_and_find_a_person(page: Page, base_url: str, city: City) -> None:
    log_in(page, base_url, "clerk")
    page.get_by_role("link", name="参保人").first.click()
    masked = city.id_number[:6] + "********" + city.id_number[-4:]
    page.get_by_label("人员编号或身份证号").fill(masked)
    page.keyboard.press("Enter")
    page.get_by_role("link", name=city.person_id).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(city.person_id)
    expect(page.get_by_text(masked)).to_be_visible()
    expect(page.get_by_role("heading", name="大病保险封顶线（激励阶梯）")).to_be_visible()
    # a clerk is not shown contributions and subsidies
    expect(page.get_by_text("本角色无权查看缴费与补助")).to_be_visible()


def test_settle_see_the_explanation_and_reverse(page: Page, base_url: str, city: City) -> None:
    log_in(page, base_url, "clerk")
    page.goto(f"{base_url}/console/settlements/new")
    # Claim of tests/api/test_api_settlements.py "A": the person's first admission of 2023 at
    # level 3, total 10000, no self-pay: deductible 600; basic (10000 − 600) × 0.65 = 6110.00;
    # burden 3890 < 大病 deductible 15000 → major 0; no category → assistance 0;
    # oop = 10000 − 6110 = 3890.00.
    fields = {"费用单号": "WEB-A-1", "人员编号": city.person_id, "入院日期": "2023-03-01",
              "结算日期": "2023-03-05", "总费用": "10000.00", "全自费": "0",
              "乙类先行自付": "0", "主诊断 (ICD-10)": "K35.8"}
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="预结算").click()
    expect(page.get_by_role("heading", name="预结算结果（未入账）")).to_be_visible()
    expect(page.locator('[data-field="basic"]')).to_have_text("6110.00")
    page.get_by_role("button", name="结算", exact=True).click()
    expect(page).to_have_url(re.compile(r"/console/settlements/WEB-A-1$"))
    expect(page.get_by_role("heading", name="一站式结算")).to_be_visible()
    for field, value in {"basic": "6110.00", "major": "0.00", "assistance": "0.00",
                         "oop": "3890.00"}.items():
        expect(page.locator(f'[data-field="{field}"]')).to_have_text(value)
    explanation = page.locator("ol.steps")
    expect(explanation).to_contain_text("住院起付线")
    step = explanation.locator("li", has_text="住院起付线")
    expect(step).to_contain_text("admission #1 of the year at level 3: deductible 600.00")
    step.locator("summary").click()  # the clause behind the figure
    expect(step.locator("td", has_text="basic.inpatient.deductible")).to_be_visible()
    page.get_by_role("button", name="冲销").click()
    expect(page.get_by_role("heading", name="该费用已冲销，结算记录如下")).to_be_visible()
    expect(page.locator("h1 .status")).to_have_text("已冲销")


def test_import_a_file_with_an_error_shows_the_line(page: Page, base_url: str, city: City,
                                                    tmp_path: Path) -> None:
    lines = city.files["persons"].read_text("utf-8").splitlines()
    header = lines[0].split(",")
    bad = lines[1].split(",")
    bad[header.index("sex")] = "Q"
    path = tmp_path / "persons-bad.csv"
    path.write_text("\n".join([lines[0], lines[2], ",".join(bad), lines[3]]) + "\n", "utf-8")
    log_in(page, base_url, "admin")
    page.get_by_role("link", name="数据导入").first.click()
    page.get_by_label("类型").select_option("persons")
    page.get_by_label("文件").set_input_files(str(path))
    page.get_by_role("button", name="上传并校验").click()
    expect(page.get_by_text("校验未通过，没有任何数据入库")).to_be_visible(timeout=15_000)
    # line 3 of the file: the header is line 1
    expect(page.locator("div.error td", has_text="persons-bad.csv:3")).to_be_visible()
    expect(page.locator("div.error")).to_contain_text("sex")


def test_import_a_good_file_after_checking_it(page: Page, base_url: str, city: City,
                                              tmp_path: Path) -> None:
    path = tmp_path / "persons-again.csv"
    path.write_bytes(city.files["persons"].read_bytes())
    log_in(page, base_url, "admin")
    page.goto(f"{base_url}/console/import")
    page.get_by_label("类型").select_option("persons")
    page.get_by_label("文件").set_input_files(str(path))
    page.get_by_role("button", name="上传并校验").click()
    expect(page.get_by_text("校验通过，尚未入库")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_text("导入完成")).to_be_visible(timeout=30_000)
    # the same persons again: nothing new, nothing changed
    expect(page.locator("dl.figures")).to_contain_text("300")


def test_a_clerk_cannot_open_another_facilitys_claim(page: Page, base_url: str,
                                                      city: City) -> None:
    log_in(page, base_url, "clerk")
    page.get_by_role("link", name="结算").first.click()
    page.get_by_label("打开费用单").fill(city.other_claim_id)
    page.get_by_role("button", name="查看").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("出错了 (403)")
    expect(page.get_by_text("FACILITY_FORBIDDEN")).to_be_visible()


def test_an_analyst_never_sees_an_unmasked_id_number(page: Page, base_url: str,
                                                     city: City) -> None:
    log_in(page, base_url, "analyst")
    paths = ["/console/", f"/console/persons?q={city.id_number}",
             f"/console/persons?q={city.id_number[:6]}*",
             f"/console/persons/{city.person_id}",
             f"/console/persons/{city.person_id}?unmasked=true",
             f"/console/settlements/{city.claim_id}", "/console/settlements?status=all",
             "/console/dashboard?year=2023", "/console/reports?year=2023"]
    for path in paths:
        page.goto(base_url + path)
        if "/console/dashboard" in path or "/console/reports" in path:
            page.wait_for_selector("script[data-chart]", state="attached", timeout=60_000)
        html = page.content()
        found = [m for m in ID_LIKE.findall(html) if valid_id_number(m)]
        assert found == [], (path, found)
    # and the keyboard alone reaches the content: the skip link is the first stop
    page.goto(base_url + "/console/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("跳到正文")


def test_the_dashboard_draws_its_charts_from_the_local_plotly(page: Page, base_url: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    log_in(page, base_url, "analyst")
    page.get_by_role("link", name="基金运行").first.click()
    page.get_by_label("年初累计结余（元）").fill("1000000")
    page.get_by_role("button", name="查看").click()
    # the figures are computed off the request; the page refreshes itself until they are in
    for chart in ("balance", "spending", "ratio", "coverage"):
        expect(page.locator(f"#chart-{chart} .main-svg").first).to_be_attached(timeout=60_000)
    expect(page.get_by_role("heading", name=re.compile("预警"))).to_be_visible()
    assert errors == []
    assert all(url.startswith(base_url) for url in requested)  # nothing from outside
