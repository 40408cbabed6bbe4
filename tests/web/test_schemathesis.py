"""Schemathesis drives every operation of the OpenAPI document over real HTTP with generated
input, anonymously and as a signed-in resident: no request may end in a server error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.web.live import live_server
from tests.web.site import PASSWORD, Site

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(
    template: tuple[Path, Site], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    path, site = template
    with live_server(path, tmp_path_factory.mktemp("schemathesis")) as base:
        r = httpx.post(
            f"{base}/api/v1/auth/tokens",
            json={"email": site.emails["resident"], "password": PASSWORD, "name": "fuzz"},
        )
        r.raise_for_status()
        yield base, str(r.json()["token"])


def test_no_generated_request_is_a_server_error(server: tuple[str, str]) -> None:
    # Driven through schemathesis' Python API: its pytest plugin does not load on this
    # pytest version.
    base, token = server
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    for i, operation in enumerate(operations):
        # Alternate anonymous (access checks) and a signed-in resident (the services).
        headers = {"Authorization": f"Bearer {token}"} if i % 2 else {}

        @settings(
            max_examples=10,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])  # noqa: B023

        check()
