"""Horizon Europe call topics as records: written by ingestion (ingestion/parse_topics.py reads them from the
work programmes), read by the topic finder and by answers about a topic.

    call_topics            one row per topic code: its document and the record as JSON
    call_topic_sentences   the sentences of each topic's title, Expected Outcome and Scope, with the page
                           each sits on and its vector (the finder ranks topics by them and quotes them)
    call_topics_fts        a keyword index (BM25) of each topic's code, title and text

The rows of a document are replaced in the catalog's transaction that replaces the document itself.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from assistant.types import CallTopic, SourceQuote

SCHEMA = """
CREATE TABLE IF NOT EXISTS call_topics (
    code TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS call_topics_doc ON call_topics(doc_id);
CREATE TABLE IF NOT EXISTS call_topic_sentences (
    code TEXT NOT NULL,
    n INTEGER NOT NULL,
    field TEXT NOT NULL,
    page INTEGER,
    sentence TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (code, n)
);
CREATE VIRTUAL TABLE IF NOT EXISTS call_topics_fts USING fts5(
    code, title, text, tokenize="unicode61 remove_diacritics 2", prefix='5 6'
);
"""
TITLE, EXPECTED_OUTCOME, SCOPE = "title", "expected_outcome", "scope"
WHOLE = "whole"  # one vector of the topic's whole text (title, Expected Outcome, Scope); its sentence is empty


@dataclass(frozen=True)
class TopicSentence:
    """A sentence of a topic's text, where it is, and its vector."""

    code: str
    n: int
    field: str  # TITLE, EXPECTED_OUTCOME, SCOPE, or WHOLE (the whole text's vector, n = -1)
    page: int | None  # None: it runs over a page break (not quotable with one page)
    sentence: str
    vector: np.ndarray


def topic_from_json(data: dict[str, Any]) -> CallTopic:
    """A stored record back as a CallTopic (tuples and quotes restored)."""
    fields = dict(data)
    for key in ("deadlines", "deadline_stages", "conditions", "regions", "missing", "discrepancies"):
        fields[key] = tuple(fields.get(key) or ())
    fields["budget_by_year"] = tuple(tuple(pair) for pair in fields.get("budget_by_year") or ())
    fields["pages"] = tuple(fields["pages"])
    fields["source_quotes"] = tuple(SourceQuote(**q) for q in fields.get("source_quotes") or ())
    return CallTopic(**fields)


def delete_call_topics(db: sqlite3.Connection, doc_id: str) -> None:
    """Remove a document's topics (inside the caller's transaction)."""
    codes = [r[0] for r in db.execute("SELECT code FROM call_topics WHERE doc_id = ?", (doc_id,))]
    db.execute("DELETE FROM call_topics WHERE doc_id = ?", (doc_id,))
    for code in codes:
        db.execute("DELETE FROM call_topic_sentences WHERE code = ?", (code,))
        db.execute("DELETE FROM call_topics_fts WHERE code = ?", (code,))


def write_call_topics(
    db: sqlite3.Connection, doc_id: str, topics: Sequence[CallTopic], sentences: Sequence[TopicSentence]
) -> None:
    """Replace a document's topics and their sentences (inside the catalog's write transaction)."""
    delete_call_topics(db, doc_id)
    for topic in topics:  # a code printed in two documents keeps the later one's record
        db.execute("DELETE FROM call_topic_sentences WHERE code = ?", (topic.code,))
        db.execute("DELETE FROM call_topics_fts WHERE code = ?", (topic.code,))
    db.executemany(
        "INSERT OR REPLACE INTO call_topics(code, doc_id, record) VALUES (?, ?, ?)",
        [(t.code, doc_id, json.dumps(asdict(t), ensure_ascii=False)) for t in topics],
    )
    db.executemany(
        "INSERT OR REPLACE INTO call_topic_sentences(code, n, field, page, sentence, vector) VALUES (?,?,?,?,?,?)",
        [
            (s.code, s.n, s.field, s.page, s.sentence, np.asarray(s.vector, dtype=np.float32).tobytes())
            for s in sentences
        ],
    )
    db.executemany(
        "INSERT INTO call_topics_fts(code, title, text) VALUES (?, ?, ?)",
        [(t.code, t.title, " ".join(x for x in (t.expected_outcome, t.scope) if x)) for t in topics],
    )


class CallTopicTable:
    """Read access to the call topics (a view over the catalog's SQLite connection)."""

    def __init__(self, catalog: Any) -> None:
        self._catalog = catalog  # assistant.index.catalog.Catalog (thread-local connections)

    @property
    def db(self) -> sqlite3.Connection:
        return self._catalog.db  # type: ignore[no-any-return]

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM call_topics").fetchone()[0])

    def get(self, code: str) -> CallTopic | None:
        row = self.db.execute(
            "SELECT record FROM call_topics WHERE code = ? COLLATE NOCASE", (code,)
        ).fetchone()
        return topic_from_json(json.loads(row[0])) if row else None

    def all(self) -> list[CallTopic]:
        """Every topic (remembered until the indexed documents change)."""

        def load() -> list[CallTopic]:
            rows = self.db.execute("SELECT record FROM call_topics ORDER BY code").fetchall()
            return [topic_from_json(json.loads(r[0])) for r in rows]

        return self._catalog.per_generation("call topics", load)  # type: ignore[no-any-return]

    def doc_ids(self) -> dict[str, str]:
        """Topic code -> the id of the document it comes from."""
        return dict(self.db.execute("SELECT code, doc_id FROM call_topics").fetchall())

    def sentences(self) -> tuple[list[TopicSentence], np.ndarray]:
        """Every topic sentence and the matrix of their (unit) vectors, in the same order (remembered until
        the indexed documents change)."""

        def load() -> tuple[list[TopicSentence], np.ndarray]:
            rows = self.db.execute(
                "SELECT code, n, field, page, sentence, vector FROM call_topic_sentences ORDER BY code, n"
            ).fetchall()
            items = [
                TopicSentence(c, n, f, p, s, np.frombuffer(v, dtype=np.float32)) for c, n, f, p, s, v in rows
            ]
            if not items:
                return [], np.zeros((0, 1), dtype=np.float32)
            matrix = np.stack([i.vector for i in items]).astype(np.float32)
            matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
            return items, matrix

        return self._catalog.per_generation("call topic sentences", load)  # type: ignore[no-any-return]

    def keyword_search(self, terms: Iterable[str], k: int = 100) -> list[tuple[str, float]]:
        """(code, BM25 score, higher is better) for an FTS5 OR-query of these terms."""
        query = " OR ".join(terms)
        if not query:
            return []
        try:
            rows = self.db.execute(
                "SELECT code, bm25(call_topics_fts, 0.0, 2.0, 1.0) AS s FROM call_topics_fts "
                "WHERE call_topics_fts MATCH ? ORDER BY s LIMIT ?",
                (query, k),
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        return [(code, -float(score)) for code, score in rows]
