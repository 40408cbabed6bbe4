"""warmrun.platform.sql is the one place that touches Tortoise internals (``_init_from_db``,
fields' own conversions). These tests read rows both ways, through the ORM and as raw rows
through the adapter, and fail if a Tortoise upgrade changes what the internals do."""

from __future__ import annotations

import pytest

from tests.integration.factory import run_file, upload, world
from warmrun.platform import sql
from warmrun.platform.models import Contribution, Resident, Run

pytestmark = pytest.mark.usefixtures("database")


def fields_of(instance: object, model: type) -> dict[str, object]:
    return {name: getattr(instance, name) for name in model._meta.db_fields}  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", [Run, Resident, Contribution])
async def test_a_raw_row_reads_as_the_orm_reads_it(model: type) -> None:
    w = await world()
    await upload(w.alice.id, run_file(seed=1))
    table = model._meta.db_table  # type: ignore[attr-defined]
    conn = sql.default()
    for orm in await model.all():  # type: ignore[attr-defined]
        raw = await sql.one(conn, f"SELECT * FROM {table} WHERE id = ?", orm.id)
        assert raw is not None
        assert fields_of(sql.instance(model, raw), model) == fields_of(orm, model)


async def test_field_values_convert_both_ways() -> None:
    w = await world()
    (o,) = await upload(w.alice.id, run_file(seed=1))
    assert o.outcome is not None
    run = o.outcome.run
    stored = sql.db_value(Run, "reasons", ["shared_track", "daily_cap"])
    assert sql.field_value(Run, "reasons", stored) == ["shared_track", "daily_cap"]
    raw = await sql.one(sql.default(), "SELECT started_at FROM run WHERE id = ?", run.id)
    assert raw is not None
    assert sql.field_value(Run, "started_at", raw["started_at"]) == run.started_at
