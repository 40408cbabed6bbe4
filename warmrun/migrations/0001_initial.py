import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

from warmrun.platform.models import Basis, CampaignState, RedemptionState, SettlementMode


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="CharityPartner",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(unique=True, max_length=128)),
            ],
            options={"table": "charity_partner", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="City",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("code", fields.CharField(unique=True, max_length=32)),
                ("name_zh", fields.CharField(max_length=64)),
                ("name_en", fields.CharField(max_length=64)),
                ("timezone", fields.CharField(default="Asia/Shanghai", max_length=64)),
                ("lat", fields.FloatField(null=True)),
                ("lon", fields.FloatField(null=True)),
                ("radius_m", fields.IntField(default=60000)),
            ],
            options={"table": "city", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Compound",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "city",
                    fields.ForeignKeyField(
                        "models.City",
                        source_field="city_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="compounds",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("name", fields.CharField(max_length=128)),
                ("households", fields.IntField(default=0)),
            ],
            options={
                "table": "compound",
                "app": "models",
                "unique_together": (("city", "name"),),
                "constraints": [
                    CheckConstraint(check="households >= 0", name="compound_households_ck")
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Goods",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("code", fields.CharField(unique=True, max_length=64)),
                ("name_zh", fields.CharField(max_length=128)),
                ("name_en", fields.CharField(max_length=128)),
                ("is_bundle", fields.BooleanField(default=False)),
                ("unit_price_fen", fields.BigIntField()),
            ],
            options={
                "table": "goods",
                "app": "models",
                "constraints": [CheckConstraint(check="unit_price_fen > 0", name="goods_price_ck")],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="BundleLine",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "bundle",
                    fields.ForeignKeyField(
                        "models.Goods",
                        source_field="bundle_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="lines",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "item",
                    fields.ForeignKeyField(
                        "models.Goods",
                        source_field="item_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="in_bundles",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("quantity", fields.IntField(default=1)),
            ],
            options={
                "table": "bundle_line",
                "app": "models",
                "unique_together": (("bundle", "item"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Campaign",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("code", fields.CharField(unique=True, max_length=64)),
                ("name", fields.CharField(max_length=200)),
                (
                    "partner",
                    fields.ForeignKeyField(
                        "models.CharityPartner",
                        source_field="partner_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="campaigns",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "goods",
                    fields.ForeignKeyField(
                        "models.Goods",
                        source_field="goods_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="campaigns",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("starts_on", fields.DateField()),
                ("ends_on", fields.DateField()),
                ("timezone", fields.CharField(default="Asia/Shanghai", max_length=64)),
                (
                    "state",
                    fields.CharEnumField(
                        default=CampaignState.DRAFT,
                        description="DRAFT: draft\nACTIVE: active\nCLOSED: closed\nSETTLED: settled",
                        enum_type=CampaignState,
                        max_length=16,
                    ),
                ),
                (
                    "settlement_mode",
                    fields.CharEnumField(
                        default=SettlementMode.FIRST_COME,
                        description="FIRST_COME: first_come\nPRO_RATA: pro_rata",
                        enum_type=SettlementMode,
                        max_length=16,
                    ),
                ),
                ("walking_factor_permille", fields.IntField(default=600)),
                ("default_body_mass_kg", fields.IntField(default=60)),
                ("head_seq", fields.IntField(default=0)),
                (
                    "head_hash",
                    fields.CharField(
                        default="0000000000000000000000000000000000000000000000000000000000000000",
                        max_length=64,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("settled_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "campaign", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CampaignCity",
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
                        related_name="cities",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "city",
                    fields.ForeignKeyField(
                        "models.City",
                        source_field="city_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="campaigns",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("goal_fen", fields.BigIntField(default=0)),
            ],
            options={
                "table": "campaign_city",
                "app": "models",
                "unique_together": (("campaign", "city"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ConversionRule",
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
                        related_name="rules",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("sport", fields.CharField(max_length=16)),
                (
                    "basis",
                    fields.CharEnumField(
                        default=Basis.METRES,
                        description="METRES: metres\nKCAL: kcal",
                        enum_type=Basis,
                        max_length=8,
                    ),
                ),
                ("fen", fields.IntField()),
                ("per", fields.IntField()),
                ("daily_cap_fen", fields.IntField(null=True)),
            ],
            options={
                "table": "conversion_rule",
                "app": "models",
                "unique_together": (("campaign", "sport"),),
                "constraints": [CheckConstraint(check="fen >= 0 AND per > 0", name="rule_rate_ck")],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Outbox",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("topic", fields.CharField(max_length=32)),
                (
                    "payload",
                    fields.JSONField(
                        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "processed_at",
                    fields.DatetimeField(
                        null=True, db_index=True, auto_now=False, auto_now_add=False
                    ),
                ),
            ],
            options={"table": "outbox", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PointsRule",
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
                        related_name="points_rule",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("points_per_km", fields.IntField(default=10)),
                ("points_per_run", fields.IntField(default=0)),
                ("daily_cap", fields.IntField(null=True)),
            ],
            options={"table": "points_rule", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Resident",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "compound",
                    fields.ForeignKeyField(
                        "models.Compound",
                        source_field="compound_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="residents",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("display_name", fields.CharField(max_length=64)),
                ("body_mass_kg", fields.IntField(null=True)),
                ("birth_year", fields.IntField(null=True)),
                (
                    "guardian",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="guardian_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="wards",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("public_board", fields.BooleanField(default=True)),
                ("points_balance", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("erased_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "resident",
                "app": "models",
                "constraints": [
                    CheckConstraint(check="points_balance >= 0", name="resident_points_ck")
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PointsEntry",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="points_entries",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("delta", fields.IntField()),
                ("reason", fields.CharField(max_length=32)),
                ("idempotency_key", fields.CharField(unique=True, max_length=128)),
                ("ref", fields.CharField(default="", max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "points_entry", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Reward",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "compound",
                    fields.ForeignKeyField(
                        "models.Compound",
                        source_field="compound_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="rewards",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("name_zh", fields.CharField(max_length=128)),
                ("name_en", fields.CharField(max_length=128)),
                ("points_price", fields.IntField()),
                ("stock", fields.IntField(default=0)),
                ("needs_slot", fields.BooleanField(default=False)),
                ("active", fields.BooleanField(default=True)),
            ],
            options={
                "table": "reward",
                "app": "models",
                "constraints": [
                    CheckConstraint(check="stock >= 0", name="reward_stock_ck"),
                    CheckConstraint(check="points_price > 0", name="reward_price_ck"),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Redemption",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="redemptions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "reward",
                    fields.ForeignKeyField(
                        "models.Reward",
                        source_field="reward_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="redemptions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("code", fields.CharField(unique=True, max_length=16)),
                ("points", fields.IntField()),
                (
                    "state",
                    fields.CharEnumField(
                        default=RedemptionState.PENDING,
                        description="PENDING: pending\nFULFILLED: fulfilled\nCANCELLED: cancelled",
                        enum_type=RedemptionState,
                        max_length=16,
                    ),
                ),
                ("slot", fields.CharField(null=True, max_length=32)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("closed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "redemption", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Run",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="runs",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("source", fields.CharField(default="file", max_length=16)),
                ("file_name", fields.CharField(default="", max_length=255)),
                ("file_sha256", fields.CharField(max_length=64)),
                ("points_sha256", fields.CharField(db_index=True, max_length=64)),
                (
                    "started_at",
                    fields.DatetimeField(
                        null=True, db_index=True, auto_now=False, auto_now_add=False
                    ),
                ),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("sport", fields.CharField(max_length=16)),
                ("distance_m", fields.IntField()),
                ("credited_m", fields.IntField()),
                ("moving_s", fields.IntField()),
                ("elapsed_s", fields.IntField()),
                ("elevation_gain_m", fields.IntField(default=0)),
                ("kcal", fields.IntField(default=0)),
                ("points", fields.IntField()),
                ("device_distance_m", fields.IntField(null=True)),
                ("verdict", fields.CharField(db_index=True, max_length=16)),
                (
                    "reasons",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "start_city",
                    fields.ForeignKeyField(
                        "models.City",
                        source_field="start_city_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="runs",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("line", fields.TextField(default="", unique=False)),
                ("review_note", fields.TextField(default="", unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "run",
                "app": "models",
                "unique_together": (("resident", "file_sha256"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Contribution",
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
                        related_name="contributions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("seq", fields.IntField()),
                ("kind", fields.CharField(max_length=16)),
                (
                    "run",
                    fields.ForeignKeyField(
                        "models.Run",
                        source_field="run_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="contributions",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("resident_ref", fields.CharField(max_length=64)),
                (
                    "city",
                    fields.ForeignKeyField(
                        "models.City",
                        source_field="city_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="contributions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "compound",
                    fields.ForeignKeyField(
                        "models.Compound",
                        source_field="compound_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="contributions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("local_day", fields.DateField()),
                ("sport", fields.CharField(max_length=16)),
                ("metres", fields.IntField()),
                ("kcal", fields.IntField()),
                ("value_fen", fields.BigIntField()),
                ("funded_fen", fields.BigIntField()),
                ("idempotency_key", fields.CharField(unique=True, max_length=128)),
                ("prev_hash", fields.CharField(max_length=64)),
                ("hash", fields.CharField(max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "contribution",
                "app": "models",
                "unique_together": (("campaign", "seq"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RunFile",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "run",
                    fields.OneToOneField(
                        "models.Run",
                        source_field="run_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="file",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("format", fields.CharField(max_length=8)),
                ("size", fields.IntField()),
                ("data", fields.BinaryField()),
            ],
            options={"table": "run_file", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SponsorPledge",
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
                        related_name="pledges",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("sponsor", fields.CharField(max_length=128)),
                ("cap_fen", fields.BigIntField()),
                ("allocated_fen", fields.BigIntField(default=0)),
                ("priority", fields.IntField(default=0)),
            ],
            options={
                "table": "sponsor_pledge",
                "app": "models",
                "constraints": [
                    CheckConstraint(
                        check="allocated_fen >= 0 AND allocated_fen <= cap_fen",
                        name="pledge_cap_ck",
                    )
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PledgeAllocation",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "pledge",
                    fields.ForeignKeyField(
                        "models.SponsorPledge",
                        source_field="pledge_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="allocations",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "contribution",
                    fields.ForeignKeyField(
                        "models.Contribution",
                        source_field="contribution_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="allocations",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("fen", fields.BigIntField()),
            ],
            options={"table": "pledge_allocation", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
