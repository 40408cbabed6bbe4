"""Hand-written statements: placeholders numbered for PostgreSQL."""

from __future__ import annotations

from warmrun.platform.sql import numbered


def test_placeholders_are_numbered_in_order() -> None:
    assert numbered("UPDATE t SET a = ? WHERE id = ? AND b <= c - ?") == (
        "UPDATE t SET a = $1 WHERE id = $2 AND b <= c - $3"
    )


def test_a_text_without_placeholders_is_unchanged() -> None:
    assert numbered("SELECT 1") == "SELECT 1"
