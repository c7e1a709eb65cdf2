"""Schemathesis against the OpenAPI spec, in-process, as a logged-in district admin:
whatever the generated request, the API answers it without a server error."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans

from hub.config import HubConfig
from tests.webapp import district_config, seed_district, serve_app, session_headers
from web.app import create_app
from web.auth import CSRF_HEADER, SESSION_COOKIE

EXAMPLES: Final = 25  # per operation: ~35 operations in ~15 s on two cores
# A loaded box can take seconds over an argon2 log-in; a timeout there would replay as a
# pass and Hypothesis would call the run flaky. Only the endless event stream is cut short.
CALL_TIMEOUT_S: Final = 60.0
STREAM_TIMEOUT_S: Final = 2.0
STREAMS: Final = {"GET /api/alerts/stream"}

# Logging out would end the session every later example runs with (test_auth covers it).
EXCLUDED: Final = {("POST", "/api/auth/logout")}


async def _seed(config: HubConfig) -> dict[str, str]:
    """A district with accounts and rows, and a session of its district admin."""
    async with serve_app(config) as web:
        district = await seed_district(web)
        return await session_headers(web.auth, district.users["admin-x"])


@pytest.fixture(scope="module")
def admin_headers_and_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, str], FastAPI]]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    config = district_config(tmp, f"sqlite+aiosqlite:///{tmp / 'hub.db'}")
    headers = asyncio.run(_seed(config))
    app = create_app(config)
    try:
        yield headers, app
    finally:
        shutdown_lifespans()  # schemathesis started the app's lifespan on its own loop


@pytest.fixture(scope="module")
def api_schema(admin_headers_and_app: tuple[dict[str, str], FastAPI]) -> Any:
    _, app = admin_headers_and_app
    schema: Any = schemathesis.openapi.from_asgi("/openapi.json", app)
    for method, path in EXCLUDED:
        schema = schema.exclude(method=method, path=path)
    return schema


@pytest.fixture(scope="module")
def admin_headers(admin_headers_and_app: tuple[dict[str, str], FastAPI]) -> dict[str, str]:
    headers, _ = admin_headers_and_app
    return headers


def _fuzz(operation: Any, headers: dict[str, str]) -> set[int]:
    """Run one operation's generated cases; the statuses they were answered with."""
    statuses: set[int] = set()
    timeout = STREAM_TIMEOUT_S if operation.label in STREAMS else CALL_TIMEOUT_S

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call_and_validate(
            headers=headers, checks=[not_a_server_error], timeout=timeout
        )
        statuses.add(response.status_code)

    run()
    return statuses


def test_no_request_makes_a_server_error(api_schema: Any, admin_headers: dict[str, str]) -> None:
    # One hypothesis run per operation by hand: schemathesis' pytest integration
    # (`from_fixture` + `parametrize`) does not run under pytest 9.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    assert {operation.label for operation in operations} >= STREAMS
    failures: list[str] = []
    seen: dict[str, set[int]] = {}  # operation -> statuses answered
    for operation in operations:
        try:
            seen[operation.label] = _fuzz(operation, admin_headers)
        except Exception as exc:  # report every failing operation, not just the first
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
    # The session held throughout: signed-in reads succeeded, not just 401s.
    assert 200 in seen["GET /api/auth/me"] and 200 in seen["GET /api/events"], seen


def test_the_session_is_a_cookie_session(admin_headers: dict[str, str]) -> None:
    # The fuzzing above runs with the cookie and the CSRF header, like the console.
    assert admin_headers["Cookie"].startswith(f"{SESSION_COOKIE}=")
    assert admin_headers[CSRF_HEADER]
