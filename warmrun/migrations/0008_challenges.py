"""Compound-vs-compound challenges and their teams."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0007_badges")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Challenge",
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
                        related_name="challenges",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=128)),
                ("starts_on", fields.DateField()),
                ("ends_on", fields.DateField()),
                ("target_m_per_household", fields.IntField()),
                ("person_cap_m", fields.IntField(null=True)),
                ("points_per_km", fields.IntField(default=0)),
                ("weekly_cap_m", fields.IntField(default=20000)),
                ("decline_permille", fields.IntField(default=500)),
                ("settled_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "challenge", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ChallengeTeam",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "challenge",
                    fields.ForeignKeyField(
                        "models.Challenge",
                        source_field="challenge_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="teams",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "compound",
                    fields.ForeignKeyField(
                        "models.Compound",
                        source_field="compound_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="challenges",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
            ],
            options={
                "table": "challenge_team",
                "app": "models",
                "unique_together": (("challenge", "compound"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
