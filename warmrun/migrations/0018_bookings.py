"""Bookings: dated pickup slots with a capacity, options to choose (a drink's flavour, hot or
warm), what each redemption booked; free convenience services (a reward's kind), and a
per-reward window for cancelling a booking. CreateModel emits no CHECK clause: the slots'
are installed as in 0002 (triggers on SQLite); the reward's are rebuilt with its table."""

import functools
import importlib
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

from warmrun.platform.kinds import RewardKind

_checks = importlib.import_module("warmrun.migrations.0002_check_constraints")
CHECKS = [
    ("pickup_slot", "pickup_slot_capacity_ck", "capacity > 0"),
    ("pickup_slot", "pickup_slot_booked_ck", "booked >= 0 AND booked <= capacity"),
]


async def forward(apps, schema_editor) -> None:
    await _checks.install_checks(schema_editor, CHECKS)


async def backward(apps, schema_editor) -> None:
    await _checks.drop_checks(schema_editor, CHECKS)


# The reward's price check now lets a service be free, and its cancel window is bounded.
# Changed here rather than by Add/RemoveConstraint: on SQLite those rebuild the table, and
# dropping the old reward table fails once redemptions reference it.
REWARD_CHECKS = [
    CheckConstraint(
        check="points_price > 0 OR ( points_price = 0 AND kind = 'service' )",
        name="reward_price_kind_ck",
    ),
    CheckConstraint(check="cancel_hours >= 0 AND cancel_hours <= 168", name="reward_cancel_ck"),
]
OLD_PRICE = [("reward", "reward_price_ck", "points_price > 0")]
NEW_REWARD = [("reward", c.name, c.check) for c in REWARD_CHECKS]


async def reward_forward(apps, schema_editor) -> None:
    await _checks.drop_checks(schema_editor, OLD_PRICE)
    await _checks.install_checks(schema_editor, NEW_REWARD)


async def reward_backward(apps, schema_editor) -> None:
    await _checks.drop_checks(schema_editor, NEW_REWARD)
    await _checks.install_checks(schema_editor, OLD_PRICE)


class _StateOnly:
    """A constraint change recorded in the migration state only (the functions above change
    the database)."""

    async def database_forward(self, *args, **kwargs) -> None:
        return None

    async def database_backward(self, *args, **kwargs) -> None:
        return None


class StateOnlyRemoveConstraint(_StateOnly, ops.RemoveConstraint):
    pass


class StateOnlyAddConstraint(_StateOnly, ops.AddConstraint):
    pass


class Migration(migrations.Migration):
    dependencies = [("models", "0017_families_points_ratings")]

    initial = False

    operations = [
        ops.CreateModel(
            name="PickupSlot",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "reward",
                    fields.ForeignKeyField(
                        "models.Reward",
                        source_field="reward_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="slots",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("capacity", fields.IntField()),
                ("booked", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "pickup_slot",
                "app": "models",
                "unique_together": (("reward", "starts_at"),),
                "constraints": [
                    CheckConstraint(check="capacity > 0", name="pickup_slot_capacity_ck"),
                    CheckConstraint(
                        check="booked >= 0 AND booked <= capacity", name="pickup_slot_booked_ck"
                    ),
                ],
                "indexes": [Index(fields=["starts_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.RunPython(forward, backward),
        ops.CreateModel(
            name="Booking",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "redemption",
                    fields.OneToOneField(
                        "models.Redemption",
                        source_field="redemption_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="booking",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "slot",
                    fields.ForeignKeyField(
                        "models.PickupSlot",
                        source_field="slot_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="bookings",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "choices",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={"table": "booking", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RewardOptionGroup",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "reward",
                    fields.ForeignKeyField(
                        "models.Reward",
                        source_field="reward_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="option_groups",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name_zh", fields.CharField(max_length=32)),
                ("name_en", fields.CharField(max_length=32)),
                ("position", fields.IntField(default=0)),
            ],
            options={"table": "reward_option_group", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RewardOption",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "group",
                    fields.ForeignKeyField(
                        "models.RewardOptionGroup",
                        source_field="group_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="choices",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name_zh", fields.CharField(max_length=32)),
                ("name_en", fields.CharField(max_length=32)),
                ("position", fields.IntField(default=0)),
            ],
            options={"table": "reward_option", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Reward",
            name="cancel_hours",
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name="Reward",
            name="kind",
            field=fields.CharEnumField(
                default=RewardKind.GOODS,
                db_default=RewardKind.GOODS,
                description="GOODS: goods\nSERVICE: service",
                enum_type=RewardKind,
                max_length=16,
            ),
        ),
        StateOnlyRemoveConstraint(model_name="Reward", name="reward_price_ck", fields=None),
        StateOnlyAddConstraint(model_name="Reward", constraint=REWARD_CHECKS[0]),
        StateOnlyAddConstraint(model_name="Reward", constraint=REWARD_CHECKS[1]),
        ops.RunPython(reward_forward, reward_backward),
    ]
