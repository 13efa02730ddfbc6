"""Every error of the HTTP API becomes a JSON `{"detail": message}` with a real status, here and only here.

    a body over 64 KiB (counted as it arrives, chunked too) -> 413     (body_too_large, used by app.BodyLimit)
    a body that has not arrived whole within EUMEX_HTTP_HEADER_TIMEOUT_S -> 408      (body_too_slow)
    a body that is not UTF-8, or JSON nested deeper than 32 -> 422    (body_problem, used by app.BodyLimit)
    RequestValidationError -> 422 (413 for an oversized question), with one readable sentence
    HTTPException -> its status and detail (a 400 from reading a body is a 422: the API never answers 400)
    QuestionError -> 422;  IndexNotReady -> 503 with the fix;  StoreError -> 503;  LLMError -> 502
    WorkStopped (deadline passed, client left) -> 503
    other EumexError and any other exception -> logged, then 500 {"detail": "Internal error"}
No stack trace, file path or echo of the input (not even the name of a field the client made up) ever reaches
the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.answer import MAX_QUESTION_CHARS
from assistant.errors import EumexError, IndexNotReady, LLMError, QuestionError, StoreError, WorkStopped

log = logging.getLogger("eumex.api")


MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32  # the API's bodies are flat objects


def body_too_large() -> JSONResponse:
    return JSONResponse(status_code=413, content={"detail": "The request body is too large (the limit is 64 KiB)."})


def body_too_slow() -> JSONResponse:
    return JSONResponse(status_code=408, content={"detail": "The request body took too long to arrive."},
                        headers={"Connection": "close"})


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (brackets inside strings do not count); a text with
    few brackets is only bounded (0 or 1), as it cannot nest past the limit."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0 if not (b"[" in body or b"{" in body) else 1  # cannot be deeper than the limit
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def body_problem(body: bytes) -> JSONResponse | None:
    """422 for a body no JSON parser should be handed (not UTF-8, or nested past MAX_JSON_DEPTH); None when
    it may be parsed."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return _problem(422, "The request body is not valid UTF-8 text: send JSON encoded as UTF-8.", "utf8_invalid")
    if json_depth(body) > MAX_JSON_DEPTH:
        return _problem(422, f"The request body nests deeper than {MAX_JSON_DEPTH} levels.", "json_too_deep")
    return None


def _problem(status: int, detail: str, kind: str) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"detail": detail, "errors": [{"loc": ["body"], "type": kind, "msg": detail}]}
    )


def _loc(error: dict[str, Any]) -> list[Any]:
    """Where an error is, naming only fields the API declares: a field the client made up is not echoed."""
    if error.get("type") == "extra_forbidden":
        return ["body"]
    return list(error.get("loc", ()))


def _sentence(error: dict[str, Any]) -> str:
    """One error of pydantic's list as a sentence a person can act on."""
    kind = error.get("type", "")
    loc = [str(p) for p in _loc(error) if p != "body"]
    field = ".".join(loc) or "body"
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if kind == "extra_forbidden":
        return "The request has a field this endpoint does not take (see /docs for its fields)."
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
            "errors": [{"loc": _loc(e), "type": e.get("type"), "msg": _msg(e)} for e in errors],
        },
    )


def _msg(error: dict[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "Extra inputs are not permitted"
    return str(error.get("msg", "invalid value"))


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """An HTTPException as `{"detail"}` with its status and headers (Retry-After, WWW-Authenticate). FastAPI
    raises 400 when a body cannot be read as JSON: that is a 422 here, as for any other malformed body."""
    if exc.status_code == 400:
        return _problem(422, "The request body could not be read as JSON.", "json_invalid")
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers)


async def eumex_error(request: Request, exc: Exception) -> JSONResponse:
    """Our own errors: the message when it is meant for the user, a generic one otherwise."""
    if isinstance(exc, QuestionError):
        return JSONResponse(status_code=422, content={"detail": str(exc)})
    if isinstance(exc, WorkStopped):  # past its deadline, or its client left (then nobody reads this)
        log.warning("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})
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
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(EumexError, eumex_error)
    app.add_exception_handler(Exception, internal_error)
