"""Statements written by hand for the hot paths (an upload, an API token lookup), on SQLite and
PostgreSQL alike.

An upload's checks and its credit run about twenty statements. Built through the ORM, each
one costs more CPU to assemble than the database spends running it (the query builder copies
and renders a tree of terms every time). Here a statement is text written once with ``?``
placeholders: on PostgreSQL they are numbered (``$1``, ``$2`` ...) once per text and asyncpg
prepares each text once per connection; on SQLite the text goes as it is.

Values go in as the ORM would pass them (aware datetimes, dates, ints, strings) so rows written
here and rows written by the models read back the same. On SQLite, dates and datetimes come
back as text: :func:`as_date` reads either form. The text itself must hold no ``?`` other than
placeholders, and no value may be spliced into it.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any, TypeVar, cast

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

M = TypeVar("M", bound=Model)


def default() -> BaseDBAsyncClient:
    """The app's connection, for a statement outside any transaction."""
    return cast(BaseDBAsyncClient, connections.get("default"))


def is_postgres(conn: BaseDBAsyncClient) -> bool:
    return bool(conn.capabilities.dialect == "postgres")


@lru_cache(maxsize=512)
def numbered(text: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1``, ``$2`` ..."""
    parts = text.split("?")
    out = [parts[0]]
    for n, part in enumerate(parts[1:], start=1):
        out.append(f"${n}{part}")
    return "".join(out)


def _text(conn: BaseDBAsyncClient, text: str) -> str:
    return numbered(text) if is_postgres(conn) else text


async def rows(conn: BaseDBAsyncClient, text: str, *values: Any) -> list[dict[str, Any]]:
    """Every row of a SELECT (or of an INSERT/UPDATE with RETURNING)."""
    return await conn.execute_query_dict(_text(conn, text), list(values))


async def one(conn: BaseDBAsyncClient, text: str, *values: Any) -> dict[str, Any] | None:
    found = await rows(conn, text, *values)
    return found[0] if found else None


async def row(conn: BaseDBAsyncClient, text: str, *values: Any) -> dict[str, Any]:
    """The row of a statement that always returns exactly one (an aggregate SELECT, an INSERT
    with RETURNING)."""
    found = await rows(conn, text, *values)
    if not found:  # pragma: no cover - such a statement always returns its row
        raise RuntimeError("the statement returned no row")
    return found[0]


async def locked(conn: BaseDBAsyncClient, text: str, *values: Any) -> dict[str, Any] | None:
    """The row a SELECT finds, locked until the transaction ends.

    NO KEY: rows inserted meanwhile hold KEY SHARE locks through their foreign keys, which a
    plain FOR UPDATE would wait on. SQLite has no row locks: its writer lock serialises writes.
    """
    if is_postgres(conn):
        found = await conn.execute_query_dict(_locking(text), list(values))
        return found[0] if found else None
    return await one(conn, text, *values)


@lru_cache(maxsize=64)
def _locking(text: str) -> str:
    return numbered(text) + " FOR NO KEY UPDATE"


async def execute(conn: BaseDBAsyncClient, text: str, *values: Any) -> int:
    """Run an INSERT, UPDATE or DELETE without RETURNING; returns the number of rows changed."""
    changed, _ = await conn.execute_query(_text(conn, text), list(values))
    return int(changed)


async def execute_many(conn: BaseDBAsyncClient, text: str, rows: list[list[Any]]) -> None:
    """One statement, once for each row of values (a bulk load)."""
    if rows:
        await conn.execute_many(_text(conn, text), rows)


async def insert(conn: BaseDBAsyncClient, text: str, *values: Any) -> int:
    """Run an INSERT whose text ends in ``RETURNING id``; returns that id."""
    return int((await row(conn, text, *values))["id"])


def instance(model: type[M], row: dict[str, Any]) -> M:
    """A model instance from a row holding every one of its columns, converted as the ORM's
    own executor converts the rows it reads (``Model._init_from_db``, a Tortoise internal: the
    version is pinned below 1.2 in pyproject.toml)."""
    return model._init_from_db(**row)


def db_value(model: type[Model], name: str, value: Any) -> Any:
    """A value as the model field writes it (JSON encoded as the ORM encodes it)."""
    return model._meta.fields_map[name].to_db_value(value, model)


def field_value(model: type[Model], name: str, raw: Any) -> Any:
    """One column's value as the model field reads it (on SQLite, a datetime arrives as text
    and a JSON column as a string)."""
    return model._meta.fields_map[name].to_python_value(raw)


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
