"""The main journeys in a real browser on a phone-sized screen."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import DATA
from tests.web.site import PASSWORD, Site
from warmrun.integrations.synthetic import synthetic_run_gpx

pytestmark = pytest.mark.slow
PHONE = {"width": 390, "height": 844}


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")


def open_tomorrow_with_flavours(base: str, site: Site) -> None:
    """The organizer opens tomorrow's 07:00-09:00 hot drinks and asks the flavour (API)."""
    token = httpx.post(
        f"{base}/api/v1/auth/tokens",
        json={"email": site.emails["organizer"], "password": PASSWORD},
    ).json()["token"]
    staff = {"Authorization": f"Bearer {token}"}
    tomorrow = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)
    httpx.post(
        f"{base}/api/v1/rewards/{site.drink}/slots",
        headers=staff,
        json={"day": tomorrow.isoformat(), "starts": "07:00", "ends": "09:00", "capacity": 20},
    ).raise_for_status()
    httpx.post(
        f"{base}/api/v1/rewards/{site.drink}/option-groups",
        headers=staff,
        json={
            "name_zh": "口味",
            "name_en": "Flavour",
            "choices": [
                {"name_zh": "姜茶", "name_en": "Ginger tea"},
                {"name_zh": "红枣茶", "name_en": "Red date tea"},
                {"name_zh": "热可可", "name_en": "Hot cocoa"},
            ],
        },
    ).raise_for_status()


def test_resident_signs_up_uploads_books_a_drink_and_the_desk_hands_over(
    browser: Browser, live: tuple[str, Site], shots: Path
) -> None:
    base, site = live
    open_tomorrow_with_flavours(base, site)
    phone = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2)
    page = phone.new_page()
    page.goto(f"{base}/signup")
    page.fill("#display_name", "小周")
    page.fill("#email", "zhou@example.org")
    page.fill("#password", PASSWORD)
    page.select_option("#compound_id", label="苏州 · 天骄花园")
    page.click("form.card button[type=submit]")
    expect(page).to_have_url(f"{base}/me")

    page.set_input_files(
        "#files",
        [DATA / "gpx" / "togeojson__run.gpx", DATA / "fit" / "fitdecode__garmin-fenix-5-run.fit"],
    )
    results = page.locator("#results li[data-status]")
    expect(results).to_have_count(2, timeout=20_000)
    expect(page.locator('#results li[data-status="accepted"]')).to_have_count(2)
    expect(page.locator("#results")).to_contain_text("已计入")
    page.screenshot(path=str(shots / "resident-upload.png"), full_page=True)

    page.goto(f"{base}/me")
    expect(page.locator(".impact")).to_contain_text("温暖包")
    page.screenshot(path=str(shots / "resident-impact.png"), full_page=True)

    page.goto(f"{base}/me/shop")
    page.select_option("select[name=slot_id]", index=0)
    page.select_option("select[name^=choice_]", label="热可可")
    page.screenshot(path=str(shots / "resident-booking.png"), full_page=True)
    page.click("form.card button[type=submit]")
    code = page.locator("#pickup-code").inner_text()
    assert len(code) >= 6
    expect(page.locator(".qr svg")).to_be_visible()
    expect(page.locator("#pickup-time")).to_contain_text("07:00-09:00")
    expect(page.locator("#choices")).to_contain_text("热可可")
    page.screenshot(path=str(shots / "resident-pickup-code.png"), full_page=True)
    phone.close()

    desk = browser.new_context(viewport=PHONE, locale="zh-CN")
    staff = desk.new_page()
    sign_in(staff, base, "organizer@example.org")
    staff.goto(f"{base}/desk")
    staff.fill("#code", code)
    staff.click("form.card button[type=submit]")
    expect(staff.locator("#fulfilled")).to_contain_text(code)
    expect(staff.locator("#fulfilled-choices")).to_contain_text("热可可")
    expect(staff.locator("#handed-out + table")).to_contain_text("大堂热饮")
    staff.screenshot(path=str(shots / "desk-fulfilled.png"), full_page=True)
    desk.close()


