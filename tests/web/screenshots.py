"""``make screenshots``: a PNG of each console page under docs/screenshots/, taken by Debian's
Chromium from a server over a small synthetic city (the data are synthetic; no real person).

    python tests/web/screenshots.py docs/screenshots
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from web_support import SECRET, City, seed_city, serve

CHROMIUM = "/usr/bin/chromium"


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(SECRET)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/console/")


def shoot(page: Page, out: Path, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)
    print(out / f"{name}.png")


def take(city: City, base: str, out: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/console/login")
        shoot(page, out, "01-login")
        log_in(page, base, "clerk")
        page.goto(f"{base}/console/settlements/{city.claim_id}")
        page.get_by_role("button", name="结算", exact=True).click()
        page.wait_for_selector("ol.steps")
        for summary in page.locator("ol.steps summary").all()[2:4]:
            summary.click()
        shoot(page, out, "04-settlement")
        page.goto(f"{base}/console/settlements")
        shoot(page, out, "05-settlement-list", full_page=False)
        page.goto(f"{base}/console/")
        shoot(page, out, "02-home-clerk")
        page.context.clear_cookies()
        log_in(page, base, "admin")
        masked = city.id_number[:6] + "********" + city.id_number[-4:]
        page.goto(f"{base}/console/persons?q={masked}")
        shoot(page, out, "03-person-search")
        page.goto(f"{base}/console/persons/{city.person_id}")
        shoot(page, out, "03-person")
        page.goto(f"{base}/console/policy?region=360400&date=2024-06-30&region_b=150000")
        shoot(page, out, "06-policy-compare", full_page=False)
        bad = out.parent / "persons-with-an-error.csv"
        lines = city.files["persons"].read_text("utf-8").splitlines()
        bad.write_text("\n".join([lines[0], lines[1], lines[2].replace(",F,", ",Q,")
                                  .replace(",M,", ",Q,"), lines[3]]) + "\n", "utf-8")
        page.goto(f"{base}/console/import")
        page.get_by_label("类型").select_option("persons")
        page.get_by_label("文件").set_input_files(str(bad))
        page.get_by_role("button", name="上传并校验").click()
        page.wait_for_selector("div.error td")
        bad.unlink()
        shoot(page, out, "07-import-errors")
        page.goto(f"{base}/console/dashboard?year=2023&opening_balance=600000")
        page.wait_for_selector("#chart-coverage .main-svg", timeout=60_000)
        shoot(page, out, "10-dashboard")
        page.goto(f"{base}/console/reports?year=2023&opening_balance=600000"
                  "&key=basic.inpatient.ratio&value={1: 0.95, 2: 0.85, 3: 0.7}")
        page.wait_for_selector("#chart-whatif .main-svg", timeout=60_000)
        shoot(page, out, "11-reports-whatif")
        page.goto(f"{base}/console/?lang=en")
        shoot(page, out, "08-home-admin-en")
        page.goto(f"{base}/console/?lang=zh")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/console/settlements/{city.claim_id}")
        shoot(page, out, "09-settlement-mobile")
        browser.close()


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        city = seed_city(Path(tmp))
        with serve(city.url) as base:
            take(city, base, out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
