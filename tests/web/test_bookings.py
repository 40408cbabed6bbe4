"""Bookings over HTTP: staff open slots and options (API and page), residents book a hot
drink with a flavour from the shop (API and page), the desk sees its day and hands over, the
counts per day; and the refusals, in Chinese and English."""

from __future__ import annotations

import re
from contextlib import aclosing
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.web.conftest import Web
from tests.web.test_pages import form_token
from tests.web.test_staff_console import accept_on_the_page, invite_clerk
from warmrun.platform import clock, rewards

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 06:00 on 3 November 2025 in Suzhou: the desk opens at 07:00.
NOW = datetime(2025, 11, 3, 6, 0, tzinfo=SHANGHAI).astimezone(UTC)
DAY = date(2025, 11, 3)
WEEK = {"day": DAY.isoformat(), "starts": "07:00", "ends": "09:00", "capacity": 2, "days": 7}
FLAVOUR = {
    "name_zh": "口味",
    "name_en": "Flavour",
    "choices": [
        {"name_zh": "姜茶", "name_en": "Ginger tea"},
        {"name_zh": "红枣茶", "name_en": "Red date tea"},
        {"name_zh": "热可可", "name_en": "Hot cocoa"},
    ],
}


def at(moment: datetime) -> None:
    clock.set_clock(lambda: moment)


async def rich(web: Web, who: str = "resident") -> None:
    """Points to spend, granted as volunteering is (no runs to upload)."""
    async with web.signed_in(who) as client:
        rid = (await client.get("/api/v1/me")).json()["account"]["resident_id"]
    await rewards.grant(resident_id=rid, points=300, reason="volunteer", idempotency_key=who)


async def open_week(web: Web, reward: int | None = None) -> tuple[list[int], dict[str, int]]:
    """The organizer opens a week of 07:00-09:00 slots and asks the flavour: the slots' ids
    and the answers' ids by English name."""
    reward = reward or web.site.drink
    async with web.signed_in("organizer") as organizer:
        r = await organizer.post(f"/api/v1/rewards/{reward}/slots", json=WEEK)
        assert r.status_code == 200, r.text
        slots = [s["id"] for s in r.json()["slots"]]
        g = await organizer.post(f"/api/v1/rewards/{reward}/option-groups", json=FLAVOUR)
        assert g.status_code == 200, g.text
    return slots, {c["name_en"]: c["id"] for c in g.json()["group"]["choices"]}


async def book(
    client: httpx.AsyncClient, web: Web, key: str, slot: int, choices: list[int]
) -> httpx.Response:
    return await client.post(
        "/api/v1/redemptions",
        json={
            "reward_id": web.site.drink,
            "idempotency_key": key,
            "slot_id": slot,
            "choices": choices,
        },
    )


async def test_a_resident_books_a_drink_and_the_desk_sees_and_hands_it_over(web: Web) -> None:
    at(NOW)
    await rich(web)
    slots, flavour = await open_week(web)
    async with web.signed_in("resident") as client:
        (drink,) = [i for i in (await client.get("/api/v1/rewards")).json()["items"] if i["dated"]]
        assert len(drink["slots"]) == 7 and drink["slots"][0]["remaining"] == 2
        assert [c["name_zh"] for c in drink["groups"][0]["choices"]] == ["姜茶", "红枣茶", "热可可"]
        r = await book(client, web, "tap-b001", slots[0], [flavour["Hot cocoa"]])
        assert r.status_code == 200, r.text
        code = r.json()["redemption"]["code"]
        assert r.json()["redemption"]["slot"] == "2025-11-03 07:00-09:00"
        assert r.json()["booking"]["choices"] == [["口味", "Flavour", "热可可", "Hot cocoa"]]
    async with web.signed_in("organizer") as desk:
        (day,) = (await desk.get("/api/v1/desk/bookings")).json()["slots"]
        assert day["slot"]["booked"] == 1
        assert day["bookings"] == [
            {
                "name": "resident",
                "choices": [["口味", "Flavour", "热可可", "Hot cocoa"]],
                "state": "pending",
            }
        ]
        page = await desk.get("/desk")
        assert "热可可" in page.text and "07:00-09:00" in page.text
        done = await desk.post("/desk", data={"csrf_token": form_token(page.text), "code": code})
        assert 'id="fulfilled-choices">热可可<' in done.text
        (count,) = (await desk.get("/api/v1/desk/handed-out")).json()["items"]
        assert (count["day"], count["count"]) == ("2025-11-03", 1)
        csv = await desk.get("/api/v1/desk/handed-out.csv", params={"lang": "en"})
        assert csv.text.splitlines()[1] == "2025-11-03,天骄花园,Hot drink,1"


