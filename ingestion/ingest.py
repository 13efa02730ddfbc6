"""The ingestion job: corpus files -> pages/records -> chunks -> vectors (Chroma) + catalog (SQLite).

Idempotent and incremental: a unit (one PDF, or the CORDIS files together) is redone only when
its fingerprint (file hashes, parser version, chunk settings, embedder) changed, and only chunks
without a vector are embedded. Crash-safe: vectors are added first, then the unit's catalog rows
are swapped in one transaction, then vectors nobody refers to are deleted. A bad file is
reported with its reason, keeps its previously indexed version, and does not stop the others.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.errors import EumexError, ParseError
from assistant.extractive import candidate_sentences
from assistant.index.call_topics import WHOLE, TopicSentence, write_call_topics
from assistant.index.catalog import Catalog, DocumentState
from assistant.index.embed import Embedder, embed_all
from assistant.index.partner_tables import PartnerData, write_partner_tables
from assistant.index.vectors import VectorStore
from assistant.index.vocabulary import refresh_vocabulary
from assistant.manifest import Document, Manifest
from assistant.topics.finder import topic_text
from assistant.types import (
    DENSE_COLLECTIONS,
    PROJECTS,
    SECOND_DENSE_COLLECTIONS,
    TOPICS,
    CallTopic,
    Chunk,
    Page,
    Record,
)
from ingestion import parse_cordis
from ingestion.call_topics import has_call_topics, read_call_topics, topic_sentences
from ingestion.chunk import chunk_pages, chunk_records, embedding_text
from ingestion.corpus import sha256_of
from ingestion.eligibility import refresh_eligibility_rules
from ingestion.parse_pdf import read_pdf

log = logging.getLogger(__name__)

PARSER_VERSION = "pdf-14/cordis-5"  # pdf-11: PDFium text, no DRAFT stamps or running headers; 12-13: call
# topics; 14: a dash that starts a line is a bullet (answer sentences split there)
CORDIS_PARSERS = {
    "cordis-projects",
    "cordis-participations",
    "cordis-topics",
    "cordis-action-types",
    "cordis-countries",
    "cordis-funding-schemes",
    "cordis-activity-types",
}
# Reference tables that only label codes in the partner index (no chunks of their own).
CODE_TABLES = {"cordis-countries": "country", "cordis-funding-schemes": "scheme", "cordis-activity-types": "activity"}


@dataclass
class IngestReport:
    """What an ingestion did, for the summary and for tests."""

    ingested: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pages: int = 0
    chunks: int = 0
    records: int = 0
    embedded: int = 0
    embedded_sentences: int = 0  # answer sentences embedded for the extractive answerer
    embedded_words: int = 0  # words of the passages embedded for cross-language keyword search
    embedded_second: int = 0  # passages embedded for the second dense index (e5)
    call_topics: int = 0  # Horizon Europe call topics read from the work programmes
    reused_vectors: int = 0
    deleted_vectors: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def ok(self) -> bool:
        return not self.failed


class _Timer:
    def __init__(self, report: IngestReport, stage: str) -> None:
        self.report, self.stage = report, stage

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.report.seconds[self.stage] += time.perf_counter() - self.t0


def mismatch_reason(actual: str, doc: Document) -> str:
    return (
        f"sha256 {actual[:12]}… differs from the manifest's ({doc.sha256[:12]}…): not the file the manifest "
        "describes, so it was not indexed; fix the file (`eumex corpus fetch`) or the manifest, or accept it with "
        "`eumex ingest --accept-mismatch` (EUMEX_ACCEPT_CHECKSUM_MISMATCH=true)"
    )


def _settings_key(settings: Settings, embedder: Embedder, second: VectorStore | None = None) -> str:
    key = f"{PARSER_VERSION}|{settings.chunk_chars}/{settings.chunk_overlap}|{embedder.name}"
    return key + (f"+{second.embedder.name}" if second is not None else "")


def _fingerprint(hashes: list[str], key: str) -> str:
    return hashlib.sha256(("|".join(hashes) + "|" + key).encode()).hexdigest()


def _parse_one(args: tuple[str, str]) -> tuple[str, list[Page] | str]:
    """Worker: parse one PDF, returning pages or an error message (exceptions do not cross processes well)."""
    path, document = args
    try:
        return document, read_pdf(Path(path), document)
    except ParseError as exc:
        return document, exc.reason
    except Exception as exc:  # a PDF library bug on a hostile file must not kill the job
        return document, f"unexpected error while reading: {type(exc).__name__}: {exc}"


def _without_vectors(store: VectorStore, chunks: list[Chunk], collections: tuple[str, ...]) -> list[Chunk]:
    """Chunks of these collections whose id has no vector in the store yet (new content, or left over
    from an interrupted run)."""
    have: set[str] = set()
    for coll in collections:
        ids = [c.id for c in chunks if c.collection == coll]
        if ids:
            have |= store.existing_ids(coll, ids)
    return [c for c in chunks if c.collection in collections and c.id not in have]


def ingest(settings: Settings, progress: bool = True, echo: Callable[[str], None] = lambda _msg: None) -> IngestReport:
    """Build or update the index the settings describe (`eumex ingest`)."""
    from assistant.pipeline import open_index

    index = open_index(settings)
    ingestor = Ingestor(
        settings, index.manifest, index.catalog, index.store, index.embedder, progress=progress, echo=echo,
        second=index.second_store,
    )
    return ingestor.run()


class Ingestor:
    """Runs one ingestion over the manifest's documents."""

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        catalog: Catalog,
        store: VectorStore,
        embedder: Embedder,
        progress: bool = True,
        echo: Callable[[str], None] = lambda _msg: None,
        second: VectorStore | None = None,
    ) -> None:
        self.settings = settings
        self.manifest = manifest
        self.catalog = catalog
        self.store = store
        self.embedder = embedder
        self.second = second  # the second dense index of the passages (e5), when configured
        self.progress = progress
        self.echo = echo
        self.key = _settings_key(settings, embedder, second)

    # --- the job -------------------------------------------------------------------------------
    def run(self) -> IngestReport:
        report = IngestReport()
        t0 = time.perf_counter()
        previous = self.catalog.documents()
        corpus = self.settings.corpus_dir

        wanted = [d for d in self.manifest.documents if d.ingestible]
        hashes: dict[str, str] = {}
        refused: set[str] = set()  # files whose sha256 is not the manifest's
        with _Timer(report, "check"):
            # An index built before the per-language vector collections keeps its vectors (moved once).
            self.store.migrate_unpartitioned(DENSE_COLLECTIONS)
            if self.second is not None:
                self.second.migrate_unpartitioned(SECOND_DENSE_COLLECTIONS)
            for doc in wanted:
                path = corpus / doc.path
                if not path.is_file():
                    report.failed.append(
                        (doc.path, f"not found in {corpus} - run `eumex corpus fetch` (or set EUMEX_CORPUS_DIR)")
                    )
                    continue
                hashes[doc.id] = sha256_of(path)
                if doc.sha256 and hashes[doc.id] != doc.sha256:
                    if self.settings.accept_checksum_mismatch:
                        report.warnings.append(f"{doc.path}: sha256 differs from the manifest; indexed anyway "
                                               "(EUMEX_ACCEPT_CHECKSUM_MISMATCH)")
                    else:  # not the file the manifest describes: refused, its previous version kept
                        actual = hashes.pop(doc.id)
                        refused.add(doc.id)
                        report.failed.append((doc.path, mismatch_reason(actual, doc)
                                              + self._kept_note(doc)))

        pdfs = [d for d in wanted if d.parser == "pdf" and d.id in hashes]
        changed_pdfs = []
        for doc in pdfs:
            fp = _fingerprint([hashes[doc.id]], self.key)
            if previous.get(doc.id) and previous[doc.id].fingerprint == fp:
                report.unchanged.append(doc.path)
            else:
                changed_pdfs.append((doc, fp))
        self._ingest_pdfs(changed_pdfs, report)

        cordis = [d for d in wanted if d.parser in CORDIS_PARSERS and d.id in hashes]
        if cordis and any(d.parser in CORDIS_PARSERS for d in wanted if d.id in refused):
            # the CORDIS files are joined into one partner index: without one of them it would be wrong
            report.warnings.append("CORDIS data not refreshed: a CORDIS file was refused (previous version kept)")
            cordis = []
        if cordis:
            fp = _fingerprint([f"{d.id}:{hashes[d.id]}" for d in cordis], self.key)
            if all(previous.get(d.id) and previous[d.id].fingerprint == fp for d in cordis):
                report.unchanged += [d.path for d in cordis]
            else:
                self._ingest_cordis(cordis, fp, report)

        # Documents that left the manifest (or became unavailable) leave the index.
        keep = {d.id for d in wanted}
        gone = [doc_id for doc_id in previous if doc_id not in keep]
        if gone:
            with _Timer(report, "catalog"):
                self.catalog.remove_documents(gone)
            report.removed += [previous[g].path for g in gone]

        with _Timer(report, "eligibility"):
            if refresh_eligibility_rules(self.manifest, self.catalog, corpus, report.warnings.append):
                self.echo("eligibility rules rebuilt from the General Annexes and the rules texts")
        with _Timer(report, "cleanup"):
            self._collect_garbage(report)
            self.catalog.remember_common_terms()
        with _Timer(report, "vocabulary"):
            report.embedded_words = refresh_vocabulary(
                self.catalog, self.embedder, self.echo, batch_size=self.settings.embed_batch_size
            )
        self.catalog.set_meta("embedder", self.embedder.name)
        report.seconds["total"] = time.perf_counter() - t0
        return report

    # --- PDFs ----------------------------------------------------------------------------------
    def _ingest_pdfs(self, changed: list[tuple[Document, str]], report: IngestReport) -> None:
        if not changed:
            return
        jobs = [(str(self.settings.corpus_dir / d.path), d.path) for d, _ in changed]
        jobs.sort(key=lambda job: -Path(job[0]).stat().st_size)  # longest first keeps both workers busy
        with _Timer(report, "parse"):
            if len(jobs) > 1:
                with ProcessPoolExecutor(max_workers=2) as pool:
                    parsed = dict(pool.map(_parse_one, jobs))
            else:
                parsed = dict(map(_parse_one, jobs))
        for doc, fp in changed:
            result = parsed[doc.path]
            if isinstance(result, str):
                report.failed.append((doc.path, result + self._kept_note(doc)))
                continue
            with _Timer(report, "chunk"):
                chunks = chunk_pages(result, doc, self.settings.chunk_chars, self.settings.chunk_overlap)
                topics = read_call_topics(doc, result) if has_call_topics(doc) else []
            state = DocumentState(doc.id, doc.path, fp, len(result), len(chunks), 0, "")
            self._commit([state], chunks, result, report, label=doc.path, topics=(doc.id, topics))
            report.pages += len(result)
            report.call_topics += len(topics)

    def _kept_note(self, doc: Document) -> str:
        return " (the previously indexed version is kept)" if doc.id in self.catalog.documents() else ""

    # --- CORDIS --------------------------------------------------------------------------------
    def _ingest_cordis(self, docs: list[Document], fp: str, report: IngestReport) -> None:
        tables: dict[str, list[tuple[Document, parse_cordis.Table]]] = defaultdict(list)
        with _Timer(report, "parse"):
            for doc in docs:
                try:
                    tables[doc.parser].append((doc, parse_cordis.read_table_isolated(
                        self.settings.corpus_dir / doc.path, doc.path, memory_mb=self.settings.parse_memory_mb
                    )))
                except ParseError as exc:
                    report.failed.append((doc.path, exc.reason + self._kept_note(doc)))
            projects, participations = [], []
            topics: dict[str, tuple[str, str]] = {}
            action_types: dict[str, str] = {}
            ok: list[tuple[Document, int]] = []
            topic_recs: list[Record] = []
            readers: dict[str, Callable[[parse_cordis.Table], object]] = {
                "cordis-projects": parse_cordis.read_projects,
                "cordis-participations": parse_cordis.read_participations,
                "cordis-topics": parse_cordis.read_topics,
                "cordis-action-types": parse_cordis.read_action_types,
                **{parser: parse_cordis.read_code_labels for parser in CODE_TABLES},
            }
            codes: dict[str, dict[str, dict[str, str]]] = {}
            for parser, items in tables.items():
                for doc, table in items:
                    try:
                        value = readers[parser](table)
                    except ParseError as exc:
                        report.failed.append((doc.path, exc.reason + self._kept_note(doc)))
                        continue
                    if parser == "cordis-projects":
                        projects += value  # type: ignore[operator]
                    elif parser == "cordis-participations":
                        participations += value  # type: ignore[operator]
                    elif parser == "cordis-topics":
                        topics.update(value)  # type: ignore[arg-type]
                        topic_recs += parse_cordis.topic_records(table)
                    elif parser in CODE_TABLES:
                        codes[CODE_TABLES[parser]] = value  # type: ignore[assignment]
                    else:
                        action_types.update(value)  # type: ignore[arg-type]
                    ok.append((doc, len(table.rows)))
            joined = parse_cordis.join_projects(projects, participations, topics, action_types)
            records = [parse_cordis.project_record(p) for p in joined]
            codes["topic"] = {code: {"en": title} for code, (title, _division) in topics.items()}
            codes["action"] = {code: {"en": label} for code, label in action_types.items()}
            partners = PartnerData(projects=joined, codes=codes)
        by_doc: dict[str, list[Record]] = defaultdict(list)
        for rec in records:
            by_doc[rec.document].append(rec)
        chunks: list[Chunk] = []
        states = []
        with _Timer(report, "chunk"):
            for doc, n_rows in ok:
                if doc.parser in CODE_TABLES:
                    doc_chunks = []
                elif doc.parser == "cordis-topics":
                    doc_chunks = chunk_records([r for r in topic_recs if r.document == doc.path], doc, TOPICS)
                else:
                    doc_chunks = chunk_records(by_doc.get(doc.path, []), doc, PROJECTS)
                chunks += doc_chunks
                states.append(DocumentState(doc.id, doc.path, fp, 0, len(doc_chunks), n_rows, ""))
        also = partial(write_partner_tables, data=partners)
        if any(doc.path in {p for p, _ in report.failed} for doc in docs):
            # A broken CORDIS file: keep what was indexed for it, refresh the rest. The partner tables
            # join all files, so they keep their previous contents until every file reads again.
            failed_ids = {d.id for d in docs if d.path in {p for p, _ in report.failed}}
            states = [s for s in states if s.doc_id not in failed_ids]
            chunks = [c for c in chunks if c.doc_id not in failed_ids]
            also = None
            report.warnings.append("partner index not refreshed: a CORDIS file could not be read (previous kept)")
        self._commit(states, chunks, [], report, label="CORDIS data", also=also)
        report.records += len(records)

    # --- shared steps --------------------------------------------------------------------------
    def _commit(
        self,
        states: list[DocumentState],
        chunks: list[Chunk],
        pages: list[Page],
        report: IngestReport,
        label: str,
        also: Callable[[sqlite3.Connection], None] | None = None,
        topics: tuple[str, list[CallTopic]] | None = None,
    ) -> None:
        """Embed what has no vector yet, add it to Chroma, then swap the catalog rows atomically (with the
        document's call topics, when ``topics`` gives them: (doc_id, records))."""
        try:
            with _Timer(report, "embed"):
                missing = _without_vectors(self.store, chunks, DENSE_COLLECTIONS)
                report.reused_vectors += sum(c.collection in DENSE_COLLECTIONS for c in chunks) - len(missing)
                if missing:
                    vectors = embed_all(
                        self.embedder,
                        [embedding_text(c) for c in missing],
                        batch_size=self.settings.embed_batch_size,
                        progress=self.progress,
                        desc=f"embed {label}"[:40],
                    )
            if missing:
                with _Timer(report, "store"):
                    self.store.add(missing, vectors)
                report.embedded += len(missing)
            if self.second is not None:
                with _Timer(report, "second"):
                    report.embedded_second += self._embed_second(chunks, label)
            with _Timer(report, "sentences"):
                sentence_vectors, n_sentences = self._sentence_vectors(chunks, pages, label)
                report.embedded_sentences += n_sentences
                if topics is not None and topics[1]:
                    also = partial(
                        write_call_topics,
                        doc_id=topics[0],
                        topics=topics[1],
                        sentences=self._topic_sentences(topics[1], pages, sentence_vectors, label),
                    )
            with _Timer(report, "catalog"):
                self.catalog.replace_documents(states, chunks, pages, also=also, sentence_vectors=sentence_vectors)
        except EumexError as exc:
            for state in states:
                report.failed.append((state.path, str(exc)))
            return
        report.chunks += len(chunks)
        report.ingested += [s.path for s in states]
        self.echo(f"indexed {label}: {len(chunks)} chunks, {len(missing)} embedded")

    def _sentence_vectors(
        self, chunks: list[Chunk], pages: list[Page], label: str
    ) -> tuple[list[tuple[str, str, np.ndarray]], int]:
        """Vectors of the sentences an extractive answer may quote (so that answering only embeds the
        question); sentences already embedded for these passages are reused, the rest embedded now.
        A passage's cut first and last sentences are completed from its page, as the answerer does."""
        dense = [c for c in chunks if c.collection in DENSE_COLLECTIONS]
        page_text = {(p.document, p.page): p.text for p in pages}
        pairs = [
            (c.id, s) for c in dense for s in candidate_sentences(c, page_text.get((c.document, c.page_start or 0)))
        ]
        if not pairs:
            return [], 0
        known = self.catalog.sentence_vectors([c.id for c in dense])
        todo = [s for s in dict.fromkeys(s for _, s in pairs) if s not in known]  # overlapping passages share sentences
        if todo:
            vectors = embed_all(
                self.embedder,
                todo,
                batch_size=self.settings.embed_batch_size,
                progress=self.progress,
                desc=f"sentences {label}"[:40],
            )
            known.update(zip(todo, vectors, strict=True))
        return [(cid, s, known[s]) for cid, s in pairs], len(todo)

    def _topic_sentences(
        self,
        topics: list[CallTopic],
        pages: list[Page],
        known: list[tuple[str, str, np.ndarray]],
        label: str,
    ) -> list[TopicSentence]:
        """The topics' sentences with their vectors: a sentence the passages already had keeps its vector."""
        vectors = {sentence: vector for _, sentence, vector in known}
        found = [(t.code, n, f, page, s) for t in topics for n, (f, page, s) in enumerate(topic_sentences(t, pages))]
        todo = [s for s in dict.fromkeys(item[4] for item in found) if s not in vectors]
        if todo:
            vectors.update(zip(todo, embed_all(self.embedder, todo, batch_size=self.settings.embed_batch_size,
                                               progress=self.progress, desc=f"topics {label}"[:40]), strict=True))
        wholes = embed_all(self.embedder, [topic_text(t) for t in topics], batch_size=self.settings.embed_batch_size,
                           progress=False)
        return [
            *(TopicSentence(code, n, f, page, s, vectors[s]) for code, n, f, page, s in found),
            *(TopicSentence(t.code, -1, WHOLE, None, "", v) for t, v in zip(topics, wholes, strict=True)),
        ]

    def _embed_second(self, chunks: list[Chunk], label: str) -> int:
        """Add the passages that have no vector in the second dense index yet; returns how many."""
        assert self.second is not None
        missing = _without_vectors(self.second, chunks, SECOND_DENSE_COLLECTIONS)
        if missing:
            vectors = embed_all(
                self.second.embedder,
                [embedding_text(c) for c in missing],
                batch_size=min(32, self.settings.embed_batch_size),
                progress=self.progress,
                desc=f"e5 {label}"[:40],
            )
            self.second.add(missing, vectors)
        return len(missing)

    def _collect_garbage(self, report: IngestReport) -> None:
        """Delete vectors that no catalog row refers to (replaced, removed, or from a crashed run)."""
        self.catalog.drop_orphan_sentence_vectors()
        live = self.catalog.chunk_ids()
        stores = [(self.store, DENSE_COLLECTIONS)]
        if self.second is not None:
            stores.append((self.second, SECOND_DENSE_COLLECTIONS))
        for store, collections in stores:
            for coll in collections:
                orphans = store.all_ids(coll) - live
                if orphans:
                    store.delete(coll, orphans)
                    report.deleted_vectors += len(orphans)
