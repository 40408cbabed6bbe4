"""Event day over HTTP: an organizer sets up routes and stations, residents scan station codes
(for themselves or a child), staff check in a resident by member code, and station codes
cannot be forged, altered or used after their day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import DATA
from tests.web.conftest import Web
from tests.web.test_pages import form_token
from warmrun.platform import campaigns, clock
from warmrun.platform.models import Account, CheckIn, Resident
from warmrun.web import codes

EVENT_DAY = datetime(2025, 11, 1, 2, 0, tzinfo=UTC)  # 10:00 in Suzhou


def route_gpx() -> str:
    pts = "".join(f'<rtept lat="{31.2989 + i * 0.0005:.6f}" lon="120.5853"/>' for i in range(40))
    return (
        '<?xml version="1.0"?><gpx version="1.1" creator="t" '
        f'xmlns="http://www.topografix.com/GPX/1/1"><rte>{pts}</rte></gpx>'
    )


async def set_up_event(web: Web) -> dict[str, Any]:
    clock.set_clock(lambda: EVENT_DAY)
    async with web.signed_in("organizer") as org:
        r = await org.post(
            f"/api/v1/campaigns/{web.site.campaign}/events",
            json={
                "city_id": web.site.city,
                "name": "Wetland park run",
                "day": "2025-11-01",
                "place": "Taihu wetland",
                "participant_fen": 500,
            },
        )
        assert r.status_code == 200, r.text
        event = r.json()["event"]
        r = await org.post(
            f"/api/v1/events/{event['id']}/routes",
            json={
                "name": "Seniors walking",
                "group": "senior",
                "sport": "walk",
                "gpx": route_gpx(),
            },
        )
        assert r.status_code == 200, r.text
        assert 2000 < r.json()["route"]["distance_m"] < 2300
        r = await org.post(
            f"/api/v1/events/{event['id']}/stations", json={"name": "First aid", "points": 15}
        )
        assert r.status_code == 200, r.text
        station = r.json()["station"]
    return {"event": event, "station": station, "token": station["url"].rsplit("/", 1)[1]}


async def test_a_resident_scans_a_station_once_and_earns_its_points_once(web: Web) -> None:
    e = await set_up_event(web)
    async with web.signed_in("resident") as me:
        before = (await me.get("/api/v1/me/points")).json()["balance"]
        first = await me.post("/api/v1/checkins", json={"token": e["token"]})
        again = await me.post("/api/v1/checkins", json={"token": e["token"]})
        after = (await me.get("/api/v1/me/points")).json()["balance"]
    assert first.json()["check_in"]["new"] is True and first.json()["check_in"]["points"] == 15
    assert again.status_code == 200 and again.json()["check_in"]["new"] is False
    assert after == before + 15


async def test_a_guardian_checks_in_their_child_but_not_someone_elses(web: Web) -> None:
    e = await set_up_event(web)
    parent = await Account.get(email=web.site.emails["resident"])
    child = await campaigns.create_resident(
        compound_id=web.site.compound, display_name="小明", birth_year=2016
    )
    await Resident.filter(id=child.id).update(guardian_id=parent.resident_id)
    stranger = await campaigns.create_resident(compound_id=web.site.compound, display_name="x")
    async with web.signed_in("resident") as me:
        ok = await me.post(
            "/api/v1/checkins", json={"token": e["token"], "for_resident_id": child.id}
        )
        no = await me.post(
            "/api/v1/checkins", json={"token": e["token"], "for_resident_id": stranger.id}
        )
    assert ok.status_code == 200 and ok.json()["check_in"]["resident_id"] == child.id
    assert no.status_code == 404
    row = await CheckIn.get(resident_id=child.id)
    assert row.via == "guardian"


async def test_staff_check_in_a_resident_without_a_phone_by_member_code(web: Web) -> None:
    e = await set_up_event(web)
    async with web.signed_in("resident") as me:
        code = (await me.get("/api/v1/me/member-code")).json()["member_code"]
    async with web.signed_in("organizer") as desk:
        url = f"/api/v1/events/{e['event']['id']}/checkins"
        ok = await desk.post(url, json={"station_id": e["station"]["id"], "member_code": code})
        wrong = await desk.post(
            url, json={"station_id": e["station"]["id"], "member_code": code[:-1] + "x"}
        )
    assert ok.status_code == 200 and ok.json()["check_in"]["new"] is True
    assert wrong.status_code == 422


@pytest.mark.parametrize("case", ["altered", "other secret", "other station", "expired"])
async def test_a_forged_altered_or_expired_station_code_checks_no_one_in(
    web: Web, case: str
) -> None:
    e = await set_up_event(web)
    token = e["token"]
    if case == "altered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif case == "other secret":
        from warmrun.platform.models import Event

        event = await Event.get(id=e["event"]["id"])
        token = codes.station_token(
            "not-our-secret", station_id=e["station"]["id"], event=event, tz="Asia/Shanghai"
        )
    elif case == "other station":
        from itsdangerous import URLSafeSerializer

        payload = URLSafeSerializer("x", salt="warmrun.station").loads_unsafe(token)[1]
        payload[0] += 1
        token = URLSafeSerializer("x", salt="warmrun.station").dumps(payload)
    else:
        clock.set_clock(lambda: EVENT_DAY + timedelta(days=1))
    async with web.signed_in("resident") as me:
        r = await me.post("/api/v1/checkins", json={"token": token})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_station_code"
    assert await CheckIn.all().count() == 0


async def test_an_organizer_of_another_city_cannot_touch_the_event(web: Web) -> None:
    e = await set_up_event(web)
    async with web.signed_in("other_organizer") as other:
        r = await other.get(f"/api/v1/events/{e['event']['id']}")
        s = await other.post(f"/api/v1/events/{e['event']['id']}/settle")
    assert r.status_code == 404 and s.status_code == 404


async def test_the_scan_page_checks_in_with_one_tap_and_settlement_counts_it(web: Web) -> None:
    e = await set_up_event(web)
    async with web.signed_in("resident") as me:
        page = await me.get(f"/checkin/{e['token']}")
        assert page.status_code == 200 and "First aid" in page.text
        done = await me.post(f"/checkin/{e['token']}", data={"csrf_token": form_token(page.text)})
        assert done.status_code == 200 and 'id="checked-in"' in done.text
    async with web.signed_in("organizer") as org:
        printed = await org.get(f"/events/{e['event']['id']}/print")
        assert printed.status_code == 200 and printed.text.count("<svg") >= 1
        r = await org.post(f"/api/v1/events/{e['event']['id']}/settle")
        assert r.status_code == 200, r.text
        assert r.json()["credited"] == 1
        detail = (await org.get(f"/api/v1/events/{e['event']['id']}")).json()
    assert detail["participation"]["participants"] == 1
    assert detail["participation"]["stations"][0]["check_ins"] == 1


async def test_a_route_file_that_is_not_gpx_is_a_clear_error(web: Web) -> None:
    e = await set_up_event(web)
    async with web.signed_in("organizer") as org:
        r = await org.post(
            f"/api/v1/events/{e['event']['id']}/routes",
            json={
                "name": "x",
                "group": "adult",
                "gpx": (DATA / "gpx" / "togeojson__run.gpx").read_text()[:200],
            },
        )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


async def test_an_organizer_runs_an_event_day_from_the_pages(web: Web) -> None:
    clock.set_clock(lambda: EVENT_DAY)
    async with web.signed_in("organizer") as org:
        page = await org.get("/events")
        token = form_token(page.text)
        r = await org.post(
            "/events",
            data={
                "csrf_token": token,
                "campaign": web.site.campaign,
                "city_id": str(web.site.city),
                "name": "湿地公园公益跑",
                "day": "2025-11-01",
                "credit_mode": "flat",
                "participant_yuan": "3",
            },
        )
        assert r.status_code == 303, r.text
        url = r.headers["location"]
        r = await org.post(
            url, data={"csrf_token": token, "action": "station", "name": "急救教学", "points": "10"}
        )
        assert r.status_code == 303
        r = await org.post(
            url,
            data={
                "csrf_token": token,
                "action": "route",
                "name": "亲子路线",
                "group": "family",
                "sport": "walk",
            },
            files={"gpx": ("route.gpx", route_gpx().encode(), "application/gpx+xml")},
        )
        assert r.status_code == 303, r.text
        shown = await org.get(url)
        assert "急救教学" in shown.text and "亲子路线" in shown.text
        bad = await org.post(
            url,
            data={"csrf_token": token, "action": "route", "name": "x", "group": "adult"},
            files={"gpx": ("route.gpx", b"<html>not a route</html>", "text/html")},
        )
        assert bad.status_code == 422 and 'role="alert"' in bad.text
        settled = await org.post(url, data={"csrf_token": token, "action": "settle"})
        assert settled.status_code == 200 and 'id="settled"' in settled.text
