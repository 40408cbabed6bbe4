"""The role × route allow-list: every route, walked as each kind of visitor.

The table below is written out by hand on purpose: it is the specification the route
declarations must meet, not a copy of them. A route missing from it fails the test.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from tests.web.conftest import VERIFY, Web, sign_in
from tests.web.test_rewards_and_review import earn
from tests.web.test_runs import RUN_GPX, files
from warmrun.platform import campaign_views, challenges, events, transparency
from warmrun.web.pages import routes as page_routes
from warmrun.web.routes import api

PERSONAS = ["anonymous", "resident", "other_resident", "partner", "other_organizer", "admin"]
ALL = set(PERSONAS) - {"anonymous"}
PUBLIC = set(PERSONAS)
NONE: set[str] = set()

# Who gets past authorisation and object checks, with the resident's own run, redemption and
# token in the path, and the campaign that spans both cities.
ALLOWED: dict[str, set[str]] = {
    "GET /api/v1/auth/csrf": PUBLIC,
    "POST /api/v1/auth/signup": PUBLIC,
    "POST /api/v1/auth/login": PUBLIC,
    "POST /api/v1/auth/tokens": PUBLIC,
    "POST /api/v1/auth/logout": ALL,
    "POST /api/v1/auth/logout-everywhere": ALL,
    "POST /api/v1/auth/password": ALL,
    "GET /api/v1/me": ALL,
    "POST /api/v1/me/tokens": ALL,
    "GET /api/v1/me/tokens": ALL,
    "GET /api/v1/me/privacy": {"resident", "other_resident"},
    "PUT /api/v1/me/privacy": {"resident", "other_resident"},
    "DELETE /api/v1/me/tokens/{token_id:int}": {"resident"},
    "POST /api/v1/lang": PUBLIC,
    "DELETE /api/v1/me": {"resident", "other_resident"},
    "GET /api/v1/campaigns": PUBLIC,
    "GET /api/v1/places": PUBLIC,
    "GET /api/v1/campaigns/{code}": PUBLIC,
    "GET /api/v1/campaigns/{code}/boards/{scope}": PUBLIC,
    "GET /api/v1/me/rank": {"resident", "other_resident"},
    "GET /api/v1/campaigns/{code}/dashboard": {"partner", "other_organizer", "admin"},
    "GET /api/v1/campaigns/{code}/compounds": {"partner", "other_organizer", "admin"},
    "GET /api/v1/campaigns/{code}/report": {"partner", "other_organizer", "admin"},
    "GET /api/v1/campaigns/{code}/report.csv": {"partner", "other_organizer", "admin"},
    "GET /api/v1/campaigns/{code}/report.xlsx": {"partner", "other_organizer", "admin"},
    "GET /api/v1/campaigns/{code}/verify": {"partner", "other_organizer", "admin"},
    "GET /.well-known/warmrun-ledger-key": PUBLIC,
    "GET /api/v1/ledger/public-key": PUBLIC,
    "GET /api/v1/campaigns/{code}/checkpoints": PUBLIC,
    "GET /api/v1/campaigns/{code}/checkpoints/latest": PUBLIC,
    "GET /api/v1/campaigns/{code}/checkpoints/{number:int}": PUBLIC,
    "GET /api/v1/campaigns/{code}/ledger/consistency": PUBLIC,
    "GET /api/v1/campaigns/{code}/ledger/export": {"partner", "other_organizer", "admin"},
    "GET /api/v1/me/ledger-proofs": {"resident", "other_resident"},
    "GET /api/v1/review": {"other_organizer", "admin"},
    "POST /api/v1/runs/{run_id:int}/review": {"admin"},
    "POST /api/v1/review/bulk": {"other_organizer", "admin"},
    "POST /api/v1/campaigns/{code}/close": {"admin"},
    "POST /api/v1/campaigns/{code}/settle": {"admin"},
    "GET /api/v1/rewards": {"resident", "other_resident"},
    "POST /api/v1/redemptions": {"resident", "other_resident"},
    "GET /api/v1/redemptions": {"resident", "other_resident"},
    "GET /api/v1/redemptions/{code}/qr.svg": {"resident"},
    "POST /api/v1/redemptions/{code}/cancel": {"resident"},
    "POST /api/v1/desk/fulfil": {"admin"},
    "POST /api/v1/rewards": {"admin"},
    "POST /api/v1/rewards/{reward_id:int}/restock": {"admin"},
    # A reward's slots and options: staff of its compound (the Suzhou drink: the admin here).
    "GET /api/v1/rewards/{reward_id:int}/slots": {"admin"},
    "POST /api/v1/rewards/{reward_id:int}/slots": {"admin"},
    "POST /api/v1/rewards/{reward_id:int}/option-groups": {"admin"},
    "DELETE /api/v1/rewards/{reward_id:int}/option-groups/{group_id:int}": {"admin"},
    # Each member of staff sees their own desks' day and counts.
    "GET /api/v1/desk/bookings": {"other_organizer", "admin"},
    "GET /api/v1/desk/handed-out": {"other_organizer", "admin"},
    "GET /api/v1/desk/handed-out.csv": {"other_organizer", "admin"},
    "POST /api/v1/runs": {"resident", "other_resident"},
    "GET /api/v1/runs": {"resident", "other_resident"},
    "GET /api/v1/runs/{run_id:int}": {"resident", "admin"},
    "GET /api/v1/runs/{run_id:int}/map.svg": {"resident", "admin"},
    "GET /api/v1/runs/{run_id:int}/file": {"resident", "admin"},
    "GET /api/v1/me/impact": {"resident", "other_resident"},
    "GET /api/v1/me/points": {"resident", "other_resident"},
    "GET /api/v1/me/export": {"resident", "other_resident"},
    "POST /api/v1/setup/cities": {"admin"},
    "POST /api/v1/setup/compounds": {"admin"},
    "POST /api/v1/setup/partners": {"admin"},
    "POST /api/v1/setup/goods": {"admin"},
    "POST /api/v1/setup/bundles": {"admin"},
    "POST /api/v1/setup/campaigns": {"admin"},
    "PUT /api/v1/campaigns/{code}/rules/{sport}": {"admin"},
    "PUT /api/v1/campaigns/{code}/points-rule": {"admin"},
    "POST /api/v1/campaigns/{code}/pledges": {"admin"},
    "POST /api/v1/campaigns/{code}/activate": {"admin"},
    "POST /api/v1/setup/staff": {"admin"},
    "POST /api/v1/campaigns/{code}/donations": PUBLIC,
    "GET /api/v1/payments/status": PUBLIC,
    "POST /api/v1/campaigns/{code}/pledges/{pledge_id:int}/checkout": {"admin"},
    "GET /api/v1/campaigns/{code}/payments": {"partner", "other_organizer", "admin"},
    "POST /api/v1/webhooks/stripe": PUBLIC,
    "POST /api/v1/campaigns/{code}/events": {"admin"},
    "POST /api/v1/events/{event_id:int}/routes": {"admin"},
    "POST /api/v1/events/{event_id:int}/stations": {"admin"},
    "GET /api/v1/events/{event_id:int}": {"admin"},
    "GET /api/v1/events/{event_id:int}/stations/{station_id:int}/qr.svg": {"admin"},
    "POST /api/v1/checkins": {"resident", "other_resident"},
    "POST /api/v1/events/{event_id:int}/checkins": {"admin"},
    "POST /api/v1/events/{event_id:int}/settle": {"admin"},
    "GET /api/v1/me/member-code": {"resident", "other_resident"},
    "GET /api/v1/me/badges": {"resident", "other_resident"},
    "GET /api/v1/me/impact-card.png": {"resident", "other_resident"},
    "GET /api/v1/campaigns/{code}/compounds/{compound_id:int}/impact-card.png": PUBLIC,
    "GET /api/v1/me/notifications": {"resident", "other_resident"},
    "POST /api/v1/me/notifications/read": {"resident", "other_resident"},
    "POST /api/v1/campaigns/{code}/badges": {"admin"},
    "POST /api/v1/campaigns/{code}/badges/defaults": {"admin"},
    "POST /api/v1/campaigns/{code}/challenges": {"admin"},
    "GET /api/v1/challenges/{challenge_id:int}": PUBLIC,
    "POST /api/v1/challenges/{challenge_id:int}/settle": {"admin"},
    "GET /api/v1/webhooks/strava": PUBLIC,
    "POST /api/v1/webhooks/strava": PUBLIC,
    "GET /api/v1/me/strava": {"resident", "other_resident"},
    "DELETE /api/v1/me/strava": {"resident", "other_resident"},
    # pages
    "GET /": PUBLIC,
    "GET /c/{code}": PUBLIC,
    "POST /c/{code}/donate": PUBLIC,
    "GET /c/{code}/thanks": PUBLIC,
    "GET /signup": PUBLIC,
    "POST /signup": PUBLIC,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    # Public until the first admin exists (tests/web/test_first_run.py); this site has one.
    "GET /first-run": set(),
    "POST /first-run": set(),
    "POST /logout": ALL,
    "POST /lang": PUBLIC,
    "GET /me": {"resident", "other_resident"},
    "POST /me": {"resident", "other_resident"},
    "GET /me/runs": {"resident", "other_resident"},
    "GET /me/runs/{run_id:int}": {"resident"},
    "GET /me/points": {"resident", "other_resident"},
    "GET /me/shop": {"resident", "other_resident"},
    "POST /me/shop": {"resident", "other_resident"},
    "GET /me/redemptions/{code}": {"resident"},
    "POST /me/redemptions/{code}": {"resident"},
    "GET /me/account": ALL,
    "POST /me/account": ALL,
    "GET /me/strava": {"resident", "other_resident"},
    "GET /me/card": {"resident", "other_resident"},
    "GET /checkin/{token}": {"resident", "other_resident"},
    "POST /checkin/{token}": {"resident", "other_resident"},
    "GET /events/{event_id:int}/print": {"admin"},
    "GET /events": {"other_organizer", "admin"},
    "POST /events": {"other_organizer", "admin"},
    "GET /events/{event_id:int}": {"admin"},
    "POST /events/{event_id:int}": {"admin"},
    "POST /me/strava": {"resident", "other_resident"},
    "GET /strava/connect": {"resident", "other_resident"},
    "GET /strava/callback": {"resident", "other_resident"},
    "GET /partner": {"partner", "admin"},
    "GET /partner/{code}": {"partner", "admin"},
    "GET /review": {"other_organizer", "admin"},
    "POST /review": {"other_organizer", "admin"},
    "GET /desk": {"other_organizer", "admin"},
    "POST /desk": {"other_organizer", "admin"},
    "GET /stock": {"other_organizer", "admin"},
    "GET /setup": {"other_organizer", "admin"},
    "POST /setup": {"other_organizer", "admin"},
    # An organizer of one of the campaign's cities manages that city's part of it.
    "GET /setup/{code}": {"other_organizer", "admin"},
    "POST /setup/{code}": {"other_organizer", "admin"},
    "GET /reports/{code}": {"partner", "other_organizer", "admin"},
    "GET /setup/{code}/points": {"other_organizer", "admin"},
    "POST /setup/{code}/points": {"other_organizer", "admin"},
    "POST /api/v1/campaigns/{code}/grants": {"other_organizer", "admin"},
    "POST /api/v1/campaigns/{code}/grants.csv": {"other_organizer", "admin"},
    "POST /api/v1/points/adjustments": {"other_organizer", "admin"},
    "GET /setup/{code}/figures": {"other_organizer", "admin"},
    "GET /api/v1/campaigns/{code}/participation": {"other_organizer", "admin"},
    "GET /api/v1/campaigns/{code}/participation.csv": {"other_organizer", "admin"},
    "GET /me/ratings": {"resident", "other_resident"},
    "POST /me/ratings": {"resident", "other_resident"},
    "GET /api/v1/me/ratings": {"resident", "other_resident"},
    "POST /api/v1/me/ratings": {"resident", "other_resident"},
    "GET /me/family": {"resident", "other_resident"},
    "POST /me/family": {"resident", "other_resident"},
    "GET /api/v1/me/children": {"resident", "other_resident"},
    "POST /api/v1/me/children": {"resident", "other_resident"},
    "DELETE /api/v1/me/children/{child_id:int}": {"resident", "other_resident"},
    "GET /staff": {"other_organizer", "admin"},
    "POST /staff": {"other_organizer", "admin"},
    "GET /invite/{token}": NONE,  # an unknown link is not found for everyone
    "POST /invite/{token}": NONE,
    "GET /audit": {"other_organizer", "admin"},
    "GET /api/v1/staff": {"other_organizer", "admin"},
    "POST /api/v1/staff/invitations": {"other_organizer", "admin"},
    "POST /api/v1/staff/invitations/{invitation_id:int}/revoke": {"other_organizer", "admin"},
    "POST /api/v1/staff/{account_id:int}/withdraw": {"other_organizer", "admin"},
    "GET /api/v1/invitations/{token}": NONE,
    "POST /api/v1/invitations/{token}/accept": NONE,
    "GET /api/v1/audit": {"other_organizer", "admin"},
    "GET /api/v1/audit.csv": {"other_organizer", "admin"},
    "POST /api/v1/campaigns/{code}/goal": {"other_organizer", "admin"},
    "GET /setup/households": {"other_organizer", "admin"},
    "POST /setup/households": {"other_organizer", "admin"},
    "GET /setup/{code}/badges": {"admin"},
    "POST /setup/{code}/badges": {"admin"},
    # Organizers in one of the campaign's cities see its challenges and may group their own
    # compounds; settling needs every compound of the challenge (it spans both cities).
    "GET /setup/{code}/challenges": {"other_organizer", "admin"},
    "POST /setup/{code}/challenges": {"other_organizer", "admin"},
    "GET /setup/{code}/challenges/{challenge_id:int}": {"other_organizer", "admin"},
    "POST /setup/{code}/challenges/{challenge_id:int}": {"admin"},
    "POST /api/v1/setup/compounds/{compound_id:int}/households": {"admin"},
    "POST /stock": {"other_organizer", "admin"},
    "GET /stock/{reward_id:int}": {"admin"},
    "POST /stock/{reward_id:int}": {"admin"},
}
DENIED = {401, 403, 404}
# Query strings some routes need to get past their own checks.
QUERIES = {
    "GET /api/v1/me/impact-card.png": "?campaign=warm",
    "GET /api/v1/campaigns/{code}/ledger/consistency": "?from=1",
    "GET /api/v1/me/ledger-proofs": "?campaign=warm",
    "GET /api/v1/webhooks/strava": f"?hub.mode=subscribe&hub.challenge=c&hub.verify_token={VERIFY}",
}


def bodies(site: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Valid bodies, so that refusals come from access checks and not from validation."""
    return {
        "POST /api/v1/auth/password": {"old": "x" * 8, "new": "y" * 8},
        "DELETE /api/v1/me": {"password": "x" * 8},
        "POST /api/v1/me/tokens": {"name": "matrix"},
        "PUT /api/v1/me/privacy": {"radius_m": 200, "zones": []},
        "POST /api/v1/runs/{run_id:int}/review": {"accept": False, "note": "no"},
        "POST /api/v1/review/bulk": {"run_ids": [values["run_id"]], "accept": False},
        "POST /api/v1/redemptions": {"reward_id": site.drink, "idempotency_key": "matrix-2"},
        "POST /api/v1/desk/fulfil": {"code": values["code"]},
        "POST /api/v1/staff/invitations": {
            "email": "new-clerk@example.org",
            "role": "desk",
            "places": [site.compound],
        },
        "POST /invite/{token}": {"password": "x" * 8},
        "POST /api/v1/invitations/{token}/accept": {"password": "x" * 8},
        "POST /api/v1/campaigns/{code}/goal": {"city_id": site.city, "goal_fen": 1},
        "POST /api/v1/campaigns/{code}/grants": {
            "member": "resident@example.org",
            "points": 5,
            "reason": "volunteer",
            "ref": "matrix",
        },
        "POST /api/v1/points/adjustments": {
            "member": "resident@example.org",
            "delta": 5,
            "note": "x",
            "ref": "matrix",
        },
        "POST /api/v1/me/ratings": {"subject": "event", "subject_id": 1, "score": 5},
        "POST /api/v1/me/children": {"display_name": "x", "birth_year": 2018, "consent": True},
        "DELETE /api/v1/me/children/{child_id:int}": {"password": "x" * 8},
        "POST /api/v1/campaigns/{code}/close": {"confirm": True},
        "POST /api/v1/campaigns/{code}/settle": {"confirm": True},
        "POST /api/v1/rewards": {
            "compound_id": site.compound,
            "name_zh": "茶",
            "name_en": "Tea",
            "points_price": 1,
            "stock": 1,
        },
        "POST /api/v1/rewards/{reward_id:int}/restock": {"add": 5},
        "POST /api/v1/rewards/{reward_id:int}/slots": {
            "day": "2030-01-07",
            "starts": "07:00",
            "ends": "09:00",
            "capacity": 5,
        },
        "POST /api/v1/rewards/{reward_id:int}/option-groups": {
            "name_zh": "口味",
            "name_en": "Flavour",
            "choices": [{"name_zh": "姜茶", "name_en": "Ginger tea"}],
        },
        "POST /api/v1/setup/cities": {"code": "X", "name_zh": "x", "name_en": "x"},
        "POST /api/v1/setup/compounds": {"city_id": site.city, "name": "x", "households": 1},
        "POST /api/v1/setup/compounds/{compound_id:int}/households": {"households": 1},
        "POST /api/v1/setup/partners": {"name": "x"},
        "POST /api/v1/setup/goods": {
            "code": "x",
            "name_zh": "x",
            "name_en": "x",
            "unit_price_fen": 1,
        },
        "POST /api/v1/setup/bundles": {
            "code": "x",
            "name_zh": "x",
            "name_en": "x",
            "price_fen": 1,
            "lines": [{"goods_id": 1}],
        },
        "POST /api/v1/setup/campaigns": {
            "code": "x",
            "name": "x",
            "partner_id": 1,
            "goods_id": 1,
            "starts_on": "2026-01-01",
            "ends_on": "2026-02-01",
            "cities": [{"city_id": 1}],
        },
        "PUT /api/v1/campaigns/{code}/rules/{sport}": {"fen": 1, "per": 1},
        "PUT /api/v1/campaigns/{code}/points-rule": {"points_per_km": 1},
        "POST /api/v1/campaigns/{code}/pledges": {"sponsor": "x", "cap_fen": 1},
        "POST /api/v1/campaigns/{code}/pledges/{pledge_id:int}/checkout": {"kind": "prepay"},
        "POST /api/v1/campaigns/{code}/events": {
            "city_id": site.city,
            "name": "x",
            "day": "2025-11-01",
        },
        "POST /api/v1/events/{event_id:int}/routes": {"name": "x", "group": "adult", "gpx": "x"},
        "POST /api/v1/events/{event_id:int}/stations": {"name": "x"},
        "POST /api/v1/checkins": {"token": "x"},
        "POST /api/v1/campaigns/{code}/challenges": {
            "name": "x",
            "compound_ids": [site.compound, site.other_compound],
            "starts_on": "2025-11-01",
            "ends_on": "2025-11-30",
            "target_m_per_household": 1000,
        },
        "POST /api/v1/campaigns/{code}/badges": {
            "code": "x",
            "name_zh": "x",
            "name_en": "x",
            "kind": "first_run",
        },
        "POST /api/v1/events/{event_id:int}/checkins": {"station_id": 1, "member_code": "1-0000"},
        "POST /api/v1/setup/staff": {
            "email": "x@example.org",
            "password": "x" * 8,
            "role": "admin",
        },
    }


