"""Stripe: Checkout Sessions for donations and pledges, refunds, and the signed webhook.

Outgoing calls go through ``stripe.StripeClient``'s async methods with a short timeout,
explicit network retries and an idempotency key derived from our own payment record
(``pledge:7:settle:v1``), so a retried call never opens a second session. Only the base URL
tells a test's local Stripe from the real one.

Webhooks are verified (HMAC signature against every configured secret, so a secret rollover
loses nothing; timestamps too old or too far ahead are refused) and applied in one database
transaction that first stores the event id: a redelivered event changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import stripe
from tortoise.transactions import in_transaction

from warmrun.config import StripeSettings
from warmrun.platform import payments
from warmrun.platform.errors import PaymentProviderFailed, WebhookRejected
from warmrun.platform.models import Payment, PaymentState
from warmrun.platform.payments import RefundFact, SessionFact

log = logging.getLogger("warmrun.payments")

_SESSION_OUTCOMES = {
    "checkout.session.async_payment_succeeded": PaymentState.PAID,
    "checkout.session.async_payment_failed": PaymentState.FAILED,
    "checkout.session.expired": PaymentState.EXPIRED,
}
_REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)


class StripeGateway:
    def __init__(self, cfg: StripeSettings) -> None:
        self.cfg = cfg
        self._http = stripe.HTTPXClient(timeout=cfg.timeout_s)
        self._client = stripe.StripeClient(
            str(cfg.secret_key),
            base_addresses={"api": cfg.api_base},
            max_network_retries=cfg.network_retries,
            http_client=self._http,
        )

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def open_checkout(
        self,
        payment: Payment,
        *,
        title: str,
        success_url: str,
        cancel_url: str,
        locale: str,
    ) -> Payment:
        """The payment with a checkout session (created once, whatever retries happen)."""
        if payment.session_id is not None:
            return payment
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": payment.currency,
                        "unit_amount": payment.amount_fen,
                        "product_data": {"name": title[:250]},
                    },
                }
            ],
            "client_reference_id": str(payment.id),
            "metadata": {"warmrun_payment": str(payment.id), "kind": str(payment.kind)},
            "payment_intent_data": {"metadata": {"warmrun_payment": str(payment.id)}},
            "success_url": success_url,
            "cancel_url": cancel_url,
            "locale": "zh" if locale.startswith("zh") else "en",
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                options={"idempotency_key": payment.idempotency_key},
            )
        except stripe.StripeError as exc:
            log.warning("checkout for payment %s failed: %r", payment.id, exc)
            raise PaymentProviderFailed() from exc
        return await payments.checkout_opened(
            payment_id=payment.id,
            session_id=session.id,
            url=session.url or "",
            payment_intent=_ref(getattr(session, "payment_intent", None)),
        )

    async def refund(self, payment: Payment, *, amount_fen: int, key: str) -> str:
        """Refund part or all of a paid payment; the refund is recorded like a webhook's."""
        if payment.payment_intent is None:
            raise PaymentProviderFailed()
        try:
            refund = await self._client.v1.refunds.create_async(
                {
                    "payment_intent": payment.payment_intent,
                    "amount": amount_fen,
                    "metadata": {"warmrun_payment": str(payment.id)},
                },
                options={"idempotency_key": key},
            )
        except stripe.StripeError as exc:
            log.warning("refund of payment %s failed: %r", payment.id, exc)
            raise PaymentProviderFailed() from exc
        async with in_transaction() as conn:
            return await payments.apply_refund(
                conn,
                RefundFact(
                    payment_intent=payment.payment_intent,
                    refund_id=refund.id,
                    amount_fen=int(refund.amount),
                    status=str(refund.status or ""),
                ),
            )