async def test_a_full_slot_is_refused_in_the_residents_language(web: Web) -> None:
    at(NOW)
    await rich(web)
    await rich(web, "other_resident")
    slots, flavour = await open_week(web)
    for who, key in (("resident", "tap-f001"), ("resident", "tap-f002")):
        async with web.signed_in(who) as client:
            r = await book(client, web, key, slots[0], [flavour["Ginger tea"]])
            assert r.status_code == 200
    async with web.signed_in("other_resident") as client:
        r = await book(client, web, "tap-f003", slots[0], [flavour["Ginger tea"]])
        assert r.status_code == 409 and r.json()["error"]["code"] == "slot_full"
        assert "已约满" in r.json()["error"]["message"]
        await client.post("/api/v1/lang", json={"lang": "en"})
        r = await book(client, web, "tap-f004", slots[0], [flavour["Ginger tea"]])
        assert r.json()["error"]["message"] == (
            "Sorry, the pickup time 2025-11-03 07:00-09:00 is fully booked. Please choose another."
        )


async def test_a_slot_that_is_over_is_refused(web: Web) -> None:
    at(NOW)
    await rich(web)
    slots, flavour = await open_week(web)
    at(NOW + timedelta(hours=4))  # 10:00: the first slot is over
    async with web.signed_in("resident") as client:
        r = await book(client, web, "tap-p001", slots[0], [flavour["Ginger tea"]])
        assert r.status_code == 409 and r.json()["error"]["code"] == "slot_closed"
        items = (await client.get("/api/v1/rewards")).json()["items"]
        assert slots[0] not in [s["id"] for i in items for s in i["slots"]]


async def test_an_option_not_offered_is_refused(web: Web) -> None:
    at(NOW)
    await rich(web)
    slots, _ = await open_week(web)
    async with web.signed_in("resident") as client:
        r = await book(client, web, "tap-o001", slots[0], [999_999])
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
        assert "选项" in r.json()["error"]["message"]
        assert (await client.get("/api/v1/redemptions")).json()["items"] == []


async def test_another_compounds_slot_cannot_be_booked_or_opened(web: Web) -> None:
    at(NOW)
    await rich(web)
    async with web.signed_in("admin") as admin:
        r = await admin.post(f"/api/v1/rewards/{web.site.other_drink}/slots", json=WEEK)
        theirs = r.json()["slots"][0]["id"]
    async with web.signed_in("organizer") as organizer:
        refused = await organizer.post(f"/api/v1/rewards/{web.site.other_drink}/slots", json=WEEK)
        assert refused.status_code == 404
    async with web.signed_in("resident") as client:
        r = await book(client, web, "tap-x001", theirs, [])
        assert r.status_code == 404


async def test_cancelling_is_refused_after_the_window_and_not_offered_on_the_page(
    web: Web,
) -> None:
    at(NOW)
    await rich(web)
    slots, flavour = await open_week(web)
    async with web.signed_in("resident") as client:
        code = (await book(client, web, "tap-c001", slots[0], [flavour["Ginger tea"]])).json()[
            "redemption"
        ]["code"]
        page = (await client.get(f"/me/redemptions/{code}")).text
        assert "2025-11-03 07:00 前可以取消" in page
        at(NOW + timedelta(hours=1, minutes=30))  # 07:30: the slot has started
        r = await client.post(f"/api/v1/redemptions/{code}/cancel")
        assert r.status_code == 409 and r.json()["error"]["code"] == "cancel_closed"
        page = (await client.get(f"/me/redemptions/{code}")).text
        assert "此预约已过可取消时间" in page and "Cancel and refund" not in page
        assert "取消并退还积分" not in page


async def test_no_one_cancels_someone_elses_booking(web: Web) -> None:
    at(NOW)
    await rich(web)
    slots, flavour = await open_week(web)
    async with web.signed_in("resident") as client:
        code = (await book(client, web, "tap-s001", slots[0], [flavour["Ginger tea"]])).json()[
            "redemption"
        ]["code"]
    async with web.signed_in("other_resident") as other:
        assert (await other.post(f"/api/v1/redemptions/{code}/cancel")).status_code == 404
        assert (await other.post(f"/me/redemptions/{code}", data={})).status_code in (403, 404)
    async with web.signed_in("resident") as client:
        r = await client.get("/api/v1/redemptions")
        assert r.json()["items"][0]["state"] == "pending"


