"""Users' thumbs up/down on answers, kept durably in SQLite (WAL) under the data directory."""

from __future__ import annotations

import time
from typing import Any

from bots.sqlite_store import SqliteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    conversation_id TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    message TEXT NOT NULL,
    question TEXT,
    reason TEXT
);
"""
FIELDS = ("id", "created_at", "conversation_id", "rating", "message", "question", "reason")


class FeedbackStore(SqliteStore):
    """Append and list feedback."""

    label = "feedback store"
    schema = SCHEMA

    def add(
        self, conversation_id: str, rating: str, message: str, question: str | None = None, reason: str | None = None
    ) -> int:
        """Store one piece of feedback and return its id."""
        rows = self._run(
            "INSERT INTO feedback(created_at, conversation_id, rating, message, question, reason) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (time.time(), conversation_id, rating, message, question, reason),
        )
        return int(rows[0][0])  # type: ignore[call-overload]

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent feedback first."""
        rows = self._run(f"SELECT {', '.join(FIELDS)} FROM feedback ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(zip(FIELDS, row, strict=True)) for row in rows]
