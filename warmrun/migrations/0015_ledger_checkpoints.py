import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0014_rollups")]

    initial = False

    operations = [
        ops.CreateModel(
            name="LedgerBlock",
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
                        related_name="ledger_blocks",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("block", fields.IntField()),
                ("hash", fields.CharField(max_length=64)),
            ],
            options={
                "table": "ledger_block",
                "app": "models",
                "unique_together": (("campaign", "block"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="LedgerCheckpoint",
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
                        related_name="checkpoints",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("number", fields.IntField()),
                ("size", fields.IntField()),
                ("root", fields.CharField(max_length=64)),
                ("made_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("reason", fields.CharField(max_length=16)),
                ("key_id", fields.CharField(max_length=16)),
                ("note", fields.TextField(unique=False)),
            ],
            options={
                "table": "ledger_checkpoint",
                "app": "models",
                "unique_together": (("campaign", "number"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="LedgerLeaf",
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
                        related_name="ledger_leaves",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("idx", fields.IntField()),
                ("kind", fields.CharField(max_length=16)),
                ("seq", fields.IntField(null=True)),
                ("body", fields.TextField(unique=False)),
                ("hash", fields.CharField(max_length=64)),
            ],
            options={
                "table": "ledger_leaf",
                "app": "models",
                "unique_together": (("campaign", "idx"),),
                "indexes": [Index(fields=["campaign_id", "seq"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="LedgerLog",
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
                        related_name="ledger_log",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("secret", fields.CharField(max_length=64)),
                ("size", fields.IntField(default=0)),
                ("seq", fields.IntField(default=0)),
                (
                    "chain_hash",
                    fields.CharField(
                        default="0000000000000000000000000000000000000000000000000000000000000000",
                        max_length=64,
                    ),
                ),
                (
                    "source_hash",
                    fields.CharField(
                        default="0000000000000000000000000000000000000000000000000000000000000000",
                        max_length=64,
                    ),
                ),
                ("rule_version", fields.IntField(default=0)),
                ("pledge_id", fields.IntField(default=0)),
            ],
            options={"table": "ledger_log", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RuleVersion",
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
                        related_name="rule_versions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("version", fields.IntField()),
                ("rule", fields.CharField(max_length=16)),
                ("sport", fields.CharField(default="", max_length=16)),
                (
                    "terms",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("effective_from", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("after_seq", fields.IntField(default=0)),
                ("backfilled", fields.BooleanField(default=False)),
            ],
            options={
                "table": "rule_version",
                "app": "models",
                "unique_together": (("campaign", "version"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
