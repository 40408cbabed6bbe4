"""Collecting sponsor pledges through the payment provider: a prepayment up to the pledge's
cap, the settlement payment of what it owes, or refunds of what was prepaid beyond that.

:func:`collect` decides what to ask of the provider and writes our payment record first; the
caller hands the plan to the provider's adapter (``integrations.stripe_gateway``).
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from warmrun.platform import audit, clock, payments, settlement
from warmrun.platform.errors import NotFound, NothingDue, PaymentsUnavailable
from warmrun.platform.kinds import PaymentKind, PaymentState
from warmrun.platform.models import Payment, SponsorPledge


@dataclass(frozen=True)
class Refund:
    payment: Payment
    amount_fen: int
    # The provider's idempotency key. The amount is part of it: a retry of this very refund
    # is answered from the provider's idempotency store, and a later, different balance is a
    # new refund.
    key: str


@dataclass(frozen=True)
class Collection:
    """What collecting a pledge asks of the provider: a checkout of ``payment`` (a
    prepayment or a settlement, as ``kind`` says), or the ``refunds``."""

    sponsor: str
    kind: PaymentKind | None = None
    payment: Payment | None = None
    refunds: tuple[Refund, ...] = ()

    @property
    def refunded_fen(self) -> int:
        return sum(r.amount_fen for r in self.refunds)


async def collect(*, campaign_id: int, pledge_id: int, kind: str, provider: bool) -> Collection:
    """Prepay a pledge up to its cap (``kind`` "prepay"), or settle it ("settle"): a checkout
    for what is due, or refunds of what was prepaid beyond it. ``provider``: whether a payment
    provider is configured (nothing is written without one)."""
    pledge = await SponsorPledge.get_or_none(id=pledge_id, campaign_id=campaign_id)
    if pledge is None:
        raise NotFound("pledge", "认捐")
    if not provider:
        raise PaymentsUnavailable()
    if kind == "prepay":
        got = await payments.received(campaign_id=campaign_id, pledge_id=pledge.id)
        due, due_kind = pledge.cap_fen - got.net_fen, PaymentKind.PLEDGE_PREPAY
        if due <= 0:
            raise NothingDue()
    else:
        balance = await settlement.pledge_balance(pledge_id=pledge.id)
        due, due_kind = balance.due_fen, PaymentKind.PLEDGE_SETTLE
        if due <= 0:
            if balance.excess_fen == 0:
                raise NothingDue()
            refunds = await _refunds(pledge.id, balance.excess_fen)
            after = {"refund_fen": sum(r.amount_fen for r in refunds)}
            await audit.record(
                None, "pledge.refund", campaign_id=campaign_id, subject=pledge.sponsor, after=after
            )
            return Collection(pledge.sponsor, refunds=refunds)
    p = await pledge_payment(pledge_id=pledge.id, kind=due_kind, amount_fen=due)
    return Collection(pledge.sponsor, kind=due_kind, payment=p)


async def _refunds(pledge_id: int, excess_fen: int) -> tuple[Refund, ...]:
    """The excess taken back from the pledge's paid payments, the latest first."""
    refunds = []
    remaining = excess_fen
    paid = await Payment.filter(
        pledge_id=pledge_id, state=PaymentState.PAID, payment_intent__isnull=False
    ).order_by("-id")
    for p in paid:
        amount = min(remaining, p.amount_fen - p.refunded_fen)
        if amount <= 0:
            continue
        refunds.append(Refund(p, amount, f"pledge:{pledge_id}:refund:{p.id}:{amount}"))
        remaining -= amount
        if remaining == 0:
            break
    return tuple(refunds)


async def pledge_payment(*, pledge_id: int, kind: PaymentKind, amount_fen: int) -> Payment:
    """The payment collecting ``amount_fen`` for a pledge: the live one if there is one (a
    second checkout could be paid twice), otherwise a new one under the next key version
    (``pledge:7:settle:v1``, ``v2`` after v1 expired or failed)."""
    if kind not in (PaymentKind.PLEDGE_PREPAY, PaymentKind.PLEDGE_SETTLE):
        raise ValueError(kind)
    pledge = await SponsorPledge.get_or_none(id=pledge_id)
    if pledge is None:
        raise NotFound("pledge", "认捐")
    verb = "prepay" if kind is PaymentKind.PLEDGE_PREPAY else "settle"
    async with in_transaction() as conn:
        # Serialise the creators of one pledge's payments (a no-op write takes the row lock).
        await SponsorPledge.filter(id=pledge_id).using_db(conn).update(priority=pledge.priority)
        earlier = await Payment.filter(pledge_id=pledge_id, kind=kind).using_db(conn).order_by("id")
        for p in earlier:
            if p.state in payments.LIVE:
                return p
        now = clock.now()
        return await Payment.create(
            using_db=conn,
            campaign_id=pledge.campaign_id,
            kind=kind,
            pledge_id=pledge_id,
            donor_name=pledge.sponsor[:64],
            amount_fen=amount_fen,
            currency=payments.CURRENCY,
            idempotency_key=f"pledge:{pledge_id}:{verb}:v{len(earlier) + 1}",
            created_at=now,
            updated_at=now,
        )
