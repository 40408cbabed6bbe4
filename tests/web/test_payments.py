"""Donations and sponsor pledges through Stripe Checkout, against a local Stripe over HTTP,
and the signed webhook that reports payments."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import Secret

from tests.fakes.serve import serving
from tests.fakes.stripe_api import FakeStripe
from tests.web.conftest import Web, settings_for
from tests.web.site import Site
from tests.web.test_pages import form_token
from tests.web.test_rewards_and_review import earn
from warmrun.config import StripeSettings
from warmrun.platform.models import Payment, PaymentEntry
from warmrun.web.app import create_app

API_KEY = "sk_test_warmrun"
SECRET, OLD_SECRET = "whsec_current", "whsec_previous"
HOOK = "/api/v1/webhooks/stripe"


@dataclasses.dataclass
class Pay:
    web: Web
    stripe: FakeStripe

    async def donate(self, client: httpx.AsyncClient, **body: Any) -> httpx.Response:
        return await client.post(f"/api/v1/campaigns/{self.web.site.campaign}/donations", json=body)

    async def deliver(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        async with self.web.client() as client:
            for e in events:
                r = await self.stripe.deliver(client, HOOK, e)
                assert r.status_code == 200, r.text
                out.append(r.json())
        return out


@pytest.fixture
async def pay(tmp_path: Path, template: tuple[Path, Site]) -> AsyncIterator[Pay]:
    fake = FakeStripe(api_key=API_KEY, webhook_secret=SECRET)
    async with serving(fake.app) as url:
        path, site = template
        shutil.copy(path, tmp_path / "web.sqlite3")
        settings = dataclasses.replace(
            settings_for(tmp_path),
            stripe=StripeSettings(
                secret_key=Secret(API_KEY),
                webhook_secrets=(SECRET, OLD_SECRET),
                api_base=url,
                timeout_s=0.5,
                network_retries=2,
            ),
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            yield Pay(Web(app, site), fake)


@asynccontextmanager
async def anonymous(p: Pay) -> AsyncIterator[httpx.AsyncClient]:
    async with p.web.client() as client:
        r = await client.get("/api/v1/auth/csrf")
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        yield client


async def donated(p: Pay) -> dict[str, Any]:
    async with p.web.signed_in("partner") as client:
        r = await client.get(f"/api/v1/campaigns/{p.web.site.campaign}/dashboard")
        assert r.status_code == 200, r.text
        return dict(r.json()["dashboard"])


async def test_a_donation_opens_one_checkout_session_under_a_key_from_our_record(pay: Pay) -> None:
    async with anonymous(pay) as client:
        r = await pay.donate(client, amount_fen=5_000, name="王阿姨", key="form-0001")
        assert r.status_code == 200, r.text
        first = r.json()["payment"]
        again = (await pay.donate(client, amount_fen=5_000, key="form-0001")).json()["payment"]
    assert first["state"] == "open" and first["checkout_url"].startswith("https://checkout.")
    assert again["id"] == first["id"]
    assert pay.stripe.created_sessions() == 1
    keys = [k for m, path, k in pay.stripe.requests if path == "/v1/checkout/sessions"]
    assert keys == ["donation:1:form-0001"]
    (session,) = pay.stripe.sessions.values()
    assert session["amount_total"] == 5_000 and session["currency"] == "cny"
    assert session["client_reference_id"] == str(first["id"])


async def test_one_warm_pack_costs_the_campaign_goods_price(pay: Pay) -> None:
    async with anonymous(pay) as client:
        r = await pay.donate(client, warm_packs=1)
    assert r.json()["payment"]["amount_fen"] == 36_500


async def test_an_amount_below_the_card_minimum_is_refused_before_stripe_is_called(
    pay: Pay,
) -> None:
    async with anonymous(pay) as client:
        r = await pay.donate(client, amount_fen=100)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    assert pay.stripe.requests == [] and await Payment.all().count() == 0


async def test_a_stripe_500_is_retried_with_the_same_key_and_opens_one_session(pay: Pay) -> None:
    pay.stripe.fail_next(1, 500)
    async with anonymous(pay) as client:
        r = await pay.donate(client, amount_fen=2_000, key="retry-500-1")
    assert r.status_code == 200, r.text
    keys = [k for m, path, k in pay.stripe.requests if path == "/v1/checkout/sessions"]
    assert len(keys) == 2 and len(set(keys)) == 1
    assert pay.stripe.created_sessions() == 1


async def test_a_lost_response_is_retried_and_answered_from_stripes_idempotency_store(
    pay: Pay,
) -> None:
    pay.stripe.stall_next(1, 1.5)  # processed, but the answer comes after our 0.5 s timeout
    async with anonymous(pay) as client:
        r = await pay.donate(client, amount_fen=2_000, key="retry-timeout")
    assert r.status_code == 200, r.text
    assert len([1 for _, path, _ in pay.stripe.requests if path == "/v1/checkout/sessions"]) == 2
    assert pay.stripe.created_sessions() == 1
    (session,) = pay.stripe.sessions
    assert (await Payment.get(id=r.json()["payment"]["id"])).session_id == session


async def test_stripe_down_is_a_clear_error_and_a_later_retry_opens_one_session(pay: Pay) -> None:
    pay.stripe.fail_next(3, 503)
    async with anonymous(pay) as client:
        r = await pay.donate(client, amount_fen=2_000, key="down-then-up")
        assert r.status_code == 502
        assert r.json()["error"]["code"] == "payment_provider_failed"
        assert "未产生任何扣款" in r.json()["error"]["message"]
        (payment,) = await Payment.all()
        assert payment.state == "created" and payment.session_id is None
        r = await pay.donate(client, amount_fen=2_000, key="down-then-up")
    assert r.status_code == 200 and r.json()["payment"]["id"] == payment.id
    assert pay.stripe.created_sessions() == 1


async def test_visiting_the_success_page_without_paying_credits_nothing(pay: Pay) -> None:
    async with anonymous(pay) as client:
        payment = (await pay.donate(client, amount_fen=8_800)).json()["payment"]
        (sid,) = pay.stripe.sessions
        page = await client.get(f"/c/{pay.web.site.campaign}/thanks?session_id={sid}")
        assert page.status_code == 200
        status = await client.get("/api/v1/payments/status", params={"session_id": sid})
    assert status.json()["payment"]["state"] == "open"
    assert (await Payment.get(id=payment["id"])).state == "open"
    assert await PaymentEntry.all().count() == 0
    assert (await donated(pay))["donated_fen"] == 0


async def test_a_paid_donation_counts_once_however_often_stripe_delivers_it(pay: Pay) -> None:
    async with anonymous(pay) as client:
        await pay.donate(client, amount_fen=36_500)
    (sid,) = pay.stripe.sessions
    (event,) = pay.stripe.complete(sid, "paid")
    outcomes = [r["outcome"] for r in await pay.deliver(event, event, event)]
    assert outcomes == ["paid", "duplicate", "duplicate"]
    board = await donated(pay)
    assert board["donated_fen"] == 36_500 and board["donations"] == 1
    assert board["bundles_with_donations"] >= 1


async def test_an_amount_that_does_not_match_our_record_is_flagged_without_credit(
    pay: Pay,
) -> None:
    async with anonymous(pay) as client:
        payment = (await pay.donate(client, amount_fen=10_000)).json()["payment"]
    (sid,) = pay.stripe.sessions
    (event,) = pay.stripe.complete(sid, "paid", amount_total=100)
    assert [r["outcome"] for r in await pay.deliver(event)] == ["flagged"]
    stored = await Payment.get(id=payment["id"])
    assert stored.state == "flagged" and stored.flag_reason == "amount_mismatch"
    assert await PaymentEntry.all().count() == 0


async def test_a_paid_payment_never_moves_back_when_events_arrive_out_of_order(pay: Pay) -> None:
    async with anonymous(pay) as client:
        payment = (await pay.donate(client, amount_fen=3_000)).json()["payment"]
    (sid,) = pay.stripe.sessions
    completed, succeeded = pay.stripe.complete(sid, "async_succeeded")
    assert [r["outcome"] for r in await pay.deliver(succeeded, completed)] == ["paid", "ignored"]
    assert (await Payment.get(id=payment["id"])).state == "paid"


async def test_a_refund_reported_before_its_payment_is_applied_when_the_payment_arrives(
    pay: Pay,
) -> None:
    async with anonymous(pay) as client:
        payment = (await pay.donate(client, amount_fen=10_000)).json()["payment"]
    (sid,) = pay.stripe.sessions
    (paid,) = pay.stripe.complete(sid, "paid")
    refund_created, charge_refunded = pay.stripe.refund(
        pay.stripe.sessions[sid]["payment_intent"], 4_000
    )
    outcomes = [r["outcome"] for r in await pay.deliver(charge_refunded, refund_created, paid)]
    assert outcomes == ["kept", "kept", "paid"]
    stored = await Payment.get(id=payment["id"])
    assert stored.state == "paid" and stored.refunded_fen == 4_000
    assert (await donated(pay))["donated_fen"] == 6_000


async def settled_with_credit(pay: Pay) -> None:
    await earn(pay.web)
    async with pay.web.signed_in("admin") as admin:
        code = pay.web.site.campaign
        assert (
            await admin.post(f"/api/v1/campaigns/{code}/close", json={"confirm": True})
        ).status_code == 200
        assert (
            await admin.post(f"/api/v1/campaigns/{code}/settle", json={"confirm": True})
        ).status_code == 200


async def owed(pay: Pay) -> int:
    async with pay.web.signed_in("admin") as admin:
        r = await admin.get(f"/api/v1/campaigns/{pay.web.site.campaign}/report")
        (pledge,) = r.json()["report"]["pledges"]
        return int(pledge["owed_fen"])


async def test_settling_a_pledge_opens_checkout_for_exactly_what_the_sponsor_owes(
    pay: Pay,
) -> None:
    await settled_with_credit(pay)
    due = await owed(pay)
    assert due > 0
    async with pay.web.signed_in("admin") as admin:
        url = f"/api/v1/campaigns/{pay.web.site.campaign}/pledges/1/checkout"
        r = await admin.post(url, json={"kind": "settle"})
        assert r.status_code == 200, r.text
        again = await admin.post(url, json={"kind": "settle"})
    assert r.json()["payment"]["amount_fen"] == due
    assert again.json()["payment"]["id"] == r.json()["payment"]["id"]
    keys = [k for _, path, k in pay.stripe.requests if path == "/v1/checkout/sessions"]
    assert keys == ["pledge:1:settle:v1"]
    (sid,) = pay.stripe.sessions
    await pay.deliver(*pay.stripe.complete(sid, "paid"))
    async with pay.web.signed_in("admin") as admin:
        r = await admin.post(url, json={"kind": "settle"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_due"


async def test_a_prepaid_pledge_gets_back_what_it_paid_beyond_its_share_at_settlement(
    pay: Pay,
) -> None:
    url = f"/api/v1/campaigns/{pay.web.site.campaign}/pledges/1/checkout"
    async with pay.web.signed_in("admin") as admin:
        r = await admin.post(url, json={"kind": "prepay"})
        assert r.status_code == 200, r.text
    assert r.json()["payment"]["amount_fen"] == 1_000_000  # the cap
    (sid,) = pay.stripe.sessions
    await pay.deliver(*pay.stripe.complete(sid, "paid"))
    await settled_with_credit(pay)
    due = await owed(pay)
    async with pay.web.signed_in("admin") as admin:
        r = await admin.post(url, json={"kind": "settle"})
        assert r.status_code == 200, r.text
        assert r.json()["refunded_fen"] == 1_000_000 - due
        twice = await admin.post(url, json={"kind": "settle"})
    assert twice.status_code == 409
    refunds = [k for _, path, k in pay.stripe.requests if path == "/v1/refunds"]
    assert len(refunds) == 1
    # Stripe's own refund events, delivered later, change nothing more.
    await pay.deliver(*pay.stripe.events[-2:])
    prepay = await Payment.get(kind="pledge_prepay")
    assert prepay.refunded_fen == 1_000_000 - due
    async with pay.web.signed_in("admin") as admin:
        r = await admin.get(f"/api/v1/campaigns/{pay.web.site.campaign}/report")
        report = r.json()["report"]
    assert report["pledges"][0]["paid_fen"] == due


async def test_an_organizer_of_another_city_cannot_open_a_pledge_checkout(pay: Pay) -> None:
    async with pay.web.signed_in("other_organizer") as client:
        r = await client.post(
            f"/api/v1/campaigns/{pay.web.site.campaign}/pledges/1/checkout", json={"kind": "prepay"}
        )
    assert r.status_code == 403 and pay.stripe.requests == []


def _header(body: bytes, secret: str, at: int) -> str:
    import stripe

    return str(
        stripe.WebhookSignature.generate_signature_header(
            body.decode("latin-1"), secret, timestamp=at
        )
    )


def _bad_deliveries(fake: FakeStripe) -> dict[str, tuple[bytes, dict[str, str]]]:
    event = {
        "id": "evt_x",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_x"}},
    }
    body, header = fake.signed(event)
    now = int(time.time())
    non_utf8 = b'{"id": "evt_\xff"}'
    not_json = b"hello, not json"
    list_json = b"[1, 2, 3]"
    return {
        "tampered": (body.replace(b"cs_x", b"cs_y"), {"Stripe-Signature": header}),
        "wrong secret": (body, {"Stripe-Signature": fake.signed(event, secret="whsec_wrong")[1]}),
        "stale": (body, {"Stripe-Signature": fake.signed(event, at=now - 3600)[1]}),
        "future": (body, {"Stripe-Signature": fake.signed(event, at=now + 3600)[1]}),
        "missing": (body, {}),
        "garbled header": (body, {"Stripe-Signature": "t=abc,v1=zz"}),
        "no v1": (body, {"Stripe-Signature": f"t={now},v0=abc"}),
        "non-UTF-8": (non_utf8, {"Stripe-Signature": _header(non_utf8, SECRET, now)}),
        "signed non-JSON": (not_json, {"Stripe-Signature": _header(not_json, SECRET, now)}),
        "signed JSON that is not an event": (
            list_json,
            {"Stripe-Signature": _header(list_json, SECRET, now)},
        ),
        # An hour-old signature with a fresh timestamp in front, once spaced so that a parser
        # which trims keys reads the fresh one, once plain.
        "old signature behind a spaced fresh t": (
            body,
            {"Stripe-Signature": f"t ={now}," + fake.signed(event, at=now - 3600)[1]},
        ),
        "old signature behind a second t": (
            body,
            {"Stripe-Signature": f"t={now}," + fake.signed(event, at=now - 3600)[1]},
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "tampered",
        "wrong secret",
        "stale",
        "future",
        "missing",
        "garbled header",
        "no v1",
        "non-UTF-8",
        "signed non-JSON",
        "signed JSON that is not an event",
        "old signature behind a spaced fresh t",
        "old signature behind a second t",
    ],
)
async def test_a_webhook_that_does_not_verify_is_a_400_never_a_500(pay: Pay, case: str) -> None:
    body, headers = _bad_deliveries(pay.stripe)[case]
    async with pay.web.client() as client:
        r = await client.post(HOOK, content=body, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "webhook_rejected"


async def test_the_previous_secret_is_accepted_during_a_rollover(pay: Pay) -> None:
    async with anonymous(pay) as client:
        await pay.donate(client, amount_fen=2_000)
    (sid,) = pay.stripe.sessions
    (event,) = pay.stripe.complete(sid, "paid")
    body, header = pay.stripe.signed(event, secret=OLD_SECRET)
    async with pay.web.client() as client:
        r = await client.post(HOOK, content=body, headers={"Stripe-Signature": header})
    assert r.status_code == 200 and r.json()["outcome"] == "paid"


async def test_an_event_about_a_session_we_never_opened_is_acknowledged_and_ignored(
    pay: Pay,
) -> None:
    event = {
        "id": "evt_foreign",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_foreign", "payment_status": "paid", "amount_total": 5}},
    }
    assert [r["outcome"] for r in await pay.deliver(event)] == ["unknown_payment"]
    assert await PaymentEntry.all().count() == 0


async def test_without_stripe_settings_a_donation_is_a_clear_error(web: Web) -> None:
    async with web.client() as client:
        r = await client.get("/api/v1/auth/csrf")
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = await client.post(
            f"/api/v1/campaigns/{web.site.campaign}/donations", json={"warm_packs": 1}
        )
        hook = await client.post(HOOK, content=json.dumps({}).encode())
    assert r.status_code == 404 and r.json()["error"]["code"] == "payments_unavailable"
    assert hook.status_code == 404
    assert await Payment.all().count() == 0


async def test_the_campaign_page_form_sends_a_donor_to_checkout(pay: Pay) -> None:
    async with pay.web.client() as client:
        page = await client.get(f"/c/{pay.web.site.campaign}")
        assert 'id="donate"' in page.text
        token = form_token(page.text)
        key = re.search(r'name="key" value="([^"]+)"', page.text)
        assert key is not None
        form = {"csrf_token": token, "key": key.group(1), "choice": "custom", "yuan": "88"}
        r = await client.post(f"/c/{pay.web.site.campaign}/donate", data=form)
        again = await client.post(f"/c/{pay.web.site.campaign}/donate", data=form)
    assert r.status_code == 303 and r.headers["location"].startswith("https://checkout.")
    assert again.headers["location"] == r.headers["location"]  # a double click, one session
    (session,) = pay.stripe.sessions.values()
    assert session["amount_total"] == 8_800


async def test_an_organizer_gets_a_prepay_link_for_a_sponsor_from_the_setup_page(
    pay: Pay,
) -> None:
    async with pay.web.signed_in("admin") as admin:
        page = await admin.get(f"/setup/{pay.web.site.campaign}")
        r = await admin.post(
            f"/setup/{pay.web.site.campaign}",
            data={"csrf_token": form_token(page.text), "action": "prepay", "pledge_id": "1"},
        )
    assert r.status_code == 200, r.text
    (sid,) = pay.stripe.sessions
    assert 'id="collected"' in r.text and sid in r.text
