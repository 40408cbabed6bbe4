"""Payments collected through a provider: payments, their ledger, provider events, intents
and refunds (the CHECK constraints are installed as in 0002)."""

import importlib

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

from warmrun.platform.models import PaymentKind, PaymentState

_checks = importlib.import_module("warmrun.migrations.0002_check_constraints")
CHECKS = [
    (
        "payment",
        "payment_amount_ck",
        "amount_fen > 0 AND refunded_fen >= 0 AND refunded_fen <= amount_fen",
    ),
    ("payment_intent_link", "intent_refunded_ck", "charge_refunded_fen >= 0"),
    ("provider_refund", "refund_amount_ck", "amount_fen > 0"),
]


async def forward(apps, schema_editor) -> None:
    await _checks.install_checks(schema_editor, CHECKS)


async def backward(apps, schema_editor) -> None:
    await _checks.drop_checks(schema_editor, CHECKS)


class Migration(migrations.Migration):
    dependencies = [("models", "0003_accounts")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Payment",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "campaign",
                    fields.ForeignKeyField(
                        "models.Campaign",
                        source_field="campaign_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="payments",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="DONATION: donation\nPLEDGE_PREPAY: pledge_prepay\nPLEDGE_SETTLE: pledge_settle",
                        enum_type=PaymentKind,
                        max_length=16,
                    ),
                ),
                (
                    "pledge",
                    fields.ForeignKeyField(
                        "models.SponsorPledge",
                        source_field="pledge_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="payments",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="payments",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("donor_name", fields.CharField(default="", max_length=64)),
                ("amount_fen", fields.BigIntField()),
                ("currency", fields.CharField(default="cny", max_length=3)),
                (
                    "state",
                    fields.CharEnumField(
                        default=PaymentState.CREATED,
                        description="CREATED: created\nOPEN: open\nPROCESSING: processing\nPAID: paid\nFAILED: failed\nEXPIRED: expired\nREFUNDED: refunded\nFLAGGED: flagged",
                        enum_type=PaymentState,
                        max_length=16,
                    ),
                ),
                ("idempotency_key", fields.CharField(unique=True, max_length=128)),
                ("session_id", fields.CharField(null=True, unique=True, max_length=255)),
                ("payment_intent", fields.CharField(null=True, db_index=True, max_length=255)),
                ("checkout_url", fields.TextField(default="", unique=False)),
                ("refunded_fen", fields.BigIntField(default=0)),
                ("flag_reason", fields.CharField(default="", max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "payment",
                "app": "models",
                "constraints": [
                    CheckConstraint(
                        check="amount_fen > 0 AND refunded_fen >= 0 AND refunded_fen <= amount_fen",
                        name="payment_amount_ck",
                    )
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PaymentEntry",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "payment",
                    fields.ForeignKeyField(
                        "models.Payment",
                        source_field="payment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="entries",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "campaign",
                    fields.ForeignKeyField(
                        "models.Campaign",
                        source_field="campaign_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="payment_entries",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="DONATION: donation\nPLEDGE_PREPAY: pledge_prepay\nPLEDGE_SETTLE: pledge_settle",
                        enum_type=PaymentKind,
                        max_length=16,
                    ),
                ),
                ("delta_fen", fields.BigIntField()),
                ("idempotency_key", fields.CharField(unique=True, max_length=128)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "payment_entry", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PaymentIntentLink",
            fields=[
                (
                    "id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255),
                ),
                (
                    "payment",
                    fields.ForeignKeyField(
                        "models.Payment",
                        source_field="payment_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="intents",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("charge_refunded_fen", fields.BigIntField(default=0)),
            ],
            options={"table": "payment_intent_link", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ProviderEvent",
            fields=[
                (
                    "id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255),
                ),
                ("provider", fields.CharField(max_length=16)),
                ("type", fields.CharField(max_length=64)),
                ("outcome", fields.CharField(default="", max_length=32)),
                ("received_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "provider_event", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ProviderRefund",
            fields=[
                (
                    "id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255),
                ),
                ("payment_intent", fields.CharField(db_index=True, max_length=255)),
                ("amount_fen", fields.BigIntField()),
                ("status", fields.CharField(max_length=16)),
            ],
            options={"table": "provider_refund", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunPython(forward, backward),
    ]
