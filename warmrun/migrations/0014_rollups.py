from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0013_outbox_campaign")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AreaParticipant",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("campaign_id", fields.IntField()),
                ("city_id", fields.IntField()),
                ("compound_id", fields.IntField()),
                ("resident_ref", fields.CharField(max_length=64)),
                ("metres", fields.BigIntField(default=0)),
            ],
            options={
                "table": "area_participant",
                "app": "models",
                "unique_together": (("campaign_id", "city_id", "compound_id", "resident_ref"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AreaTotal",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("campaign_id", fields.IntField()),
                ("city_id", fields.IntField()),
                ("compound_id", fields.IntField()),
                ("metres", fields.BigIntField(default=0)),
                ("kcal", fields.BigIntField(default=0)),
                ("value_fen", fields.BigIntField(default=0)),
                ("funded_fen", fields.BigIntField(default=0)),
                ("entries", fields.IntField(default=0)),
                ("participants", fields.IntField(default=0)),
                ("checkins", fields.IntField(default=0)),
            ],
            options={
                "table": "area_total",
                "app": "models",
                "unique_together": (("campaign_id", "city_id", "compound_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DayTotal",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("campaign_id", fields.IntField()),
                ("city_id", fields.IntField()),
                ("compound_id", fields.IntField()),
                ("local_day", fields.DateField()),
                ("metres", fields.BigIntField(default=0)),
                ("kcal", fields.BigIntField(default=0)),
                ("value_fen", fields.BigIntField(default=0)),
                ("funded_fen", fields.BigIntField(default=0)),
                ("entries", fields.IntField(default=0)),
                ("checkins", fields.IntField(default=0)),
            ],
            options={
                "table": "day_total",
                "app": "models",
                "unique_together": (("campaign_id", "city_id", "compound_id", "local_day"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddIndex(
            model_name="AreaTotal",
            index=Index(fields=["campaign_id", "metres"]),
        ),
        ops.AddIndex(
            model_name="Contribution",
            index=Index(fields=["campaign_id", "kind"]),
        ),
    ]
