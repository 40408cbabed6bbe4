"""Schemathesis drives every operation of the OpenAPI document over real HTTP with generated
input, anonymously and as each signed-in role (resident, both organizers, admin): no request
may end in a server error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup

from tests.web.live import live_server
from tests.web.site import PASSWORD, Site

pytestmark = pytest.mark.slow

ROLES = ["anonymous", "resident", "organizer", "other_organizer", "admin"]

# Operations that can end the caller's own token (every token, or one by its small id): they
# run last for each role, so that the role's other operations are driven signed in.
ENDS_SESSION = {
    "POST /api/v1/auth/logout-everywhere",
    "POST /api/v1/auth/password",
    "DELETE /api/v1/me/tokens/{token_id}",
    "DELETE /api/v1/me",
}


@pytest.fixture(scope="module")
def server(
    template: tuple[Path, Site], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str], str]]:
    """One live server for the module, one bearer token per role, granted once (sign-in is
    rate limited per address and identity), and the seeded campaign's code."""
    path, site = template
    with live_server(path, tmp_path_factory.mktemp("schemathesis")) as base:
        tokens = {}
        for who in ROLES[1:]:
            r = httpx.post(
                f"{base}/api/v1/auth/tokens",
                json={"email": site.emails[who], "password": PASSWORD, "name": "fuzz"},
            )
            r.raise_for_status()
            tokens[who] = str(r.json()["token"])
        yield base, tokens, site.campaign


@pytest.mark.parametrize("who", ROLES)
def test_no_generated_request_is_a_server_error(
    server: tuple[str, dict[str, str], str], who: str
) -> None:
    # Driven through schemathesis' Python API: its pytest plugin does not load on this
    # pytest version.
    base, tokens, campaign = server
    headers = {"Authorization": f"Bearer {tokens[who]}"} if who in tokens else {}
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: op.label in ENDS_SESSION,
    )
    assert len(operations) >= 40
    assert ENDS_SESSION <= {op.label for op in operations}
    failures: list[str] = []
    for i, operation in enumerate(operations):
        if i == len(operations) - len(ENDS_SESSION) and headers:
            # The role's token must have lasted through everything before.
            me = httpx.get(f"{base}/api/v1/me", headers=headers)
            assert me.status_code == 200, f"{who}'s token ended before {operation.label}"

        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), seeded=st.booleans())
        def check(case: Any, seeded: bool) -> None:
            # Half the time a campaign code names the seeded campaign, so that the operations
            # on a campaign get past "not found" (ids are small numbers and find rows anyway).
            if seeded and "code" in (case.path_parameters or {}):
                case.path_parameters["code"] = campaign
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            check()
        except (FailureGroup, Exception) as exc:  # every operation's failures, reported together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
