"""Payments: donations and sponsor pledges collected through a payment provider.

The provider is an adapter (``warmrun.integrations.stripe_gateway``); this module holds the
rules and speaks only in our own terms: a payment is created here first, under an idempotency
key derived from our record, then the provider reports what happened and the state moves
**forward only** by conditional updates. Money received and refunded is an append-only ledger
(``PaymentEntry``) whose keys make every credit happen once, whatever the provider redelivers.

Ordering: every provider fact about one payment intent first locks that intent's row
(``PaymentIntentLink``), so a refund reported before, or at the same moment as, the payment
itself is kept and applied once the payment is known.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from warmrun.platform import clock
from warmrun.platform.campaigns import get_campaign
from warmrun.platform.errors import CampaignStateError, InvalidInput
from warmrun.platform.models import (
    CampaignState,
    Goods,
    Payment,
    PaymentEntry,
    PaymentIntentLink,
    PaymentKind,
    PaymentState,
    ProviderEvent,
    ProviderRefund,
)
from warmrun.platform.payment_views import PaymentView as PaymentView
from warmrun.platform.payment_views import Received as Received
from warmrun.platform.payment_views import by_session as by_session
from warmrun.platform.payment_views import pledges_paid as pledges_paid
from warmrun.platform.payment_views import received as received

CURRENCY = "cny"
# Card payments in CNY below about 4 yuan are refused by card networks; 50,000 yuan is far above
# any resident's gift and keeps a mistyped amount from reaching checkout.
MIN_DONATION_FEN = 400
MAX_DONATION_FEN = 5_000_000
MAX_WARM_PACKS = 20

S = PaymentState
# The states each target state may be reached from: no path leads backwards.
_FROM: dict[PaymentState, tuple[PaymentState, ...]] = {
    S.OPEN: (S.CREATED,),
    S.PROCESSING: (S.CREATED, S.OPEN),
    S.PAID: (S.CREATED, S.OPEN, S.PROCESSING),
    S.FAILED: (S.CREATED, S.OPEN, S.PROCESSING),
    S.EXPIRED: (S.CREATED, S.OPEN),
    S.FLAGGED: (S.CREATED, S.OPEN, S.PROCESSING),
    S.REFUNDED: (S.PAID,),
}
# Payments that still may be paid: a new checkout for the same purpose would risk paying twice.
LIVE = (S.CREATED, S.OPEN, S.PROCESSING)
SUCCEEDED = "succeeded"


# --- creating payments -------------------------------------------------------------------------


async def new_donation(
    *,
    campaign_id: int,
    amount_fen: int | None = None,
    warm_packs: int | None = None,
    resident_id: int | None = None,
    donor_name: str = "",
    request_key: str | None = None,
) -> Payment:
    """A donation to a campaign of a fixed amount or of whole goods units ("one warm pack").

    ``request_key`` (from the form or API client) makes a retried request return the same
    payment instead of a second one."""
    campaign = await get_campaign(campaign_id=campaign_id)
    if campaign.state != CampaignState.ACTIVE:
        raise CampaignStateError(state=campaign.state, needed="active")
    if (amount_fen is None) == (warm_packs is None):
        raise InvalidInput("amount", "give an amount or a number of goods", "请填写金额或份数")
    if warm_packs is not None:
        if not 1 <= warm_packs <= MAX_WARM_PACKS:
            raise InvalidInput(
                "warm_packs", f"between 1 and {MAX_WARM_PACKS}", f"应为 1 到 {MAX_WARM_PACKS}"
            )
        goods = await Goods.get(id=campaign.goods_id)
        amount_fen = goods.unit_price_fen * warm_packs
    if amount_fen is None or not MIN_DONATION_FEN <= amount_fen <= MAX_DONATION_FEN:
        raise InvalidInput(
            "amount",
            f"between {MIN_DONATION_FEN // 100} and {MAX_DONATION_FEN // 100} yuan",
            f"应在 {MIN_DONATION_FEN // 100} 到 {MAX_DONATION_FEN // 100} 元之间",
        )
    if request_key is not None and not (8 <= len(request_key) <= 64 and request_key.isascii()):
        raise InvalidInput("key", "8 to 64 ASCII characters", "应为 8 到 64 个 ASCII 字符")
    key = f"donation:{campaign_id}:{request_key or secrets.token_urlsafe(16)}"
    existing = await Payment.get_or_none(idempotency_key=key)
    if existing is not None:
        if existing.amount_fen != amount_fen:
            raise InvalidInput("key", "already used for another amount", "已用于另一笔金额")
        return existing
    now = clock.now()
    payment, _ = await Payment.get_or_create(
        idempotency_key=key,
        defaults={
            "campaign_id": campaign_id,
            "kind": PaymentKind.DONATION,
            "resident_id": resident_id,
            "donor_name": donor_name.strip()[:64],
            "amount_fen": amount_fen,
            "currency": CURRENCY,
            "created_at": now,
            "updated_at": now,
        },
    )
    return payment


async def checkout_opened(
    *, payment_id: int, session_id: str, url: str, payment_intent: str | None
) -> Payment:
    """Record the provider's checkout session (created → open; a later state is kept)."""
    async with in_transaction() as conn:
        await (
            Payment.filter(id=payment_id, session_id__isnull=True)
            .using_db(conn)
            .update(session_id=session_id, checkout_url=url, updated_at=clock.now())
        )
        if payment_intent:
            await (
                Payment.filter(id=payment_id, payment_intent__isnull=True)
                .using_db(conn)
                .update(payment_intent=payment_intent)
            )
        await _move(conn, payment_id, S.OPEN)
        return await Payment.filter(id=payment_id).using_db(conn).get()


