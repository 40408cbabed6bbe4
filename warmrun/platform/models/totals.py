"""Campaign totals kept beside the ledger, and the public log with its checkpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from warmrun.platform.models.ledger import Campaign


# Campaign totals kept beside the ledger (platform/rollups.py). Each contribution, reversal and
# check-in adds to them in its own transaction, so they always equal the ledger's sums; they
# can be rebuilt from it at any time (`warmrun campaign rebuild-totals`). An area is the whole
# campaign (city 0, compound 0), a city (compound 0) or a compound.


class AreaTotal(Model):
    id = fields.IntField(primary_key=True)
    campaign_id = fields.IntField()
    city_id = fields.IntField()
    compound_id = fields.IntField()
    metres = fields.BigIntField(default=0)
    kcal = fields.BigIntField(default=0)
    value_fen = fields.BigIntField(default=0)
    funded_fen = fields.BigIntField(default=0)
    entries = fields.IntField(default=0)
    participants = fields.IntField(default=0)  # residents whose net metres here are positive
    checkins = fields.IntField(default=0)

    class Meta:
        table = "area_total"
        unique_together = (("campaign_id", "city_id", "compound_id"),)
        indexes = (("campaign_id", "metres"),)  # compounds by kilometres, a page at a time


class DayTotal(Model):
    # One area on one local day of the campaign (the charts, per-day exports).
    id = fields.IntField(primary_key=True)
    campaign_id = fields.IntField()
    city_id = fields.IntField()
    compound_id = fields.IntField()
    local_day = fields.DateField()
    metres = fields.BigIntField(default=0)
    kcal = fields.BigIntField(default=0)
    value_fen = fields.BigIntField(default=0)
    funded_fen = fields.BigIntField(default=0)
    entries = fields.IntField(default=0)
    checkins = fields.IntField(default=0)

    class Meta:
        table = "day_total"
        unique_together = (("campaign_id", "city_id", "compound_id", "local_day"),)


class AreaParticipant(Model):
    # A resident's net metres in one area, so that distinct participants stay exact under
    # reversals: the area's count moves only when this crosses zero.
    id = fields.IntField(primary_key=True)
    campaign_id = fields.IntField()
    city_id = fields.IntField()
    compound_id = fields.IntField()
    resident_ref = fields.CharField(max_length=64)
    metres = fields.BigIntField(default=0)

    class Meta:
        table = "area_participant"
        unique_together = (("campaign_id", "city_id", "compound_id", "resident_ref"),)


# A campaign's public log (platform/transparency.py): its contributions, rule versions, pledge
# allocations and settlement as canonical JSON lines, the leaves of an append-only Merkle tree
# (RFC 9162) whose checkpoints the site signs; warmrun/verify.py checks them offline. Rows are
# only ever added, under the campaign row's lock.


class LedgerLog(Model):
    # Where a campaign's log stands: its size and what it holds so far.
    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.OneToOneRelation[Campaign] = fields.OneToOneField(
        "models.Campaign", related_name="ledger_log", on_delete=fields.RESTRICT
    )
    # Keys the campaign's resident pseudonyms (HMAC-SHA256 of the resident reference): random
    # and never shown, so no published value leads back to an account.
    secret = fields.CharField(max_length=64)
    size = fields.IntField(default=0)  # entries (leaves)
    seq = fields.IntField(default=0)  # the last contribution logged
    chain_hash = fields.CharField(max_length=64, default="0" * 64)  # the public chain's head
    source_hash = fields.CharField(max_length=64, default="0" * 64)  # the ledger's hash at seq
    rule_version = fields.IntField(default=0)  # the last rule version logged
    pledge_id = fields.IntField(default=0)  # the last pledge logged (pledges go in id order)

    class Meta:
        table = "ledger_log"


class LedgerLeaf(Model):
    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="ledger_leaves", on_delete=fields.RESTRICT
    )
    idx = fields.IntField()
    kind = fields.CharField(max_length=16)
    seq = fields.IntField(null=True)  # a contribution entry's sequence number
    body = fields.TextField()  # the canonical JSON line, exactly as hashed
    hash = fields.CharField(max_length=64)  # its RFC 9162 leaf hash

    class Meta:
        table = "ledger_leaf"
        unique_together = (("campaign", "idx"),)
        # A resident's entries, found by their contributions' sequence numbers.
        indexes = (("campaign_id", "seq"),)


class LedgerBlock(Model):
    # The Merkle hash of each complete block of 256 leaves (see platform/log_tree.py).
    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="ledger_blocks", on_delete=fields.RESTRICT
    )
    block = fields.IntField()
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "ledger_block"
        unique_together = (("campaign", "block"),)


class LedgerCheckpoint(Model):
    # A signed statement: the campaign's first ``size`` entries have Merkle root ``root``.
    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="checkpoints", on_delete=fields.RESTRICT
    )
    number = fields.IntField()  # 1, 2, 3 ... within the campaign
    size = fields.IntField()
    root = fields.CharField(max_length=64)
    made_at = fields.DatetimeField()
    reason = fields.CharField(max_length=16)  # daily | close | settle | manual
    key_id = fields.CharField(max_length=16)
    note = fields.TextField()  # the checkpoint file: signed text and signature

    class Meta:
        table = "ledger_checkpoint"
        unique_together = (("campaign", "number"),)


class RuleVersion(Model):
    # Every change of a campaign's conversion or points rule, effective from its moment; the
    # public log carries each version as an entry.
    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="rule_versions", on_delete=fields.RESTRICT
    )
    version = fields.IntField()  # 1, 2, 3 ... within the campaign, across both kinds
    rule = fields.CharField(max_length=16)  # conversion | points
    sport = fields.CharField(max_length=16, default="")
    terms: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    effective_from = fields.DatetimeField()
    # The ledger's last sequence number when the change was made (under the campaign's lock):
    # entries up to it were credited under earlier versions, so the log puts it after them.
    after_seq = fields.IntField(default=0)
    # Recorded when the log began, for a rule set before rules were versioned: its earlier
    # values are unknown, so runs before it are not checked against it.
    backfilled = fields.BooleanField(default=False)

    class Meta:
        table = "rule_version"
        unique_together = (("campaign", "version"),)
