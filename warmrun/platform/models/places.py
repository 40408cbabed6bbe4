"""Places, people and goods: cities, compounds, residents and their privacy zones, charity
partners, goods and bundles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

if TYPE_CHECKING:
    pass


class City(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name_zh = fields.CharField(max_length=64)
    name_en = fields.CharField(max_length=64)
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    lat = fields.FloatField(null=True)
    lon = fields.FloatField(null=True)
    radius_m = fields.IntField(default=60_000)

    class Meta:
        table = "city"


class Compound(Model):
    id = fields.IntField(primary_key=True)
    city_id: int
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "models.City", related_name="compounds", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=128)
    households = fields.IntField(default=0)

    class Meta:
        table = "compound"
        unique_together = (("city", "name"),)
        constraints = (CheckConstraint(check="households >= 0", name="compound_households_ck"),)


class Resident(Model):
    id = fields.IntField(primary_key=True)
    compound_id: int
    compound: fields.ForeignKeyRelation[Compound] = fields.ForeignKeyField(
        "models.Compound", related_name="residents", on_delete=fields.RESTRICT
    )
    display_name = fields.CharField(max_length=64)
    body_mass_kg = fields.IntField(null=True)
    birth_year = fields.IntField(null=True)
    guardian_id: int | None
    guardian: fields.ForeignKeyNullableRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="wards", null=True, on_delete=fields.SET_NULL
    )
    public_board = fields.BooleanField(default=True)
    # A child's record: when the guardian gave consent for the child's runs and check-ins to
    # be kept (a child is never shown by name on public boards).
    guardian_consent_at = fields.DatetimeField(null=True)
    # Points the resident may spend, and points owed: a reversal of points already spent
    # (a run withdrawn after its drink was handed out) is owed, and later credits repay it
    # first. Both change only by the conditional updates of points_ledger, and their
    # difference is the sum of the resident's PointsEntry rows.
    points_balance = fields.IntField(default=0)
    points_debt = fields.IntField(default=0)
    # Metres of every track hidden from others around its start and end (at least 200).
    privacy_radius_m = fields.IntField(default=200)
    created_at = fields.DatetimeField(auto_now_add=True)
    erased_at = fields.DatetimeField(null=True)

    class Meta:
        table = "resident"
        constraints = (
            CheckConstraint(check="points_balance >= 0", name="resident_points_ck"),
            CheckConstraint(check="points_debt >= 0", name="resident_debt_ck"),
        )


class PrivacyZone(Model):
    # A place a resident wants kept off every map others see (home, a parent's flat).

    id = fields.IntField(primary_key=True)
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="privacy_zones", on_delete=fields.CASCADE
    )
    lat = fields.FloatField()
    lon = fields.FloatField()
    radius_m = fields.IntField()

    class Meta:
        table = "privacy_zone"


class CharityPartner(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128, unique=True)

    class Meta:
        table = "charity_partner"


class Goods(Model):
    # An item (coat, shoes, bag) or a bundle (the 365-CNY warm pack) with a unit price in fen.

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name_zh = fields.CharField(max_length=128)
    name_en = fields.CharField(max_length=128)
    is_bundle = fields.BooleanField(default=False)
    unit_price_fen = fields.BigIntField()

    class Meta:
        table = "goods"
        constraints = (CheckConstraint(check="unit_price_fen > 0", name="goods_price_ck"),)


class BundleLine(Model):
    id = fields.IntField(primary_key=True)
    bundle_id: int
    bundle: fields.ForeignKeyRelation[Goods] = fields.ForeignKeyField(
        "models.Goods", related_name="lines", on_delete=fields.CASCADE
    )
    item_id: int
    item: fields.ForeignKeyRelation[Goods] = fields.ForeignKeyField(
        "models.Goods", related_name="in_bundles", on_delete=fields.RESTRICT
    )
    quantity = fields.IntField(default=1)

    class Meta:
        table = "bundle_line"
        unique_together = (("bundle", "item"),)
