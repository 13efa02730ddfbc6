"""Every error of the HTTP API becomes a JSON `{"detail": message}` with a real status, here and only here.

    RequestValidationError -> 422 (413 for an oversized question), with one readable sentence
    QuestionError -> 422;  IndexNotReady -> 503 with the fix;  StoreError -> 503;  LLMError -> 502
    other EumexError and any other exception -> logged, then 500 {"detail": "Internal error"}
No stack trace, file path or echo of the input ever reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from assistant.answer import MAX_QUESTION_CHARS
from assistant.errors import EumexError, IndexNotReady, LLMError, QuestionError, StoreError

log = logging.getLogger("eumex.api")


def _sentence(error: dict[str, Any]) -> str:
    """One error of pydantic's list as a sentence a person can act on."""
    kind = error.get("type", "")
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    field = ".".join(loc) or "body"
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if field == "question" and kind in {"missing", "string_too_short"}:
        return "Please type a question (the `question` field is empty)."
    if field == "question" and kind == "string_too_long":
        return f"The question is too long; the limit is {MAX_QUESTION_CHARS} characters. Please shorten it."
    if kind == "missing":
        return f"The field `{field}` is required."
    return f"`{field}`: {error.get('msg', 'invalid value')}."


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with readable messages (no echo of the input); 413 when only the question is too long."""
    errors = list(exc.errors())
    sentences = list(dict.fromkeys(_sentence(e) for e in errors))
    too_long = all(e.get("type") == "string_too_long" for e in errors) and bool(errors)
    return JSONResponse(
        status_code=413 if too_long else 422,
        content={
            "detail": " ".join(sentences),
            "errors": [{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")} for e in errors],
        },
    )


async def eumex_error(request: Request, exc: Exception) -> JSONResponse:
    """Our own errors: the message when it is meant for the user, a generic one otherwise."""
    if isinstance(exc, QuestionError):
        return JSONResponse(status_code=422, content={"detail": str(exc)})
    if isinstance(exc, IndexNotReady):
        return JSONResponse(status_code=503, content={"detail": str(exc)})
    log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    if isinstance(exc, StoreError):
        return JSONResponse(status_code=503, content={"detail": "The index is unavailable right now."})
    if isinstance(exc, LLMError):
        return JSONResponse(status_code=502, content={"detail": "The language model endpoint failed."})
    return JSONResponse(status_code=500, content={"detail": "Internal error"})


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Anything unexpected: log it with its traceback, tell the client only that it happened."""
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "Internal error"})


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(EumexError, eumex_error)
    app.add_exception_handler(Exception, internal_error)
