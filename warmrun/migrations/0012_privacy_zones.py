"""Privacy zones: a radius hidden around each track's ends, per resident, and home zones."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0011_points_debt")]

    initial = False

    operations = [
        ops.CreateModel(
            name="PrivacyZone",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "resident",
                    fields.ForeignKeyField(
                        "models.Resident",
                        source_field="resident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="privacy_zones",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("lat", fields.FloatField()),
                ("lon", fields.FloatField()),
                ("radius_m", fields.IntField()),
            ],
            options={"table": "privacy_zone", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Resident",
            name="privacy_radius_m",
            field=fields.IntField(default=200),
        ),
    ]
