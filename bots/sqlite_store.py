"""Small SQLite files beside the index (feedback, the Telegram bot's state): one short-lived connection
per call, so any thread may use them, and WAL so that readers never wait for a writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from assistant.errors import StoreError


class SqliteStore:
    """A small SQLite file with its schema; subclasses name it (for error messages) and add the queries."""

    label = "store"
    schema = ""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(self.schema)
        finally:
            db.close()  # "with db" would only commit, leaving the connection to the garbage collector

    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the {self.label} {self.path}: {exc}") from exc

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """One statement in its own transaction (committed, or rolled back on error); its rows."""
        db = self._connect()
        try:
            with db:
                return db.execute(sql, args).fetchall()
        finally:
            db.close()
