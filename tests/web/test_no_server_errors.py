"""Requests the OpenAPI fuzz found ending in a server error, one per cause: references to rows
that do not exist, integers past their column's range, text the database cannot hold, and the
pages that parse the same forms as the API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import Web
from tests.web.test_pages import form_token
from warmrun.platform.models import Account, Campaign, CharityPartner, Compound, Goods, Reward

UNKNOWN = 999_999  # an id in range that names no row
PAST_RANGE = 2**63  # past every integer column: SQLite cannot even bind it

STAFF = {"email": "new-staff@example.org", "password": "a long enough password"}


async def test_a_compound_in_an_unknown_city_is_not_found_and_not_stored(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        r = await admin.post(
            "/api/v1/setup/compounds", json={"city_id": UNKNOWN, "name": "无处", "households": 1}
        )
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"
    assert not await Compound.exists(name="无处")


async def test_a_bundle_of_unknown_goods_is_not_found_and_not_created(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        r = await admin.post(
            "/api/v1/setup/bundles",
            json={
                "code": "ghost-pack",
                "name_zh": "包",
                "name_en": "Pack",
                "price_fen": 100,
                "lines": [{"goods_id": UNKNOWN}],
            },
        )
    assert r.status_code == 404, r.text
    assert not await Goods.exists(code="ghost-pack")


async def test_a_bundle_naming_an_item_twice_is_refused_and_not_created(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        coat = await Goods.get(code="coat")
        r = await admin.post(
            "/api/v1/setup/bundles",
            json={
                "code": "double-pack",
                "name_zh": "包",
                "name_en": "Pack",
                "price_fen": 100,
                "lines": [{"goods_id": coat.id}, {"goods_id": coat.id, "quantity": 2}],
            },
        )
    assert r.status_code == 422, r.text
    assert not await Goods.exists(code="double-pack")


@pytest.mark.parametrize("unknown", ["partner_id", "goods_id", "city_id"])
async def test_a_campaign_naming_an_unknown_row_is_not_found_and_not_created(
    web: Web, unknown: str
) -> None:
    partner = await CharityPartner.get(name="One Foundation")
    refs = {"partner_id": partner.id, "goods_id": (await Goods.get(code="warm-pack")).id}
    city = {"city_id": web.site.city}
    if unknown == "city_id":
        city["city_id"] = UNKNOWN
    else:
        refs[unknown] = UNKNOWN
    async with web.signed_in("admin") as admin:
        r = await admin.post(
            "/api/v1/setup/campaigns",
            json={
                "code": "ghost",
                "name": "Ghost",
                "starts_on": "2026-01-01",
                "ends_on": "2026-02-01",
                "cities": [city],
                **refs,
            },
        )
    assert r.status_code == 404, r.text
    assert not await Campaign.exists(code="ghost")


async def test_a_staff_account_for_an_unknown_partner_is_not_found_and_not_created(
    web: Web,
) -> None:
    async with web.signed_in("admin") as admin:
        r = await admin.post(
            "/api/v1/setup/staff", json={**STAFF, "role": "partner", "partner_id": UNKNOWN}
        )
    assert r.status_code == 404, r.text  # not "this e-mail is taken"
    assert not await Account.exists(email=STAFF["email"])


async def test_a_staff_account_in_an_unknown_city_is_not_found_and_not_created(
    web: Web,
) -> None:
    async with web.signed_in("admin") as admin:
        r = await admin.post(
            "/api/v1/setup/staff", json={**STAFF, "role": "organizer", "city_ids": [UNKNOWN]}
        )
    assert r.status_code == 404, r.text
    assert not await Account.exists(email=STAFF["email"])


async def test_a_staff_account_naming_a_city_twice_organizes_it_once(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        r = await admin.post(
            "/api/v1/setup/staff",
            json={**STAFF, "role": "organizer", "city_ids": [web.site.city, web.site.city]},
        )
    assert r.status_code == 200, r.text
    account = await Account.get(email=STAFF["email"])
    assert [c.city_id for c in await account.cities] == [web.site.city]


def _past_range_requests(web: Web) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """(who, path, body) of requests whose body holds an id past the integer columns."""
    return {
        "bulk review": (
            "organizer",
            "/api/v1/review/bulk",
            {"accept": True, "run_ids": [1, PAST_RANGE]},
        ),
        "staff cities": (
            "admin",
            "/api/v1/setup/staff",
            {**STAFF, "role": "organizer", "city_ids": [PAST_RANGE]},
        ),
        "challenge compounds": (
            "admin",
            f"/api/v1/campaigns/{web.site.campaign}/challenges",
            {
                "name": "Too far",
                "compound_ids": [web.site.compound, PAST_RANGE],
                "starts_on": "2026-01-01",
                "ends_on": "2026-01-31",
                "target_m_per_household": 1000,
            },
        ),
    }


@pytest.mark.parametrize("request_name", ["bulk review", "staff cities", "challenge compounds"])
async def test_an_id_in_a_body_past_the_database_range_is_refused(
    web: Web, request_name: str
) -> None:
    who, path, body = _past_range_requests(web)[request_name]
    async with web.signed_in(who) as client:
        r = await client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_input"


async def test_text_with_a_nul_character_is_refused_and_not_stored(web: Web) -> None:
    # PostgreSQL text cannot hold NUL: refused by the input model, on every database.
    async with web.signed_in("admin") as admin:
        r = await admin.post("/api/v1/setup/partners", json={"name": "Null\x00Charity"})
    assert r.status_code == 422, r.text
    assert not await CharityPartner.filter(name__startswith="Null").exists()


# --- pages that do what an endpoint does parse with the endpoint's model ----------------------


async def test_the_setup_page_answers_a_compound_in_an_unknown_city_with_the_form(
    web: Web,
) -> None:
    async with web.signed_in("admin") as admin:
        token = form_token((await admin.get("/setup")).text)
        r = await admin.post(
            "/setup",
            data={
                "csrf_token": token,
                "action": "compound",
                "city_id": str(UNKNOWN),
                "name": "无处",
                "households": "1",
            },
        )
    assert r.status_code == 404, r.text
    assert 'role="alert"' in r.text and 'name="households"' in r.text
    assert not await Compound.exists(name="无处")


async def test_the_setup_page_holds_a_compound_to_the_api_bounds(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        token = form_token((await organizer.get("/setup")).text)
        r = await organizer.post(
            "/setup",
            data={
                "csrf_token": token,
                "action": "compound",
                "city_id": str(web.site.city),
                "name": "巨型小区",
                "households": "2000000",  # the API takes at most 1,000,000
            },
        )
    assert r.status_code == 422, r.text
    assert "households" in r.text
    assert not await Compound.exists(name="巨型小区")


async def test_the_stock_page_holds_a_restock_to_the_api_bounds(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        token = form_token((await organizer.get("/stock")).text)
        r = await organizer.post(
            "/stock",
            data={
                "csrf_token": token,
                "action": "restock",
                "reward_id": str(web.site.drink),
                "add": "2000000",  # the API adds at most 1,000,000 at once
            },
        )
    assert r.status_code == 422, r.text
    assert (await Reward.get(id=web.site.drink)).stock == 5


@pytest.mark.parametrize("run_id", [str(PAST_RANGE), "²"])
async def test_the_review_page_refuses_run_ids_the_api_refuses(web: Web, run_id: str) -> None:
    async with web.signed_in("organizer") as organizer:
        token = form_token((await organizer.get("/review")).text)
        r = await organizer.post(
            "/review",
            data={"csrf_token": token, "decision": "accept", f"run_{run_id}": run_id},
        )
    assert r.status_code == 422, r.text
    assert 'role="alert"' in r.text


async def test_a_page_form_with_a_nul_character_is_refused_and_not_stored(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        token = form_token((await admin.get("/setup")).text)
        r = await admin.post(
            "/setup", data={"csrf_token": token, "action": "partner", "name": "Null\x00Charity"}
        )
    assert r.status_code == 422, r.text
    assert not await CharityPartner.filter(name__startswith="Null").exists()


async def test_an_upload_named_with_control_characters_is_stored_without_them(web: Web) -> None:
    from tests.web.test_runs import RUN_GPX

    # Built by hand: HTTP clients escape such names, a crafted request need not.
    body = (
        b"--b\r\n"
        b'Content-Disposition: form-data; name="files"; filename="run\x00\x01.gpx"\r\n'
        b"Content-Type: application/gpx+xml\r\n\r\n" + RUN_GPX.read_bytes() + b"\r\n--b--\r\n"
    )
    async with web.signed_in("resident") as client:
        r = await client.post(
            "/api/v1/runs",
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["files"][0]["file"] == "run.gpx"
