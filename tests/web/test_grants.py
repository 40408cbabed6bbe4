"""Points beyond running: grants once per reference (one by one and from a CSV file),
adjustments with a reason, all within the organizer's cities and in the audit log; points
lapsing oldest first under a campaign's expiry policy, with a notice before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.web.conftest import Web
from warmrun.platform import campaigns, clock, expiry
from warmrun.platform.models import Account, Notification, PointsEntry, Resident

GRANT = {"member": "resident@example.org", "points": 20, "reason": "winter_care", "ref": "v-1"}


async def balance(web: Web, who: str = "resident") -> int:
    account = await Account.get(email=web.site.emails[who])
    return (await Resident.get(id=account.resident_id)).points_balance


async def test_a_grant_is_made_once_per_reference_and_audited(web: Web) -> None:
    before = await balance(web)
    async with web.signed_in("organizer") as org:
        first = await org.post(f"/api/v1/campaigns/{web.site.campaign}/grants", json=GRANT)
        again = await org.post(f"/api/v1/campaigns/{web.site.campaign}/grants", json=GRANT)
        audit = (await org.get("/api/v1/audit", params={"action": "points"})).json()["items"]
    assert first.json() == {"granted": True} and again.json() == {"granted": False}
    assert await balance(web) == before + 20
    assert audit[0]["action"] == "points.grant" and audit[0]["after"]["reason"] == "winter_care"


async def test_an_organizer_grants_only_to_residents_of_their_cities(web: Web) -> None:
    async with web.signed_in("other_organizer") as other:
        r = await other.post(f"/api/v1/campaigns/{web.site.campaign}/grants", json=GRANT)
    assert r.status_code == 404


async def test_a_csv_file_grants_each_row_once_and_says_why_a_row_is_refused(web: Web) -> None:
    before = await balance(web)
    csv = (
        "ref,member,points,reason,note\r\n"
        "r1,resident@example.org,10,volunteer,小小志愿者\r\n"
        "r1,resident@example.org,10,volunteer,again in the file\r\n"
        "r2,resident@example.org,5,dancing,\r\n"
        "r3,nobody@example.org,5,volunteer,\r\n"
    ).encode("utf-8-sig")
    url = f"/api/v1/campaigns/{web.site.campaign}/grants.csv"
    async with web.signed_in("organizer") as org:
        rows = (await org.post(url, content=csv)).json()["rows"]
        again = (await org.post(url, content=csv)).json()["rows"]
    assert [r["status"] for r in rows] == ["granted", "already", "refused", "refused"]
    assert rows[2]["error"]["message"].startswith("事由：")
    assert [r["status"] for r in again][:2] == ["already", "already"]
    assert await balance(web) == before + 10


async def test_an_adjustment_needs_a_reason_and_cannot_overdraw(web: Web) -> None:
    url = "/api/v1/points/adjustments"
    async with web.signed_in("organizer") as org:
        over = await org.post(
            url, json={"member": "resident@example.org", "delta": -9999, "note": "x", "ref": "a1"}
        )
        ok = await org.post(
            url, json={"member": "resident@example.org", "delta": 7, "note": "补录", "ref": "a2"}
        )
    assert over.status_code == 409 and ok.status_code == 200


def test_points_lapse_oldest_first_and_never_more_than_the_balance() -> None:
    assert expiry.lapsing(earned_before=100, debits=-30, balance=200) == 70
    assert expiry.lapsing(earned_before=100, debits=-130, balance=200) == 0
    assert expiry.lapsing(earned_before=100, debits=0, balance=40) == 40


async def test_an_expiry_round_lapses_old_points_once_and_tells_of_the_next(web: Web) -> None:
    c = await campaigns.get_campaign(code=web.site.campaign)
    await campaigns.set_points_rule(
        campaign_id=c.id, points_per_km=10, expire_after_days=30, expiry_notice_days=14
    )
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    async with web.signed_in("organizer") as org:
        for days, ref, points in ((40, "old", 30), (20, "newer", 12)):
            clock.set_clock(lambda d=days: now - timedelta(days=d))
            try:
                r = await org.post(
                    f"/api/v1/campaigns/{web.site.campaign}/grants",
                    json={**GRANT, "ref": ref, "points": points},
                )
                assert r.status_code == 200
            finally:
                clock.set_clock(None)
    before = await balance(web)
    first = await expiry.run_round(now)
    second = await expiry.run_round(now)
    assert first.expired_points == 30 and second.expired_points == 0
    assert await balance(web) == before - 30
    account = await Account.get(email=web.site.emails["resident"])
    assert await PointsEntry.filter(resident_id=account.resident_id, reason="expiry").count() == 1
    notice = await Notification.get(resident_id=account.resident_id, kind="points_expiring")
    assert notice.params["points"] == 12


async def test_a_csv_file_with_old_mac_line_ends_is_read(web: Web) -> None:
    before = await balance(web)
    old_mac = b"ref,member,points,reason\r1,resident@example.org,5,volunteer\r"
    async with web.signed_in("organizer") as org:
        r = await org.post(f"/api/v1/campaigns/{web.site.campaign}/grants.csv", content=old_mac)
    assert [x["status"] for x in r.json()["rows"]] == ["granted"]
    assert await balance(web) == before + 5


async def test_a_malformed_csv_file_is_refused_whole_with_nothing_granted(web: Web) -> None:
    before = await balance(web)
    huge = b"ref,member,points,reason,note\n1,resident@example.org,5,volunteer," + b"x" * 200_000
    async with web.signed_in("organizer") as org:
        r = await org.post(f"/api/v1/campaigns/{web.site.campaign}/grants.csv", content=huge)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    assert await balance(web) == before


async def test_a_row_without_a_member_is_refused_and_the_others_granted(web: Web) -> None:
    before = await balance(web)
    csv = b"ref,member,points,reason\nA1,resident@example.org,7,volunteer\nA2,,7,volunteer\n"
    async with web.signed_in("organizer") as org:
        r = await org.post(f"/api/v1/campaigns/{web.site.campaign}/grants.csv", content=csv)
    assert [x["status"] for x in r.json()["rows"]] == ["granted", "refused"]
    assert await balance(web) == before + 7


async def test_an_adjustment_sent_twice_is_made_once(web: Web) -> None:
    before = await balance(web)
    body = {"member": "resident@example.org", "delta": 5, "note": "补录", "ref": "adj-1"}
    async with web.signed_in("organizer") as org:
        first = await org.post("/api/v1/points/adjustments", json=body)
        again = await org.post("/api/v1/points/adjustments", json=body)
    assert first.json() == {"ok": True, "already": False}
    assert again.json() == {"ok": True, "already": True}
    assert await balance(web) == before + 5


async def test_one_reference_serves_different_residents(web: Web) -> None:
    far = {**GRANT, "member": "far_resident@example.org"}
    async with web.signed_in("other_organizer") as other:
        assert (await other.post(f"/api/v1/campaigns/{web.site.campaign}/grants", json=far)).json()[
            "granted"
        ]
    async with web.signed_in("organizer") as org:
        r = await org.post(f"/api/v1/campaigns/{web.site.campaign}/grants", json=GRANT)
    assert r.json() == {"granted": True}
