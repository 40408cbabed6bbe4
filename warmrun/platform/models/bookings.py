"""Bookings: a reward's dated pickup slots at its compound's desk, the options a resident
chooses (a drink's flavour, hot or warm), and what each redemption booked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

if TYPE_CHECKING:
    from warmrun.platform.models.ledger import Redemption, Reward


class PickupSlot(Model):
    # A dated window (stored in UTC, set in the compound's local time) with room for
    # ``capacity`` bookings. ``booked`` moves only by conditional updates
    # (``WHERE booked < capacity``), and the CHECK constraints back them: no slot is ever
    # overbooked, however many residents book at once.
    id = fields.IntField(primary_key=True)
    reward_id: int
    reward: fields.ForeignKeyRelation[Reward] = fields.ForeignKeyField(
        "models.Reward", related_name="slots", on_delete=fields.RESTRICT
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    capacity = fields.IntField()
    booked = fields.IntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "pickup_slot"
        # One slot per start: a week made twice does not double the slots.
        unique_together = (("reward", "starts_at"),)
        indexes = (("starts_at",),)
        constraints = (
            CheckConstraint(check="capacity > 0", name="pickup_slot_capacity_ck"),
            CheckConstraint(
                check="booked >= 0 AND booked <= capacity", name="pickup_slot_booked_ck"
            ),
        )


class RewardOptionGroup(Model):
    # One question a resident answers when booking (口味 flavour, 温度 hot or warm).
    id = fields.IntField(primary_key=True)
    reward_id: int
    reward: fields.ForeignKeyRelation[Reward] = fields.ForeignKeyField(
        "models.Reward", related_name="option_groups", on_delete=fields.CASCADE
    )
    name_zh = fields.CharField(max_length=32)
    name_en = fields.CharField(max_length=32)
    position = fields.IntField(default=0)

    class Meta:
        table = "reward_option_group"


class RewardOption(Model):
    # One answer of a group (姜茶 ginger tea); a resident picks one per group.
    id = fields.IntField(primary_key=True)
    group_id: int
    group: fields.ForeignKeyRelation[RewardOptionGroup] = fields.ForeignKeyField(
        "models.RewardOptionGroup", related_name="choices", on_delete=fields.CASCADE
    )
    name_zh = fields.CharField(max_length=32)
    name_en = fields.CharField(max_length=32)
    position = fields.IntField(default=0)

    class Meta:
        table = "reward_option"


class Booking(Model):
    # What a redemption booked: its slot (none for a reward without dated slots) and the
    # options chosen, in the words they had then ([group zh, group en, choice zh, choice en]
    # each): the desk makes what was asked for even after the options change.
    id = fields.IntField(primary_key=True)
    redemption_id: int
    redemption: fields.OneToOneRelation[Redemption] = fields.OneToOneField(
        "models.Redemption", related_name="booking", on_delete=fields.RESTRICT
    )
    slot_id: int | None
    slot: fields.ForeignKeyNullableRelation[PickupSlot] = fields.ForeignKeyField(
        "models.PickupSlot", related_name="bookings", null=True, on_delete=fields.RESTRICT
    )
    choices: fields.Field[list[list[str]]] = fields.JSONField(default=list)

    class Meta:
        table = "booking"
