"""The HTTP API's routes, thin: each reads its request, calls the Assistant, and returns its JSON.

    POST /api/ask        question -> the answer JSON (same as `eumex ask --json`)
    POST /api/chat       question -> Server-Sent Events: delta*, citations, done (or error)
    GET  /api/search     the passages hybrid retrieval finds (same as `eumex search --json`)
    GET  /api/partners   organisations and projects from the CORDIS data (same as `eumex partners --json`)
    GET  /api/documents  the manifest: present and missing documents;  GET /api/documents/{id}: the PDF
    POST /api/feedback   thumbs up/down;  GET /api/feedback (maintainers, bearer token)
    GET  /healthz, /metrics;  GET / the chat page (static/)
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sse_starlette import EventSourceResponse

from assistant.answer import Assistant
from assistant.config import Settings
from assistant.errors import EumexError, IndexNotReady, QuestionError, WorkStopped
from assistant.types import Delta, Final, TopicFilters
from bots.feedback import FeedbackStore
from bots.streaming import answer_events, run_bounded
from bots.web.prometheus import Metrics
from bots.web.schemas import (
    AnswerOut,
    ConsortiumIn,
    ConsortiumOut,
    DocumentOut,
    DocumentsOut,
    EligibilityOut,
    FeedbackCreated,
    FeedbackIn,
    FeedbackList,
    Health,
    PartnersOut,
    Problem,
    Question,
    SearchOut,
    TopicsOut,
)

log = logging.getLogger("eumex.api")
STATIC_DIR = Path(__file__).resolve().with_name("static")
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": Problem} for code in (413, 422, 429, 503)}


# --- dependencies (async: none of them waits for a worker thread) ------------------------------------
async def get_assistant(request: Request) -> Assistant:
    """The one Assistant built at start-up, once its index is known to hold something."""
    assistant: Assistant | None = request.app.state.assistant
    if assistant is None:
        raise IndexNotReady("The assistant is still starting - try again in a few seconds.")
    if not request.app.state.ready:
        assistant.ensure_ready()  # raises IndexNotReady (503) with the fix
        request.app.state.ready = True
    return assistant


def client_key(request: Request) -> str:
    """The client's address (the real client's behind a trusted proxy: EUMEX_FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


async def rate_limited(request: Request) -> None:
    """Spend one of the client's tokens, or answer 429 with Retry-After."""
    wait = request.app.state.limiter.acquire(client_key(request))
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail=f"Too many requests - please wait {wait} s and try again.",
            headers={"Retry-After": str(wait)},
        )


def in_progress(request: Request) -> Callable[[], None]:
    """Count one more piece of work in progress for this client, or answer 429 when it already has
    EUMEX_REQUESTS_IN_PROGRESS_PER_CLIENT; returns the (idempotent) release."""
    release = request.app.state.in_progress.enter(client_key(request))
    if release is None:
        raise HTTPException(
            status_code=429,
            detail="An answer for you is still in progress - wait for it to finish, then ask again.",
            headers={"Retry-After": "1"},
        )
    return release  # type: ignore[no-any-return]


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


async def get_feedback(request: Request) -> FeedbackStore:
    return request.app.state.feedback  # type: ignore[no-any-return]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Limited = Depends(rate_limited)

router = APIRouter()


def _event(name: str, data: Any) -> dict[str, str]:
    return {"event": name, "data": json.dumps(data, ensure_ascii=False)}


