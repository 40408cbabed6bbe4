"""The contest set-up pages: a campaign's badges and challenges, and compounds' households."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from tests.web.conftest import Web
from tests.web.test_pages import form_token
from warmrun.platform import badges, campaign_views, campaigns, challenges, contest_views
from warmrun.platform.errors import InvalidInput, NotFound

NEW_BADGE = {
    "action": "badge",
    "code": "winter-5",
    "name_zh": "冬日五公里",
    "name_en": "Winter 5 km",
    "kind": "distance_km",
    "threshold": "5",
    "points": "15",
}


async def post(client: httpx.AsyncClient, url: str, **fields: str) -> httpx.Response:
    """A form of the page at ``url``, posted with that page's CSRF token."""
    token = form_token((await client.get(url)).text)
    return await client.post(url, data={"csrf_token": token, **fields})


async def campaign_id(web: Web) -> int:
    return (await campaign_views.campaign_summary(code=web.site.campaign)).id


async def ended_challenge(web: Web) -> int:
    """A challenge between the two cities' compounds that ended long ago."""
    made = await challenges.create_challenge(
        campaign_id=await campaign_id(web),
        name="Winter duel",
        compound_ids=[web.site.compound, web.site.other_compound],
        starts_on=date(2020, 1, 1),
        ends_on=date(2020, 1, 31),
        target_m_per_household=1000,
    )
    return made.id


async def settled_at(client: httpx.AsyncClient, challenge_id: int) -> Any:
    r = await client.get(f"/api/v1/challenges/{challenge_id}")
    return r.json()["challenge"]["settled_at"]


async def other_campaign(web: Web, code: str) -> int:
    """A campaign of the residents' city alone; its id."""
    summary = await campaign_views.campaign_summary(code=web.site.campaign)
    goods_id = (await campaign_views.catalogue()).goods[0]["id"]
    made = await campaigns.create_campaign(
        code=code,
        name=code,
        partner_id=summary.partner_id,
        goods_id=goods_id,
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 3, 31),
        city_goals={web.site.city: 0},
    )
    return made.id


async def households_of(compound_id: int) -> int:
    rows = await contest_views.compound_households()
    return next(x.households for x in rows if x.compound_id == compound_id)


# Badges


async def test_badges_page_lists_the_campaigns_badges(web: Web) -> None:
    await badges.add_badge(
        campaign_id=await campaign_id(web),
        code="lantern",
        name_zh="灯笼跑者",
        name_en="Lantern runner",
        kind="first_run",
    )
    async with web.signed_in("admin") as admin:
        r = await admin.get(f"/setup/{web.site.campaign}/badges")
    assert r.status_code == 200
    assert "灯笼跑者" in r.text and "lantern" in r.text


async def test_a_badge_added_on_the_page_is_stored_and_listed(web: Web) -> None:
    url = f"/setup/{web.site.campaign}/badges"
    async with web.signed_in("admin") as admin:
        r = await post(admin, url, **NEW_BADGE)
        assert r.status_code == 303 and r.headers["location"] == f"{url}?saved=1"
        page = (await admin.get(r.headers["location"])).text
    assert 'id="saved"' in page and "冬日五公里" in page


async def test_the_standard_badges_are_added_in_one_step(web: Web) -> None:
    url = f"/setup/{web.site.campaign}/badges"
    async with web.signed_in("admin") as admin:
        assert (await post(admin, url, action="defaults")).status_code == 303
        page = (await admin.get(url)).text
    assert all(code in page for code in ("first-run", "500k", "four-cities", "streak-4"))


async def test_a_refused_badge_is_explained_and_what_was_typed_is_kept(web: Web) -> None:
    url = f"/setup/{web.site.campaign}/badges"
    async with web.signed_in("admin") as admin:
        r = await post(admin, url, **{**NEW_BADGE, "code": "Not A Code"})
    assert r.status_code == 422
    assert 'role="alert"' in r.text
    assert 'value="Not A Code"' in r.text and 'value="冬日五公里"' in r.text
    assert "winter-5</span>" not in r.text  # not in the list: nothing was stored


