"""What the bot keeps in memory: recent answers (for source buttons and /feedback) and conversation ids.

Source buttons carry only a short answer id (callback_data is limited to 64 bytes); the answer itself
stays here, in a bounded cache: the oldest answers are forgotten first, and a button of a forgotten
answer asks the user to ask again.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from assistant.types import Answer


@dataclass(frozen=True)
class Remembered:
    answer: Answer
    conversation_id: str


class ChatMemory:
    """Thread-safe, bounded; per process."""

    def __init__(self, max_answers: int = 5000) -> None:
        self.max_answers = max_answers
        self._answers: OrderedDict[str, Remembered] = OrderedDict()
        self._last: dict[int, str] = {}  # chat id -> id of its latest answer
        self._generation: dict[int, int] = {}  # chat id -> how many times /new was used
        self._lock = threading.Lock()

    def conversation_id(self, chat_id: int) -> str:
        """The id under which the assistant keeps this chat's history (for follow-up questions)."""
        with self._lock:
            return f"telegram:{chat_id}:{self._generation.get(chat_id, 0)}"

    def new_conversation(self, chat_id: int) -> None:
        with self._lock:
            self._generation[chat_id] = self._generation.get(chat_id, 0) + 1
            self._last.pop(chat_id, None)

    def remember(self, chat_id: int, answer: Answer, conversation_id: str) -> str:
        """Keep `answer` and return its short id."""
        answer_id = secrets.token_urlsafe(6)  # 8 characters
        with self._lock:
            self._answers[answer_id] = Remembered(answer, conversation_id)
            self._last[chat_id] = answer_id
            while len(self._answers) > self.max_answers:
                old, _ = self._answers.popitem(last=False)
                self._last = {c: a for c, a in self._last.items() if a != old}
        return answer_id

    def get(self, answer_id: str) -> Remembered | None:
        with self._lock:
            return self._answers.get(answer_id)

    def last(self, chat_id: int) -> Remembered | None:
        """The chat's latest answer in the current conversation."""
        with self._lock:
            answer_id = self._last.get(chat_id)
            return self._answers.get(answer_id) if answer_id else None
