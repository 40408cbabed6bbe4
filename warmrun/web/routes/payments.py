"""Payments: donations to a campaign, sponsor pledges paid through checkout, and the Stripe
webhook that reports what was paid. Visiting the success page credits nothing: only a
verified webhook moves a payment."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request

from warmrun.integrations.stripe_gateway import StripeGateway, handle_event, verify_event
from warmrun.platform import payments, settlement, views
from warmrun.platform.errors import NotFound, NothingDue, PaymentsUnavailable, WebhookRejected
from warmrun.platform.models import Payment, PaymentKind, PaymentState, SponsorPledge
from warmrun.web import forms, metrics
from warmrun.web.endpoints import Access, Ctx, site_url
from warmrun.web.routes import api
from warmrun.web.routes.campaigns import partner_campaign
from warmrun.web.routes.organizer import whole_campaign

log = logging.getLogger("warmrun.payments")


def payment_view(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id,
        "kind": str(p.kind),
        "state": str(p.state),
        "amount_fen": p.amount_fen,
        "refunded_fen": p.refunded_fen,
        "currency": p.currency,
        "checkout_url": p.checkout_url if p.state in payments.LIVE else "",
    }


async def open_checkout(
    request: Request, lang: str, p: Payment, *, code: str, title: str
) -> Payment:
    g: StripeGateway | None = request.app.state.stripe
    if g is None:
        raise PaymentsUnavailable()
    base = site_url(request)
    return await g.open_checkout(
        p,
        title=title,
        success_url=f"{base}/c/{code}/thanks?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{base}/c/{code}",
        locale=lang,
    )


async def start_donation(
    request: Request, *, lang: str, code: str, body: forms.Donation, resident_id: int | None
) -> Payment:
    """A donation's checkout (the API and the campaign page's form)."""
    if request.app.state.stripe is None:
        raise PaymentsUnavailable()  # before anything is written
    c = await views.campaign_summary(code=code)
    p = await payments.new_donation(
        campaign_id=c.id,
        amount_fen=body.amount_fen,
        warm_packs=body.warm_packs,
        resident_id=resident_id,
        donor_name=body.name,
        request_key=body.key,
    )
    title = f"{c.name} · {'捐赠' if lang.startswith('zh') else 'Donation'}"
    return await open_checkout(request, lang, p, code=code, title=title)


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/donations",
    access=Access.PUBLIC,
    tag="payments",
    body=forms.Donation,
    summary="Donate an amount or whole goods to a campaign: returns the checkout address",
)
async def new_donation(ctx: Ctx) -> dict[str, Any]:
    resident_id = ctx.account.resident_id if ctx.account is not None else None
    p = await start_donation(
        ctx.request, lang=ctx.lang, code=ctx.path["code"], body=ctx.body, resident_id=resident_id
    )
    return {"payment": payment_view(p)}


@api.route(
    "GET",
    "/api/v1/payments/status",
    access=Access.PUBLIC,
    tag="payments",
    query=forms.SessionQuery,
    summary="A payment's state by its checkout session (what the success page shows)",
)
async def payment_status(ctx: Ctx) -> dict[str, Any]:
    p = await payments.by_session(ctx.query.session_id)
    return {"payment": {"state": str(p.state), "amount_fen": p.amount_fen, "kind": str(p.kind)}}


@api.route(
    "POST",
    "/api/v1/campaigns/{code}/pledges/{pledge_id:int}/checkout",
    access=Access.ORGANIZER,
    tag="payments",
    body=forms.PledgeCheckout,
    summary="Prepay a pledge up to its cap, or settle it: checkout for what is due, "
    "a refund of what was prepaid beyond it",
)
async def pledge_checkout(ctx: Ctx) -> dict[str, Any]:
    code = ctx.path["code"]
    campaign_id = await whole_campaign(ctx, code)
    p, refunded = await collect_pledge(
        ctx.request,
        lang=ctx.lang,
        code=code,
        campaign_id=campaign_id,
        pledge_id=ctx.path["pledge_id"],
        kind=ctx.body.kind,
    )
    return {"payment": payment_view(p) if p is not None else None, "refunded_fen": refunded}


async def collect_pledge(
    request: Request, *, lang: str, code: str, campaign_id: int, pledge_id: int, kind: str
) -> tuple[Payment | None, int]:
    """Prepay a pledge up to its cap, or settle it: a checkout for what is due, or a refund
    of what was prepaid beyond it. Returns the payment to send the sponsor, or the refund."""
    pledge = await SponsorPledge.get_or_none(id=pledge_id, campaign_id=campaign_id)
    if pledge is None:
        raise NotFound("pledge", "认捐")
    g: StripeGateway | None = request.app.state.stripe
    if g is None:
        raise PaymentsUnavailable()
    zh = lang.startswith("zh")
    if kind == "prepay":
        got = await payments.received(campaign_id=campaign_id, pledge_id=pledge.id)
        amount = pledge.cap_fen - got.net_fen
        if amount <= 0:
            raise NothingDue()
        p = await payments.pledge_payment(
            pledge_id=pledge.id, kind=PaymentKind.PLEDGE_PREPAY, amount_fen=amount
        )
        title = f"{pledge.sponsor} · {'认捐预付' if zh else 'Pledge prepayment'}"
        return await open_checkout(request, lang, p, code=code, title=title), 0
    balance = await settlement.pledge_balance(pledge_id=pledge.id)
    if balance.due_fen > 0:
        p = await payments.pledge_payment(
            pledge_id=pledge.id, kind=PaymentKind.PLEDGE_SETTLE, amount_fen=balance.due_fen
        )
        title = f"{pledge.sponsor} · {'认捐结算' if zh else 'Pledge settlement'}"
        return await open_checkout(request, lang, p, code=code, title=title), 0
    if balance.excess_fen == 0:
        raise NothingDue()
    refunded = 0
    remaining = balance.excess_fen
    paid = await Payment.filter(
        pledge_id=pledge.id, state=PaymentState.PAID, payment_intent__isnull=False
    ).order_by("-id")
    for p in paid:
        amount = min(remaining, p.amount_fen - p.refunded_fen)
        if amount <= 0:
            continue
        # The amount is part of the key: a retry of this very refund is answered from the
        # provider's idempotency store, and a later, different balance is a new refund.
        await g.refund(p, amount_fen=amount, key=f"pledge:{pledge.id}:refund:{p.id}:{amount}")
        refunded += amount
        remaining -= amount
        if remaining == 0:
            break
    return None, refunded


@api.route(
    "GET",
    "/api/v1/campaigns/{code}/payments",
    access=Access.SIGNED_IN,
    tag="payments",
    query=forms.Page,
    summary="The campaign's payments: donations and pledges (partner, organizers, admins)",
)
async def campaign_payments(ctx: Ctx) -> dict[str, Any]:
    c = await partner_campaign(ctx, ctx.path["code"])
    total, rows = await views.payments_of(
        campaign_id=c.id, offset=ctx.query.offset, limit=ctx.query.limit
    )
    return {"total": total, "items": rows}


@api.route(
    "POST",
    "/api/v1/webhooks/stripe",
    access=Access.PUBLIC,
    tag="payments",
    csrf_exempt=True,
    summary="Stripe's signed event notifications",
)
async def stripe_webhook(ctx: Ctx) -> dict[str, Any]:
    cfg = ctx.settings.stripe
    if cfg is None:
        raise PaymentsUnavailable()
    body = await ctx.request.body()
    try:
        event = verify_event(body, ctx.request.headers.get("stripe-signature"), cfg)
    except WebhookRejected:
        metrics.count_webhook("stripe", "rejected")
        raise
    outcome = await handle_event(event)
    metrics.count_webhook("stripe", outcome)  # a short fixed word: paid, duplicate, ignored ...
    log.info("stripe event %s %s: %s", event["id"], event["type"], outcome)
    return {"received": True, "outcome": outcome}
