"""Points owed: a reversal of points already spent is kept as a debt that later credits repay."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint


class Migration(migrations.Migration):
    dependencies = [("models", "0010_sessions")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Resident",
            name="points_debt",
            field=fields.IntField(default=0),
        ),
        ops.AddConstraint(
            model_name="Resident",
            constraint=CheckConstraint(check="points_debt >= 0", name="resident_debt_ck"),
        ),
    ]
