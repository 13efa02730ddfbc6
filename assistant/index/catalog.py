"""The catalog: SQLite file with the chunk texts, FTS5 keyword indexes (BM25), the page texts
used to verify quotes, and the ingestion state of every document.

The catalog is the source of truth for what is *in* the index. Ingestion first adds vectors to
Chroma, then swaps a document's rows here in one transaction, then removes vectors that no row
refers to. A crash at any point leaves the previous catalog intact; dense hits are always
filtered through it, so readers never see half an ingestion.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from assistant.errors import StoreError
from assistant.index.call_topics import SCHEMA as CALL_TOPICS_SCHEMA
from assistant.index.call_topics import delete_call_topics
from assistant.index.partner_tables import SCHEMA as PARTNER_SCHEMA
from assistant.textutil import content_words, stem
from assistant.types import PROJECTS, Chunk, Page

log = logging.getLogger(__name__)

# 2: project records in their own keyword index (records_fts); 3: prefix indexes for the stems
SCHEMA_VERSION = 3
FTS_TABLES = (("chunks_fts", "c.collection != 'projects'"), ("records_fts", "c.collection = 'projects'"))

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    pages INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    records INTEGER NOT NULL DEFAULT 0,
    ingested_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    document TEXT NOT NULL,
    page_start INTEGER,
    page_end INTEGER,
    locator TEXT,
    heading TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL,
    programme TEXT NOT NULL,
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
-- A project's record is found by its locator's start ("project 633053 (..."): GLOB on this index, 1 ms
-- for 20 projects where LIKE scanned the 44k chunks (70-110 ms).
CREATE INDEX IF NOT EXISTS chunks_locator ON chunks(locator);
-- Two keyword indexes over the chunks: passages and topics, and the 38k CORDIS project records
-- apart, so that searching the documents does not wade through the records' postings (8x faster).
-- Keyword queries ask for words as prefixes of their five- or six-letter stems (fts_query): prefix
-- indexes of those lengths answer them without scanning every term that starts so.
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    heading, text, content='chunks', content_rowid='rowid',
    tokenize="unicode61 remove_diacritics 2", prefix='5 6'
);
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(
    heading, text, content='chunks', content_rowid='rowid',
    tokenize="unicode61 remove_diacritics 2", prefix='5 6'
);
-- Their vocabularies (how many chunks hold each term): keyword_search leaves out the terms that more than
-- half of an index's rows hold, which BM25 scores as nothing but which cost most of the search.
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts_terms USING fts5vocab('chunks_fts', 'row');
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts_terms USING fts5vocab('records_fts', 'row');
CREATE TRIGGER IF NOT EXISTS chunks_fts_ai AFTER INSERT ON chunks WHEN new.collection != 'projects' BEGIN
    INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.rowid, new.heading, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_ad AFTER DELETE ON chunks WHEN old.collection != 'projects' BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, heading, text) VALUES ('delete', old.rowid, old.heading, old.text);
END;
CREATE TRIGGER IF NOT EXISTS records_fts_ai AFTER INSERT ON chunks WHEN new.collection = 'projects' BEGIN
    INSERT INTO records_fts(rowid, heading, text) VALUES (new.rowid, new.heading, new.text);
END;
CREATE TRIGGER IF NOT EXISTS records_fts_ad AFTER DELETE ON chunks WHEN old.collection = 'projects' BEGIN
    INSERT INTO records_fts(records_fts, rowid, heading, text) VALUES ('delete', old.rowid, old.heading, old.text);
END;
CREATE TABLE IF NOT EXISTS sentence_vectors (
    chunk_id TEXT NOT NULL,
    sentence TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (chunk_id, sentence)
);
CREATE TABLE IF NOT EXISTS vocabulary (
    language TEXT NOT NULL,
    word TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (language, word)
);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (doc_id, page)
);
"""

T = TypeVar("T")
ELIGIBILITY_RULES = "eligibility_rules"  # meta key: the rules as JSON
WORDS = re.compile(r"\w+", re.UNICODE)
GLOB_SPECIAL = re.compile(r"([*?\[])")
CHUNK_COLUMNS = (
    "id, doc_id, collection, document, page_start, page_end, locator, heading, language, programme, "
    "kind, period, title, text"
)
LOWERCASE_WORD = re.compile(r"(?<![A-Za-z])[a-z]{4,}(?![A-Za-z])")


