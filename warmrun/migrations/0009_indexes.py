"""Indexes for the daily-cap reads of crediting and for a run's contributions."""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0008_challenges")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Contribution",
            index=Index(fields=["campaign_id", "resident_ref", "local_day"]),
        ),
        ops.AddIndex(
            model_name="Contribution",
            index=Index(fields=["run_id"]),
        ),
        ops.AddIndex(
            model_name="PointsEntry",
            index=Index(fields=["resident_id", "reason"]),
        ),
    ]
