"""Setting a campaign up through the API, from an empty city list to a credited run."""

from __future__ import annotations

from tests.web.conftest import Web, csrf
from tests.web.test_runs import RUN_GPX, files


async def test_admin_sets_up_a_campaign_that_credits_a_new_residents_run(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        city = (
            await admin.post(
                "/api/v1/setup/cities", json={"code": "WX", "name_zh": "无锡", "name_en": "Wuxi"}
            )
        ).json()["city"]
        compound = (
            await admin.post(
                "/api/v1/setup/compounds",
                json={"city_id": city["id"], "name": "太湖苑", "households": 900},
            )
        ).json()["compound"]
        partner = (
            await admin.post("/api/v1/setup/partners", json={"name": "Wuxi Charity"})
        ).json()["partner"]
        shoes = (
            await admin.post(
                "/api/v1/setup/goods",
                json={
                    "code": "shoes",
                    "name_zh": "棉鞋",
                    "name_en": "Shoes",
                    "unit_price_fen": 6_000,
                },
            )
        ).json()["goods"]
        pack = (
            await admin.post(
                "/api/v1/setup/bundles",
                json={
                    "code": "wx-pack",
                    "name_zh": "温暖包",
                    "name_en": "Warm pack",
                    "price_fen": 36_500,
                    "lines": [{"goods_id": shoes["id"], "quantity": 2}],
                },
            )
        ).json()["goods"]
        r = await admin.post(
            "/api/v1/setup/campaigns",
            json={
                "code": "wuxi-2026",
                "name": "Wuxi warm run",
                "partner_id": partner["id"],
                "goods_id": pack["id"],
                "starts_on": "2010-01-01",
                "ends_on": "2030-12-31",
                "cities": [{"city_id": city["id"], "goal_fen": 3_650_000}],
            },
        )
        assert r.status_code == 200 and r.json()["campaign"]["state"] == "draft"
        assert (
            await admin.put("/api/v1/campaigns/wuxi-2026/rules/run", json={"fen": 100, "per": 1000})
        ).status_code == 200
        assert (
            await admin.put("/api/v1/campaigns/wuxi-2026/points-rule", json={"points_per_km": 10})
        ).status_code == 200
        assert (
            await admin.post(
                "/api/v1/campaigns/wuxi-2026/pledges",
                json={"sponsor": "Wuxi Sponsor", "cap_fen": 500_000},
            )
        ).status_code == 200
        r = await admin.post("/api/v1/campaigns/wuxi-2026/activate")
        assert r.json() == {"state": "active"}
    async with web.client() as client:
        await csrf(client)
        await client.post(
            "/api/v1/auth/signup",
            json={
                "email": "wx@example.org",
                "password": "long enough pw",
                "display_name": "阿明",
                "compound_id": compound["id"],
            },
        )
        await csrf(client)
        (outcome,) = (await client.post("/api/v1/runs", files=files(RUN_GPX))).json()["files"]
        assert outcome["status"] == "accepted"
        assert outcome["value_fen"] == outcome["credited_m"] // 10  # 100 fen per km
    async with web.client() as public:
        d = (await public.get("/api/v1/campaigns/wuxi-2026")).json()
        assert d["overall"]["metres"] == outcome["credited_m"]


async def test_an_organizer_cannot_tune_a_campaign_beyond_their_cities(web: Web) -> None:
    async with web.signed_in("other_organizer") as organizer:
        r = await organizer.put(
            f"/api/v1/campaigns/{web.site.campaign}/rules/run", json={"fen": 1000, "per": 1000}
        )
        assert r.status_code == 403
        r = await organizer.post(
            "/api/v1/setup/compounds",
            json={"city_id": web.site.city, "name": "not mine", "households": 10},
        )
        assert r.status_code == 403
        r = await organizer.post(
            "/api/v1/setup/compounds",
            json={"city_id": web.site.other_city, "name": "新小区", "households": 10},
        )
        assert r.status_code == 200
