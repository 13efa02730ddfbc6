"""Conversations: bounded history per id, and follow-up questions made standalone."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FOLLOW_UP = re.compile(
    r"^\s*(¿\s*)?(and|also|what about|how about|same for|what if|and for|and in|y|e|también|tambien|"
    r"y para|y en|y si|qué tal|que tal|lo mismo|igual para)\b",
    re.IGNORECASE,
)
MAX_CONDENSED_CHARS = 2000  # a standalone follow-up is no longer than a question may be (MAX_QUESTION_CHARS)
SEPARATOR = " — "
SHORT_QUESTION_WORDS = 12  # with an LLM, short questions in a conversation are rewritten too ("what budget?")
PRONOUN = re.compile(r"\b(it|its|they|them|this|that|these|those|ese|esa|eso|esos|esas|este|esta|esto|ello)\b", re.I)


@dataclass(frozen=True)
class Turn:
    question: str
    standalone: str
    answer: str


class Conversations:
    """In-memory, thread-safe; the oldest conversations and turns are forgotten first."""

    def __init__(self, max_conversations: int = 2000, max_turns: int = 6) -> None:
        self._data: OrderedDict[str, list[Turn]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_conversations = max_conversations
        self.max_turns = max_turns

    def history(self, conversation_id: str | None) -> list[Turn]:
        if not conversation_id:
            return []
        with self._lock:
            return list(self._data.get(conversation_id, []))

    def add(self, conversation_id: str | None, turn: Turn) -> None:
        if not conversation_id:
            return
        with self._lock:
            turns = self._data.pop(conversation_id, [])
            turns = (turns + [turn])[-self.max_turns :]
            self._data[conversation_id] = turns
            while len(self._data) > self.max_conversations:
                self._data.popitem(last=False)

    def forget(self, conversation_id: str) -> None:
        with self._lock:
            self._data.pop(conversation_id, None)


def is_follow_up(question: str) -> bool:
    """Does the question lean on the previous one ("and for innovation actions?")?"""
    words = question.split()
    return bool(FOLLOW_UP.match(question)) or (len(words) <= 6 and bool(PRONOUN.search(question)))


def condense(
    question: str, history: list[Turn], rewrite: Callable[[str, list[str]], str | None] | None = None
) -> str:
    """A standalone version of a follow-up question.

    With ``rewrite`` (the LLM, when one is configured) a question that may lean on the conversation -
    a follow-up, or any short question - is rewritten from the earlier standalone questions; without
    it, or when the rewrite fails, a follow-up becomes the previous question plus the new ask."""
    if not history:
        return question
    if rewrite is not None and (is_follow_up(question) or len(question.split()) <= SHORT_QUESTION_WORDS):
        rewritten = rewrite(question, [turn.standalone for turn in history])
        if rewritten:
            return rewritten[:MAX_CONDENSED_CHARS]
    if not is_follow_up(question):
        return question
    return bounded_join(history[-1].standalone, question)


def bounded_join(previous: str, question: str, limit: int = MAX_CONDENSED_CHARS) -> str:
    """``previous — question``, at most ``limit`` characters: a chain of follow-ups keeps its first question
    (what the conversation is about) and its latest ones, dropping those in between, so a conversation of
    "and ...?" questions no longer grows without bound (each turn used to repeat all earlier ones)."""
    joined = f"{previous}{SEPARATOR}{question}"
    if len(joined) <= limit:
        return joined
    first, *middle = previous.split(SEPARATOR)
    kept: list[str] = []
    room = limit - len(first) - len(SEPARATOR) - len(question)
    for part in reversed(middle):  # the latest follow-ups first
        if len(part) + len(SEPARATOR) > room:
            break
        kept.insert(0, part)
        room -= len(part) + len(SEPARATOR)
    if room < 0:  # the first question and this one are too long together: cut the first
        first = first[: max(0, len(first) + room)].rstrip()
    return SEPARATOR.join(p for p in (first, *kept, question) if p)[:limit]
