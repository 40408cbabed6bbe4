"""Pages: security headers, language, forms with CSRF, autoescaping."""

from __future__ import annotations

import re

from tests.web.conftest import Web
from tests.web.site import PASSWORD


async def test_pages_carry_a_strict_csp_and_security_headers(web: Web) -> None:
    async with web.client() as client:
        r = await client.get("/")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "<script>" not in r.text  # no inline script anywhere
        api = await client.get("/api/v1/campaigns")
        assert api.headers["x-content-type-options"] == "nosniff"
        # Cookies are Secure (served over HTTPS): browsers are told to keep to HTTPS.
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_no_hsts_on_a_plain_http_trial(tmp_path, template) -> None:  # type: ignore[no-untyped-def]
    import dataclasses
    import shutil

    import httpx

    from tests.web.conftest import BASE, settings_for
    from warmrun.web.app import create_app

    shutil.copy(template[0], tmp_path / "web.sqlite3")
    app = create_app(dataclasses.replace(settings_for(tmp_path), secure_cookies=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            r = await client.get("/")
    assert r.status_code == 200
    assert "strict-transport-security" not in r.headers


async def test_chinese_by_default_and_english_by_accept_language(web: Web) -> None:
    async with web.client() as client:
        assert "为山区孩子奔跑" in (await client.get("/")).text
        r = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert "Run for children in mountain areas" in r.text


async def test_money_is_formatted_per_locale(web: Web) -> None:
    async with web.client() as client:
        zh = (await client.get(f"/c/{web.site.campaign}")).text
        en = (await client.get(f"/c/{web.site.campaign}", headers={"Accept-Language": "en"})).text
        assert "¥0.00" in zh
        assert "CN¥0.00" in en


def form_token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert m, "no CSRF field in the form"
    return m.group(1)


async def test_sign_up_form_then_upload_page(web: Web) -> None:
    async with web.client() as client:
        page = await client.get("/signup")
        r = await client.post(
            "/signup",
            data={
                "csrf_token": form_token(page.text),
                "display_name": "<b>Li</b>",
                "email": "li@example.org",
                "password": PASSWORD,
                "compound_id": str(web.site.compound),
                "public_board": "on",
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/me"
        me = await client.get("/me")
        assert me.status_code == 200 and 'id="dropzone"' in me.text


async def test_a_form_without_its_token_is_refused_and_explained(web: Web) -> None:
    async with web.client() as client:
        await client.get("/login")
        r = await client.post("/login", data={"email": "a@b.cn", "password": "x"})
        assert r.status_code == 403
        assert "表单已过期" in r.text


async def test_login_page_keeps_only_local_next_targets(web: Web) -> None:
    async with web.client() as client:
        page = await client.get("/login?next=//evil.example/")
        r = await client.post(
            "/login?next=//evil.example/",
            data={
                "csrf_token": form_token(page.text),
                "email": web.site.emails["resident"],
                "password": PASSWORD,
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/me"


async def test_unknown_page_is_a_friendly_404(web: Web) -> None:
    async with web.client() as client:
        r = await client.get("/no/such/page")
        assert r.status_code == 404 and "<html" in r.text and "Traceback" not in r.text


async def test_openapi_document_lists_every_api_route(web: Web) -> None:
    async with web.client() as client:
        doc = (await client.get("/api/v1/openapi.json")).json()
        assert doc["openapi"].startswith("3.")
        assert "/api/v1/runs" in doc["paths"] and "post" in doc["paths"]["/api/v1/runs"]
        assert doc["paths"]["/api/v1/runs/{run_id}"]["get"]["parameters"][0]["schema"] == {
            "type": "integer",
            "minimum": 1,
            "maximum": 2**31 - 1,
        }


async def test_an_id_beyond_the_database_range_is_not_found(web: Web) -> None:
    async with web.signed_in("resident") as client:
        assert (await client.get(f"/api/v1/runs/{2**80}")).status_code == 404
        assert (await client.get(f"/me/runs/{2**80}")).status_code == 404


async def test_campaign_page_ranks_compounds_per_household_and_by_participation(
    web: Web,
) -> None:
    from tests.web.test_runs import RUN_GPX, files
    from warmrun.leaderboard.relay import drain

    async with web.signed_in("resident") as client:
        await client.post("/api/v1/runs", files=files(RUN_GPX))
    await drain(web.app.state.redis)
    async with web.client() as client:
        base = f"/c/{web.site.campaign}"
        km_page = (await client.get(base)).text
        assert "天骄花园" in km_page and "2.9 km" in km_page
        per_household = (await client.get(f"{base}?metric=pc")).text
        assert "m / 户" in per_household  # 2,904 m over 800 households: 3.63 m each
        assert "3.63 m" in per_household
        participation = (await client.get(f"{base}?metric=pr&window=week")).text
        assert (await client.get(f"{base}?metric=bogus")).status_code == 422
        assert "board-compounds" in participation


def test_every_message_of_the_pages_has_a_chinese_translation() -> None:
    from pathlib import Path

    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    import warmrun.web

    web_dir = Path(warmrun.web.__file__).parent
    po = web_dir / "i18n" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    missing = [
        msg
        for _f, _l, msg, _c, _x in extract_from_dir(
            str(web_dir),
            [("**.html", "jinja2")],
            options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
        )
        if msg not in catalog or not catalog[msg].string
    ]
    assert missing == []


async def test_organizer_offers_and_restocks_rewards_in_their_compounds_only(web: Web) -> None:
    async with web.signed_in("organizer") as client:
        page = await client.get("/stock")
        assert "天骄花园" in page.text and "湖畔雅苑" not in page.text  # Suzhou only
        token = form_token(page.text)
        r = await client.post(
            "/stock",
            data={
                "csrf_token": token,
                "action": "create",
                "compound_id": str(web.site.compound),
                "name_zh": "洗车券",
                "name_en": "Car wash",
                "points_price": "80",
                "stock": "3",
            },
        )
        assert r.status_code == 200 and 'id="saved"' in r.text and "洗车券" in r.text
        r = await client.post(
            "/stock",
            data={
                "csrf_token": token,
                "action": "restock",
                "reward_id": str(web.site.other_drink),
                "add": "5",
            },
        )
        assert r.status_code == 404  # a Chongqing reward
        r = await client.post(
            "/stock",
            data={
                "csrf_token": token,
                "action": "create",
                "compound_id": str(web.site.other_compound),
                "name_zh": "x",
                "name_en": "x",
                "points_price": "1",
                "stock": "1",
            },
        )
        assert r.status_code == 403
