"""Redeeming at the shop, the pickup desk, and organizer review over HTTP."""

from __future__ import annotations

from tests.web.conftest import Web
from tests.web.test_runs import RUN_FIT, RUN_GPX, files
from warmrun.integrations.synthetic import synthetic_run_gpx


async def earn(web: Web, who: str = "resident") -> None:
    async with web.signed_in(who) as client:
        r = await client.post("/api/v1/runs", files=files(RUN_GPX, RUN_FIT))
        assert all(o["status"] == "accepted" for o in r.json()["files"])


async def test_redeem_a_hot_drink_and_the_desk_hands_it_over(web: Web) -> None:
    await earn(web)
    async with web.signed_in("resident") as client:
        balance = (await client.get("/api/v1/me/points")).json()["balance"]
        r = await client.post(
            "/api/v1/redemptions",
            json={
                "reward_id": web.site.drink,
                "idempotency_key": "tap-0001",
                "slot": "07:00-09:00",
            },
        )
        assert r.status_code == 200, r.text
        code = r.json()["redemption"]["code"]
        again = await client.post(
            "/api/v1/redemptions", json={"reward_id": web.site.drink, "idempotency_key": "tap-0001"}
        )
        assert again.json()["redemption"]["code"] == code  # a retried tap, not a second drink
        assert (await client.get("/api/v1/me/points")).json()["balance"] == balance - 30
        qr = await client.get(f"/api/v1/redemptions/{code}/qr.svg")
        assert qr.headers["content-type"].startswith("image/svg+xml") and b"<svg" in qr.content
    async with web.signed_in("other_organizer") as wrong_city:
        r = await wrong_city.post("/api/v1/desk/fulfil", json={"code": code})
        assert r.status_code == 404
    async with web.signed_in("organizer") as desk:
        r = await desk.post("/api/v1/desk/fulfil", json={"code": code.lower()})
        assert r.status_code == 200 and r.json()["redemption"]["state"] == "fulfilled"
        r = await desk.post("/api/v1/desk/fulfil", json={"code": code})
        assert r.status_code == 409 and r.json()["error"]["code"] == "redemption_state"


async def test_cancel_refunds_points_and_restores_stock(web: Web) -> None:
    await earn(web)
    async with web.signed_in("resident") as client:
        before = (await client.get("/api/v1/me/points")).json()["balance"]
        stock = (await client.get("/api/v1/rewards")).json()["items"][0]["stock"]
        code = (
            await client.post(
                "/api/v1/redemptions",
                json={"reward_id": web.site.drink, "idempotency_key": "tap-0002"},
            )
        ).json()["redemption"]["code"]
        r = await client.post(f"/api/v1/redemptions/{code}/cancel")
        assert r.json()["redemption"]["state"] == "cancelled"
        assert (await client.get("/api/v1/me/points")).json()["balance"] == before
        assert (await client.get("/api/v1/rewards")).json()["items"][0]["stock"] == stock


async def test_not_enough_points_is_a_clear_conflict(web: Web) -> None:
    async with web.signed_in("resident") as client:
        assert (await client.post("/api/v1/lang", json={"lang": "en"})).status_code == 200
        r = await client.post(
            "/api/v1/redemptions", json={"reward_id": web.site.drink, "idempotency_key": "tap-0003"}
        )
        assert r.status_code == 409
        assert r.json()["error"]["message"] == "Not enough points: this needs 30, you have 0."


async def test_a_reward_of_another_compound_cannot_be_redeemed(web: Web) -> None:
    await earn(web)
    async with web.signed_in("resident") as client:
        r = await client.post(
            "/api/v1/redemptions",
            json={"reward_id": web.site.other_drink, "idempotency_key": "tap-0004"},
        )
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "reward_not_available"


async def test_organizer_reviews_a_flagged_run_in_their_city_only(web: Web) -> None:
    shared = synthetic_run_gpx(points=1200, seed=5)
    async with web.signed_in("resident") as a:
        await a.post("/api/v1/runs", files=files(("mine.gpx", shared)))
    async with web.signed_in("other_resident") as b:
        r = await b.post("/api/v1/runs", files=files(("copy.gpx", shared)))
        flagged = r.json()["files"][0]
        assert flagged["status"] == "flagged"
    async with web.signed_in("other_organizer") as elsewhere:
        assert (await elsewhere.get("/api/v1/review")).json()["total"] == 0
        r = await elsewhere.post(f"/api/v1/runs/{flagged['run_id']}/review", json={"accept": True})
        assert r.status_code == 404
    async with web.signed_in("organizer") as organizer:
        queue = (await organizer.get("/api/v1/review")).json()
        assert queue["total"] == 2
        r = await organizer.post(
            "/api/v1/review/bulk",
            json={
                "run_ids": [i["run"]["id"] for i in queue["items"]],
                "accept": False,
                "note": "same track from two accounts",
            },
        )
        assert [x["run"]["verdict"] for x in r.json()["results"]] == ["rejected", "rejected"]
        assert (await organizer.get("/api/v1/review")).json()["total"] == 0


async def test_partner_exports_csv_and_xlsx_and_verifies_the_ledger(web: Web) -> None:
    await earn(web)
    async with web.signed_in("partner") as partner:
        base = f"/api/v1/campaigns/{web.site.campaign}"
        csv = await partner.get(f"{base}/report.csv")
        assert csv.status_code == 200
        assert csv.content.startswith("\ufeff层级,城市,城市代码,小区".encode())
        xlsx = await partner.get(f"{base}/report.xlsx")
        assert xlsx.content[:2] == b"PK"
        v = (await partner.get(f"{base}/verify")).json()
        assert v["ok"] and v["entries"] == 2
        page = await partner.get(f"/partner/{web.site.campaign}")
        assert page.status_code == 200 and "<svg" in page.text
    async with web.signed_in("other_partner") as other:
        assert (
            await other.get(f"/api/v1/campaigns/{web.site.campaign}/report.csv")
        ).status_code == 404


async def test_codes_that_cannot_be_pickup_codes_are_not_found(web: Web) -> None:
    async with web.signed_in("resident") as client:
        for code in ("ßßßßßßßßßßßßßßßßß", "abc", "%20%20", "x" * 40):
            r = await client.get(f"/api/v1/redemptions/{code}/qr.svg")
            assert r.status_code == 404, code
    async with web.signed_in("organizer") as desk:
        r = await desk.post("/api/v1/desk/fulfil", json={"code": "ßßßßßßßß"})
        assert r.status_code in (404, 422)
