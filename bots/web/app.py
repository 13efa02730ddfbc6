"""The web chat and HTTP API: ``create_app(settings)``; run it with `eumex serve`.

The routes are in :mod:`bots.web.routes`, the request and response bodies in :mod:`bots.web.schemas`,
the one error table in :mod:`bots.web.errors`. The page itself is static (``static/``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.answer import Assistant
from assistant.config import Settings
from assistant.pipeline import build_pipeline, start
from bots.feedback import FeedbackStore
from bots.ratelimit import RateLimiter
from bots.web import errors
from bots.web.prometheus import Metrics, MetricsMiddleware
from bots.web.routes import STATIC_DIR, router

MAX_BODY_BYTES = 64 * 1024


class BodyLimit:
    """Refuse bodies over 64 KiB before reading them (a question is at most 2000 characters)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                response = JSONResponse(status_code=413, content={"detail": "The request body is too large."})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


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

    app = FastAPI(
        title="EUMEX Assistant",
        version="0.1.0",
        summary="Cited answers about EU research funding (Horizon 2020, Horizon Europe) from the EU–Mexico angle.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.assistant = assistant
    app.state.ready = False
    app.state.metrics = Metrics()
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute)
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
    app.add_middleware(BodyLimit)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
