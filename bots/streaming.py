"""One bridge from the synchronous Assistant to a channel's event loop (web SSE and JSON routes, Telegram).

The Assistant is synchronous and CPU-bound, so its work runs in a worker thread of a pool of its own (not
Starlette's, which also serves the cheap routes); its events reach the event loop as they are produced, and an
error raised while answering is raised here, in the channel. Every piece of work runs under a deadline and a
stop flag (assistant/limits.py): when the client goes away (the SSE stream is closed, or a JSON request's
connection drops) the flag is set and the work stops at its next stage instead of running to its end.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from assistant.answer import Assistant
from assistant.limits import bounded
from assistant.types import Event

_END = object()
T = TypeVar("T")
# Threads that run answers. Most of them wait for one of the Assistant's two CPU slots; a waiting request
# whose client left gives its place up at once, so this pool never fills with abandoned work.
WORK_THREADS = 64
DISCONNECT_POLL_S = 0.2
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def work_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORK_THREADS, thread_name_prefix="eumex-work")
        return _pool


async def run_bounded(
    fn: Callable[..., T],
    *args: Any,
    deadline_s: float | None,
    disconnected: Callable[[], Awaitable[bool]] | None = None,
    client: str | None = None,
    **kwargs: Any,
) -> T:
    """``fn(*args, **kwargs)`` in a worker thread on behalf of ``client``, under a deadline counted from now;
    stopped (WorkCancelled) as soon as ``disconnected()`` says the client went away, or when this coroutine is
    cancelled."""
    stop = threading.Event()
    started = time.monotonic()

    def work() -> T:
        with bounded(deadline_s, stop, started=started, client=client):
            return fn(*args, **kwargs)

    future = asyncio.get_running_loop().run_in_executor(work_pool(), work)
    try:
        while disconnected is not None:
            done, _ = await asyncio.wait({future}, timeout=DISCONNECT_POLL_S)
            if done:
                break
            if await disconnected():
                stop.set()
                break
        return await future
    finally:
        stop.set()  # cancelled (or finished): nothing is waiting for more work


async def answer_events(
    assistant: Assistant,
    question: str,
    conversation_id: str | None,
    lang: str | None,
    deadline_s: float | None = None,
    client: str | None = None,
) -> AsyncIterator[Event]:
    """Yield the answer's Delta events, then its Final event, without blocking the event loop. Closing the
    iterator early (the client left) stops the work."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()
    started = time.monotonic()

    def produce() -> None:
        try:
            with bounded(deadline_s, stop, started=started, client=client):
                for event in assistant.stream(question, conversation_id, lang):
                    loop.call_soon_threadsafe(queue.put_nowait, event)
                    if stop.is_set():
                        break
        except BaseException as exc:  # handed to the event loop, raised there
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _END)

    producer = loop.run_in_executor(work_pool(), produce)
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()  # the consumer left early: the work stops at its next stage
        await asyncio.shield(producer)
