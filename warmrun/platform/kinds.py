"""The closed sets of values the domain speaks in: roles, campaign and payment states, bases.

Plain enums with no ORM types, so that the web layer and pure rules can name them without
touching the database models (which store them, and export them under the same names).
"""

from __future__ import annotations

from enum import StrEnum


class CampaignState(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"
    SETTLED = "settled"


class SettlementMode(StrEnum):
    FIRST_COME = "first_come"  # pledges pay contributions in order until their caps are used
    PRO_RATA = "pro_rata"  # at settlement, every contribution is scaled to what pledges cover


class Basis(StrEnum):
    METRES = "metres"
    KCAL = "kcal"


class RedemptionState(StrEnum):
    PENDING = "pending"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


class RewardKind(StrEnum):
    GOODS = "goods"  # a thing handed over at the desk (a hot drink): always costs points
    SERVICE = "service"  # a convenience service (knife sharpening, a haircut): may be free


class Role(StrEnum):
    RESIDENT = "resident"
    PARTNER = "partner"  # a charity partner's staff: read-only
    ORGANIZER = "organizer"  # the property company's staff, scoped to cities
    DESK = "desk"  # desk staff, scoped to compounds: hand-outs and stock
    ADMIN = "admin"


class PaymentKind(StrEnum):
    DONATION = "donation"  # a resident or visitor gives money to a campaign
    PLEDGE_PREPAY = "pledge_prepay"  # a sponsor pays its cap up front
    PLEDGE_SETTLE = "pledge_settle"  # a sponsor pays what it owes at settlement


class PaymentState(StrEnum):
    CREATED = "created"  # our record exists; no checkout session yet
    OPEN = "open"  # a checkout session waits for the payer
    PROCESSING = "processing"  # checkout completed, a delayed payment method is pending
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"  # wholly refunded (partial refunds keep PAID and count refunded_fen)
    FLAGGED = "flagged"  # amount or currency did not match our record: no credit
