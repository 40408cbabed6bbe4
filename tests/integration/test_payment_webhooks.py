"""Stripe webhooks under redelivery, reordering and concurrency, on SQLite and PostgreSQL.

200 checkout sessions are opened at a local Stripe over HTTP and finished with mixed outcomes;
every event is delivered twice, the deliveries shuffled and posted 40 at a time to the real app
under uvicorn. Nothing may be lost or credited twice, and every payment must end in its state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import Secret

from tests.fakes.serve import serving
from tests.fakes.stripe_api import FakeStripe
from tests.integration.factory import world
from warmrun.config import Settings, StripeSettings
from warmrun.integrations.stripe_gateway import StripeGateway
from warmrun.platform import payments
from warmrun.platform.models import Payment, PaymentEntry, PaymentKind, ProviderEvent
from warmrun.web.app import create_app

pytestmark = pytest.mark.usefixtures("database")

API_KEY, SECRET = "sk_test_storm", "whsec_storm"
SESSIONS = 200
CONCURRENCY = 40

# outcome → (final state, net fen kept of the amount a)
OUTCOMES: dict[str, tuple[str, Any]] = {
    "paid": ("paid", lambda a: a),
    "async_succeeded": ("paid", lambda a: a),
    "async_failed": ("failed", lambda a: 0),
    "expired": ("expired", lambda a: 0),
    "paid_then_part_refund": ("paid", lambda a: a - a // 4),
    "paid_then_two_refunds": ("refunded", lambda a: 0),
    "mismatched_amount": ("flagged", lambda a: 0),
}


async def test_800_shuffled_duplicated_concurrent_deliveries_lose_nothing_and_credit_once(
    tmp_path: Path, database: str
) -> None:
    w = await world()
    fake = FakeStripe(api_key=API_KEY, webhook_secret=SECRET)
    async with serving(fake.app) as stripe_url:
        cfg = StripeSettings(
            secret_key=Secret(API_KEY), webhook_secrets=(SECRET,), api_base=stripe_url
        )
        gateway = StripeGateway(cfg)
        rng = random.Random(20251122)
        plan: list[tuple[int, str, int]] = []  # payment id, outcome, amount
        names = list(OUTCOMES)
        for i in range(SESSIONS):
            amount = rng.randrange(400, 100_000)
            p = await payments.new_donation(
                campaign_id=w.campaign.id, amount_fen=amount, request_key=f"storm-{i:04d}"
            )
            p = await gateway.open_checkout(
                p,
                title="Warm run",
                success_url="https://x/ok",
                cancel_url="https://x/",
                locale="zh",
            )
            plan.append((p.id, names[i % len(names)], amount))
        await gateway.aclose()

        events: list[dict[str, Any]] = []
        by_payment = {p.id: p for p in await Payment.all()}
        for payment_id, outcome, amount in plan:
            sid = by_payment[payment_id].session_id
            assert sid is not None
            if outcome == "mismatched_amount":
                events += fake.complete(sid, "paid", amount_total=amount + 1)
                continue
            base = "paid" if outcome.startswith("paid") else outcome
            events += fake.complete(sid, base)
            intent = fake.sessions[sid]["payment_intent"]
            if outcome == "paid_then_part_refund":
                events += fake.refund(intent, amount // 4)
            elif outcome == "paid_then_two_refunds":
                events += fake.refund(intent, amount // 2)
                events += fake.refund(intent, amount - amount // 2)
        deliveries = events + events
        rng.shuffle(deliveries)
        assert len(deliveries) >= 800

        settings = Settings(
            home=tmp_path,
            database_url=database,
            redis_url=None,
            secret_key=Secret("storm"),
            stripe=cfg,
        )
        app = create_app(settings, migrate=False)
        # The database is the test's (already connected); the webhook needs nothing else.
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
            gate = asyncio.Semaphore(CONCURRENCY)

            async def post(event: dict[str, Any]) -> int:
                async with gate:
                    r = await fake.deliver(client, "/api/v1/webhooks/stripe", event)
                    return r.status_code

            statuses = await asyncio.gather(*(post(e) for e in deliveries))
    assert Counter(statuses) == {200: len(deliveries)}

    assert await ProviderEvent.all().count() == len(events)  # each id stored once
    stored = {p.id: p for p in await Payment.all()}
    entries = await PaymentEntry.all()
    net: Counter[int] = Counter()
    for e in entries:
        net[e.payment_id] += e.delta_fen
    for payment_id, outcome, amount in plan:
        state, kept = OUTCOMES[outcome]
        p = stored[payment_id]
        assert (str(p.state), net[payment_id]) == (state, kept(amount)), (outcome, p.id)
    total = sum(OUTCOMES[o][1](a) for _, o, a in plan)
    got = await payments.received(campaign_id=w.campaign.id, kind=PaymentKind.DONATION)
    assert got.net_fen == total
    # Each payment credited at most once: one positive entry per paid payment.
    positives = Counter(e.payment_id for e in entries if e.delta_fen > 0)
    assert max(positives.values()) == 1


async def test_a_database_error_other_than_a_repeated_event_answers_500_so_stripe_retries(
    tmp_path: Path, database: str
) -> None:
    """The event is not marked as processed when applying it fails: a redelivery applies it."""
    w = await world()
    fake = FakeStripe(api_key=API_KEY, webhook_secret=SECRET)
    async with serving(fake.app) as stripe_url:
        cfg = StripeSettings(
            secret_key=Secret(API_KEY), webhook_secrets=(SECRET,), api_base=stripe_url
        )
        gateway = StripeGateway(cfg)
        p = await payments.new_donation(campaign_id=w.campaign.id, amount_fen=5_000)
        p = await gateway.open_checkout(
            p, title="Warm run", success_url="https://x/ok", cancel_url="https://x/", locale="en"
        )
        await gateway.aclose()
        assert p.session_id is not None
        (event,) = fake.complete(p.session_id, "paid")
        settings = dataclasses.replace(
            Settings(home=tmp_path, database_url=database, redis_url=None, secret_key=Secret("x")),
            stripe=cfg,
        )
        app = create_app(settings, migrate=False)
        # A ledger row already holding this payment's key makes the credit's insert fail
        # with a uniqueness error that is not the event id's.
        blocker = await PaymentEntry.create(
            payment_id=p.id,
            campaign_id=w.campaign.id,
            kind=PaymentKind.DONATION,
            delta_fen=0,
            idempotency_key=f"payment:{p.id}:paid",
            created_at=p.created_at,
        )
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            first = await fake.deliver(client, "/api/v1/webhooks/stripe", event)
            assert first.status_code == 500
            assert "Traceback" not in first.text
            assert await ProviderEvent.all().count() == 0
            assert (await Payment.get(id=p.id)).state == "open"
            await blocker.delete()
            again = await fake.deliver(client, "/api/v1/webhooks/stripe", event)
    assert again.status_code == 200 and again.json()["outcome"] == "paid"
    assert (await Payment.get(id=p.id)).state == "paid"


BAD_DELIVERIES = ["tampered", "wrong secret", "stale", "future", "missing", "non-UTF-8", "not JSON"]


@pytest.mark.parametrize("case", BAD_DELIVERIES)
async def test_a_delivery_that_does_not_verify_is_a_400_and_writes_nothing(
    tmp_path: Path, database: str, case: str
) -> None:
    import time

    import stripe

    fake = FakeStripe(api_key=API_KEY, webhook_secret=SECRET)
    cfg = StripeSettings(secret_key=Secret(API_KEY), webhook_secrets=(SECRET,), api_base="http://x")
    event = {"id": "evt_bad", "type": "checkout.session.completed", "data": {"object": {}}}
    body, header = fake.signed(event)
    now = int(time.time())

    def sign(raw: bytes, secret: str = SECRET, at: int = now) -> str:
        return str(
            stripe.WebhookSignature.generate_signature_header(raw.decode("latin-1"), secret, at)
        )

    raw, headers = {
        "tampered": (body.replace(b"evt_bad", b"evt_odd"), {"Stripe-Signature": header}),
        "wrong secret": (body, {"Stripe-Signature": sign(body, "whsec_other")}),
        "stale": (body, {"Stripe-Signature": sign(body, at=now - 3600)}),
        "future": (body, {"Stripe-Signature": sign(body, at=now + 3600)}),
        "missing": (body, {}),
        "non-UTF-8": (b"\xff\xfe{}", {"Stripe-Signature": sign(b"\xff\xfe{}")}),
        "not JSON": (b"not json", {"Stripe-Signature": sign(b"not json")}),
    }[case]
    settings = Settings(
        home=tmp_path, database_url=database, redis_url=None, secret_key=Secret("k"), stripe=cfg
    )
    app = create_app(settings, migrate=False)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.post("/api/v1/webhooks/stripe", content=raw, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_rejected"
    assert await ProviderEvent.all().count() == 0
