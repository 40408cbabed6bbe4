"""Accounts, sessions and API tokens; payments and their ledger; Strava connections."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from warmrun.platform.kinds import (
    PaymentKind,
    PaymentState,
    Role,
)

if TYPE_CHECKING:
    from warmrun.platform.models.ledger import Campaign, Run, SponsorPledge
    from warmrun.platform.models.places import CharityPartner, City, Resident


class Account(Model):
    # A person who signs in. Residents have a Resident row; partners name their partner;
    # organizers get their cities through OrganizerCity. session_epoch is carried in session
    # cookies: bumping it (logout everywhere, password change) invalidates every old cookie.

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=16)
    resident_id: int | None
    resident: fields.ForeignKeyNullableRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="accounts", null=True, on_delete=fields.RESTRICT
    )
    partner_id: int | None
    partner: fields.ForeignKeyNullableRelation[CharityPartner] = fields.ForeignKeyField(
        "models.CharityPartner", related_name="accounts", null=True, on_delete=fields.RESTRICT
    )
    session_epoch = fields.IntField(default=0)
    locale = fields.CharField(max_length=8, default="zh-CN")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account"


class OrganizerCity(Model):
    id = fields.IntField(primary_key=True)
    account_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="cities", on_delete=fields.CASCADE
    )
    city_id: int
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "models.City", related_name="organizers", on_delete=fields.CASCADE
    )

    class Meta:
        table = "organizer_city"
        unique_together = (("account", "city"),)


class ApiToken(Model):
    # Personal access tokens for API clients; only a SHA-256 digest of the token is stored.

    id = fields.IntField(primary_key=True)
    account_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    digest = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # After this the token is refused (null on tokens issued before expiry existed: their
    # creation plus the default lifetime applies).
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class WebSession(Model):
    # A signed-in browser. Its cookie carries a random key; only the key's SHA-256 is stored,
    # so signing out (or a password change) ends the session here, whatever the cookie says.

    id = fields.IntField(primary_key=True)
    account_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="sessions", on_delete=fields.CASCADE
    )
    digest = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "web_session"


class Payment(Model):
    # One payment we asked a payment provider to collect. The provider's word moves the state
    # forward only (conditional updates); money credited lives in PaymentEntry.

    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="payments", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(PaymentKind, max_length=16)
    pledge_id: int | None
    pledge: fields.ForeignKeyNullableRelation[SponsorPledge] = fields.ForeignKeyField(
        "models.SponsorPledge", related_name="payments", null=True, on_delete=fields.RESTRICT
    )
    resident_id: int | None
    resident: fields.ForeignKeyNullableRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="payments", null=True, on_delete=fields.SET_NULL
    )
    donor_name = fields.CharField(max_length=64, default="")
    amount_fen = fields.BigIntField()
    currency = fields.CharField(max_length=3, default="cny")
    state = fields.CharEnumField(PaymentState, max_length=16, default=PaymentState.CREATED)
    # Derived from our own record ("pledge:7:settle:v1"), sent as the provider's idempotency key.
    idempotency_key = fields.CharField(max_length=128, unique=True)
    session_id = fields.CharField(max_length=255, null=True, unique=True)
    payment_intent = fields.CharField(max_length=255, null=True, db_index=True)
    checkout_url = fields.TextField(default="")
    refunded_fen = fields.BigIntField(default=0)
    flag_reason = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "payment"
        constraints = (
            CheckConstraint(
                check="amount_fen > 0 AND refunded_fen >= 0 AND refunded_fen <= amount_fen",
                name="payment_amount_ck",
            ),
        )


class PaymentEntry(Model):
    # Append-only ledger of money received (+) and refunded (-) per payment.

    id = fields.IntField(primary_key=True)
    payment_id: int
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="entries", on_delete=fields.RESTRICT
    )
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="payment_entries", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(PaymentKind, max_length=16)
    delta_fen = fields.BigIntField()
    idempotency_key = fields.CharField(max_length=128, unique=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "payment_entry"


class ProviderEvent(Model):
    # Each webhook event id stored once: a second delivery of the same id changes nothing.

    id = fields.CharField(max_length=255, primary_key=True)
    provider = fields.CharField(max_length=16)
    type = fields.CharField(max_length=64)
    outcome = fields.CharField(max_length=32, default="")
    received_at = fields.DatetimeField()

    class Meta:
        table = "provider_event"


class PaymentIntentLink(Model):
    # One row per provider payment intent: the row every event about that intent locks first,
    # so a refund that arrives before (or beside) the payment is never lost.

    id = fields.CharField(max_length=255, primary_key=True)
    payment_id: int | None
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="intents", null=True, on_delete=fields.RESTRICT
    )
    # The largest cumulative refunded amount the provider has reported for the intent's charge.
    charge_refunded_fen = fields.BigIntField(default=0)

    class Meta:
        table = "payment_intent_link"


class ProviderRefund(Model):
    id = fields.CharField(max_length=255, primary_key=True)
    payment_intent = fields.CharField(max_length=255, db_index=True)
    amount_fen = fields.BigIntField()
    status = fields.CharField(max_length=16)

    class Meta:
        table = "provider_refund"


class StravaAccount(Model):
    # A resident's connected Strava athlete. Tokens are stored encrypted (the integration
    # encrypts them; this table only holds ciphertext). token_version changes with every
    # refresh: a refresh is stored only over the version it started from.

    id = fields.IntField(primary_key=True)
    resident_id: int
    resident: fields.OneToOneRelation[Resident] = fields.OneToOneField(
        "models.Resident", related_name="strava", on_delete=fields.CASCADE
    )
    athlete_id = fields.BigIntField(unique=True)
    scope = fields.CharField(max_length=255)
    access_token = fields.TextField()
    refresh_token = fields.TextField()
    expires_at = fields.DatetimeField()
    token_version = fields.IntField(default=0)
    connected_at = fields.DatetimeField()

    class Meta:
        table = "strava_account"


class StravaActivity(Model):
    # What became of each Strava activity we were told about: the run it made, or why not.

    id = fields.BigIntField(primary_key=True)  # Strava's activity id
    athlete_id = fields.BigIntField(db_index=True)
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="strava_activities", on_delete=fields.CASCADE
    )
    run_id: int | None
    run: fields.ForeignKeyNullableRelation[Run] = fields.ForeignKeyField(
        "models.Run", related_name="strava_activities", null=True, on_delete=fields.SET_NULL
    )
    status = fields.CharField(
        max_length=16
    )  # imported | duplicate | ineligible | deleted | invalid
    reason = fields.CharField(max_length=64, default="")
    updated_at = fields.DatetimeField()

    class Meta:
        table = "strava_activity"
