"""The app on a real uvicorn: the lifespan builds the assistant, SSE arrives as a stream, and a schemathesis
fuzz run over the OpenAPI schema finds no server error."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error

from bots.web.app import create_app
from assistant.config import Settings
from tests.server import serve

QUESTION = "¿Qué significa que a mi propuesta le pongan un 3 en un criterio?"


@pytest.fixture(scope="module")
def base_url(full_settings: Settings) -> Iterator[str]:
    """The app built by its own lifespan (no assistant passed in), as `eumex serve` runs it."""
    settings = full_settings.model_copy(update={"rate_limit_per_minute": 100_000, "admin_token": SecretStr("t0k")})
    with serve(create_app(settings)) as url:
        yield url


def test_chat_events_arrive_as_a_stream(base_url: str) -> None:
    arrivals: list[tuple[str, Any, float]] = []
    start = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=60) as client:
        with client.stream("POST", "/api/chat", json={"question": QUESTION, "conversation_id": "srv"}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            name = None
            for line in r.iter_lines():
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:") and name:
                    arrivals.append((name, json.loads(line[5:]), time.perf_counter() - start))
    names = [n for n, _, _ in arrivals]
    assert names[0] == "delta" and names[-2:] == ["citations", "done"], names
    done = arrivals[-1][1]
    assert done["language"] == "es" and done["citations"] and arrivals[-2][1] == done["citations"]
    assert "".join(d["text"] for n, d, _ in arrivals if n == "delta") == done["answer"]


def test_health_of_the_served_app(base_url: str) -> None:
    r = httpx.get(f"{base_url}/healthz")
    assert r.status_code == 200 and r.json()["index_loaded"]


def test_fuzz_no_server_errors(base_url: str) -> None:
    """Schema-generated requests (valid and invalid) to every operation never produce a 5xx."""
    # Driven through hypothesis directly: schemathesis' pytest loader (`from_fixture`) breaks on pytest 9.
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def fuzz(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error], timeout=30)

        fuzz()
        tested.append(operation.label)
    assert len(tested) >= 9, tested