class _ReleasingEvents(EventSourceResponse):
    """An SSE response that releases its client's in-progress slot however the stream ends (finished,
    failed, or the client left before or while it streamed)."""

    def __init__(self, *args: Any, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._release = release

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _chat_events(
    assistant: Assistant, metrics: Metrics, question: str, body: Question, deadline_s: float, client: str
) -> AsyncIterator[dict[str, str]]:
    """delta events as the answer is produced, then citations and done; any failure is an error event."""
    try:
        async for event in answer_events(
            assistant, question, body.conversation_id, body.lang, deadline_s=deadline_s, client=client
        ):
            if isinstance(event, Delta):
                yield _event("delta", {"text": event.text})
            elif isinstance(event, Final):
                metrics.observe_answer(event.answer)
                data = event.answer.as_json()
                yield _event("citations", data["citations"])
                yield _event("done", data)
    except QuestionError as exc:
        yield _event("error", {"message": str(exc)})
    except WorkStopped as exc:
        log.warning("chat stopped: %s", exc)
        yield _event("error", {"message": str(exc)})
    except EumexError as exc:
        log.error("chat failed: %s: %s", type(exc).__name__, exc)
        message = str(exc) if isinstance(exc, IndexNotReady) else "The answer could not be completed."
        yield _event("error", {"message": message})
    except Exception:
        log.exception("chat failed")
        yield _event("error", {"message": "Internal error"})


# --- answers ---------------------------------------------------------------------------------------
@router.post("/api/ask", response_model=AnswerOut, responses=ERRORS, dependencies=[Limited], tags=["answers"])
async def ask(
    body: Question, request: Request, assistant: AssistantDep, metrics: MetricsDep, settings: SettingsDep
) -> dict[str, Any]:
    """Answer one question with numbered, verified citations (or an honest refusal)."""
    release = in_progress(request)
    try:
        answer = await run_bounded(
            assistant.ask, body.question, conversation_id=body.conversation_id, lang=body.lang,
            deadline_s=settings.answer_deadline_s, disconnected=request.is_disconnected, client=client_key(request),
        )
    finally:
        release()
    metrics.observe_answer(answer)
    return answer.as_json()


@router.post(
    "/api/chat",
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "SSE: delta*, citations, done"}},
    dependencies=[Limited],
    tags=["answers"],
)
async def chat(
    body: Question, request: Request, assistant: AssistantDep, metrics: MetricsDep, settings: SettingsDep
) -> EventSourceResponse:
    """Stream the answer as Server-Sent Events: `delta` {text}…, `citations` [..], `done` {answer JSON}."""
    question = assistant.checked(body.question, body.lang)  # a blank question is a 422 before any work
    release = in_progress(request)
    events = _chat_events(assistant, metrics, question, body, settings.answer_deadline_s, client_key(request))
    return _ReleasingEvents(events, ping=15, release=release)


@router.get("/api/search", response_model=SearchOut, responses=ERRORS, dependencies=[Limited], tags=["answers"])
async def search(
    request: Request,
    assistant: AssistantDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="The search text")],
    k: Annotated[int, Query(ge=1, le=100)] = 8,
) -> dict[str, Any]:
    """The passages hybrid retrieval finds for `q`, best first."""
    release = in_progress(request)
    try:
        return await run_bounded(
            assistant.search, q, k=k, deadline_s=settings.answer_deadline_s, disconnected=request.is_disconnected,
            client=client_key(request),
        )
    finally:
        release()


@router.get("/api/partners", response_model=PartnersOut, responses=ERRORS, dependencies=[Limited], tags=["partners"])
async def partners(
    request: Request,
    assistant: AssistantDep,
    settings: SettingsDep,
    q: Annotated[str, Query(max_length=2000, description="What the partners should have worked on")] = "",
    country: Annotated[list[str], Query(max_length=300, description="Participant country codes (e.g. MX)")] = [],  # noqa: B006
    topic: Annotated[str | None, Query(max_length=80, description="Call topic code")] = None,
    action: Annotated[Literal["ERA-NET", "RIA", "IA", "CSA", "MSCA", "ERC"] | None, Query()] = None,
    coordinators: bool = False,
    lang: Literal["auto", "en", "es"] = "auto",
    limit: Annotated[int, Query(ge=1, le=200)] = 10,
) -> dict[str, Any]:
    """Organisations and projects from the CORDIS data, each cited by its dataset row."""
    if not q.strip() and not (country or topic or action):
        raise HTTPException(422, "Give `q`, or at least one of `country`, `topic`, `action`.")
    release = in_progress(request)
    try:
        return await run_bounded(
            assistant.partners, q, countries=country, topic=topic, action=action, coordinators=coordinators,
            lang=lang, limit=limit, deadline_s=settings.answer_deadline_s, disconnected=request.is_disconnected,
            client=client_key(request),
        )
    finally:
        release()


