"""The outbox names the campaign of each event, so that boards can be checked per campaign."""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0012_privacy_zones")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Outbox",
            name="campaign_id",
            field=fields.IntField(null=True),
        ),
        ops.AddIndex(
            model_name="Outbox",
            index=Index(fields=["campaign_id", "id"]),
        ),
    ]