def all_routes() -> list[str]:
    out = [f"{e.method} {e.path}" for e in api.endpoints]
    for r in page_routes():
        out += [f"{m} {r.path}" for m in sorted(r.methods or []) if m != "HEAD"]
    return out


def test_every_route_is_in_the_allow_list() -> None:
    assert sorted(all_routes()) == sorted(ALLOWED)


def fill(path: str, values: dict[str, Any]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + ":int}", str(value)).replace("{" + name + "}", str(value))
    return path


@pytest.mark.slow
async def test_no_one_reads_or_changes_what_is_not_theirs(integrated: Web) -> None:
    web = integrated
    await earn(web)
    clients: dict[str, httpx.AsyncClient] = {}
    for who in PERSONAS:
        client = web.client()
        if who != "anonymous":
            await sign_in(client, web.site.emails[who])
        clients[who] = client
    mine = clients["resident"]
    # The GPX run: the FIT sample never leaves the 200 m hidden around its start, so staff
    # have no track of it to see at all.
    items = (await mine.get("/api/v1/runs")).json()["items"]
    run_id = next(i["id"] for i in items if i["file_name"].endswith(".gpx"))
    code = (
        await mine.post(
            "/api/v1/redemptions", json={"reward_id": web.site.drink, "idempotency_key": "matrix-1"}
        )
    ).json()["redemption"]["code"]
    token_id = (await mine.post("/api/v1/me/tokens", json={"name": "t"})).json()["id"]
    campaign = await campaign_views.campaign_summary(code=web.site.campaign)
    event = await events.create_event(
        campaign_id=campaign.id, city_id=web.site.city, name="e", day=date(2025, 11, 1)
    )
    station = await events.add_station(event_id=event.id, name="s", points=1)
    challenge = await challenges.create_challenge(
        campaign_id=campaign.id,
        name="c",
        compound_ids=[web.site.compound, web.site.other_compound],
        starts_on=date(2025, 11, 1),
        ends_on=date(2025, 11, 30),
        target_m_per_household=1000,
    )
    values = {
        "run_id": run_id,
        "code": code,
        "token_id": token_id,
        "reward_id": web.site.drink,
        "scope": "residents",
        "pledge_id": 1,
        "event_id": event.id,
        "station_id": station.id,
        "token": "not-a-station-code",
        "compound_id": web.site.compound,
        "invitation_id": 1,
        "group_id": 1,
        "child_id": 1,
        "account_id": 1,
        "challenge_id": challenge.id,
        "number": (
            await transparency.checkpoint_now(campaign_id=campaign.id, key=web.app.state.ledger_key)
        ).number,
    }
    campaign_paths = {
        "/api/v1/campaigns/{code}",
        "/c/{code}",
        "/partner/{code}",
        "/setup/{code}",
        "/reports/{code}",
    }
    # Requests that would end a session or change data run only for visitors who must be
    # refused; for the allowed ones the functional tests cover them.
    failures = []
    sample = bodies(web.site, values)
    try:
        for route in all_routes():
            method, path = route.split(" ", 1)
            concrete = fill(
                path,
                {**values, "code": web.site.campaign}
                if any(path.startswith(p) for p in campaign_paths)
                else values,
            )
            for who in PERSONAS:
                allowed = who in ALLOWED[route]
                if allowed and method != "GET":
                    continue
                body = sample.get(route, {}) if method in ("POST", "PUT", "DELETE") else None
                url = concrete + QUERIES.get(route, "")
                r = await clients[who].request(method, url, json=body)
                denied = r.status_code in DENIED or (
                    r.status_code == 303 and "/login" in r.headers.get("location", "")
                )
                if allowed == denied:
                    failures.append(f"{who:15} {route}: {r.status_code}")
    finally:
        for client in clients.values():
            await client.aclose()
    assert not failures, "\n".join(failures)
    # Nothing of the resident's changed.
    async with web.signed_in("resident") as again:
        assert (await again.get(f"/api/v1/runs/{run_id}")).status_code == 200
        (redemption,) = [x for x in (await again.get("/api/v1/redemptions")).json()["items"]]
        assert redemption["state"] == "pending"
        r = await again.post("/api/v1/runs", files=files(RUN_GPX))
        assert r.json()["files"][0]["status"] == "existing"
