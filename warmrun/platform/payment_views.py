"""The read side of payments: money received and refunded per campaign, pledge or kind, the
pledges with what was paid on them, and a payment as pages show it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from warmrun.platform import sql
from warmrun.platform.errors import NotFound
from warmrun.platform.kinds import PaymentKind, PaymentState
from warmrun.platform.models import Payment


@dataclass(frozen=True)
class Received:
    payments: int  # payments that were paid (refunded ones included)
    received_fen: int
    refunded_fen: int

    @property
    def net_fen(self) -> int:
        return self.received_fen - self.refunded_fen


async def received(
    *, campaign_id: int, kind: PaymentKind | None = None, pledge_id: int | None = None
) -> Received:
    """Money received and refunded, summed from the ledger (one statement)."""
    text = _RECEIVED
    values: list[Any] = [campaign_id]
    if kind is not None:
        text += " AND e.kind = ?"
        values.append(kind.value)
    if pledge_id is not None:
        text += " AND e.payment_id IN (SELECT id FROM payment WHERE pledge_id = ?)"
        values.append(pledge_id)
    got = await sql.row(sql.default(), text, *values)
    return Received(
        payments=int(got["n"] or 0),
        received_fen=int(got["plus"] or 0),
        refunded_fen=-int(got["minus"] or 0),
    )


_RECEIVED = (
    "SELECT SUM(CASE WHEN e.delta_fen > 0 THEN 1 ELSE 0 END) AS n,"
    " SUM(CASE WHEN e.delta_fen > 0 THEN e.delta_fen ELSE 0 END) AS plus,"
    " SUM(CASE WHEN e.delta_fen < 0 THEN e.delta_fen ELSE 0 END) AS minus"
    " FROM payment_entry e WHERE e.campaign_id = ?"
)


async def pledges_paid(campaign_id: int) -> list[dict[str, Any]]:
    """The campaign's pledges in allocation order, each with what was paid on it (net of
    refunds), in one statement."""
    found = await sql.rows(
        sql.default(),
        "SELECT p.id, p.sponsor, p.cap_fen, p.allocated_fen,"
        " COALESCE((SELECT SUM(e.delta_fen) FROM payment_entry e JOIN payment pa"
        " ON pa.id = e.payment_id WHERE pa.pledge_id = p.id), 0) AS paid_fen"
        " FROM sponsor_pledge p WHERE p.campaign_id = ? ORDER BY p.priority, p.id",
        campaign_id,
    )
    return [
        {
            "id": int(r["id"]),
            "sponsor": r["sponsor"],
            "cap_fen": int(r["cap_fen"]),
            "allocated_fen": int(r["allocated_fen"]),
            "paid_fen": int(r["paid_fen"]),
        }
        for r in found
    ]


@dataclass(frozen=True)
class PaymentView:
    """A payment as pages and the API show it."""

    id: int
    campaign_id: int
    kind: PaymentKind
    state: PaymentState
    amount_fen: int
    refunded_fen: int
    currency: str
    checkout_url: str

    @classmethod
    def of(cls, p: Payment) -> PaymentView:
        return cls(**{f.name: getattr(p, f.name) for f in fields(cls)})


async def by_session(session_id: str) -> PaymentView:
    payment = await Payment.get_or_none(session_id=session_id)
    if payment is None:
        raise NotFound("payment", "付款")
    return PaymentView.of(payment)
