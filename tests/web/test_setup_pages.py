"""The set-up pages, as an admin and as an organizer."""

from __future__ import annotations

from tests.web.conftest import Web
from tests.web.test_pages import form_token
from warmrun.platform.models import Goods


async def test_admin_creates_and_opens_a_campaign_from_the_pages(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        token = form_token((await admin.get("/setup")).text)

        async def post(url: str, **fields: str) -> str:
            r = await admin.post(url, data={"csrf_token": token, **fields})
            assert r.status_code == 200, r.text
            assert 'id="saved"' in r.text
            return r.text

        await post("/setup", action="city", code="CD", name_zh="成都", name_en="Chengdu")
        await post("/setup", action="partner", name="Chengdu Charity")
        page = await post(
            "/setup",
            action="goods",
            code="bag",
            name_zh="书包",
            name_en="School bag",
            unit_price_yuan="50",
        )
        assert "书包" in page
        catalogue = (await admin.get("/api/v1/places")).json()  # compounds, for later
        assert catalogue["items"]
        cities = (await admin.get("/setup")).text
        city_id = cities.split('name="city_')[-1].split('"')[0]
        await post(
            "/setup",
            action="campaign",
            code="chengdu-2026",
            name="Chengdu run",
            partner_id="1",
            goods_id="1",
            starts_on="2026-01-01",
            ends_on="2026-03-31",
            goal_yuan="1,000.00",
            **{f"city_{city_id}": city_id},
        )
        await post(
            "/setup/chengdu-2026",
            action="rule",
            sport="run",
            fen="80",
            per="1000",
            basis="metres",
            daily_cap_yuan="",
        )
        await post(
            "/setup/chengdu-2026",
            action="points",
            points_per_km="10",
            points_per_run="5",
            daily_cap="",
        )
        await post(
            "/setup/chengdu-2026",
            action="pledge",
            sponsor="CD Sponsor",
            cap_yuan="2000",
            priority="0",
        )
        page = await post("/setup/chengdu-2026", action="active", confirm="yes")
        assert 'data-state="active"' in page
        assert "CD Sponsor" in page


async def test_organizer_cannot_run_a_campaign_beyond_their_cities(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        # Their city's part of the campaign, not its rules (they span both cities).
        part = await organizer.get(f"/setup/{web.site.campaign}")
        assert part.status_code == 200 and 'name="goal_yuan"' in part.text
        assert 'value="rule"' not in part.text
        r = await organizer.post(
            f"/setup/{web.site.campaign}",
            data={"csrf_token": form_token(part.text), "action": "rule", "sport": "run",
                  "fen": "1", "per": "1000"},
        )  # fmt: skip
        assert r.status_code == 403
        page = (await organizer.get("/setup")).text
        assert "Add a city" not in page and "添加城市" not in page
        r = await organizer.post(
            "/setup",
            data={
                "csrf_token": form_token(page),
                "action": "city",
                "code": "X",
                "name_zh": "x",
                "name_en": "x",
            },
        )
        assert r.status_code == 403


async def test_a_bad_date_is_explained_and_nothing_is_created(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        token = form_token((await admin.get("/setup")).text)
        r = await admin.post(
            "/setup",
            data={
                "csrf_token": token,
                "action": "campaign",
                "code": "bad",
                "name": "bad",
                "partner_id": "1",
                "goods_id": "1",
                "starts_on": "2026-13-45",
                "ends_on": "2026-03-31",
                f"city_{web.site.city}": str(web.site.city),
            },
        )
        assert r.status_code == 422, r.status_code
        assert "YYYY-MM-DD" in r.text
        assert (await admin.get("/api/v1/campaigns/bad")).status_code == 404


async def test_amounts_are_typed_in_yuan_and_stored_as_exact_fen(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        token = form_token((await admin.get("/setup")).text)
        r = await admin.post(
            "/setup",
            data={"csrf_token": token, "action": "goods", "code": "scarf", "name_zh": "围巾",
                  "name_en": "Scarf", "unit_price_yuan": "¥1,234.56"},
        )  # fmt: skip
        assert r.status_code == 200 and 'id="saved"' in r.text
    assert (await Goods.get(code="scarf")).unit_price_fen == 123_456


async def test_a_fraction_of_a_fen_is_refused_and_says_which_field(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        token = form_token((await admin.get("/setup")).text)
        r = await admin.post(
            "/setup",
            data={"csrf_token": token, "action": "goods", "code": "hat", "name_zh": "帽子",
                  "name_en": "Hat", "unit_price_yuan": "12.345"},
        )  # fmt: skip
        assert r.status_code == 422
        assert "unit_price" in r.text and ("两位小数" in r.text or "two decimals" in r.text)
