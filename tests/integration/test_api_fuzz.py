"""A bounded schemathesis run over the whole API, anonymous and as a logged-in agent: no server
error, every status and body as the OpenAPI schema documents them.

Generated from /openapi.json by schemathesis (property-based, Hypothesis); bounded to a few
examples per operation so that it runs in well under a few minutes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from accounts.passwords import PasswordHashing
from api.app import create_app
from services.root import Services
from tests.conftest import with_private_database

pytestmark = pytest.mark.integration

PASSWORD = "Fuzz-Agent-2026"
EXAMPLES = 15


@pytest.fixture(scope="module")
def fuzz_app(demo_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The API over a private copy of the demo database, with one agent account."""
    api_settings = with_private_database(
        demo_services.settings, tmp_path_factory.mktemp("fuzz"), api_sessions_per_minute=10_000
    )
    services = Services(
        api_settings, embedder=demo_services.embedder, passwords=PasswordHashing.fast_for_tests()
    )
    services.accounts.add("fuzz01", PASSWORD, ["agent"])
    app = create_app(services)
    with TestClient(app) as client:  # the lifespan starts the warm-up
        # fuzz the serving API: /readyz answers 503 (documented) until the warm-up is done
        deadline = time.monotonic() + 300
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").text
            time.sleep(0.2)
        # log in first: the anonymous run's random logins slow this client down afterwards
        token = client.post("/v1/auth/token", json={"username": "fuzz01", "password": PASSWORD})
        assert token.status_code == 200, token.text
        app.state.fuzz_token = token.json()["access_token"]
        yield app
    services.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


@pytest.fixture(scope="module")
def agent_headers(fuzz_app: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {fuzz_app.state.fuzz_token}"}


BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same examples on every run: a failure reproduces
    database=None,
)


def _fuzz(api_schema: Any, headers: dict[str, str]) -> dict[str, str]:
    """Every operation with generated requests; the first failure of each, by operation."""
    failures: dict[str, str] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @BOUNDED
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers)

        try:
            run()
        except Exception as exc:  # a check failed: keep the report, go on to the next one
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:2000]}"
    return failures


def test_anonymous_callers_get_only_documented_answers(api_schema: Any) -> None:
    assert _fuzz(api_schema, {}) == {}


def test_an_agent_gets_only_documented_answers(
    api_schema: Any, agent_headers: dict[str, str]
) -> None:
    assert _fuzz(api_schema, agent_headers) == {}