# --- provider facts ------------------------------------------------------------------------------


async def record_event(conn: BaseDBAsyncClient, *, provider: str, event_id: str, type: str) -> bool:
    """Store a provider event id; False if it was stored before. Only the uniqueness of the
    id decides "already processed": any other database error propagates."""
    return await _insert_once(
        conn,
        "provider_event",
        {
            "id": event_id,
            "provider": provider,
            "type": type,
            "outcome": "",
            "received_at": clock.now(),
        },
    )


async def set_event_outcome(conn: BaseDBAsyncClient, event_id: str, outcome: str) -> None:
    await ProviderEvent.filter(id=event_id).using_db(conn).update(outcome=outcome[:32])


@dataclass(frozen=True)
class SessionFact:
    """What the provider says about one checkout session."""

    payment_ref: str | None  # our payment id, echoed back by the provider
    session_id: str
    payment_intent: str | None
    amount_fen: int | None
    currency: str | None
    outcome: PaymentState  # PROCESSING, PAID, FAILED or EXPIRED


async def apply_session(conn: BaseDBAsyncClient, fact: SessionFact) -> str:
    """Move the payment behind a checkout session forward; returns what happened."""
    payment = await _payment_for(conn, fact)
    if payment is None:
        return "unknown_payment"
    link = await _lock_intent(conn, fact.payment_intent) if fact.payment_intent else None
    payment = await Payment.filter(id=payment.id).using_db(conn).select_for_update().get()
    if payment.session_id not in (None, fact.session_id):
        return "other_session"
    updates: dict[str, object] = {}
    if payment.session_id is None:
        updates["session_id"] = fact.session_id
    if fact.payment_intent and payment.payment_intent is None:
        updates["payment_intent"] = fact.payment_intent
    if updates:
        await Payment.filter(id=payment.id).using_db(conn).update(**updates)
    if fact.outcome in (S.PAID, S.PROCESSING) and (
        fact.amount_fen != payment.amount_fen or (fact.currency or "").lower() != payment.currency
    ):
        moved = await _move(conn, payment.id, S.FLAGGED, flag_reason="amount_mismatch")
        return "flagged" if moved else "ignored"
    if not await _move(conn, payment.id, fact.outcome):
        return "ignored"
    if fact.outcome is S.PAID:
        await _append(conn, payment, payment.amount_fen, f"payment:{payment.id}:paid")
        if link is not None:
            await PaymentIntentLink.filter(id=link.id).using_db(conn).update(payment_id=payment.id)
            await _sync_refunds(conn, payment.id, link.id)
    return str(fact.outcome)


@dataclass(frozen=True)
class RefundFact:
    """A refund the provider reports: one refund object, or a charge's cumulative total."""

    payment_intent: str
    refund_id: str | None = None
    amount_fen: int = 0
    status: str = SUCCEEDED
    charge_refunded_fen: int | None = None