# --- Horizon Europe: topics and eligibility ---------------------------------------------------------
Action = Literal["RIA", "IA", "CSA", "MSCA-DN", "MSCA-PF", "MSCA-SE", "ERC"]


@router.get("/api/topics", response_model=TopicsOut, responses=ERRORS, dependencies=[Limited], tags=["topics"])
def topics(
    assistant: AssistantDep,
    q: Annotated[str, Query(min_length=1, max_length=4000, description="A research idea: a sentence or an abstract")],
    lang: Literal["auto", "en", "es"] = "auto",
    open_after: Annotated[date | None, Query(description="A deadline on or after this date")] = None,
    deadline_before: Annotated[date | None, Query(description="A deadline on or before this date")] = None,
    action: Annotated[str | None, Query(max_length=20, description="Type of action (RIA, IA, CSA, MSCA-DN...)")] = None,
    part: Annotated[str | None, Query(max_length=5, description="Work programme part (2-12, ERC)")] = None,
    international: bool = False,
    n: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """The Horizon Europe topics that fit a research idea: dates, money, why each fits (quoted), open or not."""
    filters = TopicFilters(open_after, deadline_before, action, part, international)
    return assistant.topics(q, filters, n=n, lang=lang)


@router.get(
    "/api/topics/calendar",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **ERRORS},
    tags=["topics"],
)
def topic_calendar(
    assistant: AssistantDep,
    code: Annotated[list[str], Query(min_length=1, max_length=50, description="Topic codes")],
) -> Response:
    """An iCalendar (.ics) file with the deadlines of these topics."""
    body = assistant.topic_calendar(code)
    headers = {"Content-Disposition": 'attachment; filename="horizon-europe-deadlines.ics"'}
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


@router.get("/api/eligibility", response_model=EligibilityOut, responses=ERRORS, dependencies=[Limited],
            tags=["eligibility"])
def eligibility(
    assistant: AssistantDep,
    country: Annotated[str, Query(min_length=1, max_length=80, description="ISO code or English/Spanish name")],
    type: Literal["HES", "REC", "PRC", "PUB", "OTH"] = "HES",  # noqa: A002 - the API's field name
    action: Action = "RIA",
    programme: Literal["he", "h2020"] = "he",
    lang: Literal["en", "es"] = "en",
) -> dict[str, Any]:
    """May an entity of this country take part, is it funded automatically, which roles: each reason cited."""
    return assistant.eligibility(country, type, action, programme, lang)


@router.post("/api/eligibility", response_model=ConsortiumOut, responses=ERRORS, dependencies=[Limited],
             tags=["eligibility"])
def consortium(body: ConsortiumIn, assistant: AssistantDep) -> dict[str, Any]:
    """Does this consortium meet the rules: per partner (participates, funded, role) and the minimum
    composition, with what would fix a failing condition; each reason cited."""
    partners = [p.model_dump() for p in body.partners]
    return assistant.consortium(partners, body.action, body.programme, body.lang)


# --- documents -------------------------------------------------------------------------------------
@router.get("/api/documents", response_model=DocumentsOut, tags=["documents"])
def documents(assistant: AssistantDep, settings: SettingsDep) -> dict[str, Any]:
    """Every manifest document: the ones the assistant has read and the key texts it lacks."""
    return {
        "documents": [
            DocumentOut(
                id=d.id, path=d.path, title=d.title, short_title=d.label, programme=d.programme, kind=d.kind,
                language=d.language, period=d.period, url=d.url, present=d.present,
                viewable=_pdf_path(settings, d.path, d.present) is not None,
                covers=d.covers, covers_es=d.covers_es,
            )
            for d in assistant.manifest.documents
        ]
    }