def verify_event(
    body: bytes, header: str | None, cfg: StripeSettings, *, now: float | None = None
) -> dict[str, Any]:
    """The event of a signed webhook body, or WebhookRejected (never anything else)."""
    if not header or not cfg.webhook_secrets:
        raise WebhookRejected("no signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookRejected("body is not UTF-8") from exc
    stamp = _timestamp(header)
    moment = time.time() if now is None else now
    if stamp > moment + cfg.future_skew_s:
        raise WebhookRejected("timestamp outside tolerance")
    # The library's check decides signature and age on the one timestamp it parses; the
    # header has exactly one (checked above), so ours and its are the same.
    if not any(_signed_with(text, header, s, cfg.tolerance_s) for s in cfg.webhook_secrets):
        raise WebhookRejected("signature does not match, or too old")
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise WebhookRejected("body is not JSON") from exc
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    ):
        raise WebhookRejected("not an event")
    return event


def _signed_with(text: str, header: str, secret: str, tolerance_s: int) -> bool:
    try:
        stripe.WebhookSignature.verify_header(text, header, secret, tolerance=tolerance_s)
    except stripe.SignatureVerificationError:
        return False
    return True


def _timestamp(header: str) -> int:
    """The header's one timestamp. A header whose keys carry spaces, or that holds more than
    one ``t``, is refused: parsers that trim and parsers that do not would read different
    timestamps from it (one signed, another checked for age)."""
    stamps = []
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key != key.strip():
            raise WebhookRejected("malformed signature header")
        if key == "t":
            stamps.append(value)
    if len(stamps) != 1:
        raise WebhookRejected("signature header needs exactly one timestamp")
    try:
        return int(stamps[0])
    except ValueError as exc:
        raise WebhookRejected("bad timestamp") from exc


async def handle_event(event: Mapping[str, Any]) -> str:
    """Apply one verified event exactly once; returns what happened (for the log)."""
    async with in_transaction() as conn:
        event_id, kind = str(event["id"]), str(event["type"])
        if not await payments.record_event(conn, provider="stripe", event_id=event_id, type=kind):
            return "duplicate"
        obj = event["data"]["object"]
        outcome = await _apply(conn, kind, obj)
        await payments.set_event_outcome(conn, event_id, outcome)
        return outcome


async def _apply(conn: Any, kind: str, obj: Mapping[str, Any]) -> str:
    if kind.startswith("checkout.session."):
        session_id = _ref(obj.get("id"))
        if session_id is None:
            return "malformed"
        if kind == "checkout.session.completed":
            paid = obj.get("payment_status") in ("paid", "no_payment_required")
            outcome = PaymentState.PAID if paid else PaymentState.PROCESSING
        elif kind in _SESSION_OUTCOMES:
            outcome = _SESSION_OUTCOMES[kind]
        else:
            return "ignored"
        fact = SessionFact(
            payment_ref=_ref(obj.get("client_reference_id")),
            session_id=session_id,
            payment_intent=_ref(obj.get("payment_intent")),
            amount_fen=_int(obj.get("amount_total")),
            currency=_ref(obj.get("currency")),
            outcome=outcome,
        )
        return await payments.apply_session(conn, fact)
    if kind == "charge.refunded":
        intent, total = _ref(obj.get("payment_intent")), _int(obj.get("amount_refunded"))
        if intent is None or total is None:
            return "malformed"
        return await payments.apply_refund(
            conn, RefundFact(payment_intent=intent, charge_refunded_fen=total)
        )
    if kind in _REFUND_EVENTS:
        intent, refund_id = _ref(obj.get("payment_intent")), _ref(obj.get("id"))
        amount = _int(obj.get("amount"))
        if intent is None or refund_id is None or amount is None:
            return "malformed"
        return await payments.apply_refund(
            conn,
            RefundFact(
                payment_intent=intent,
                refund_id=refund_id,
                amount_fen=amount,
                status=str(obj.get("status") or "pending")[:16],
            ),
        )
    return "ignored"


def _ref(value: Any) -> str | None:
    """An id field: a string, or an expanded object carrying one."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= 255 else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
