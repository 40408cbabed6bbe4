"""Event days, badges, notifications and challenges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

if TYPE_CHECKING:
    from warmrun.platform.models.ledger import Campaign
    from warmrun.platform.models.places import City, Compound, Resident


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


class Rating(Model):
    # A resident's satisfaction with a redemption (the hot drink, a service) or an event day:
    # 1 to 5 and an optional comment, once each (a second rating replaces the first).
    id = fields.IntField(primary_key=True)
    resident_id: int
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="ratings", on_delete=fields.CASCADE
    )
    subject = fields.CharField(max_length=16)  # "redemption" or "event"
    subject_id = fields.IntField()
    compound_id = fields.IntField()  # the resident's compound when they rated
    score = fields.SmallIntField()
    comment = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "rating"
        unique_together = (("resident", "subject", "subject_id"),)
        indexes = (("subject", "subject_id"),)
        constraints = (CheckConstraint(check="score BETWEEN 1 AND 5", name="rating_score_ck"),)