async def apply_refund(conn: BaseDBAsyncClient, fact: RefundFact) -> str:
    """Keep the refund and bring the payment's refunded amount up to date (if it is known)."""
    link = await _lock_intent(conn, fact.payment_intent)
    if fact.refund_id is not None:
        if fact.amount_fen <= 0:
            return "ignored"
        await _insert_once(
            conn,
            "provider_refund",
            {
                "id": fact.refund_id,
                "payment_intent": fact.payment_intent,
                "amount_fen": fact.amount_fen,
                "status": fact.status,
            },
        )
        # A refund's status only moves on from pending; a succeeded refund stays counted.
        await (
            ProviderRefund.filter(id=fact.refund_id)
            .exclude(status=SUCCEEDED)
            .using_db(conn)
            .update(status=fact.status)
        )
    if fact.charge_refunded_fen is not None:
        await (
            PaymentIntentLink.filter(id=link.id, charge_refunded_fen__lt=fact.charge_refunded_fen)
            .using_db(conn)
            .update(charge_refunded_fen=fact.charge_refunded_fen)
        )
    link = await PaymentIntentLink.filter(id=link.id).using_db(conn).get()
    if link.payment_id is None:
        return "kept"  # applied when the payment itself is reported
    return await _sync_refunds(conn, link.payment_id, link.id)


async def _sync_refunds(conn: BaseDBAsyncClient, payment_id: int, intent: str) -> str:
    link = await PaymentIntentLink.filter(id=intent).using_db(conn).get()
    rows = (
        await ProviderRefund.filter(payment_intent=intent, status=SUCCEEDED)
        .using_db(conn)
        .values_list("amount_fen", flat=True)
    )
    refunded = max(link.charge_refunded_fen, sum(int(str(a)) for a in rows))
    payment = await Payment.filter(id=payment_id).using_db(conn).select_for_update().get()
    if payment.state not in (S.PAID, S.REFUNDED) or refunded <= payment.refunded_fen:
        return "refund_kept"
    if refunded > payment.amount_fen:
        return "refund_exceeds_payment"
    changed = await (
        Payment.filter(id=payment_id, refunded_fen=payment.refunded_fen)
        .using_db(conn)
        .update(refunded_fen=refunded, updated_at=clock.now())
    )
    if not changed:
        return "refund_kept"
    await _append(
        conn,
        payment,
        -(refunded - payment.refunded_fen),
        f"payment:{payment_id}:refunded:{refunded}",
    )
    if refunded == payment.amount_fen:
        await _move(conn, payment_id, S.REFUNDED)
        return "refunded"
    return "partly_refunded"


# --- reading -------------------------------------------------------------------------------------


# --- helpers -----------------------------------------------------------------------------------


async def _payment_for(conn: BaseDBAsyncClient, fact: SessionFact) -> Payment | None:
    if fact.payment_ref and fact.payment_ref.isdigit() and len(fact.payment_ref) < 10:
        payment = await Payment.filter(id=int(fact.payment_ref)).using_db(conn).first()
        if payment is not None:
            return payment
    return await Payment.filter(session_id=fact.session_id).using_db(conn).first()


async def _move(
    conn: BaseDBAsyncClient, payment_id: int, to: PaymentState, *, flag_reason: str = ""
) -> bool:
    updates: dict[str, object] = {"state": to, "updated_at": clock.now()}
    if flag_reason:
        updates["flag_reason"] = flag_reason
    changed = await (
        Payment.filter(id=payment_id, state__in=list(_FROM[to])).using_db(conn).update(**updates)
    )
    return bool(changed)


async def _append(conn: BaseDBAsyncClient, payment: Payment, delta: int, key: str) -> None:
    await PaymentEntry.create(
        using_db=conn,
        payment_id=payment.id,
        campaign_id=payment.campaign_id,
        kind=payment.kind,
        delta_fen=delta,
        idempotency_key=key,
        created_at=clock.now(),
    )


async def _lock_intent(conn: BaseDBAsyncClient, intent: str) -> PaymentIntentLink:
    await _insert_once(conn, "payment_intent_link", {"id": intent, "charge_refunded_fen": 0})
    return await PaymentIntentLink.filter(id=intent).using_db(conn).select_for_update().get()


_INSERT_ONCE_TABLES = frozenset({"provider_event", "provider_refund", "payment_intent_link"})


async def _insert_once(conn: BaseDBAsyncClient, table: str, row: dict[str, object]) -> bool:
    """INSERT ... ON CONFLICT (id) DO NOTHING; True if the row is new. (Tortoise has no
    portable form of it that reports whether a row was written.)"""
    if table not in _INSERT_ONCE_TABLES:
        raise ValueError(table)
    postgres = conn.capabilities.dialect == "postgres"
    marks = ", ".join(f"${i}" if postgres else "?" for i in range(1, len(row) + 1))
    names = ", ".join(f'"{c}"' for c in row)
    # Table and column names come from the allow-list above and our own keys, never from input.
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks}) ON CONFLICT ("id") DO NOTHING'  # noqa: S608
    rows = await conn.execute_query_dict(sql + ' RETURNING "id"', list(row.values()))
    return bool(rows)