async def test_an_organizer_of_one_of_the_campaigns_cities_cannot_touch_its_badges(
    web: Web,
) -> None:
    url = f"/setup/{web.site.campaign}/badges"
    async with web.signed_in("organizer") as organizer:
        assert (await organizer.get(url)).status_code == 403
        token = form_token((await organizer.get("/setup")).text)
        r = await organizer.post(url, data={"csrf_token": token, **NEW_BADGE})
        assert r.status_code == 403
    assert await contest_views.campaign_badges(campaign_id=await campaign_id(web)) == []


# Challenges


async def test_challenges_page_lists_the_campaigns_challenges(web: Web) -> None:
    challenge_id = await ended_challenge(web)
    async with web.signed_in("other_organizer") as organizer:
        r = await organizer.get(f"/setup/{web.site.campaign}/challenges")
    assert r.status_code == 200
    assert f'href="/setup/{web.site.campaign}/challenges/{challenge_id}"' in r.text
    assert "Winter duel" in r.text


async def test_a_challenge_created_on_the_page_shows_its_standings(web: Web) -> None:
    url = f"/setup/{web.site.campaign}/challenges"
    async with web.signed_in("admin") as admin:
        r = await post(
            admin,
            url,
            name="Spring duel",
            starts_on="2026-03-01",
            ends_on="2026-03-31",
            target_m_per_household="500",
            **{
                f"compound_{web.site.compound}": str(web.site.compound),
                f"compound_{web.site.other_compound}": str(web.site.other_compound),
            },
        )
        assert r.status_code == 303 and r.headers["location"].startswith(f"{url}/")
        page = (await admin.get(r.headers["location"])).text
    assert "Spring duel" in page
    assert "天骄花园" in page and "湖畔雅苑" in page
    assert 'name="confirm"' in page


async def test_a_challenge_with_a_compound_of_another_city_is_refused(web: Web) -> None:
    await campaigns.create_compound(city_id=web.site.city, name="枫桥小区", households=300)
    url = f"/setup/{web.site.campaign}/challenges"
    async with web.signed_in("organizer") as organizer:
        page = (await organizer.get(url)).text
        assert (
            "枫桥小区" in page and "湖畔雅苑" not in page
        )  # only the compounds of the organizer's city are offered
        r = await post(
            organizer,
            url,
            name="Sneaky duel",
            starts_on="2026-03-01",
            ends_on="2026-03-31",
            target_m_per_household="500",
            **{
                f"compound_{web.site.compound}": str(web.site.compound),
                f"compound_{web.site.other_compound}": str(web.site.other_compound),
            },
        )
    assert r.status_code == 403
    assert 'value="Sneaky duel"' in r.text
    assert await contest_views.campaign_challenges(campaign_id=await campaign_id(web)) == []


async def test_an_organizer_outside_the_campaigns_cities_does_not_see_its_challenges(
    web: Web,
) -> None:
    await other_campaign(web, "suzhou-only")
    async with web.signed_in("other_organizer") as organizer:
        r = await organizer.get("/setup/suzhou-only/challenges")
    assert r.status_code == 403


async def test_settling_without_the_confirmation_is_refused(web: Web) -> None:
    challenge_id = await ended_challenge(web)
    url = f"/setup/{web.site.campaign}/challenges/{challenge_id}"
    async with web.signed_in("admin") as admin:
        r = await post(admin, url)
        assert r.status_code == 422
        assert 'role="alert"' in r.text and "请勾选确认" in r.text
        assert await settled_at(admin, challenge_id) is None


