"""Staff beyond the organizers' cities: desk staff's compounds, invitations by one-time link,
the audit log of staff actions, and the settlement report as it was stored at settlement."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from warmrun.platform.kinds import Role

if TYPE_CHECKING:
    from warmrun.platform.models.accounts import Account
    from warmrun.platform.models.ledger import Campaign
    from warmrun.platform.models.places import CharityPartner, Compound


class StaffCompound(Model):
    # A desk clerk's compounds: the pickup desk, its rewards' stock (and, later, its slots).
    id = fields.IntField(primary_key=True)
    account_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="compounds", on_delete=fields.CASCADE
    )
    compound_id: int
    compound: fields.ForeignKeyRelation[Compound] = fields.ForeignKeyField(
        "models.Compound", related_name="staff", on_delete=fields.CASCADE
    )

    class Meta:
        table = "staff_compound"
        unique_together = (("account", "compound"),)


class Invitation(Model):
    # A one-time link that makes a staff account: only the token's SHA-256 is stored. Its
    # places are cities (organizer) or compounds (desk staff); a partner's names the partner.
    id = fields.IntField(primary_key=True)
    digest = fields.CharField(max_length=64, unique=True)
    email = fields.CharField(max_length=254)
    role = fields.CharEnumField(Role, max_length=16)
    places: fields.Field[list[int]] = fields.JSONField(default=list)
    partner_id: int | None
    partner: fields.ForeignKeyNullableRelation[CharityPartner] = fields.ForeignKeyField(
        "models.CharityPartner", related_name="invitations", null=True, on_delete=fields.CASCADE
    )
    invited_by_id: int | None
    invited_by: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="invitations", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invitation"


class AuditEntry(Model):
    # Who did what to what, and when: append-only. The actor's address is copied so that the
    # record outlives the account; campaign and city say whose organizers may read it.
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    actor_id = fields.IntField(null=True)
    actor = fields.CharField(max_length=254)
    action = fields.CharField(max_length=32)
    campaign_id = fields.IntField(null=True)
    city_id = fields.IntField(null=True)
    subject = fields.CharField(max_length=200, default="")
    before: fields.Field[Any] = fields.JSONField(null=True)
    after: fields.Field[Any] = fields.JSONField(null=True)

    class Meta:
        table = "audit_entry"
        indexes = (("campaign_id", "id"), ("city_id", "id"))


class SettlementReport(Model):
    # The settlement report exactly as computed in the settling transaction (canonical JSON),
    # served to partners and organizers from here ever after.
    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.OneToOneRelation[Campaign] = fields.OneToOneField(
        "models.Campaign", related_name="settlement_report", on_delete=fields.RESTRICT
    )
    body = fields.TextField()
    created_at = fields.DatetimeField()
    created_by = fields.CharField(max_length=254)

    class Meta:
        table = "settlement_report"
