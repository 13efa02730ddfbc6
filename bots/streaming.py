"""One bridge from the Assistant's synchronous stream to a channel's event loop (web SSE, Telegram).

The Assistant is synchronous and CPU-bound, so its stream runs in a worker thread; its events reach the
event loop as they are produced, and an error raised while answering is raised here, in the channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from assistant.answer import Assistant
from assistant.types import Event

_END = object()


async def answer_events(
    assistant: Assistant, question: str, conversation_id: str | None, lang: str | None
) -> AsyncIterator[Event]:
    """Yield the answer's Delta events, then its Final event, without blocking the event loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()

    def produce() -> None:
        try:
            for event in assistant.stream(question, conversation_id, lang):
                loop.call_soon_threadsafe(queue.put_nowait, event)
        except BaseException as exc:  # handed to the event loop, raised there
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _END)

    producer = asyncio.create_task(asyncio.to_thread(produce))
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        await producer