@router.get(
    "/api/documents/{doc_id}",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"model": Problem}},
    tags=["documents"],
)
def document_file(doc_id: str, assistant: AssistantDep, settings: SettingsDep) -> FileResponse:
    """The PDF of a present document, shown inline (link to a page with `#page=N`)."""
    doc = assistant.manifest.by_id(doc_id)  # manifest ids only: a path never reaches the file system
    if doc is None:
        raise HTTPException(404, f"Unknown document '{doc_id}'. GET /api/documents lists them.")
    path = _pdf_path(settings, doc.path, doc.present)
    if path is None:
        where = f" The official version is at {doc.url}." if doc.url else ""
        raise HTTPException(404, f"'{doc.label}' is not a PDF in this assistant's corpus.{where}")
    return FileResponse(path, media_type="application/pdf", filename=path.name, content_disposition_type="inline")


def _pdf_path(settings: Settings, relative: str, present: bool) -> Path | None:
    """The file for a manifest path, when it is a PDF inside the corpus directory; None otherwise."""
    if not present or not relative.lower().endswith(".pdf"):
        return None
    root = settings.corpus_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


# --- feedback --------------------------------------------------------------------------------------
@router.post("/api/feedback", status_code=201, response_model=FeedbackCreated, responses=ERRORS,
             dependencies=[Limited], tags=["feedback"])
def feedback_add(body: FeedbackIn, store: FeedbackDep) -> dict[str, int]:
    """Record a thumbs up or down on an answer, with an optional reason."""
    reason = (body.reason or "").strip() or None
    return {"id": store.add(body.conversation_id, body.rating, body.message, body.question, reason)}


@router.get("/api/feedback", response_model=FeedbackList,
            responses={401: {"model": Problem}, 404: {"model": Problem}}, tags=["feedback"])
def feedback_list(
    store: FeedbackDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The latest feedback, for maintainers (`Authorization: Bearer $EUMEX_ADMIN_TOKEN`)."""
    if settings.admin_token is None:
        raise HTTPException(404, "Not enabled: set EUMEX_ADMIN_TOKEN on the server to read feedback here.")
    expected = f"Bearer {settings.admin_token.get_secret_value()}".encode()
    if not secrets.compare_digest((authorization or "").encode(), expected):
        raise HTTPException(401, "A valid admin token is required.", headers={"WWW-Authenticate": "Bearer"})
    return {"feedback": store.list(limit)}


# --- operations and the page -----------------------------------------------------------------------
# /healthz runs on the event loop, never in a worker pool that answers fill: its counts come from a thread of
# its own, at most once a second, and an answer in progress never delays it.
HEALTH_TTL_S = 1.0
HEALTH_WAIT_S = 2.0
_health_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eumex-health")
NOT_LOADED = {"index_loaded": False, "documents": 0, "chunks": 0, "mode": "extractive"}


async def _health_state(request: Request) -> dict[str, Any]:
    state = request.app.state
    assistant: Assistant | None = state.assistant
    if assistant is None:
        return NOT_LOADED
    cached: tuple[float, dict[str, Any]] | None = getattr(state, "health_cache", None)
    if cached is not None and time.monotonic() - cached[0] < HEALTH_TTL_S:
        return cached[1]
    loop = asyncio.get_running_loop()
    try:
        fresh = await asyncio.wait_for(loop.run_in_executor(_health_thread, assistant.health), HEALTH_WAIT_S)
    except TimeoutError:
        if cached is None:
            raise
        return cached[1]  # the catalog is slow to answer (an ingestion is writing): the last known state
    state.health_cache = (time.monotonic(), fresh)
    return fresh


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}}, tags=["operations"])
async def healthz(request: Request) -> JSONResponse:
    """Whether the index is loaded, with its document and chunk counts (503 when empty)."""
    state = await _health_state(request)
    body = Health(status="ok" if state["index_loaded"] else "empty", **state)
    return JSONResponse(body.model_dump(), status_code=200 if state["index_loaded"] else 503)


@router.get("/metrics", response_class=Response, tags=["operations"])
def metrics(metrics: MetricsDep) -> Response:
    """Prometheus metrics: requests, latencies per stage, abstentions."""
    return Response(metrics.render(), media_type=metrics.content_type)


@router.get("/", include_in_schema=False)
def index_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)
