"""Participation figures (weekly active, new and returning, repeat rate, households, ages)
and residents' satisfaction ratings."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.web.conftest import Web
from tests.web.test_runs import files
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform import campaigns, events, rewards
from warmrun.platform.models import Account
from warmrun.platform.participation_rules import Activity, age_group, figures

MON = date(2025, 11, 3)


def act(who: str, day: date, metres: int = 3000) -> Activity:
    return Activity(who, day, 1, metres, 1 if metres > 0 else -1)


def test_weekly_figures_split_new_from_returning_residents() -> None:
    rows = [act("a", MON), act("b", date(2025, 11, 5)), act("a", date(2025, 11, 11))]
    f = figures(rows, birth_years={}, year=2025)
    assert [(w.active, w.new, w.returning) for w in f.weeks] == [(2, 2, 0), (1, 0, 1)]
    assert f.participants == 2 and f.repeat_permille == 500


def test_a_day_whose_run_was_reversed_is_not_taking_part() -> None:
    f = figures([act("a", MON, 0)], birth_years={}, year=2025)
    assert f.participants == 0 and f.weeks == []


def test_age_groups_follow_the_birth_year() -> None:
    assert [age_group(y, 2026) for y in (2015, 1990, 1950, None)] == [
        "child",
        "adult",
        "senior",
        "unknown",
    ]


async def run_on(web: Web, who: str, day: int, seed: int) -> None:
    gpx = synthetic_run_gpx(points=900, seed=seed, start=datetime(2025, 11, day, 0, 30, tzinfo=UTC))
    async with web.signed_in(who) as me:
        r = await me.post("/api/v1/runs", files=files((f"{seed}.gpx", gpx)))
        assert r.status_code == 200, r.text


async def test_the_campaigns_weeks_come_from_the_ledger(web: Web) -> None:
    await run_on(web, "resident", 3, 1)
    await run_on(web, "other_resident", 5, 2)
    await run_on(web, "resident", 11, 3)
    async with web.signed_in("organizer") as org:
        p = (await org.get(f"/api/v1/campaigns/{web.site.campaign}/participation")).json()
        page = await org.get(f"/setup/{web.site.campaign}/figures")
        csv = (await org.get(f"/api/v1/campaigns/{web.site.campaign}/participation.csv")).content
    weeks = p["participation"]["figures"]["weeks"]
    assert [(w["active"], w["new"], w["returning"]) for w in weeks] == [(2, 2, 0), (1, 0, 1)]
    assert p["repeat_permille"] == 500
    (home,) = [c for c in p["participation"]["compounds"] if c["compound_id"] == web.site.compound]
    assert home["participants"] == 2 and home["per_hundred"] == 0  # 2 of 800 households
    assert page.status_code == 200 and 'id="weeks"' in page.text
    assert csv.decode("utf-8-sig").startswith("周一,活跃居民")


async def test_an_organizer_of_another_city_sees_only_their_city(web: Web) -> None:
    await run_on(web, "resident", 3, 1)
    async with web.signed_in("other_organizer") as other:
        p = (await other.get(f"/api/v1/campaigns/{web.site.campaign}/participation")).json()
        theirs = await other.get(
            f"/api/v1/campaigns/{web.site.campaign}/participation", params={"city": web.site.city}
        )
    assert p["participation"]["figures"]["participants"] == 0
    assert theirs.status_code == 403


async def test_a_resident_rates_a_drink_they_picked_up_and_the_figures_show_it(web: Web) -> None:
    account = await Account.get(email=web.site.emails["resident"])
    rid = int(account.resident_id or 0)
    await rewards.grant(resident_id=rid, points=100, reason="test", idempotency_key="g1")
    picked = await rewards.redeem(resident_id=rid, reward_id=web.site.drink, idempotency_key="k1")
    pending = await rewards.redeem(resident_id=rid, reward_id=web.site.drink, idempotency_key="k2")
    await rewards.fulfil(code=picked.code)
    async with web.signed_in("resident") as me:
        ok = await me.post(
            "/api/v1/me/ratings",
            json={
                "subject": "redemption",
                "subject_id": picked.id,
                "score": 4,
                "comment": "姜茶很暖",
            },
        )
        early = await me.post(
            "/api/v1/me/ratings",
            json={"subject": "redemption", "subject_id": pending.id, "score": 5},
        )
        listed = (await me.get("/api/v1/me/ratings")).json()["items"]
    assert ok.status_code == 200 and early.status_code == 404
    assert listed[0]["score"] == 4
    async with web.signed_in("organizer") as org:
        p = (await org.get(f"/api/v1/campaigns/{web.site.campaign}/participation")).json()
    (drinks,) = [s for s in p["participation"]["satisfaction"] if s["subject"] == "redemption"]
    assert drinks["ratings"] == 1 and drinks["average_tenths"] == 40
    assert drinks["comments"] == ["姜茶很暖"]


async def test_no_one_rates_anothers_redemption(web: Web) -> None:
    account = await Account.get(email=web.site.emails["resident"])
    rid = int(account.resident_id or 0)
    await rewards.grant(resident_id=rid, points=100, reason="test", idempotency_key="g1")
    picked = await rewards.redeem(resident_id=rid, reward_id=web.site.drink, idempotency_key="k1")
    await rewards.fulfil(code=picked.code)
    async with web.signed_in("other_resident") as other:
        r = await other.post(
            "/api/v1/me/ratings",
            json={"subject": "redemption", "subject_id": picked.id, "score": 1},
        )
    assert r.status_code == 404


async def test_a_compound_filter_shows_no_other_citys_stations(web: Web) -> None:
    c = await campaigns.get_campaign(code=web.site.campaign)
    event = await events.create_event(
        campaign_id=c.id, city_id=web.site.city, name="苏州活动日", day=date(2025, 11, 1)
    )
    await events.add_station(event_id=event.id, name="签到处", points=0)
    async with web.signed_in("other_organizer") as other:
        r = await other.get(
            f"/api/v1/campaigns/{web.site.campaign}/participation",
            params={"compound": web.site.other_compound},
        )
    assert r.status_code == 200 and r.json()["participation"]["stations"] == []
