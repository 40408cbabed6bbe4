"""Campaigns, their rules and pledges, runs, the contribution ledger, points, rewards and
redemptions, and the outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from warmrun.platform.kinds import (
    Basis,
    CampaignState,
    RedemptionState,
    RewardKind,
    SettlementMode,
)

if TYPE_CHECKING:
    from warmrun.platform.models.places import CharityPartner, City, Compound, Goods, Resident


class Campaign(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    partner_id: int
    partner: fields.ForeignKeyRelation[CharityPartner] = fields.ForeignKeyField(
        "models.CharityPartner", related_name="campaigns", on_delete=fields.RESTRICT
    )
    goods_id: int
    goods: fields.ForeignKeyRelation[Goods] = fields.ForeignKeyField(
        "models.Goods", related_name="campaigns", on_delete=fields.RESTRICT
    )
    starts_on = fields.DateField()
    ends_on = fields.DateField()
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    state = fields.CharEnumField(CampaignState, max_length=16, default=CampaignState.DRAFT)
    settlement_mode = fields.CharEnumField(
        SettlementMode, max_length=16, default=SettlementMode.FIRST_COME
    )
    walking_factor_permille = fields.IntField(default=600)
    default_body_mass_kg = fields.IntField(default=60)
    # Hash of the last contribution and its sequence number: the chain head, updated in the same
    # transaction that appends a contribution (that update also serialises appenders).
    head_seq = fields.IntField(default=0)
    head_hash = fields.CharField(max_length=64, default="0" * 64)
    created_at = fields.DatetimeField(auto_now_add=True)
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "campaign"


class CampaignCity(Model):
    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="cities", on_delete=fields.CASCADE
    )
    city_id: int
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "models.City", related_name="campaigns", on_delete=fields.RESTRICT
    )
    goal_fen = fields.BigIntField(default=0)

    class Meta:
        table = "campaign_city"
        unique_together = (("campaign", "city"),)


class ConversionRule(Model):
    # fen per per units of the basis (metres or kcal) for one sport.

    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="rules", on_delete=fields.CASCADE
    )
    sport = fields.CharField(max_length=16)
    basis = fields.CharEnumField(Basis, max_length=8, default=Basis.METRES)
    fen = fields.IntField()
    per = fields.IntField()
    daily_cap_fen = fields.IntField(null=True)

    class Meta:
        table = "conversion_rule"
        unique_together = (("campaign", "sport"),)
        constraints = (CheckConstraint(check="fen >= 0 AND per > 0", name="rule_rate_ck"),)


class SponsorPledge(Model):
    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="pledges", on_delete=fields.CASCADE
    )
    sponsor = fields.CharField(max_length=128)
    cap_fen = fields.BigIntField()
    allocated_fen = fields.BigIntField(default=0)
    priority = fields.IntField(default=0)

    class Meta:
        table = "sponsor_pledge"
        constraints = (
            CheckConstraint(
                check="allocated_fen >= 0 AND allocated_fen <= cap_fen", name="pledge_cap_ck"
            ),
        )


class Run(Model):
    id = fields.IntField(primary_key=True)
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="runs", on_delete=fields.RESTRICT
    )
    source = fields.CharField(max_length=16, default="file")
    file_name = fields.CharField(max_length=255, default="")
    file_sha256 = fields.CharField(max_length=64)
    points_sha256 = fields.CharField(max_length=64, db_index=True)
    started_at = fields.DatetimeField(null=True, db_index=True)
    ended_at = fields.DatetimeField(null=True)
    sport = fields.CharField(max_length=16)
    distance_m = fields.IntField()
    credited_m = fields.IntField()
    moving_s = fields.IntField()
    elapsed_s = fields.IntField()
    elevation_gain_m = fields.IntField(default=0)
    kcal = fields.IntField(default=0)
    points = fields.IntField()
    device_distance_m = fields.IntField(null=True)
    verdict = fields.CharField(max_length=16, db_index=True)
    reasons: fields.Field[list[str]] = fields.JSONField(default=list)
    start_city_id: int | None
    start_city: fields.ForeignKeyNullableRelation[City] = fields.ForeignKeyField(
        "models.City", related_name="runs", null=True, on_delete=fields.SET_NULL
    )
    line = fields.TextField(default="")
    review_note = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "run"
        unique_together = (("resident", "file_sha256"),)


class RunFile(Model):
    # The original upload, compressed (zstd; older rows zlib), kept for audit and re-processing.

    id = fields.IntField(primary_key=True)
    run_id: int
    run: fields.OneToOneRelation[Run] = fields.OneToOneField(
        "models.Run", related_name="file", on_delete=fields.CASCADE
    )
    format = fields.CharField(max_length=8)
    size = fields.IntField()
    data = fields.BinaryField()

    class Meta:
        table = "run_file"


class Contribution(Model):
    # One immutable, hash-chained ledger entry of a campaign.
    #
    # hash = SHA-256 over the previous entry's hash and this entry's canonical fields, so
    # editing or deleting any row breaks verification from that row on.

    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="contributions", on_delete=fields.RESTRICT
    )
    seq = fields.IntField()
    kind = fields.CharField(max_length=16)  # run | reversal | offline
    run_id: int | None
    run: fields.ForeignKeyNullableRelation[Run] = fields.ForeignKeyField(
        "models.Run", related_name="contributions", null=True, on_delete=fields.SET_NULL
    )
    resident_ref = fields.CharField(max_length=64)  # "resident:ID", pseudonymised on erasure
    city_id: int
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "models.City", related_name="contributions", on_delete=fields.RESTRICT
    )
    compound_id: int
    compound: fields.ForeignKeyRelation[Compound] = fields.ForeignKeyField(
        "models.Compound", related_name="contributions", on_delete=fields.RESTRICT
    )
    local_day = fields.DateField()
    sport = fields.CharField(max_length=16)
    metres = fields.IntField()
    kcal = fields.IntField()
    value_fen = fields.BigIntField()
    funded_fen = fields.BigIntField()
    idempotency_key = fields.CharField(max_length=128, unique=True)
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()

    class Meta:
        table = "contribution"
        unique_together = (("campaign", "seq"),)
        # A resident's credit today (the daily cap), a run's contributions (rounds, reversal),
        # a campaign's entries of one kind (the few offline ones among a million runs).
        indexes = (
            ("campaign_id", "resident_ref", "local_day"),
            ("run_id",),
            ("campaign_id", "kind"),
        )


class PledgeAllocation(Model):
    id = fields.IntField(primary_key=True)
    pledge_id: int
    pledge: fields.ForeignKeyRelation[SponsorPledge] = fields.ForeignKeyField(
        "models.SponsorPledge", related_name="allocations", on_delete=fields.RESTRICT
    )
    contribution_id: int
    contribution: fields.ForeignKeyRelation[Contribution] = fields.ForeignKeyField(
        "models.Contribution", related_name="allocations", on_delete=fields.RESTRICT
    )
    fen = fields.BigIntField()

    class Meta:
        table = "pledge_allocation"


class PointsRule(Model):
    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.OneToOneRelation[Campaign] = fields.OneToOneField(
        "models.Campaign", related_name="points_rule", on_delete=fields.CASCADE
    )
    points_per_km = fields.IntField(default=10)
    points_per_run = fields.IntField(default=0)
    daily_cap = fields.IntField(null=True)
    # Expiry: points earned by the campaign's residents lapse this many days after they were
    # earned, oldest first (null: never); residents are told this many days before.
    expire_after_days = fields.IntField(null=True)
    expiry_notice_days = fields.IntField(default=14, db_default=14)

    class Meta:
        table = "points_rule"


class PointsEntry(Model):
    # Append-only points ledger; idempotency_key names the source event.

    id = fields.IntField(primary_key=True)
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="points_entries", on_delete=fields.RESTRICT
    )
    delta = fields.IntField()
    reason = fields.CharField(max_length=32)
    idempotency_key = fields.CharField(max_length=128, unique=True)
    ref = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "points_entry"
        # A resident's points earned today (the daily cap) and their history.
        indexes = (("resident_id", "reason"),)


class Reward(Model):
    id = fields.IntField(primary_key=True)
    compound_id: int
    compound: fields.ForeignKeyRelation[Compound] = fields.ForeignKeyField(
        "models.Compound", related_name="rewards", on_delete=fields.RESTRICT
    )
    name_zh = fields.CharField(max_length=128)
    name_en = fields.CharField(max_length=128)
    points_price = fields.IntField()
    stock = fields.IntField(default=0)
    needs_slot = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)
    # Only a service may be free (0 points); goods always cost points.
    # (db_default: the rewards already offered get the value when the column is added.)
    kind = fields.CharEnumField(
        RewardKind, max_length=16, default=RewardKind.GOODS, db_default=RewardKind.GOODS
    )
    # A booked slot may be cancelled until this many hours before it starts (0: its start).
    cancel_hours = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "reward"
        constraints = (
            CheckConstraint(check="stock >= 0", name="reward_stock_ck"),
            # Spelled for migration 0018's SQLite triggers: a space on each side of a bracket.
            CheckConstraint(
                check="points_price > 0 OR ( points_price = 0 AND kind = 'service' )",
                name="reward_price_kind_ck",
            ),
            CheckConstraint(
                check="cancel_hours >= 0 AND cancel_hours <= 168", name="reward_cancel_ck"
            ),
        )


class Redemption(Model):
    id = fields.IntField(primary_key=True)
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="redemptions", on_delete=fields.RESTRICT
    )
    reward_id: int
    reward: fields.ForeignKeyRelation[Reward] = fields.ForeignKeyField(
        "models.Reward", related_name="redemptions", on_delete=fields.RESTRICT
    )
    code = fields.CharField(max_length=16, unique=True)
    points = fields.IntField()
    state = fields.CharEnumField(RedemptionState, max_length=16, default=RedemptionState.PENDING)
    slot = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "redemption"


class Outbox(Model):
    # Events for read models, written in the transaction that changed the ledger.

    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=32)
    payload: fields.Field[dict[str, object]] = fields.JSONField()
    created_at = fields.DatetimeField()
    processed_at = fields.DatetimeField(null=True, db_index=True)
    # The campaign whose boards the event changes: how far the boards must have got, per
    # campaign, is the newest processed row's id (see leaderboard.relay.heal).
    campaign_id = fields.IntField(null=True)

    class Meta:
        table = "outbox"
        indexes = (("campaign_id", "id"),)
