"""API tokens on a real database: the account behind a token, its last use, revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.factory import world
from warmrun.platform import accounts, clock
from warmrun.platform.models import ApiToken, Role

pytestmark = pytest.mark.usefixtures("database")

NOON = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)


async def resident_token() -> tuple[int, accounts.IssuedToken]:
    w = await world()
    account = await accounts.sign_up_resident(
        email="alice@example.com",
        password="a long enough password",
        display_name="Alice",
        compound_id=w.compound_id,
    )
    return account.id, await accounts.issue_token(account_id=account.id, name="watch")


async def test_a_token_finds_its_account_with_every_field_read() -> None:
    account_id, issued = await resident_token()
    found = await accounts.token_account(issued.token)
    assert found is not None and found.id == account_id
    assert found.role is Role.RESIDENT and found.email == "alice@example.com"
    assert found.resident_id is not None and found.created_at.tzinfo is not None


async def test_a_tokens_use_is_recorded_at_most_once_a_minute() -> None:
    _, issued = await resident_token()
    clock.set_clock(lambda: NOON)
    await accounts.token_account(issued.token)
    clock.set_clock(lambda: NOON + timedelta(seconds=30))
    await accounts.token_account(issued.token)
    assert (await ApiToken.get(id=issued.record.id)).last_used_at == NOON
    clock.set_clock(lambda: NOON + timedelta(minutes=2))
    await accounts.token_account(issued.token)
    assert (await ApiToken.get(id=issued.record.id)).last_used_at == NOON + timedelta(minutes=2)


async def test_a_revoked_or_unknown_token_finds_nothing() -> None:
    account_id, issued = await resident_token()
    await accounts.revoke_token(account_id=account_id, token_id=issued.record.id)
    assert await accounts.token_account(issued.token) is None
    assert await accounts.token_account(accounts.TOKEN_PREFIX + "x" * 43) is None
