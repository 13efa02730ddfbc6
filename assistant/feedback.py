"""Users' thumbs up/down on answers, kept durably in SQLite (WAL) under the data directory."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from assistant.errors import StoreError

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


class FeedbackStore:
    """Append and list feedback; one short-lived connection per call, so any thread may use it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the feedback store {self.path}: {exc}") from exc

    def add(
        self, conversation_id: str, rating: str, message: str, question: str | None = None, reason: str | None = None
    ) -> int:
        """Store one piece of feedback and return its id."""
        db = self._connect()
        try:
            with db:  # commits, or rolls back on error
                cur = db.execute(
                    "INSERT INTO feedback(created_at, conversation_id, rating, message, question, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (time.time(), conversation_id, rating, message, question, reason),
                )
            return int(cur.lastrowid or 0)
        finally:
            db.close()

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent feedback first."""
        db = self._connect()
        try:
            rows = db.execute(
                f"SELECT {', '.join(FIELDS)} FROM feedback ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        finally:
            db.close()
        return [dict(zip(FIELDS, row, strict=True)) for row in rows]
