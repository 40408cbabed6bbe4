"""Payments: donations to a campaign, sponsor pledges paid through checkout, and the Stripe
webhook that reports what was paid. Visiting the success page credits nothing: only a
verified webhook moves a payment."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request

from warmrun.integrations.stripe_gateway import StripeGateway, handle_event, verify_event
from warmrun.platform import campaign_views, payments, pledges, views
from warmrun.platform.errors import PaymentsUnavailable, WebhookRejected
from warmrun.platform.kinds import PaymentKind
from warmrun.web import forms, metrics
from warmrun.web.endpoints import Access, Ctx, site_url
from warmrun.web.routes import api
from warmrun.web.routes.campaigns import partner_campaign
from warmrun.web.routes.organizer import whole_campaign

log = logging.getLogger("warmrun.payments")


def payment_view(p: payments.PaymentView) -> dict[str, Any]:
    return {
        "id": p.id,
        "kind": str(p.kind),
        "state": str(p.state),
        "amount_fen": p.amount_fen,
        "refunded_fen": p.refunded_fen,
        "currency": p.currency,
        "checkout_url": p.checkout_url if p.state in payments.LIVE else "",
    }


def _gateway(request: Request) -> StripeGateway:
    g: StripeGateway | None = request.app.state.stripe
    if g is None:
        raise PaymentsUnavailable()
    return g


def _return_urls(request: Request, code: str) -> dict[str, str]:
    """Where checkout sends the payer back: the thanks page, or the campaign on cancel."""
    base = site_url(request)
    return {
        "success_url": f"{base}/c/{code}/thanks?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base}/c/{code}",
    }


async def start_donation(
    request: Request, *, lang: str, code: str, body: forms.Donation, resident_id: int | None
) -> payments.PaymentView:
    """A donation's checkout (the API and the campaign page's form)."""
    g = _gateway(request)  # before anything is written
    c = await campaign_views.campaign_summary(code=code)
    p = await payments.new_donation(
        campaign_id=c.id,
        amount_fen=body.amount_fen,
        warm_packs=body.warm_packs,
        resident_id=resident_id,
        donor_name=body.name,
        request_key=body.key,
    )
    title = f"{c.name} · {'捐赠' if lang.startswith('zh') else 'Donation'}"
    opened = await g.open_checkout(p, title=title, locale=lang, **_return_urls(request, code))
    return payments.PaymentView.of(opened)


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


_TITLES = {
    PaymentKind.PLEDGE_PREPAY: ("认捐预付", "Pledge prepayment"),
    PaymentKind.PLEDGE_SETTLE: ("认捐结算", "Pledge settlement"),
}


async def collect_pledge(
    request: Request, *, lang: str, code: str, campaign_id: int, pledge_id: int, kind: str
) -> tuple[payments.PaymentView | None, int]:
    """Prepay a pledge up to its cap, or settle it, as ``pledges.collect`` plans: returns the
    checkout to send the sponsor, or what was refunded."""
    plan = await pledges.collect(
        campaign_id=campaign_id,
        pledge_id=pledge_id,
        kind=kind,
        provider=request.app.state.stripe is not None,
    )
    g = _gateway(request)
    if plan.payment is None or plan.kind is None:
        for r in plan.refunds:
            await g.refund(r.payment, amount_fen=r.amount_fen, key=r.key)
        return None, plan.refunded_fen
    zh, en = _TITLES[plan.kind]
    title = f"{plan.sponsor} · {zh if lang.startswith('zh') else en}"
    opened = await g.open_checkout(
        plan.payment, title=title, locale=lang, **_return_urls(request, code)
    )
    return payments.PaymentView.of(opened), 0


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