async def test_booking_from_the_shop_page_with_a_flavour_then_cancelling(web: Web) -> None:
    at(NOW)
    await rich(web)
    slots, flavour = await open_week(web)
    async with web.signed_in("resident") as client:
        shop = (await client.get("/me/shop")).text
        assert 'name="slot_id"' in shop and "11-03 周一 07:00-09:00" in shop
        (group,) = re.findall(r'name="(choice_\d+)"', shop)
        form = {
            "csrf_token": form_token(shop),
            "reward_id": str(web.site.drink),
            "idempotency_key": "page-0001",
            "slot_id": str(slots[1]),
            group: str(flavour["Red date tea"]),
        }
        r = await client.post("/me/shop", data=form)
        assert r.status_code == 303
        page = await client.get(r.headers["location"])
        assert "2025-11-04 07:00-09:00" in page.text and "红枣茶" in page.text
        cancelled = await client.post(
            r.headers["location"], data={"csrf_token": form_token(page.text)}
        )
        assert cancelled.status_code == 303
        items = (await client.get("/api/v1/rewards")).json()["items"]
        assert [s["remaining"] for i in items for s in i["slots"] if s["id"] == slots[1]] == [2]


async def test_a_clerk_opens_a_week_of_slots_and_a_question_on_the_page(web: Web) -> None:
    at(NOW)
    async with web.signed_in("organizer") as organizer:
        token = await invite_clerk(web, organizer, web.site.compound)
    clerk = await accept_on_the_page(web, token)
    async with aclosing(clerk):
        stock = (await clerk.get("/stock")).text
        assert f'href="/stock/{web.site.drink}"' in stock
        page = (await clerk.get(f"/stock/{web.site.drink}")).text
        r = await clerk.post(
            f"/stock/{web.site.drink}",
            data={"csrf_token": form_token(page), "action": "slots", **WEEK} | {"days": "7"},
        )
        assert r.status_code == 200 and 'id="saved"' in r.text and r.text.count("07:00-09:00") == 7
        r = await clerk.post(
            f"/stock/{web.site.drink}",
            data={
                "csrf_token": form_token(page),
                "action": "group",
                "name_zh": "温度",
                "name_en": "Heat",
                "choices_zh": "热，温",
                "choices_en": "Hot, Warm",
            },
        )
        assert "热 / 温" in r.text
        again = await clerk.post(
            f"/stock/{web.site.drink}",
            data={"csrf_token": form_token(page), "action": "slots", **WEEK},
        )
        assert again.status_code == 422 and "已有此时段" in again.text
        assert 'value="07:00"' in again.text  # what was typed is kept
        assert (await clerk.get(f"/stock/{web.site.other_drink}")).status_code == 404


async def test_a_free_service_is_offered_and_goods_cannot_be_free(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        page = await organizer.get("/stock")
        offer = {
            "csrf_token": form_token(page.text),
            "action": "create",
            "compound_id": str(web.site.compound),
            "name_zh": "磨刀",
            "name_en": "Knife sharpening",
            "points_price": "0",
            "stock": "20",
        }
        refused = await organizer.post("/stock", data=offer)
        assert refused.status_code == 422 and "价格须大于零" in refused.text
        r = await organizer.post("/stock", data={**offer, "kind": "service"})
        assert 'id="saved"' in r.text and "便民服务" in r.text
    async with web.signed_in("resident") as client:
        (knives,) = [
            i
            for i in (await client.get("/api/v1/rewards")).json()["items"]
            if i["kind"] == "service"
        ]
        r = await client.post(
            "/api/v1/redemptions", json={"reward_id": knives["id"], "idempotency_key": "free-0001"}
        )
        assert r.status_code == 200 and r.json()["redemption"]["points"] == 0
        assert "免费" in (await client.get("/me/shop")).text


async def test_a_daily_pickup_time_outside_the_list_is_refused(web: Web) -> None:
    await rich(web)
    async with web.signed_in("resident") as client:
        r = await client.post(
            "/api/v1/redemptions",
            json={"reward_id": web.site.drink, "idempotency_key": "tap-t001", "slot": "03:00"},
        )
        assert r.status_code == 422
