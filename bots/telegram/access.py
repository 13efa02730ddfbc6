"""Who may use the bot: an allow-list, admins, and users an admin approved with a pairing code.

    no EUMEX_TELEGRAM_ALLOWED and no EUMEX_TELEGRAM_ADMINS   everyone
    user or chat id in EUMEX_TELEGRAM_ALLOWED                allowed
    user id in EUMEX_TELEGRAM_ADMINS, or approved            allowed
    anyone else                                              a pairing code when admins exist, else refused

A pairing code expires after EUMEX_TELEGRAM_PAIRING_TTL_MINUTES; the user gets a new one (and the admins are
told again) the next time they write. A user told "no" while no admin existed gets a code once admins are set:
who was told "no" and who holds a code are kept apart.

Approved users, pending codes, who was already told "no", and each chat's fixed language live in one
SQLite file (``$EUMEX_DATA_DIR/telegram.sqlite3``), so they survive restarts.
"""

from __future__ import annotations

import secrets
import time
from enum import Enum

from bots.sqlite_store import SqliteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS approved (
    user_id INTEGER PRIMARY KEY, approved_by INTEGER, approved_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    code TEXT PRIMARY KEY, user_id INTEGER NOT NULL UNIQUE, name TEXT NOT NULL, requested_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS refused (user_id INTEGER PRIMARY KEY, told_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chat_language (chat_id INTEGER PRIMARY KEY, lang TEXT NOT NULL);
"""
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and retyped
DEFAULT_TTL_S = 3600.0  # EUMEX_TELEGRAM_PAIRING_TTL_MINUTES


class Decision(Enum):
    ALLOWED = "allowed"
    PAIRING = "pairing"  # unknown user, admins exist: hand out a code
    REFUSED = "refused"


class BotStore(SqliteStore):
    """The bot's durable state."""

    label = "Telegram store"
    schema = SCHEMA

    # --- access --------------------------------------------------------------------------------
    def is_approved(self, user_id: int) -> bool:
        return bool(self._run("SELECT 1 FROM approved WHERE user_id = ?", (user_id,)))

    def _expire(self, ttl_s: float, now: float) -> None:
        self._run("DELETE FROM pending WHERE requested_at < ?", (now - ttl_s,))

    def pairing_code(self, user_id: int, name: str, ttl_s: float = DEFAULT_TTL_S) -> tuple[str, bool]:
        """The user's pending code, and whether it is new (created now: the user and the admins are to be told);
        an expired code is replaced."""
        now = time.time()
        self._expire(ttl_s, now)
        rows = self._run("SELECT code FROM pending WHERE user_id = ?", (user_id,))
        if rows:
            return str(rows[0][0]), False
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        self._run("INSERT INTO pending(code, user_id, name, requested_at) VALUES (?, ?, ?, ?)",
                  (code, user_id, name, now))
        return code, True

    def approve(self, code: str, admin_id: int, ttl_s: float = DEFAULT_TTL_S) -> tuple[int, str] | None:
        """Approve the user holding `code`; return (user id, name), or None for an unknown or expired code."""
        self._expire(ttl_s, time.time())
        rows = self._run("SELECT user_id, name FROM pending WHERE code = ?", (code.strip().upper(),))
        if not rows:
            return None
        user_id, name = int(rows[0][0]), str(rows[0][1])  # type: ignore[call-overload]
        self._run("INSERT OR REPLACE INTO approved(user_id, approved_by, approved_at) VALUES (?, ?, ?)",
                  (user_id, admin_id, time.time()))
        self._run("DELETE FROM pending WHERE user_id = ?", (user_id,))
        self._run("DELETE FROM refused WHERE user_id = ?", (user_id,))
        return user_id, name

    def first_refusal(self, user_id: int) -> bool:
        """Record that the user was told they have no access; True only the first time."""
        inserted = self._run(
            "INSERT OR IGNORE INTO refused(user_id, told_at) VALUES (?, ?) RETURNING user_id", (user_id, time.time())
        )
        return bool(inserted)

    # --- preferences ---------------------------------------------------------------------------
    def language(self, chat_id: int) -> str | None:
        """The language fixed with /lang for this chat, if any."""
        rows = self._run("SELECT lang FROM chat_language WHERE chat_id = ?", (chat_id,))
        return str(rows[0][0]) if rows else None

    def set_language(self, chat_id: int, lang: str | None) -> None:
        """Fix the chat's answer language (None: follow each question)."""
        if lang is None:
            self._run("DELETE FROM chat_language WHERE chat_id = ?", (chat_id,))
        else:
            self._run("INSERT OR REPLACE INTO chat_language(chat_id, lang) VALUES (?, ?)", (chat_id, lang))


class Access:
    """Decide whether a user in a chat may use the bot."""

    def __init__(self, allowed: frozenset[int], admins: frozenset[int], store: BotStore) -> None:
        self.allowed = allowed
        self.admins = admins
        self.store = store

    @property
    def open(self) -> bool:
        return not self.allowed and not self.admins

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admins

    def check(self, user_id: int, chat_id: int) -> Decision:
        if self.open or user_id in self.admins or user_id in self.allowed or chat_id in self.allowed:
            return Decision.ALLOWED
        if self.store.is_approved(user_id):
            return Decision.ALLOWED
        return Decision.PAIRING if self.admins else Decision.REFUSED
