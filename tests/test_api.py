"""The HTTP API in-process (httpx ASGITransport) on the full real index: every endpoint, every error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from assistant.answer import Assistant
from assistant.pipeline import build_pipeline
from bots.web.app import create_app
from assistant.config import Settings
from tests.support import cli_env, run_cli

pytestmark = pytest.mark.asyncio
TOKEN = "s3cret-admin-token"
EN_QUESTION = "What is the threshold for individual evaluation criteria in an H2020 e-infrastructure RIA?"
ES_QUESTION = "¿Qué significa que a mi propuesta le pongan un 3 en un criterio?"
ANSWER_KEYS = {"answer", "language", "abstained", "citations", "timings_ms"}
CITATION_KEYS = {"n", "document", "title", "page", "locator", "quote", "url", "programme", "period", "chunk_id"}


def settings_for(base: Settings, tmp: Path | None = None, **changes: Any) -> Settings:
    """The session settings with API options changed (feedback goes to `tmp` when given)."""
    update: dict[str, Any] = {"rate_limit_per_minute": 10_000, **changes}
    if tmp is not None:
        update["data_dir"] = tmp
    return base.model_copy(update=update)


def client_for(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://eumex.test")


@pytest.fixture(scope="module")
def app(full_settings: Settings, assistant: Assistant, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    from pydantic import SecretStr

    feedback_dir = tmp_path_factory.mktemp("api-feedback")
    settings = settings_for(full_settings, admin_token=SecretStr(TOKEN))
    settings = settings.model_copy(update={"data_dir": feedback_dir})  # feedback here; the index is in `assistant`
    return create_app(settings, assistant=assistant)


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


def parse_sse(body: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a complete SSE body."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


# --- answers ---------------------------------------------------------------------------------------
async def test_ask_returns_exactly_the_answer_json(client: httpx.AsyncClient, assistant: Assistant) -> None:
    r = await client.post("/api/ask", json={"question": EN_QUESTION})
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == ANSWER_KEYS
    assert data["language"] == "en" and data["abstained"] is False
    assert data["citations"] and set(data["citations"][0]) == CITATION_KEYS
    assert any(c["page"] == 3 and "evaluation-form" in c["document"] for c in data["citations"])
    direct = assistant.ask(EN_QUESTION).as_json()
    assert {**data, "timings_ms": None} == {**direct, "timings_ms": None}
    assert {"retrieve", "extract", "total"} <= set(data["timings_ms"])


async def test_ask_in_spanish_and_refusal(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/ask", json={"question": ES_QUESTION, "lang": "auto"})
    assert r.status_code == 200 and r.json()["language"] == "es" and r.json()["citations"]
    r = await client.post("/api/ask", json={"question": "What is a good recipe for tacos al pastor?", "lang": "en"})
    assert r.status_code == 200
    assert r.json()["abstained"] is True and r.json()["citations"] == []


async def test_follow_up_uses_the_conversation(client: httpx.AsyncClient) -> None:
    first = await client.post("/api/ask", json={"question": EN_QUESTION, "conversation_id": "conv-follow"})
    assert first.status_code == 200
    r = await client.post("/api/ask", json={"question": "And can half marks be given?", "conversation_id": "conv-follow"})
    assert r.status_code == 200 and r.json()["citations"], r.text


async def test_chat_streams_delta_citations_done(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/chat", json={"question": EN_QUESTION, "conversation_id": "c-chat"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    names = [n for n, _ in events]
    assert names[-2:] == ["citations", "done"] and names[:-2] and set(names[:-2]) == {"delta"}, names
    text = "".join(d["text"] for n, d in events if n == "delta")
    done = events[-1][1]
    assert set(done) == ANSWER_KEYS and text == done["answer"]
    assert events[-2][1] == done["citations"] and done["citations"]


async def test_chat_abstains_in_spanish(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/chat", json={"question": "¿Cuál es la capital de Australia?"})
    events = parse_sse(r.text)
    assert events[-1][0] == "done" and events[-1][1]["abstained"] is True and events[-1][1]["language"] == "es"


# --- search and documents --------------------------------------------------------------------------
async def test_search_matches_the_retriever(client: httpx.AsyncClient, assistant: Assistant) -> None:
    r = await client.get("/api/search", params={"q": "half marks evaluation scores", "k": 5})
    assert r.status_code == 200
    data = r.json()
    assert data["query"] == "half marks evaluation scores" and len(data["results"]) == 5
    first = data["results"][0]
    assert {"rank", "document", "page", "chunk_id", "text", "score"} <= set(first) and first["rank"] == 1
    hits = assistant.retriever.search("half marks evaluation scores", k=5)
    assert [r["chunk_id"] for r in data["results"]] == [h.chunk.id for h in hits]
    assert (await client.get("/api/search", params={"q": "x", "k": 0})).status_code == 422
    assert (await client.get("/api/search")).status_code == 422


async def test_documents_lists_present_and_missing(client: httpx.AsyncClient, assistant: Assistant) -> None:
    r = await client.get("/api/documents")
    assert r.status_code == 200
    docs = {d["id"]: d for d in r.json()["documents"]}
    assert set(docs) == {d.id for d in assistant.manifest.documents}
    form = docs["h2020-evaluation-form-ria"]
    assert form["present"] and form["viewable"] and form["path"] == "h2020_rules/h2020-evaluation-form-ria-einfra.pdf"
    assert form["covers"] and form["covers_es"] and form["short_title"]
    assert not docs["h2020-amga"]["present"] and not docs["h2020-amga"]["viewable"] and docs["h2020-amga"]["url"]
    assert docs["cordis-h2020-projects"]["present"] and not docs["cordis-h2020-projects"]["viewable"]


async def test_document_pdf_inline(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/documents/h2020-evaluation-form-ria")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("inline")
    assert r.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/documents/no-such-document", "Unknown document"),
        ("/api/documents/h2020-amga", "not a PDF in this assistant's corpus"),  # a key text we lack
        ("/api/documents/cordis-h2020-projects", "not a PDF"),  # a dataset
        # An encoded slash is decoded before routing: no route matches, so a plain 404.
        ("/api/documents/h2020_rules%2Fh2020-evaluation-form-ria-einfra.pdf", "Not Found"),  # a path, not an id
        ("/api/documents/..%2F..%2F..%2Fetc%2Fpasswd", "Not Found"),
        ("/api/documents/%2Fetc%2Fpasswd", "Not Found"),
        ("/api/documents/..%5C..%5Cpyproject.toml", "Unknown document"),
    ],
)
async def test_document_not_served(client: httpx.AsyncClient, path: str, message: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert message in r.json()["detail"]
    assert b"root:" not in r.content and "/work" not in r.text and "/tmp" not in r.text


async def test_dot_segments_never_reach_a_file(client: httpx.AsyncClient) -> None:
    for raw in ("/api/documents/../../../etc/passwd", "/static/../../pyproject.toml", "/static/%2e%2e/%2e%2e/README.md"):
        r = await client.get(raw)
        assert r.status_code == 404, raw
        assert b"root:" not in r.content and b"[project]" not in r.content


# --- feedback ----------------------------------------------------------------------------------------
async def test_feedback_stored_and_listed_for_maintainers(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    body = {"conversation_id": "c-fb", "message": "The threshold is 3.", "rating": "down", "reason": "Too short"}
    r = await client.post("/api/feedback", json=body)
    assert r.status_code == 201
    new_id = r.json()["id"]
    assert (await client.get("/api/feedback")).status_code == 401
    wrong = await client.get("/api/feedback", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    ok = await client.get("/api/feedback", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    item = next(f for f in ok.json()["feedback"] if f["id"] == new_id)
    assert item["rating"] == "down" and item["reason"] == "Too short" and item["message"] == body["message"]
    # The CLI reads the same store.
    settings: Settings = app.state.settings
    env = cli_env(settings.corpus_dir, settings.data_dir)
    result = run_cli(["feedback", "list", "--json"], env)
    assert result.returncode == 0, result.stderr
    assert any(json.loads(line)["id"] == new_id for line in result.stdout.splitlines())
    assert "Too short" in run_cli(["feedback", "list"], env).stdout


@pytest.mark.parametrize(
    "body",
    [
        {"conversation_id": "c", "message": "m", "rating": "meh"},
        {"conversation_id": "", "message": "m", "rating": "up"},
        {"conversation_id": "c", "rating": "up"},
        {"conversation_id": "c", "message": "m", "rating": "up", "reason": "x" * 2001},
    ],
)
async def test_feedback_rejects_bad_bodies(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    r = await client.post("/api/feedback", json=body)
    assert r.status_code in (413, 422) and isinstance(r.json()["detail"], str)


async def test_feedback_list_off_without_admin_token(full_settings: Settings, assistant: Assistant, tmp_path: Path) -> None:
    app = create_app(settings_for(full_settings, tmp_path), assistant=assistant)
    async with client_for(app) as c:
        r = await c.get("/api/feedback", headers={"Authorization": "Bearer anything"})
    assert r.status_code == 404 and "EUMEX_ADMIN_TOKEN" in r.json()["detail"]


# --- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (json.dumps({"question": ""}), 422, "Please type a question"),
        (json.dumps({"question": "   \n\t "}), 422, "Please type a question"),
        (json.dumps({"question": "¿" + "x" * 2000}), 413, "too long"),
        (json.dumps({}), 422, "Please type a question"),
        ('{"question": "broken', 422, "not valid JSON"),
        ("", 422, "required"),
        (json.dumps({"question": "hi", "lang": "fr"}), 422, "lang"),
        (json.dumps({"question": 42}), 422, "question"),
        (json.dumps({"question": "hi", "extra": 1}), 422, "a field this endpoint does not take"),  # not named
        (json.dumps({"question": "hi", "conversation_id": "c" * 101}), 413, "100"),
    ],
)
@pytest.mark.parametrize("route", ["/api/ask", "/api/chat"])
async def test_bad_questions(client: httpx.AsyncClient, route: str, content: str, status: int, message: str) -> None:
    r = await client.post(route, content=content, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and message.lower() in detail.lower(), detail
    assert "Traceback" not in r.text and "xxxxxxxxxx" not in r.text  # no echo of the input


async def test_oversized_body_refused_before_parsing(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/ask", content=b'{"question": "' + b"a" * 100_000 + b'"}',
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["detail"]


async def test_rate_limit_per_client(full_settings: Settings, assistant: Assistant, tmp_path: Path) -> None:
    app = create_app(settings_for(full_settings, tmp_path, rate_limit_per_minute=2), assistant=assistant)
    async with client_for(app) as c:
        for _ in range(2):
            assert (await c.get("/api/search", params={"q": "evaluation"})).status_code == 200
        r = await c.post("/api/ask", json={"question": EN_QUESTION})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1 and "wait" in r.json()["detail"]
        assert (await c.get("/healthz")).status_code == 200  # health and documents are not limited
        assert (await c.get("/api/documents")).status_code == 200


async def test_unexpected_errors_are_generic_500(full_settings: Settings, assistant: Assistant, tmp_path: Path) -> None:
    app = create_app(settings_for(full_settings, tmp_path), assistant=assistant)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail /etc/shadow")

    async with client_for(app) as c:
        r = await c.get("/boom")
        metrics = (await c.get("/metrics")).text
    assert r.status_code == 500 and r.json() == {"detail": "Internal error"}
    assert 'eumex_http_requests_total{method="GET",route="/boom",status="500"} 1.0' in metrics


async def test_empty_index_is_503_with_the_fix(full_settings: Settings, tmp_path: Path) -> None:
    settings = Settings(corpus_dir=full_settings.corpus_dir, data_dir=tmp_path / "empty")
    app = create_app(settings, assistant=build_pipeline(settings))
    async with client_for(app) as c:
        health = await c.get("/healthz")
        assert health.status_code == 503
        assert health.json() == {"status": "empty", "index_loaded": False, "documents": 0, "chunks": 0,
                                 "mode": "extractive"}
        for r in (await c.post("/api/ask", json={"question": EN_QUESTION}),
                  await c.post("/api/chat", json={"question": EN_QUESTION}),
                  await c.get("/api/search", params={"q": "evaluation"})):
            assert r.status_code == 503 and "eumex ingest" in r.json()["detail"]


# --- operations and the page -------------------------------------------------------------------------
async def test_healthz_and_metrics(client: httpx.AsyncClient) -> None:
    health = (await client.get("/healthz")).json()
    assert health["index_loaded"] and health["documents"] >= 9 and health["chunks"] > 40_000
    await client.post("/api/ask", json={"question": EN_QUESTION})
    await client.post("/api/ask", json={"question": "Who won the 1998 football world cup?", "lang": "en"})
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'eumex_http_requests_total{method="POST",route="/api/ask",status="200"}' in text
    assert 'eumex_answer_stage_seconds_bucket{le="0.5",stage="retrieve"}' in text
    assert 'eumex_answer_stage_seconds_count{stage="total"}' in text
    abstentions = next(line for line in text.splitlines() if line.startswith("eumex_abstentions_total"))
    assert float(abstentions.split()[-1]) >= 1


async def test_cors_closed_by_default_and_opened_by_setting(
    client: httpx.AsyncClient, full_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    r = await client.options("/api/ask", headers=headers)
    assert "access-control-allow-origin" not in r.headers
    app = create_app(settings_for(full_settings, tmp_path, cors_origins="https://ncp.example, https://b.example"),
                     assistant=assistant)
    async with client_for(app) as c:
        ok = await c.options("/api/ask", headers={**headers, "Origin": "https://ncp.example"})
        bad = await c.options("/api/ask", headers=headers)
    assert ok.headers["access-control-allow-origin"] == "https://ncp.example"
    assert "access-control-allow-origin" not in bad.headers


async def test_page_docs_and_static(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/app.js"' in page.text and "http" not in page.text.split("<body>")[0].replace(
        'http-equiv', '')
    for asset in ("/static/app.js", "/static/style.css"):
        assert (await client.get(asset)).status_code == 200
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert {"/api/ask", "/api/chat", "/api/search", "/api/documents", "/api/documents/{doc_id}",
            "/api/feedback", "/healthz", "/metrics"} <= set(schema["paths"])
