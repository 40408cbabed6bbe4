"""Residents and families on a phone: a guardian registers a child with consent and checks
them in at an event-day station; the organizer grants volunteers' points and reads the
participation figures; the resident rates the event day."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_journeys import PHONE, sign_in
from tests.web.site import PASSWORD, Site

pytestmark = pytest.mark.slow


def staff_token(base: str, site: Site) -> dict[str, str]:
    token = httpx.post(
        f"{base}/api/v1/auth/tokens",
        json={"email": site.emails["organizer"], "password": PASSWORD},
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_a_guardian_registers_a_child_checks_them_in_and_rates_the_day(
    browser: Browser, live: tuple[str, Site], shots: Path
) -> None:
    base, site = live
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    staff = staff_token(base, site)
    event = httpx.post(
        f"{base}/api/v1/campaigns/{site.campaign}/events",
        headers=staff,
        json={"city_id": site.city, "name": "亲子公益跑", "day": today, "place": "金鸡湖"},
    ).json()["event"]
    station = httpx.post(
        f"{base}/api/v1/events/{event['id']}/stations",
        headers=staff,
        json={"name": "亲子接力点", "points": 10},
    ).json()["station"]

    phone = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2)
    page = phone.new_page()
    sign_in(page, base, site.emails["resident"])
    page.goto(f"{base}/me/family")
    page.fill("#child-name", "小宝")
    page.fill("#child-year", "2017")
    # The consent box must be ticked (the browser asks first; the server refuses too).
    expect(page.locator("#add-child input[name=consent]")).to_have_attribute("required", "")
    page.check("#add-child input[name=consent]")
    page.click("#add-child button[type=submit]")
    expect(page.locator("#children")).to_contain_text("小宝")
    page.screenshot(path=str(shots / "family.png"), full_page=True)

    page.goto(station["url"])
    page.locator("#checkin-form label", has_text="小宝").locator("input").check()
    page.click("#checkin-form button[type=submit]")
    expect(page.locator("#checked-in")).to_contain_text("小宝")

    page.goto(f"{base}/me/ratings")
    rating = page.locator(f'form.rating[data-subject="event-{event["id"]}"]')
    rating.locator("input[name=score][value='5']").check()
    rating.locator("input[name=comment]").fill("孩子很开心")
    rating.locator("button[type=submit]").click()
    expect(page.locator(f'form.rating[data-subject="event-{event["id"]}"]')).to_contain_text(
        "修改评分"
    )
    phone.close()

    desk = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    org = desk.new_page()
    sign_in(org, base, site.emails["organizer"])
    org.goto(f"{base}/setup/{site.campaign}/points")
    org.fill("#g-member", site.emails["resident"])
    org.fill("#g-points", "20")
    org.select_option("#g-reason", "winter_care")
    org.fill("#g-note", "冬季探访独居老人")
    org.click("#grant button[type=submit]")
    expect(org.locator("#grant-result")).to_contain_text("已发放")
    org.goto(f"{base}/setup/{site.campaign}/figures")
    expect(org.locator("#satisfaction tr[data-subject=event]")).to_contain_text("5")
    org.screenshot(path=str(shots / "participation.png"), full_page=True)
    desk.close()
