import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from warmrun.platform.kinds import Role


class Migration(migrations.Migration):
    dependencies = [("models", "0015_ledger_checkpoints")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ("actor_id", fields.IntField(null=True)),
                ("actor", fields.CharField(max_length=254)),
                ("action", fields.CharField(max_length=32)),
                ("campaign_id", fields.IntField(null=True)),
                ("city_id", fields.IntField(null=True)),
                ("subject", fields.CharField(default="", max_length=200)),
                (
                    "before",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "after",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={
                "table": "audit_entry",
                "app": "models",
                "indexes": [Index(fields=["campaign_id", "id"]), Index(fields=["city_id", "id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Invitation",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("digest", fields.CharField(unique=True, max_length=64)),
                ("email", fields.CharField(max_length=254)),
                (
                    "role",
                    fields.CharEnumField(
                        description="RESIDENT: resident\nPARTNER: partner\nORGANIZER: organizer\nDESK: desk\nADMIN: admin",
                        enum_type=Role,
                        max_length=16,
                    ),
                ),
                (
                    "places",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "partner",
                    fields.ForeignKeyField(
                        "models.CharityPartner",
                        source_field="partner_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="invitations",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "invited_by",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="invited_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="invitations",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "accepted_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "invitation", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SettlementReport",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "campaign",
                    fields.OneToOneField(
                        "models.Campaign",
                        source_field="campaign_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="settlement_report",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("body", fields.TextField(unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("created_by", fields.CharField(max_length=254)),
            ],
            options={"table": "settlement_report", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StaffCompound",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="compounds",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "compound",
                    fields.ForeignKeyField(
                        "models.Compound",
                        source_field="compound_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="staff",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
            ],
            options={
                "table": "staff_compound",
                "app": "models",
                "unique_together": (("account", "compound"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AlterField(
            model_name="Account",
            name="role",
            field=fields.CharEnumField(
                description="RESIDENT: resident\nPARTNER: partner\nORGANIZER: organizer\nDESK: desk\nADMIN: admin",
                enum_type=Role,
                max_length=16,
            ),
        ),
    ]