@dataclass(frozen=True)
class DocumentState:
    doc_id: str
    path: str
    fingerprint: str
    pages: int
    chunks: int
    records: int
    ingested_at: str


def _find_common_terms(db: sqlite3.Connection, table: str) -> set[str]:
    """Words, and the five- and six-letter prefixes fts_terms asks for, that more than half of the rows
    of a keyword index match."""
    rows = db.execute(f"SELECT count(*) FROM chunks c WHERE {dict(FTS_TABLES)[table]}").fetchone()[0]
    common = {f'"{term}"' for term, in db.execute(f"SELECT term FROM {table}_terms WHERE doc * 2 > ?", (rows,))}
    # a prefix's rows are at most the sum of its words' rows: count exactly only where that sum is large
    candidates = db.execute(
        f"SELECT prefix FROM (SELECT substr(term, 1, 5) AS prefix, doc FROM {table}_terms WHERE length(term) >= 5 "
        f"UNION ALL SELECT substr(term, 1, 6), doc FROM {table}_terms WHERE length(term) >= 6) "
        "GROUP BY prefix HAVING sum(doc) * 2 > ?",
        (rows,),
    ).fetchall()
    for (prefix,) in candidates:
        phrase = f'"{prefix}"*'
        if db.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (phrase,)).fetchone()[0] * 2 > rows:
            common.add(phrase)
    return common


