"""Deliver one answer to a chat: "typing…" while it is prepared, streamed edits when an LLM writes it,
then the final text in parts of at most 4096 characters with the source buttons under the last part.

The Assistant is synchronous and CPU-bound, so it runs in a worker thread (asyncio.to_thread, or
bots.streaming for a streamed answer): the event loop keeps serving other chats meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from telegram import Bot, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from assistant.answer import Assistant
from assistant.types import Answer, Final, TopicFilters
from bots.streaming import answer_events
from bots.telegram.memory import ChatMemory
from bots.telegram.messages import TEXT, t
from bots.telegram.render import MAX_MESSAGE, answer_from_json, answer_text, source_keyboard, split_message

log = logging.getLogger("eumex.telegram")
TYPING_EVERY_S = 4.5  # Telegram shows "typing…" for about 5 s
EDIT_EVERY_S = 1.0  # at most one edit per second per chat (Telegram's flood limits)


@asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends."""

    async def keep_typing() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError as exc:  # cosmetic: never let it break the answer
                log.debug("typing action failed: %s", exc)
                return
            await asyncio.sleep(TYPING_EVERY_S)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _edit(message: Message, text: str, **kwargs: Any) -> None:
    try:
        await message.edit_text(text, **kwargs)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


def _preview(text: str) -> str:
    """The first message's worth of a growing answer."""
    parts = split_message(text, MAX_MESSAGE - 2)
    return parts[0] + (" …" if len(parts) > 1 else "")


async def _streamed(
    assistant: Assistant, message: Message, question: str, lang: str, conversation_id: str, quote: bool
) -> tuple[Answer, Message | None]:
    """Edit one message as the verified sentences arrive; return the answer and that message."""
    text, shown, sent, last_edit = "", "", None, 0.0
    async for event in answer_events(assistant, question, conversation_id, lang):
        if isinstance(event, Final):
            return event.answer, sent
        text += event.text
        if time.monotonic() - last_edit >= EDIT_EVERY_S and text.strip():
            preview = _preview(text)
            if sent is None:
                sent = await message.reply_text(preview, do_quote=quote)
            elif preview != shown:
                await _edit(sent, preview)
            shown, last_edit = preview, time.monotonic()
    raise AssertionError("the answer stream ends with a Final event")


async def answer_question(
    assistant: Assistant, memory: ChatMemory, message: Message, question: str, lang: str, quote: bool
) -> Answer:
    """Answer `question` in the message's chat, with numbered citations and one button per source."""
    chat_id = message.chat_id
    conversation_id = memory.conversation_id(chat_id)
    first: Message | None = None
    async with typing(message.get_bot(), chat_id):
        if not assistant.streams_text:
            answer = await asyncio.to_thread(assistant.ask, question, conversation_id, lang)
        else:
            answer, first = await _streamed(assistant, message, question, lang, conversation_id, quote)
    await send_answer(assistant, memory, message, answer, conversation_id, quote, first)
    return answer


async def answer_partners(assistant: Assistant, memory: ChatMemory, message: Message, query: str, lang: str,
                          quote: bool) -> Answer:
    """The partner search (CORDIS data) for `query`, sent like any answer: cited, one button per source."""
    async with typing(message.get_bot(), message.chat_id):
        answer = await asyncio.to_thread(assistant.partner_answer, query, lang)
    await send_answer(assistant, memory, message, answer, memory.conversation_id(message.chat_id), quote)
    return answer


TOPICS_SHOWN = 5


async def answer_topics(assistant: Assistant, memory: ChatMemory, message: Message, idea: str, lang: str,
                        quote: bool) -> Answer:
    """The Horizon Europe topics that fit `idea` (the best five), as cited cards with source buttons."""
    async with typing(message.get_bot(), message.chat_id):
        data = await asyncio.to_thread(assistant.topics, idea, TopicFilters(), TOPICS_SHOWN, lang)
    answer = answer_from_json(data, lang, question=idea, mode="topics")
    await send_answer(assistant, memory, message, answer, memory.conversation_id(message.chat_id), quote)
    return answer


async def answer_eligibility(
    assistant: Assistant,
    memory: ChatMemory,
    message: Message,
    lang: str,
    quote: bool,
    country: str | None = None,
    entity_type: str = "HES",
    partners: Sequence[Mapping[str, str]] = (),
    action: str = "RIA",
    programme: str = "he",
) -> Answer:
    """One country's verdict (`country`) or a consortium's (`partners`), cited, with source buttons.
    An unknown country, type or action raises QuestionError (its message is in `lang`)."""
    async with typing(message.get_bot(), message.chat_id):
        if partners:
            data = await asyncio.to_thread(assistant.consortium, list(partners), action, programme, lang)
            header = t(lang, "eligibility_consortium", n=len(partners), action=data.get("action", action))
        else:
            data = await asyncio.to_thread(assistant.eligibility, country or "", entity_type, action, programme, lang)
            code = str(data.get("entity_type", entity_type))
            kind = t(lang, f"type_{code}") if f"type_{code}" in TEXT["en"] else code
            header = t(lang, "eligibility_country", country=data.get("country_name", country), type=kind,
                       action=data.get("action", action))
    question = message.text or ""
    answer = answer_from_json(data, lang, question=question, mode="eligibility", header=header)
    await send_answer(assistant, memory, message, answer, memory.conversation_id(message.chat_id), quote)
    return answer


async def send_answer(
    assistant: Assistant,
    memory: ChatMemory,
    message: Message,
    answer: Answer,
    conversation_id: str,
    quote: bool,
    first: Message | None = None,
) -> None:
    """Send the answer split at Telegram's limit, with the source buttons under the last part."""
    answer_id = memory.remember(message.chat_id, answer, conversation_id)
    keyboard = source_keyboard(answer, answer_id, assistant.manifest)
    parts = split_message(answer_text(answer))
    for i, part in enumerate(parts):
        markup = keyboard if i == len(parts) - 1 else None
        if i == 0 and first is not None:
            await _edit(first, part, reply_markup=markup)
        else:
            await message.reply_text(part, reply_markup=markup, do_quote=quote and i == 0)
