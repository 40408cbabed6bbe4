"""Offline event days: events, age-group routes, stations, check-ins and settlements."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0005_strava")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Event",
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
                        related_name="events",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "city",
                    fields.ForeignKeyField(
                        "models.City",
                        source_field="city_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="events",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("name", fields.CharField(max_length=128)),
                ("day", fields.DateField()),
                ("place", fields.CharField(default="", max_length=200)),
                ("credit_mode", fields.CharField(default="flat", max_length=8)),
                ("participant_fen", fields.IntField(default=0)),
                ("settled_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "event", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="EventRoute",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "event",
                    fields.ForeignKeyField(
                        "models.Event",
                        source_field="event_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="routes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=128)),
                ("group", fields.CharField(max_length=16)),
                ("sport", fields.CharField(default="run", max_length=16)),
                ("distance_m", fields.IntField()),
                ("line", fields.TextField(unique=False)),
            ],
            options={"table": "event_route", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="EventFinish",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "event",
                    fields.ForeignKeyField(
                        "models.Event",
                        source_field="event_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="finishes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="event_finishes",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "route",
                    fields.ForeignKeyField(
                        "models.EventRoute",
                        source_field="route_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="finishes",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("metres", fields.IntField(default=0)),
                ("value_fen", fields.BigIntField(default=0)),
            ],
            options={
                "table": "event_finish",
                "app": "models",
                "unique_together": (("event", "resident"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="EventStation",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "event",
                    fields.ForeignKeyField(
                        "models.Event",
                        source_field="event_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="stations",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=128)),
                ("points", fields.IntField(default=0)),
            ],
            options={"table": "event_station", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CheckIn",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "station",
                    fields.ForeignKeyField(
                        "models.EventStation",
                        source_field="station_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="check_ins",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="check_ins",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("via", fields.CharField(max_length=16)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "check_in",
                "app": "models",
                "unique_together": (("station", "resident"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