def _next_generation(db: sqlite3.Connection) -> None:
    """Count one more change of the indexed documents (inside the transaction that makes it)."""
    db.execute(
        "INSERT INTO meta(key, value) VALUES ('generation', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def _row_to_chunk(row: sqlite3.Row | tuple) -> Chunk:  # type: ignore[type-arg]
    (cid, doc_id, collection, document, p1, p2, locator, heading, lang, prog, kind, period, title, text) = row
    return Chunk(
        id=cid,
        doc_id=doc_id,
        document=document,
        text=text,
        collection=collection,
        page_start=p1,
        page_end=p2,
        locator=locator,
        heading=heading,
        language=lang,
        programme=prog,
        kind=kind,
        period=period,
        title=title,
    )


CHUNK_SELECT = ", ".join("c." + c.strip() for c in CHUNK_COLUMNS.split(","))


def _tables_for(collections: Sequence[str]) -> list[str]:
    """The keyword indexes holding these collections (all of them when none is named)."""
    if not collections:
        return [table for table, _ in FTS_TABLES]
    tables = []
    if any(c != PROJECTS for c in collections):
        tables.append("chunks_fts")
    if PROJECTS in collections:
        tables.append("records_fts")
    return tables


def fts_query(text: str) -> str:
    """Free text -> a safe FTS5 query: content words (no stopwords), words of six letters or more as
    prefixes of their stem so that English and Spanish cognates (evalua* ~ evaluación) and a word's
    forms (budget* ~ budgeted) meet, joined by OR and ranked by BM25. (From seven letters, the
    development set's top 5 lost es-012, "... los costes que puse en el presupuesto?", whose answer
    says "budgeted"; measured in docs/answering.md.)"""
    return " OR ".join(fts_terms(text))


def fts_terms(text: str) -> list[str]:
    """The terms of :func:`fts_query`, each an FTS5 phrase (``"word"`` or ``"stem"*``)."""
    terms = []
    for word in content_words(text)[:48]:
        if len(word) >= 6 and not word.isdigit():
            terms.append(f'"{stem(word)}"*')
        else:
            terms.append(f'"{word}"')
    return list(dict.fromkeys(terms))


FILTER_FIELDS = ("programme", "kind", "language", "period", "doc_id", "document")


Exclusions = dict[str, str] | Sequence[dict[str, str]]


def _filter_sql(where: dict[str, str] | None, where_not: Exclusions | None) -> tuple[str, list[object]]:
    """SQL conditions (each starting with AND, on the chunks table aliased ``c``) for chunk filters:
    ``where`` keeps the chunks whose fields have the given values; ``where_not`` (one dict or several)
    drops those that have all of a dict's values."""
    excluded = [where_not] if isinstance(where_not, dict) else list(where_not or ())
    for key in [*(where or {}), *(k for e in excluded for k in e)]:
        if key not in FILTER_FIELDS:
            raise StoreError(f"Unknown filter '{key}'")
    sql = "".join(f" AND c.{key} = ?" for key in where or {})
    params: list[object] = list((where or {}).values())
    for exclusion in excluded:
        if exclusion:
            sql += " AND NOT (" + " AND ".join(f"c.{key} = ?" for key in exclusion) + ")"
            params += list(exclusion.values())
    return sql, params


def _glob_literal(text: str) -> str:
    """Text that a GLOB pattern matches literally (its wildcards in brackets)."""
    return GLOB_SPECIAL.sub(r"[\1]", text)


class Catalog:
    """Thread-safe access to the SQLite catalog (one connection per thread, WAL mode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._per_generation: dict[Hashable, Any] = {}  # see per_generation()
        self._per_generation_at: int | None = None
        self._per_generation_lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            version = self._schema_version()
            rebuild = (version is not None and version < SCHEMA_VERSION) or self._has_v1_triggers()
            if rebuild:
                self._drop_keyword_indexes()
            self.db.executescript(SCHEMA + PARTNER_SCHEMA + CALL_TOPICS_SCHEMA)  # idempotent DDL; executescript manages its own transaction
            if rebuild:
                self._fill_keyword_indexes()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"The catalog {path} is damaged ({exc}) - move it away and run `eumex ingest` to rebuild"
            ) from exc
        self.db.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    def _schema_version(self) -> int | None:
        """The schema version of an existing catalog, None for a new one."""
        if not self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else None

    def _has_v1_triggers(self) -> bool:
        """Version 1's keyword triggers beside version 2's (a catalog opened by a development build between
        the two): project records were deleted from an index that never held them, which damages it."""
        found = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'chunks_ai'"
        return bool(self.db.execute(found).fetchone())

    def _drop_keyword_indexes(self) -> None:
        """The keyword indexes of an older catalog, to be rebuilt from the chunks: version 1 kept one for
        every chunk, version 2 had no prefix indexes."""
        log.info("Upgrading the catalog %s: the keyword indexes are rebuilt (once, a few seconds)", self.path)
        self.db.executescript(
            "DROP TRIGGER IF EXISTS chunks_ai; DROP TRIGGER IF EXISTS chunks_ad; DROP TABLE IF EXISTS chunks_fts;"
            " DROP TABLE IF EXISTS records_fts;"
        )

    def _fill_keyword_indexes(self) -> None:
        with self._write() as db:
            for table, condition in FTS_TABLES:
                db.execute(
                    f"INSERT INTO {table}(rowid, heading, text) SELECT rowid, heading, text FROM chunks c "
                    f"WHERE {condition}"
                )

    # --- connections ---------------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot open the catalog {self.path}: {exc}") from exc
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: all of it lands, or none of it."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except sqlite3.DatabaseError as exc:
            db.execute("ROLLBACK")
            if "malformed" not in str(exc):
                raise
            raise StoreError(
                f"The catalog {self.path} is damaged ({exc}); nothing was written. Move it away and run "
                "`eumex ingest` to rebuild it (the vectors are kept and reused)"
            ) from exc
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def eligibility_rules(self) -> dict[str, Any] | None:
        """The eligibility rules ingestion read from the documents (ingestion/eligibility.py), or None."""
        stored = self.get_meta(ELIGIBILITY_RULES)
        return json.loads(stored) if stored else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- ingestion state -------------------------------------------------------------------
    def documents(self) -> dict[str, DocumentState]:
        rows = self.db.execute(
            "SELECT doc_id, path, fingerprint, pages, chunks, records, ingested_at FROM documents"
        ).fetchall()
        return {r[0]: DocumentState(*r) for r in rows}

    def chunk_ids(self, doc_id: str | None = None) -> set[str]:
        if doc_id is None:
            return {r[0] for r in self.db.execute("SELECT id FROM chunks")}
        return {r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))}

    def replace_documents(
        self,
        states: Sequence[DocumentState],
        chunks: Sequence[Chunk],
        pages: Sequence[Page] = (),
        also: Callable[[sqlite3.Connection], None] | None = None,
        sentence_vectors: Sequence[tuple[str, str, np.ndarray]] = (),
    ) -> None:
        """Swap these documents' chunks, pages and state in one transaction (``also`` writes more rows
        in that same transaction, e.g. the partner tables)."""
        doc_ids = [s.doc_id for s in states]
        page_doc = {s.path: s.doc_id for s in states}
        with self._write() as db:
            for doc_id in doc_ids:
                if sentence_vectors:  # given for every passage of these documents: replace theirs
                    db.execute(
                        "DELETE FROM sentence_vectors WHERE chunk_id IN (SELECT id FROM chunks WHERE doc_id = ?)",
                        (doc_id,),
                    )
                db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                db.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
                db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
                delete_call_topics(db, doc_id)
            db.executemany(
                f"INSERT INTO chunks({CHUNK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        c.id, c.doc_id, c.collection, c.document, c.page_start, c.page_end, c.locator,
                        c.heading, c.language, c.programme, c.kind, c.period, c.title, c.text,
                    )
                    for c in chunks
                ],
            )
            db.executemany(
                "INSERT INTO pages(doc_id, page, text) VALUES (?,?,?)",
                [(page_doc[p.document], p.page, p.text) for p in pages],
            )
            db.executemany(
                "INSERT INTO documents(doc_id, path, fingerprint, pages, chunks, records) VALUES (?,?,?,?,?,?)",
                [(s.doc_id, s.path, s.fingerprint, s.pages, s.chunks, s.records) for s in states],
            )
            db.executemany(
                "INSERT OR REPLACE INTO sentence_vectors(chunk_id, sentence, vector) VALUES (?,?,?)",
                [(cid, sent, np.asarray(vec, dtype=np.float32).tobytes()) for cid, sent, vec in sentence_vectors],
            )
            if also is not None:
                also(db)
            _next_generation(db)

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        with self._write() as db:
            for doc_id in doc_ids:
                db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                db.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
                db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
                delete_call_topics(db, doc_id)
            _next_generation(db)

    def drop_orphan_sentence_vectors(self) -> int:
        """Sentence vectors of chunks that left the catalog."""
        with self._write() as db:
            cur = db.execute("DELETE FROM sentence_vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)")
            return cur.rowcount

    def sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Sentence -> vector, as computed at ingestion, for the sentences of these chunks."""
        out: dict[str, np.ndarray] = {}
        ids = list(chunk_ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            sql = f"SELECT sentence, vector FROM sentence_vectors WHERE chunk_id IN ({','.join('?' * len(part))})"
            out.update({sent: np.frombuffer(blob, dtype=np.float32) for sent, blob in self.db.execute(sql, part)})
        return out

    def replace_vocabulary(self, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """The passages' words and their vectors (assistant/index/vocabulary.py), all at once."""
        with self._write() as db:
            db.execute("DELETE FROM vocabulary")
            db.executemany("INSERT INTO vocabulary(language, word, vector) VALUES (?,?,?)", rows)

    def vocabulary(self, language: str) -> tuple[list[str], np.ndarray]:
        """The words of this language's passages and the matrix of their vectors (empty before ingestion)."""
        rows = self.db.execute("SELECT word, vector FROM vocabulary WHERE language = ? ORDER BY word", (language,))
        words, vectors = [], []
        for word, blob in rows:
            words.append(word)
            vectors.append(np.frombuffer(blob, dtype=np.float32))
        return words, (np.vstack(vectors) if vectors else np.zeros((0, 1), dtype=np.float32))

    def chunk_sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Chunk id -> the matrix of its sentences' vectors (one row per sentence), as computed at ingestion."""
        rows: dict[str, list[np.ndarray]] = {}
        ids = list(chunk_ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            sql = f"SELECT chunk_id, vector FROM sentence_vectors WHERE chunk_id IN ({','.join('?' * len(part))})"
            for cid, blob in self.db.execute(sql, part):
                rows.setdefault(cid, []).append(np.frombuffer(blob, dtype=np.float32))
        return {cid: np.vstack(vectors) for cid, vectors in rows.items()}

    def project_chunks(self, project_ids: Sequence[str]) -> dict[str, Chunk]:
        """The project record of each CORDIS project id (keyword-only collection), by id."""
        if not project_ids:
            return {}
        cond = " OR ".join("locator GLOB ?" for _ in project_ids)  # GLOB, not LIKE: it uses chunks_locator
        sql = f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE collection = 'projects' AND ({cond})"
        out: dict[str, Chunk] = {}
        for row in self.db.execute(sql, [f"project {_glob_literal(pid)} (*" for pid in project_ids]):
            chunk = _row_to_chunk(row)
            out[(chunk.locator or "").split()[1]] = chunk
        return out

    # --- reading ---------------------------------------------------------------------------
    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, Chunk]:
        """Look chunks up by id; unknown ids (orphan vectors) are simply absent."""
        out: dict[str, Chunk] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", part):
                out[row[0]] = _row_to_chunk(row)
        return out

    def live_ids(
        self, ids: Sequence[str], where: dict[str, str] | None = None, where_not: Exclusions | None = None
    ) -> set[str]:
        """Those of these chunk ids that are in the catalog (vectors may outlive a crashed ingestion) and
        match the filters: ``where`` keeps the chunks whose fields have the given values, ``where_not``
        drops those that have all of its values (as in keyword search)."""
        conditions, params = _filter_sql(where, where_not)
        out: set[str] = set()
        ids = list(ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            sql = f"SELECT id FROM chunks c WHERE id IN ({','.join('?' * len(part))}){conditions}"
            out.update(r[0] for r in self.db.execute(sql, [*part, *params]))
        return out

    def keyword_search(
        self,
        text: str,
        k: int = 20,
        collection: str | Sequence[str] | None = None,
        where: dict[str, str] | None = None,
        where_not: Exclusions | None = None,
    ) -> list[tuple[Chunk, float]]:
        """BM25 over heading and text (FTS5); higher score is better. ``where`` keeps the chunks whose
        fields have the given values, ``where_not`` drops those that have all of its values."""
        terms = fts_terms(text)
        if not terms:
            return []
        wanted = [collection] if isinstance(collection, str) else list(collection or ())
        conditions, filter_params = _filter_sql(where, where_not)
        found: list[tuple[Chunk, float]] = []
        for table in _tables_for(wanted):
            common = self._common_terms(table)
            query = " OR ".join(t for t in terms if t not in common)
            if not query:
                continue
            sql = (
                f"SELECT {CHUNK_SELECT}, bm25({table}, 2.0, 1.0) AS score FROM {table} "
                f"JOIN chunks c ON c.rowid = {table}.rowid WHERE {table} MATCH ?"
            )
            params: list[object] = [query]
            if wanted:
                sql += f" AND c.collection IN ({','.join('?' * len(wanted))})"
                params += wanted
            sql += conditions + " ORDER BY score LIMIT ?"
            params += [*filter_params, k]
            try:
                rows = self.db.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                raise StoreError(f"Keyword search failed: {exc}") from exc
            found += [(_row_to_chunk(r[:-1]), -float(r[-1])) for r in rows]
        return sorted(found, key=lambda pair: -pair[1])[:k]

    def find_exact(self, needle: str, k: int = 20, collection: str | None = None) -> list[Chunk]:
        """Chunks containing an identifier as a whole token (topic code, article, acronym), any case."""
        # The FTS index narrows the candidates to chunks with the identifier's words in sequence;
        # the regular expression below then requires the exact token.
        words = WORDS.findall(needle.lower())
        if not words:
            return []
        phrase = '"' + " ".join(words) + '"'
        pattern = re.compile(rf"(?<![\w-]){re.escape(needle)}(?![\w-]|-\d)", re.IGNORECASE)
        out: list[Chunk] = []
        for table in _tables_for([collection] if collection else []):
            sql = f"SELECT {CHUNK_SELECT} FROM {table} JOIN chunks c ON c.rowid = {table}.rowid WHERE {table} MATCH ?"
            params: list[object] = [phrase]
            if collection:
                sql += " AND c.collection = ?"
                params.append(collection)
            for row in self.db.execute(sql, params):
                if pattern.search(row[-1]):
                    out.append(_row_to_chunk(row))
                    if len(out) >= k:
                        return out
        return out

    def pages(self, doc_id: str) -> list[tuple[int, str]]:
        """Every stored page of a document: (page number, text), in order."""
        rows = self.db.execute("SELECT page, text FROM pages WHERE doc_id = ? ORDER BY page", (doc_id,))
        return [(int(page), text) for page, text in rows]

    def page_text(self, doc_id: str, page: int) -> str | None:
        row = self.db.execute("SELECT text FROM pages WHERE doc_id = ? AND page = ?", (doc_id, page)).fetchone()
        return row[0] if row else None

    def lowercase_words(self) -> frozenset[str]:
        """The words of four letters or more the documents write in lowercase: ordinary words, not names
        (a place called "Split" or "Reading" is a word here; "Monterrey" is not)."""
        words: set[str] = set()
        for (text,) in self.db.execute("SELECT text FROM pages"):
            words.update(LOWERCASE_WORD.findall(text))
        return frozenset(words)

    def counts(self) -> dict[str, int]:
        db = self.db
        out = {
            "documents": db.execute("SELECT count(*) FROM documents").fetchone()[0],
            "pages": db.execute("SELECT count(*) FROM pages").fetchone()[0],
            "chunks": db.execute("SELECT count(*) FROM chunks").fetchone()[0],
        }
        for coll, n in db.execute("SELECT collection, count(*) FROM chunks GROUP BY collection"):
            out[f"chunks_{coll}"] = n
        return out

    def generation(self) -> int:
        """A number that grows with every change of the indexed documents (see :meth:`per_generation`)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def per_generation(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, remembered until the indexed documents change: for what is worked out once from
        the whole index (its common keyword terms, the partner tables' totals, the retriever's in-memory
        vectors). What an older generation remembered is dropped."""
        generation = self.generation()
        with self._per_generation_lock:
            if self._per_generation_at != generation:
                self._per_generation.clear()
                self._per_generation_at = generation
            if key not in self._per_generation:
                self._per_generation[key] = compute()
            return self._per_generation[key]  # type: ignore[no-any-return]

    def _common_terms(self, table: str) -> frozenset[str]:
        """The query terms (as :func:`fts_terms` writes them) that more than half of this keyword index's
        rows match. FTS5's BM25 gives such a term an idf of 1e-6, so it changes no ranking, but matching
        and scoring the rows it brings in cost most of a search: "projec"* and "partic"* are in every
        CORDIS record (90 ms for a question naming an organisation, docs/benchmarks.md). Found by the
        ingestion job (:meth:`remember_common_terms`); worked out here only for an index it has not seen."""

        def load() -> frozenset[str]:
            stored = self._stored_common_terms()
            return frozenset(stored[table] if stored and table in stored else _find_common_terms(self.db, table))

        return self.per_generation(("common terms", table), load)

    def _stored_common_terms(self) -> dict[str, list[str]] | None:
        """The common terms the ingestion job stored, by keyword index, if they are of this generation."""
        stored = json.loads(self.get_meta("common_terms") or "{}")
        return stored.get("tables") if stored.get("generation") == self.generation() else None

    def remember_common_terms(self) -> None:
        """Work out the common terms of every keyword index once per change of the documents (0.9 s on
        the full corpus), for every process that searches the index to read."""
        if self._stored_common_terms() is None:
            tables = {table: sorted(_find_common_terms(self.db, table)) for table, _ in FTS_TABLES}
            self.set_meta("common_terms", json.dumps({"generation": self.generation(), "tables": tables}))

    def stats_by_document(self) -> list[dict[str, object]]:
        rows = self.db.execute(
            "SELECT d.doc_id, d.path, d.pages, d.chunks, d.records, d.ingested_at FROM documents d ORDER BY d.path"
        ).fetchall()
        return [
            dict(zip(("doc_id", "path", "pages", "chunks", "records", "ingested_at"), r, strict=True))
            for r in rows
        ]

    def integrity(self) -> str:
        """SQLite's own check plus FTS5's; 'ok' when both pass."""
        result = self.db.execute("PRAGMA quick_check").fetchone()[0]
        try:
            for table, _condition in FTS_TABLES:
                self.db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        except sqlite3.DatabaseError as exc:
            return f"fts: {exc}"
        return str(result)
