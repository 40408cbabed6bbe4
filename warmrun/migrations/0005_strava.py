"""Strava: connected athletes (encrypted tokens) and what became of each activity."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0004_payments")]

    initial = False

    operations = [
        ops.CreateModel(
            name="StravaAccount",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "resident",
                    fields.OneToOneField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="strava",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("athlete_id", fields.BigIntField(unique=True)),
                ("scope", fields.CharField(max_length=255)),
                ("access_token", fields.TextField(unique=False)),
                ("refresh_token", fields.TextField(unique=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("token_version", fields.IntField(default=0)),
                ("connected_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "strava_account", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StravaActivity",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("athlete_id", fields.BigIntField(db_index=True)),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="strava_activities",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "run",
                    fields.ForeignKeyField(
                        "models.Run",
                        source_field="run_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="strava_activities",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("status", fields.CharField(max_length=16)),
                ("reason", fields.CharField(default="", max_length=64)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "strava_activity", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
