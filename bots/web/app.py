"""The web chat and HTTP API: ``create_app(settings)``; run it with `eumex serve`.

The routes are in :mod:`bots.web.routes`, the request and response bodies in :mod:`bots.web.schemas`,
the one error table in :mod:`bots.web.errors`. The page itself is static (``static/``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.answer import Assistant
from assistant.config import Settings
from assistant.pipeline import build_pipeline, start
from bots.feedback import FeedbackStore
from bots.ratelimit import InProgress, RateLimiter
from bots.web import errors
from bots.web.prometheus import Metrics, MetricsMiddleware
from bots.web.routes import STATIC_DIR, router

MAX_BODY_BYTES = errors.MAX_BODY_BYTES
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class BodyLimit:
    """Read a request's body before the app does, counting its bytes as they arrive: past 64 KiB it is refused
    with 413 at once (a question is at most 2,000 characters), whether the client declared a Content-Length or
    sent it chunked; a body that is not UTF-8 or nests too deeply is a 422 (errors.body_problem); one that has
    not arrived whole within ``timeout_s`` is a 408. The app then reads the checked body as usual, and later
    receives (a disconnect) come from the server."""

    def __init__(self, app: ASGIApp, timeout_s: float = 10.0) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await errors.body_too_large()(scope, receive, send)
            return
        body = bytearray()
        try:
            async with asyncio.timeout(self.timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client left before sending its body: nothing to answer
                    body += message.get("body", b"")
                    if len(body) > MAX_BODY_BYTES:
                        await errors.body_too_large()(scope, receive, send)
                        return
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await errors.body_too_slow()(scope, receive, send)
            return
        problem = errors.body_problem(bytes(body)) if body else None
        if problem is not None:
            await problem(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# Headers every response gets (when the route did not set its own): no MIME sniffing, no referrer, no framing,
# no cross-origin reads. JSON and event streams also get a CSP that allows nothing (they are never a page) and
# are not stored by caches; the chat page sets its own CSP (routes.PAGE_HEADERS); /docs allows its own scripts.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
DATA_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_STATIC = "/static-offline-docs"


class SecurityHeaders:
    """Add SECURITY_HEADERS (and DATA_HEADERS to JSON and SSE, DOCS_CSP to /docs) to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                extra = dict(SECURITY_HEADERS)
                kind = headers.get("content-type", "")
                if kind.startswith(("application/json", "text/event-stream")):
                    extra.update(DATA_HEADERS)
                elif kind.startswith("application/pdf"):
                    extra["X-Frame-Options"] = "SAMEORIGIN"  # the browser's PDF viewer may frame it
                elif scope["path"] in ("/docs", "/docs/oauth2-redirect"):
                    extra["Content-Security-Policy"] = DOCS_CSP
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    """Build the app; without `assistant`, the lifespan builds one from the settings and shares it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.assistant is None:
            built = await run_in_threadpool(build_pipeline, settings)
            # the index may still be building (compose starts the API beside the ingestion job): warm up only
            await run_in_threadpool(start, built, False)
            app.state.assistant = built
        bot = None
        if settings.telegram_in_api:  # the Telegram bot shares this process's assistant and feedback store
            from bots.telegram.app import start_bot, stop_bot

            bot = await start_bot(settings, app.state.assistant, app.state.feedback)
        try:
            yield
        finally:
            if bot is not None:
                await stop_bot(bot)

    # FastAPIOffline serves Swagger UI and ReDoc from the files in its package (fastapi-offline) instead of a
    # CDN: /docs works on a machine without internet, as everything else here does.
    app = FastAPIOffline(
        title="EUMEX Assistant",
        version="0.1.0",
        summary="Cited answers about EU research funding (Horizon 2020, Horizon Europe) from the EU–Mexico angle.",
        lifespan=lifespan,
        static_url=DOCS_STATIC,
    )
    app.state.settings = settings
    app.state.assistant = assistant
    app.state.ready = False
    app.state.metrics = Metrics()
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.in_progress = InProgress(settings.requests_in_progress_per_client)
    app.state.feedback = FeedbackStore(settings.feedback_path)
    errors.install(app)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization"],
        )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(BodyLimit, timeout_s=settings.http_header_timeout_s)
    app.add_middleware(SecurityHeaders)  # outermost: on every response, the 413s and 422s above included
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