def test_organizer_reviews_a_flagged_run(
    browser: Browser, live: tuple[str, Site], shots: Path
) -> None:
    base, site = live
    shared = synthetic_run_gpx(points=1200, seed=9)
    for who in ("resident", "other_resident"):
        token = httpx.post(
            f"{base}/api/v1/auth/tokens", json={"email": site.emails[who], "password": PASSWORD}
        ).json()["token"]
        httpx.post(
            f"{base}/api/v1/runs",
            headers={"Authorization": f"Bearer {token}"},
            files=[("files", (f"{who}.gpx", shared, "application/gpx+xml"))],
        ).raise_for_status()
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    page = context.new_page()
    sign_in(page, base, site.emails["organizer"])
    page.goto(f"{base}/review")
    rows = page.locator("tbody tr input[type=checkbox]")
    expect(rows).to_have_count(2)
    rows.first.check()
    page.fill("#note", "checked with the resident")
    page.click("button[value=accept]")
    expect(page.locator(".notice")).to_contain_text("1")
    expect(page.locator("tbody tr input[type=checkbox]")).to_have_count(1)
    page.screenshot(path=str(shots / "organizer-review.png"), full_page=True)
    context.close()


def test_partner_sees_charts_and_exports_csv(
    browser: Browser, live: tuple[str, Site], shots: Path
) -> None:
    base, site = live
    token = httpx.post(
        f"{base}/api/v1/auth/tokens", json={"email": site.emails["resident"], "password": PASSWORD}
    ).json()["token"]
    httpx.post(
        f"{base}/api/v1/runs",
        headers={"Authorization": f"Bearer {token}"},
        files=[
            (
                "files",
                (
                    "run.gpx",
                    (DATA / "gpx" / "togeojson__run.gpx").read_bytes(),
                    "application/gpx+xml",
                ),
            )
        ],
    ).raise_for_status()
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    sign_in(page, base, site.emails["partner"])
    expect(page).to_have_url(f"{base}/partner/{site.campaign}")
    expect(page.locator("#ledger-head")).to_be_visible()
    page.click("#verify-ledger")
    expect(page.locator("#ledger-ok")).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(2)
    assert page.locator("svg.chart polyline, svg.chart rect").count() >= 2
    page.screenshot(path=str(shots / "partner-dashboard.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#export-csv")
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # so that Excel in Chinese reads UTF-8
    csv = raw.decode("utf-8-sig")
    assert csv.startswith("层级,城市,城市代码,小区")
    assert "天骄花园" in csv
    context.close()


def test_resident_scans_a_station_code_on_a_phone_and_is_checked_in(
    browser: Browser, live: tuple[str, Site], shots: Path
) -> None:
    base, site = live
    token = httpx.post(
        f"{base}/api/v1/auth/tokens",
        json={"email": site.emails["organizer"], "password": PASSWORD},
    ).json()["token"]
    staff = {"Authorization": f"Bearer {token}"}
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    event = httpx.post(
        f"{base}/api/v1/campaigns/{site.campaign}/events",
        headers=staff,
        json={"city_id": site.city, "name": "湿地公园公益跑", "day": today, "place": "太湖湿地"},
    ).json()["event"]
    station = httpx.post(
        f"{base}/api/v1/events/{event['id']}/stations",
        headers=staff,
        json={"name": "防诈骗宣传站", "points": 10},
    ).json()["station"]
    assert station["url"].startswith(f"{base}/checkin/")

    # The organizer's printable sheet shows the code to scan.
    desk = browser.new_context(viewport={"width": 900, "height": 1200}, locale="zh-CN")
    sheet = desk.new_page()
    sign_in(sheet, base, site.emails["organizer"])
    sheet.goto(f"{base}/events/{event['id']}/print")
    expect(sheet.locator(".sheet .qr svg")).to_be_visible()
    sheet.screenshot(path=str(shots / "station-sheet.png"), full_page=True)
    desk.close()

    # The phone camera opens the code's address; the resident signs in and taps once.
    phone = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2)
    page = phone.new_page()
    page.goto(station["url"])
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("#email", site.emails["resident"])
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    expect(page).to_have_url(station["url"])
    expect(page.locator("h1")).to_contain_text("防诈骗宣传站")
    page.click("#checkin-form button[type=submit]")
    expect(page.locator("#checked-in")).to_contain_text("+10")
    page.screenshot(path=str(shots / "station-checked-in.png"), full_page=True)
    expect(page.locator("#checkin-form")).to_have_count(0)
    page.goto(station["url"])  # scanning again changes nothing
    page.click("#checkin-form button[type=submit]")
    expect(page.locator("#checked-in")).to_be_visible()
    expect(page.locator("#checked-in")).not_to_contain_text("+10")
    phone.close()
