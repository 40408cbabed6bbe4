"""Tortoise models: persistence only. Business rules live in the services and pure modules.

Money is integer fen, distance integer metres, energy integer kcal. Ledger tables
(``Contribution``, ``PointsEntry``, ``PledgeAllocation``) are append-only: corrections are new
rows. Database CHECK constraints back the conditional updates that keep balances and stock
from going negative.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

# Stored here, defined without ORM types (and exported under these names for the migrations).
from warmrun.platform.kinds import Basis as Basis
from warmrun.platform.kinds import CampaignState as CampaignState
from warmrun.platform.kinds import PaymentKind as PaymentKind
from warmrun.platform.kinds import PaymentState as PaymentState
from warmrun.platform.kinds import RedemptionState as RedemptionState
from warmrun.platform.kinds import Role as Role
from warmrun.platform.kinds import SettlementMode as SettlementMode


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

    class Meta:
        table = "reward"
        constraints = (
            CheckConstraint(check="stock >= 0", name="reward_stock_ck"),
            CheckConstraint(check="points_price > 0", name="reward_price_ck"),
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


class Account(Model):
    # A person who signs in. Residents have a Resident row; partners name their partner;
    # organizers get their cities through OrganizerCity. session_epoch is carried in session
    # cookies: bumping it (logout everywhere, password change) invalidates every old cookie.

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=16)
    resident_id: int | None
    resident: fields.ForeignKeyNullableRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="accounts", null=True, on_delete=fields.RESTRICT
    )
    partner_id: int | None
    partner: fields.ForeignKeyNullableRelation[CharityPartner] = fields.ForeignKeyField(
        "models.CharityPartner", related_name="accounts", null=True, on_delete=fields.RESTRICT
    )
    session_epoch = fields.IntField(default=0)
    locale = fields.CharField(max_length=8, default="zh-CN")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account"


class OrganizerCity(Model):
    id = fields.IntField(primary_key=True)
    account_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="cities", on_delete=fields.CASCADE
    )
    city_id: int
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "models.City", related_name="organizers", on_delete=fields.CASCADE
    )

    class Meta:
        table = "organizer_city"
        unique_together = (("account", "city"),)


class ApiToken(Model):
    # Personal access tokens for API clients; only a SHA-256 digest of the token is stored.

    id = fields.IntField(primary_key=True)
    account_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    digest = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # After this the token is refused (null on tokens issued before expiry existed: their
    # creation plus the default lifetime applies).
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class WebSession(Model):
    # A signed-in browser. Its cookie carries a random key; only the key's SHA-256 is stored,
    # so signing out (or a password change) ends the session here, whatever the cookie says.

    id = fields.IntField(primary_key=True)
    account_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="sessions", on_delete=fields.CASCADE
    )
    digest = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "web_session"


class Payment(Model):
    # One payment we asked a payment provider to collect. The provider's word moves the state
    # forward only (conditional updates); money credited lives in PaymentEntry.

    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="payments", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(PaymentKind, max_length=16)
    pledge_id: int | None
    pledge: fields.ForeignKeyNullableRelation[SponsorPledge] = fields.ForeignKeyField(
        "models.SponsorPledge", related_name="payments", null=True, on_delete=fields.RESTRICT
    )
    resident_id: int | None
    resident: fields.ForeignKeyNullableRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="payments", null=True, on_delete=fields.SET_NULL
    )
    donor_name = fields.CharField(max_length=64, default="")
    amount_fen = fields.BigIntField()
    currency = fields.CharField(max_length=3, default="cny")
    state = fields.CharEnumField(PaymentState, max_length=16, default=PaymentState.CREATED)
    # Derived from our own record ("pledge:7:settle:v1"), sent as the provider's idempotency key.
    idempotency_key = fields.CharField(max_length=128, unique=True)
    session_id = fields.CharField(max_length=255, null=True, unique=True)
    payment_intent = fields.CharField(max_length=255, null=True, db_index=True)
    checkout_url = fields.TextField(default="")
    refunded_fen = fields.BigIntField(default=0)
    flag_reason = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "payment"
        constraints = (
            CheckConstraint(
                check="amount_fen > 0 AND refunded_fen >= 0 AND refunded_fen <= amount_fen",
                name="payment_amount_ck",
            ),
        )


class PaymentEntry(Model):
    # Append-only ledger of money received (+) and refunded (-) per payment.

    id = fields.IntField(primary_key=True)
    payment_id: int
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="entries", on_delete=fields.RESTRICT
    )
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="payment_entries", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(PaymentKind, max_length=16)
    delta_fen = fields.BigIntField()
    idempotency_key = fields.CharField(max_length=128, unique=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "payment_entry"


class ProviderEvent(Model):
    # Each webhook event id stored once: a second delivery of the same id changes nothing.

    id = fields.CharField(max_length=255, primary_key=True)
    provider = fields.CharField(max_length=16)
    type = fields.CharField(max_length=64)
    outcome = fields.CharField(max_length=32, default="")
    received_at = fields.DatetimeField()

    class Meta:
        table = "provider_event"


class PaymentIntentLink(Model):
    # One row per provider payment intent: the row every event about that intent locks first,
    # so a refund that arrives before (or beside) the payment is never lost.

    id = fields.CharField(max_length=255, primary_key=True)
    payment_id: int | None
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="intents", null=True, on_delete=fields.RESTRICT
    )
    # The largest cumulative refunded amount the provider has reported for the intent's charge.
    charge_refunded_fen = fields.BigIntField(default=0)

    class Meta:
        table = "payment_intent_link"


class ProviderRefund(Model):
    id = fields.CharField(max_length=255, primary_key=True)
    payment_intent = fields.CharField(max_length=255, db_index=True)
    amount_fen = fields.BigIntField()
    status = fields.CharField(max_length=16)

    class Meta:
        table = "provider_refund"


class StravaAccount(Model):
    # A resident's connected Strava athlete. Tokens are stored encrypted (the integration
    # encrypts them; this table only holds ciphertext). token_version changes with every
    # refresh: a refresh is stored only over the version it started from.

    id = fields.IntField(primary_key=True)
    resident_id: int
    resident: fields.OneToOneRelation[Resident] = fields.OneToOneField(
        "models.Resident", related_name="strava", on_delete=fields.CASCADE
    )
    athlete_id = fields.BigIntField(unique=True)
    scope = fields.CharField(max_length=255)
    access_token = fields.TextField()
    refresh_token = fields.TextField()
    expires_at = fields.DatetimeField()
    token_version = fields.IntField(default=0)
    connected_at = fields.DatetimeField()

    class Meta:
        table = "strava_account"


class StravaActivity(Model):
    # What became of each Strava activity we were told about: the run it made, or why not.

    id = fields.BigIntField(primary_key=True)  # Strava's activity id
    athlete_id = fields.BigIntField(db_index=True)
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="strava_activities", on_delete=fields.CASCADE
    )
    run_id: int | None
    run: fields.ForeignKeyNullableRelation[Run] = fields.ForeignKeyField(
        "models.Run", related_name="strava_activities", null=True, on_delete=fields.SET_NULL
    )
    status = fields.CharField(
        max_length=16
    )  # imported | duplicate | ineligible | deleted | invalid
    reason = fields.CharField(max_length=64, default="")
    updated_at = fields.DatetimeField()

    class Meta:
        table = "strava_activity"


class Event(Model):
    # An offline event day of a campaign in one city: routes for age groups, stations.

    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="events", on_delete=fields.RESTRICT
    )
    city_id: int
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "models.City", related_name="events", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=128)
    day = fields.DateField()
    place = fields.CharField(max_length=200, default="")
    # Offline participation settlement: "flat" credits participant_fen to every participant;
    # "route" credits a route's distance to a participant whose track of the day follows it
    # (topping up what that track already earned online, so the distance counts once).
    credit_mode = fields.CharField(max_length=8, default="flat")
    participant_fen = fields.IntField(default=0)
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "event"


class EventRoute(Model):
    id = fields.IntField(primary_key=True)
    event_id: int
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="routes", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=128)
    group = fields.CharField(max_length=16)  # family | senior | adult
    sport = fields.CharField(max_length=16, default="run")
    distance_m = fields.IntField()
    line = fields.TextField()  # the route's points, encoded polyline (1e-5 degrees)

    class Meta:
        table = "event_route"


class EventStation(Model):
    id = fields.IntField(primary_key=True)
    event_id: int
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="stations", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=128)
    points = fields.IntField(default=0)

    class Meta:
        table = "event_station"


class CheckIn(Model):
    # One resident at one station, once (the unique pair decides concurrent scans).

    id = fields.IntField(primary_key=True)
    station_id: int
    station: fields.ForeignKeyRelation[EventStation] = fields.ForeignKeyField(
        "models.EventStation", related_name="check_ins", on_delete=fields.CASCADE
    )
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="check_ins", on_delete=fields.RESTRICT
    )
    via = fields.CharField(max_length=16)  # scan | staff | guardian
    created_at = fields.DatetimeField()

    class Meta:
        table = "check_in"
        unique_together = (("station", "resident"),)


class EventFinish(Model):
    # A participant's settlement for one event: the route they followed (if any) and the credit.

    id = fields.IntField(primary_key=True)
    event_id: int
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="finishes", on_delete=fields.CASCADE
    )
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="event_finishes", on_delete=fields.RESTRICT
    )
    route_id: int | None
    route: fields.ForeignKeyNullableRelation[EventRoute] = fields.ForeignKeyField(
        "models.EventRoute", related_name="finishes", null=True, on_delete=fields.SET_NULL
    )
    metres = fields.IntField(default=0)
    value_fen = fields.BigIntField(default=0)

    class Meta:
        table = "event_finish"
        unique_together = (("event", "resident"),)


class Badge(Model):
    # A campaign's badge: a rule kind with a threshold (see badge_rules), and points it awards.

    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="badges", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=32)
    name_zh = fields.CharField(max_length=64)
    name_en = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=16)
    threshold = fields.IntField(default=1)
    points = fields.IntField(default=0)

    class Meta:
        table = "badge"
        unique_together = (("campaign", "code"),)


class BadgeAward(Model):
    # A resident holds a badge while revoked_at is null; a revoked badge earned again gets a
    # new round (its points keys carry the round).

    id = fields.IntField(primary_key=True)
    badge_id: int
    badge: fields.ForeignKeyRelation[Badge] = fields.ForeignKeyField(
        "models.Badge", related_name="awards", on_delete=fields.CASCADE
    )
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="badges", on_delete=fields.RESTRICT
    )
    round = fields.IntField(default=0)
    awarded_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "badge_award"
        unique_together = (("badge", "resident", "round"),)


class Notification(Model):
    # In-app notices for a resident (badge earned, run flagged or reviewed, pickup code ready).

    id = fields.IntField(primary_key=True)
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=32)
    params: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"


class Challenge(Model):
    # Compounds grouped for a period against a per-household target (see challenge_rules).

    id = fields.IntField(primary_key=True)
    campaign_id: int
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="challenges", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=128)
    starts_on = fields.DateField()
    ends_on = fields.DateField()
    target_m_per_household = fields.IntField()
    person_cap_m = fields.IntField(null=True)
    points_per_km = fields.IntField(default=0)
    weekly_cap_m = fields.IntField(default=20_000)
    decline_permille = fields.IntField(default=500)
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "challenge"


class ChallengeTeam(Model):
    id = fields.IntField(primary_key=True)
    challenge_id: int
    challenge: fields.ForeignKeyRelation[Challenge] = fields.ForeignKeyField(
        "models.Challenge", related_name="teams", on_delete=fields.CASCADE
    )
    compound_id: int
    compound: fields.ForeignKeyRelation[Compound] = fields.ForeignKeyField(
        "models.Compound", related_name="challenges", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "challenge_team"
        unique_together = (("challenge", "compound"),)


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
