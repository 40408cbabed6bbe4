from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint


class Migration(migrations.Migration):
    dependencies = [("models", "0016_staff_audit")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Rating",
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
                        related_name="ratings",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("subject", fields.CharField(max_length=16)),
                ("subject_id", fields.IntField()),
                ("compound_id", fields.IntField()),
                ("score", fields.SmallIntField()),
                ("comment", fields.CharField(default="", max_length=500)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "rating",
                "app": "models",
                "unique_together": (("resident", "subject", "subject_id"),),
                "constraints": [
                    CheckConstraint(check="score BETWEEN 1 AND 5", name="rating_score_ck")
                ],
                "indexes": [Index(fields=["subject", "subject_id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="PointsRule",
            name="expire_after_days",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="PointsRule",
            name="expiry_notice_days",
            field=fields.IntField(default=14, db_default=14),
        ),
        ops.AddField(
            model_name="Resident",
            name="guardian_consent_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