async def test_settling_with_the_confirmation_settles_the_challenge(web: Web) -> None:
    challenge_id = await ended_challenge(web)
    url = f"/setup/{web.site.campaign}/challenges/{challenge_id}"
    async with web.signed_in("admin") as admin:
        r = await post(admin, url, confirm="yes")
        assert r.status_code == 200
        assert 'id="settled-now"' in r.text and 'id="settled"' in r.text
        assert 'name="confirm"' not in r.text  # nothing left to settle
        assert await settled_at(admin, challenge_id) is not None


async def test_an_organizer_of_one_of_the_challenges_cities_cannot_settle_it(web: Web) -> None:
    challenge_id = await ended_challenge(web)
    url = f"/setup/{web.site.campaign}/challenges/{challenge_id}"
    async with web.signed_in("other_organizer") as organizer:
        assert (await organizer.get(url)).status_code == 200  # the standings are theirs to see
        r = await post(organizer, url, confirm="yes")
        assert r.status_code == 403
        assert await settled_at(organizer, challenge_id) is None


async def test_a_challenge_is_found_only_under_its_own_campaign(web: Web) -> None:
    challenge_id = await ended_challenge(web)
    await other_campaign(web, "other-run")
    async with web.signed_in("admin") as admin:
        r = await admin.get(f"/setup/other-run/challenges/{challenge_id}")
    assert r.status_code == 404


# Households


async def test_households_page_lists_only_the_organizers_compounds(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        r = await organizer.get("/setup/households")
    assert r.status_code == 200
    assert "天骄花园" in r.text and 'value="800"' in r.text
    assert "湖畔雅苑" not in r.text


async def test_households_page_lists_every_compound_for_an_admin(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        r = await admin.get("/setup/households")
    assert "天骄花园" in r.text and "湖畔雅苑" in r.text


async def test_households_are_changed_on_the_page(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        r = await post(
            organizer, "/setup/households", compound_id=str(web.site.compound), households="950"
        )
        assert r.status_code == 303
        page = (await organizer.get(r.headers["location"])).text
    assert 'id="saved"' in page and 'value="950"' in page
    assert await households_of(web.site.compound) == 950


async def test_negative_households_are_refused_and_the_typed_value_kept(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        r = await post(
            organizer, "/setup/households", compound_id=str(web.site.compound), households="-5"
        )
    assert r.status_code == 422
    assert 'role="alert"' in r.text and 'value="-5"' in r.text
    assert await households_of(web.site.compound) == 800


async def test_an_organizer_cannot_change_another_citys_households(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        r = await post(
            organizer,
            "/setup/households",
            compound_id=str(web.site.other_compound),
            households="1",
        )
    assert r.status_code == 403
    assert await households_of(web.site.other_compound) == 600


async def test_the_households_api_is_scoped_to_the_organizers_cities(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        other = f"/api/v1/setup/compounds/{web.site.other_compound}/households"
        assert (await organizer.post(other, json={"households": 1})).status_code == 403
        own = f"/api/v1/setup/compounds/{web.site.compound}/households"
        r = await organizer.post(own, json={"households": 900})
    assert r.status_code == 200
    assert r.json()["compound"]["households"] == 900
    assert await households_of(web.site.other_compound) == 600


async def test_the_households_api_refuses_a_negative_count(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        url = f"/api/v1/setup/compounds/{web.site.compound}/households"
        r = await admin.post(url, json={"households": -1})
    assert r.status_code == 422
    assert await households_of(web.site.compound) == 800


async def test_setting_households_refuses_a_negative_count_or_a_missing_compound(
    web: Web,
) -> None:
    with pytest.raises(InvalidInput):
        await campaigns.set_households(compound_id=web.site.compound, households=-1)
    with pytest.raises(NotFound):
        await campaigns.set_households(compound_id=999_999, households=1)


async def test_the_pages_speak_chinese_by_default_and_english_when_asked(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        url = f"/setup/{web.site.campaign}/challenges/{await ended_challenge(web)}"
        assert "结算后无法撤销" in (await admin.get(url)).text
        admin.cookies.set("wr_lang", "en")
        assert "settling cannot be undone" in (await admin.get(url)).text
