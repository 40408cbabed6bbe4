"""Database CHECK constraints behind the ledgers' conditional updates.

Tortoise's CreateModel does not emit CHECK clauses, and SQLite cannot add one to an existing
table, so PostgreSQL gets ``ALTER TABLE ... ADD CONSTRAINT`` and SQLite gets equivalent
BEFORE INSERT/UPDATE triggers that abort with the constraint's name.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

CHECKS = [
    ("compound", "compound_households_ck", "households >= 0"),
    ("resident", "resident_points_ck", "points_balance >= 0"),
    ("goods", "goods_price_ck", "unit_price_fen > 0"),
    ("conversion_rule", "rule_rate_ck", "fen >= 0 AND per > 0"),
    ("sponsor_pledge", "pledge_cap_ck", "allocated_fen >= 0 AND allocated_fen <= cap_fen"),
    ("reward", "reward_stock_ck", "stock >= 0"),
    ("reward", "reward_price_ck", "points_price > 0"),
]


def _is_sqlite(schema_editor) -> bool:
    return "sqlite" in type(schema_editor.client).__module__


async def install_checks(schema_editor, checks) -> None:
    client = schema_editor.client
    for table, name, check in checks:
        if _is_sqlite(schema_editor):
            new_check = " ".join(
                f"NEW.{tok}" if tok.isidentifier() and tok not in ("AND", "OR", "NOT") else tok
                for tok in check.split()
            )
            for event in ("INSERT", "UPDATE"):
                await client.execute_script(
                    f'CREATE TRIGGER IF NOT EXISTS "{name}_{event.lower()}" '
                    f'BEFORE {event} ON "{table}" FOR EACH ROW WHEN NOT ({new_check}) '
                    f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END;"
                )
        else:
            await client.execute_script(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" CHECK ({check})'
            )


async def drop_checks(schema_editor, checks) -> None:
    client = schema_editor.client
    for table, name, _check in checks:
        if _is_sqlite(schema_editor):
            for event in ("insert", "update"):
                await client.execute_script(f'DROP TRIGGER IF EXISTS "{name}_{event}"')
        else:
            await client.execute_script(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')


async def forward(apps, schema_editor) -> None:
    await install_checks(schema_editor, CHECKS)


async def backward(apps, schema_editor) -> None:
    await drop_checks(schema_editor, CHECKS)


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(forward, backward)]
