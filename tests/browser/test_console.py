"""A four-city campaign run from the pages alone, from an empty install: the first admin sets
it up, invites a city organizer, a desk clerk and the charity's staff; residents run; the
organizer reviews; the clerk hands out a hot drink; the admin closes and settles; the partner
downloads the settlement with the items funded."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.test_first_run import empty_database
from tests.web.live import live_server
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.web import first_run

pytestmark = pytest.mark.slow
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1200, "height": 900}
CITIES = (("SZ", "苏州", "Suzhou"), ("CQ", "重庆", "Chongqing"), ("WX", "无锡", "Wuxi"),
          ("CD", "成都", "Chengdu"))  # fmt: skip
ITEMS = (("coat", "棉服", "Cotton coat", "120"), ("shoes", "棉鞋", "Shoes", "80"),
         ("bag", "书包", "School bag", "90"), ("pens", "文具", "Stationery", "75"))  # fmt: skip
SECRET = "a long enough secret"


def submit(page: Page, field: str) -> None:
    """Send the form holding ``field`` and wait for the page it leads to."""
    page.locator(f"form:has({field}) button[type=submit]").first.click()
    expect(page.locator(".error")).to_have_count(0)


def set_up_catalogue(page: Page) -> None:
    for code, zh, en in CITIES:
        page.fill("#city-code", code)
        page.fill("#city-zh", zh)
        page.fill("#city-en", en)
        submit(page, "#city-code")
    page.fill("#partner-name", "壹基金")
    submit(page, "#partner-name")
    for code, zh, en, price in ITEMS:
        page.fill("#goods-code", code)
        page.fill("#goods-zh", zh)
        page.fill("#goods-en", en)
        page.fill("#goods-price", price)
        submit(page, "#goods-code")
    page.fill("#bundle-code", "warm-pack")
    page.fill("#bundle-zh", "温暖包")
    page.fill("#bundle-en", "Warm pack")
    page.fill("#bundle-price", "365")
    for n, (_, zh, _, _) in enumerate(ITEMS, start=1):
        page.select_option(f"#line-item-{n}", label=zh)
    submit(page, "#bundle-code")
    for _, zh, _ in CITIES:
        page.select_option("#compound-city", label=zh)
        page.fill("#compound-name", f"{zh}花园")
        page.fill("#households", "500")
        submit(page, "#compound-name")


def create_campaign(page: Page, base: str) -> None:
    page.fill("#c-code", "warm-2026")
    page.fill("#c-name", "四城温暖跑")
    page.select_option("#c-goods", label="温暖包 · ¥365.00")
    page.fill("#c-start", "2025-10-01")
    page.fill("#c-end", "2026-12-31")
    for _, zh, _ in CITIES:
        page.locator("form:has(#c-code) label", has_text=zh).locator("input").check()
    page.fill("#c-goal", "3,650")
    submit(page, "#c-code")
    page.goto(f"{base}/setup/warm-2026")
    page.fill("#fen-run", "10000")  # 100 yuan a kilometre: the 4.5 km run funds one warm pack
    submit(page, "#fen-run")
    page.fill("#ppk", "10")
    submit(page, "#ppk")
    page.fill("#sponsor", "物业公司")
    page.fill("#cap", "10,000")
    submit(page, "#sponsor")
    page.check("#step input[name=confirm]")
    page.click("#step button")
    expect(page.locator("#state")).to_have_attribute("data-state", "active")


def invite(page: Page, base: str, email: str, role: str, place: str | None) -> str:
    page.goto(f"{base}/staff")
    page.fill("#inv-email", email)
    page.select_option("#inv-role", role)
    if role == "organizer" and place:
        page.locator("#inv-cities label", has_text=place).locator("input").check()
    elif role == "desk" and place:
        page.locator("#inv-compounds label", has_text=place).locator("input").check()
    elif role == "partner":
        page.select_option("#inv-partner", label="壹基金")
    page.click("#invite button[type=submit]")
    return page.locator("#invite-link input").input_value()


def accept(browser: Browser, link: str, viewport: dict[str, int]) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(link)
    page.fill("#password", SECRET)
    page.click("#accept button[type=submit]")
    return context, page


def resident_runs(browser: Browser, base: str, name: str, track: bytes) -> Page:
    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    page.goto(f"{base}/signup")
    page.fill("#display_name", name)
    page.fill("#email", f"{name}@example.org")
    page.fill("#password", SECRET)
    page.select_option("#compound_id", label="苏州 · 苏州花园")
    page.click("form.card button[type=submit]")
    page.set_input_files(
        "#files", files=[{"name": "run.gpx", "mimeType": "application/gpx+xml", "buffer": track}]
    )
    expect(page.locator("#results li[data-status]")).to_have_count(1, timeout=20_000)
    return page


def test_a_four_city_campaign_from_an_empty_install(
    browser: Browser, tmp_path: Path, shots: Path
) -> None:
    template = empty_database(tmp_path / "template")
    with live_server(template, tmp_path / "live") as base:
        admin = browser.new_context(viewport=WIDE, locale="zh-CN").new_page()
        admin.goto(f"{base}/first-run?token={first_run.issue(tmp_path / 'live')}")
        admin.fill("#email", "admin@property.example")
        admin.fill("#password", SECRET)
        admin.click("#first-run button[type=submit]")
        expect(admin).to_have_url(f"{base}/setup")
        set_up_catalogue(admin)
        create_campaign(admin, base)
        admin.goto(f"{base}/stock")
        admin.select_option("#compound_id", label="苏州 · 苏州花园")
        admin.fill("#name_zh", "大堂热饮")
        admin.fill("#name_en", "Hot drink")
        admin.fill("#points_price", "10")
        admin.fill("#stock", "20")
        submit(admin, "#name_zh")

        organizer_link = invite(admin, base, "sz-org@property.example", "organizer", "苏州")
        clerk_link = invite(admin, base, "desk@property.example", "desk", "苏州花园")
        partner_link = invite(admin, base, "staff@onefoundation.example", "partner", None)
        admin.screenshot(path=str(shots / "console-staff.png"), full_page=True)

        # The city organizer sets their city's goal and sees no other city's.
        org_context, org = accept(browser, organizer_link, WIDE)
        expect(org).to_have_url(f"{base}/review")
        org.goto(f"{base}/setup/warm-2026")
        expect(org.locator("#goals input[name=goal_yuan]")).to_have_count(1)
        org.fill("#goals input[name=goal_yuan]", "5,000")
        org.locator("#goals button").click()
        expect(org.locator("#goals")).to_contain_text("5,000.00")

        # Two residents upload the same track: both are held for review.
        track = synthetic_run_gpx(points=1500, seed=4)
        first = resident_runs(browser, base, "xiaozhou", track)
        resident_runs(browser, base, "xiaowang", track)
        org.goto(f"{base}/review")
        rows = org.locator("tbody tr input[type=checkbox]")
        expect(rows).to_have_count(2)
        org.locator("tbody tr", has_text="xiaozhou").locator("input[type=checkbox]").check()
        org.fill("#note", "本人确认")
        org.click("button[value=accept]")
        expect(org.locator("tbody tr input[type=checkbox]")).to_have_count(1)
        org_context.close()

        # The resident books a hot drink with the points; the desk clerk hands it over.
        first.goto(f"{base}/me/shop")
        first.locator("form.card button[type=submit]").first.click()
        code = first.locator("#pickup-code").inner_text()
        clerk_context, clerk = accept(browser, clerk_link, PHONE)
        expect(clerk).to_have_url(f"{base}/desk")
        clerk.fill("#code", code)
        clerk.click("form.card button[type=submit]")
        expect(clerk.locator("#fulfilled")).to_contain_text(code)
        clerk_context.close()

        # Close, then settle, each confirmed; the report is stored.
        admin.goto(f"{base}/setup/warm-2026")
        admin.check("#step input[name=confirm]")
        admin.click("#step button")
        expect(admin.locator("#state")).to_have_attribute("data-state", "closed")
        admin.check("#step input[name=confirm]")
        admin.click("#step button")
        expect(admin).to_have_url(f"{base}/reports/warm-2026")
        expect(admin.locator("#bundles")).to_have_text("1")
        admin.goto(f"{base}/audit")
        expect(admin.locator("#audit")).to_contain_text("结算活动")
        expect(admin.locator("#audit")).to_contain_text("发放奖品")
        admin.screenshot(path=str(shots / "console-audit.png"), full_page=True)

        partner_context, partner = accept(browser, partner_link, WIDE)
        expect(partner).to_have_url(f"{base}/partner/warm-2026")
        partner.click("#settlement-report")
        expect(partner.locator('#report-cities td[data-item="coat"]').first).to_have_text("1")
        partner.screenshot(path=str(shots / "settlement-report.png"), full_page=True)
        with partner.expect_download() as download:
            partner.click("#report-csv")
        csv = Path(download.value.path()).read_bytes().decode("utf-8-sig")
        assert csv.splitlines()[0].endswith("棉服,棉鞋,书包,文具")
        assert csv.splitlines()[1].endswith(",1,1,1,1")  # the campaign's one warm pack
        partner_context.close()
