"""Staff from the pages: invitations by one-time link, desk staff kept to their compounds,
withdrawing access, the audit log, the campaign's steps with their confirmations, the
stored settlement report, and city organizers' part of a multi-city campaign."""

from __future__ import annotations

from contextlib import aclosing
from datetime import timedelta

import httpx

from tests.web.conftest import Web, csrf
from tests.web.test_pages import form_token
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform import clock, rewards
from warmrun.platform.models import Account
from warmrun.web import labels

INVITE = {"email": "clerk@example.org", "role": "desk"}


async def invite_clerk(web: Web, organizer: httpx.AsyncClient, compound: int) -> str:
    r = await organizer.post("/api/v1/staff/invitations", json={**INVITE, "places": [compound]})
    assert r.status_code == 200, r.text
    link: str = r.json()["link"]
    return link.rsplit("/invite/", 1)[1]


async def accept_on_the_page(web: Web, token: str) -> httpx.AsyncClient:
    client = web.client()
    page = await client.get(f"/invite/{token}")
    assert page.status_code == 200 and "clerk@example.org" in page.text
    r = await client.post(
        f"/invite/{token}",
        data={"csrf_token": form_token(page.text), "password": "a long secret"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/desk", r.text
    await csrf(client)  # for the API calls the test makes as the clerk
    return client


async def test_an_invited_clerk_works_the_desk_of_their_compound_only(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        token = await invite_clerk(web, organizer, web.site.compound)
    clerk = await accept_on_the_page(web, token)
    async with aclosing(clerk):
        assert (await clerk.get("/desk")).status_code == 200
        mine = await clerk.post(f"/api/v1/rewards/{web.site.drink}/restock", json={"add": 3})
        assert mine.status_code == 200 and mine.json()["reward"]["stock"] == 8
        theirs = await clerk.post(
            f"/api/v1/rewards/{web.site.other_drink}/restock", json={"add": 3}
        )
        assert theirs.status_code == 404
        assert (await clerk.get("/review")).status_code == 403
        assert (await clerk.get("/setup")).status_code == 403
        stock = (await clerk.get("/stock")).text
        assert "湖畔雅苑" not in stock and 'value="create"' not in stock


async def test_a_clerk_hands_out_only_their_compounds_pickup_codes(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        token = await invite_clerk(web, admin, web.site.other_compound)
    await rewards.grant(resident_id=1, points=100, reason="test", idempotency_key="t1")
    r = await rewards.redeem(resident_id=1, reward_id=web.site.drink, idempotency_key="k1")
    clerk = await accept_on_the_page(web, token)
    async with aclosing(clerk):
        refused = await clerk.post("/api/v1/desk/fulfil", json={"code": r.code})
        assert refused.status_code == 404


async def test_an_organizer_cannot_invite_staff_beyond_their_cities(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        r = await organizer.post(
            "/api/v1/staff/invitations", json={**INVITE, "places": [web.site.other_compound]}
        )
        assert r.status_code == 403
        partner = await organizer.post(
            "/api/v1/staff/invitations",
            json={"email": "p@example.org", "role": "partner", "partner_id": 1},
        )
        assert partner.status_code == 403


async def test_an_invitation_link_works_once(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        token = await invite_clerk(web, organizer, web.site.compound)
    async with web.client() as anyone:
        first = await anyone.post(f"/api/v1/invitations/{token}/accept", json={"password": "x" * 9})
        assert first.status_code == 200
        again = await anyone.post(f"/api/v1/invitations/{token}/accept", json={"password": "y" * 9})
        assert again.status_code == 404
        assert again.json()["error"]["code"] == "invitation_invalid"


async def test_a_withdrawn_or_expired_invitation_is_refused(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        token = await invite_clerk(web, organizer, web.site.compound)
        listed = (await organizer.get("/api/v1/staff")).json()["invitations"]
        assert (
            await organizer.post(f"/api/v1/staff/invitations/{listed[0]['id']}/revoke")
        ).is_success
        later = await invite_clerk(web, organizer, web.site.compound)
    async with web.client() as anyone:
        assert (await anyone.get(f"/api/v1/invitations/{token}")).status_code == 404
        clock.set_clock(lambda: clock.datetime.now(clock.UTC) + timedelta(days=8))
        try:
            assert (await anyone.get(f"/api/v1/invitations/{later}")).status_code == 404
        finally:
            clock.set_clock(None)


async def test_withdrawn_staff_are_signed_out_and_lose_their_places(web: Web) -> None:
    async with web.signed_in("organizer") as organizer:
        token = await invite_clerk(web, organizer, web.site.compound)
        clerk = await accept_on_the_page(web, token)
        members = (await organizer.get("/api/v1/staff")).json()["members"]
        (row,) = [m for m in members if m["email"] == "clerk@example.org"]
        assert (await organizer.post(f"/api/v1/staff/{row['account_id']}/withdraw")).is_success
    async with aclosing(clerk):
        r = await clerk.get("/desk")
        assert r.status_code == 303 and "/login" in r.headers["location"]


async def test_staff_actions_are_audited_with_before_and_after(web: Web) -> None:
    code = web.site.campaign
    async with web.signed_in("admin") as admin:
        r = await admin.put(f"/api/v1/campaigns/{code}/rules/run", json={"fen": 80, "per": 1000})
        assert r.status_code == 200
        await admin.post(f"/api/v1/rewards/{web.site.drink}/restock", json={"add": 2})
        items = (await admin.get("/api/v1/audit", params={"action": "rule"})).json()["items"]
        (rule,) = [i for i in items if i["actor"] == "admin@example.org"]
        assert rule["before"]["fen"] == 50 and rule["after"]["fen"] == 80
        stock = (await admin.get("/api/v1/audit", params={"action": "reward.restock"})).json()
        assert stock["items"][0]["before"] == {"stock": 5}
        assert stock["items"][0]["after"] == {"stock": 7}


async def test_organizers_read_the_audit_of_their_cities_only(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        await admin.post(f"/api/v1/rewards/{web.site.drink}/restock", json={"add": 2})
    async with web.signed_in("other_organizer") as other:
        items = (await other.get("/api/v1/audit", params={"action": "reward"})).json()["items"]
        assert not [i for i in items if i["actor"] == "admin@example.org"]
    async with web.signed_in("organizer") as organizer:
        items = (await organizer.get("/api/v1/audit", params={"action": "reward"})).json()["items"]
        assert [i for i in items if i["actor"] == "admin@example.org"]


async def test_the_audit_csv_is_for_chinese_spreadsheets(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        await admin.post(f"/api/v1/rewards/{web.site.drink}/restock", json={"add": 2})
        raw = (await admin.get("/api/v1/audit.csv")).content
        page = (await admin.get("/audit", params={"action": "reward.restock"})).text
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("编号,时间,操作人")
    assert "补充库存" in text and "补充库存" in page


async def test_closing_needs_its_confirmation(web: Web) -> None:
    code = web.site.campaign
    async with web.signed_in("admin") as admin:
        r = await admin.post(f"/api/v1/campaigns/{code}/close", json={})
        assert r.status_code == 422 and r.json()["error"]["code"] == "confirmation_needed"
        page = (await admin.get(f"/setup/{code}")).text
        r = await admin.post(
            f"/setup/{code}", data={"csrf_token": form_token(page), "action": "closed"}
        )
        assert r.status_code == 422 and "无法撤销" in r.text
        assert (await admin.get(f"/api/v1/campaigns/{code}")).json()["campaign"][
            "state"
        ] == "active"


async def test_settling_from_the_page_stores_the_report_the_partner_reads(web: Web) -> None:
    code = web.site.campaign
    async with web.signed_in("admin") as admin:
        page = (await admin.get(f"/setup/{code}")).text
        token = form_token(page)
        await admin.post(f"/setup/{code}", data={"csrf_token": token, "action": "closed",
                                                 "confirm": "yes"})  # fmt: skip
        r = await admin.post(
            f"/setup/{code}",
            data={"csrf_token": token, "action": "settle_campaign", "confirm": "yes"},
        )
        assert r.status_code == 303 and r.headers["location"] == f"/reports/{code}"
        settled = (await admin.get(f"/api/v1/campaigns/{code}/report")).json()["report"]
        assert settled["checkpoint"] is not None
    async with web.signed_in("partner") as partner:
        report = await partner.get(f"/reports/{code}")
        assert report.status_code == 200 and 'id="settled-note"' in report.text
        assert 'data-item="coat"' in report.text
        again = (await partner.get(f"/api/v1/campaigns/{code}/report")).json()["report"]
        assert again == settled
    async with web.signed_in("other_partner") as stranger:
        assert (await stranger.get(f"/reports/{code}")).status_code == 404
    async with web.signed_in("admin") as admin:
        entries = (await admin.get("/api/v1/audit", params={"action": "campaign"})).json()
        done = [i["action"] for i in entries["items"]]
        assert "campaign.settle" in done and "campaign.close" in done


async def test_a_city_organizer_sets_their_citys_goal_and_no_other(web: Web) -> None:
    code = web.site.campaign
    async with web.signed_in("organizer") as organizer:
        mine = await organizer.post(
            f"/api/v1/campaigns/{code}/goal", json={"city_id": web.site.city, "goal_fen": 500_000}
        )
        assert mine.status_code == 200
        theirs = await organizer.post(
            f"/api/v1/campaigns/{code}/goal",
            json={"city_id": web.site.other_city, "goal_fen": 1},
        )
        assert theirs.status_code == 403
        page = (await organizer.get(f"/setup/{code}")).text
        assert f'id="goal-{web.site.city}"' in page
        assert f'id="goal-{web.site.other_city}"' not in page


async def test_a_failed_form_keeps_what_was_typed_and_names_the_field(web: Web) -> None:
    code = web.site.campaign
    async with web.signed_in("admin") as admin:
        page = (await admin.get(f"/setup/{code}")).text
        r = await admin.post(
            f"/setup/{code}",
            data={"csrf_token": form_token(page), "action": "pledge", "sponsor": "Acme Ltd",
                  "cap_yuan": "1.234", "priority": "0"},
        )  # fmt: skip
        assert r.status_code == 422
        assert "认捐上限" in r.text
        assert 'value="Acme Ltd"' in r.text and 'value="1.234"' in r.text


def test_every_code_the_domain_speaks_has_words_in_both_languages() -> None:
    missing = [
        f"{kind}:{code}"
        for kind, codes in labels.KNOWN.items()
        for code in codes
        if str(code) not in labels.LABELS[kind]
    ]
    assert not missing
    for kind, table in labels.LABELS.items():
        for code, (en, zh) in table.items():
            assert en and zh and en != zh, f"{kind}:{code}"


async def test_an_event_day_outside_the_campaign_is_explained_and_the_form_kept(web: Web) -> None:
    async with web.signed_in("admin") as admin:
        page = (await admin.get("/events")).text
        r = await admin.post(
            "/events",
            data={"csrf_token": form_token(page), "campaign": web.site.campaign,
                  "city_id": str(web.site.city), "name": "亲子跑", "day": "2031-01-01",
                  "place": "中央公园", "credit_mode": "flat", "participant_yuan": "5"},
        )  # fmt: skip
        assert r.status_code == 422
        assert "日期：不在活动日期内" in r.text
        assert 'value="亲子跑"' in r.text and 'value="2031-01-01"' in r.text
        assert 'value="中央公园"' in r.text


async def test_a_rule_scheduled_on_the_page_waits_for_its_time(web: Web) -> None:
    code = web.site.campaign
    async with web.signed_in("admin") as admin:
        page = (await admin.get(f"/setup/{code}")).text
        r = await admin.post(
            f"/setup/{code}",
            data={"csrf_token": form_token(page), "action": "rule", "sport": "run", "fen": "90",
                  "per": "1000", "basis": "metres", "effective_from": "2030-01-01T08:00"},
        )  # fmt: skip
        assert r.status_code == 200 and 'id="saved"' in r.text
        assert 'id="scheduled"' in r.text and "¥0.90" in r.text
        assert 'id="fen-run" name="fen" type="number" min="0" value="50"' in r.text
        past = await admin.post(
            f"/setup/{code}",
            data={"csrf_token": form_token(page), "action": "rule", "sport": "run", "fen": "90",
                  "per": "1000", "basis": "metres", "effective_from": "2020-01-01T08:00"},
        )  # fmt: skip
        assert past.status_code == 422


async def test_a_withdrawn_organizers_pending_links_stop_working(web: Web) -> None:
    async with web.signed_in("organizer") as org:
        r = await org.post(
            "/api/v1/staff/invitations",
            json={"email": "sock@example.org", "role": "organizer", "places": [web.site.city]},
        )
        token = r.json()["link"].rsplit("/invite/", 1)[1]
    organizer = await Account.get(email=web.site.emails["organizer"])
    async with web.signed_in("admin") as admin:
        assert (await admin.post(f"/api/v1/staff/{organizer.id}/withdraw")).status_code == 200
    async with web.client() as anyone:
        r = await anyone.post(f"/api/v1/invitations/{token}/accept", json={"password": "x" * 9})
    assert r.status_code == 404
    assert not await Account.exists(email="sock@example.org")


async def test_an_organizer_sees_no_invitation_reaching_beyond_their_cities(web: Web) -> None:
    both = [web.site.city, web.site.other_city]
    async with web.signed_in("admin") as admin:
        r = await admin.post(
            "/api/v1/staff/invitations",
            json={"email": "both@example.org", "role": "organizer", "places": both},
        )
        invitation = r.json()["invitation"]["id"]
    async with web.signed_in("organizer") as org:
        listed = (await org.get("/api/v1/staff")).json()["invitations"]
        revoke = await org.post(f"/api/v1/staff/invitations/{invitation}/revoke")
    assert not [i for i in listed if i["email"] == "both@example.org"]
    assert revoke.status_code == 404


async def test_the_close_step_warns_of_runs_still_waiting_for_review(web: Web) -> None:
    shared = synthetic_run_gpx(points=900, seed=321)
    for who in ("resident", "other_resident"):
        async with web.signed_in(who) as me:
            await me.post(
                "/api/v1/runs", files=[("files", ("s.gpx", shared, "application/gpx+xml"))]
            )
    async with web.signed_in("admin") as admin:
        page = (await admin.get(f"/setup/{web.site.campaign}")).text
    assert 'id="waiting-review"' in page and "2 条跑步记录等待审核" in page


async def test_a_bulk_review_with_nothing_ticked_asks_for_a_run(web: Web) -> None:
    async with web.signed_in("organizer") as org:
        page = (await org.get("/review")).text
        r = await org.post("/review", data={"csrf_token": form_token(page), "decision": "accept"})
    assert r.status_code == 422 and "请至少勾选一条记录" in r.text
