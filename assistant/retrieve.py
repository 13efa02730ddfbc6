"""Hybrid retrieval: dense (Chroma) + keyword (BM25 over FTS5) + exact identifiers, fused by RRF.

Dense search reaches across languages (a Spanish question finds English passages); keyword
search catches rare words; exact search finds identifiers such as ``LC-SFS-34-2019``,
``Artículo 62`` or ``BELLA-S1`` verbatim. Reciprocal-rank fusion combines the three lists
without having to calibrate their scores against each other.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.catalog import Catalog
from assistant.embed import Embedder
from assistant.errors import IndexNotReady
from assistant.language import detect_language
from assistant.models import DENSE_COLLECTIONS, DOCUMENTS, Chunk, Hit
from assistant.store import VectorStore
from assistant.textutil import translate_terms

RRF_K = 60
DENSE_DEPTH = 4  # unfiltered dense candidates per collection = pool x depth, split by language
TOPIC_CODE = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*-\d{1,2}[a-z]?(?:-[A-Za-z])?(?:[-/]\d{4})+\b")
ARTICLE = re.compile(r"\b(?:art[íi]culo|article|art\.)\s*(\d{1,3})\b", re.IGNORECASE)
# Project acronyms: at least two capitals anywhere (BELLA-S1, GEMex, ZikaPLAN, ENERXICO).
ACRONYM = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*[A-Z])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b")
COMMON_UPPER = {"EU", "UE", "H2020", "RIA", "IA", "CSA", "MSCA", "ERC", "SME", "PDF", "NCP", "EUR", "THE", "AND"}
FILTER_KEYS = ("programme", "kind", "language", "period", "doc_id")


PERIOD = re.compile(r"\b20(14|16|18)\s*[-–/]\s*(?:20)?(15|17|20)\b")
LAW = re.compile(r"\b(ley|law|mexican science law|ley general|lgmhcti)\b", re.IGNORECASE)


def implied_filters(query: str) -> dict[str, str]:
    """Soft filters a question implies: a work-programme period, or the Mexican law."""
    found: dict[str, str] = {}
    if m := PERIOD.search(query):
        found["period"] = f"20{m.group(1)}-20{m.group(2)}"
    if LAW.search(query):
        found["kind"] = "law"
    return found


def identifiers(query: str) -> list[str]:
    """Identifiers worth an exact lookup: topic codes, law articles, project acronyms."""
    found: list[str] = []
    found += TOPIC_CODE.findall(query)
    for number in ARTICLE.findall(query):
        found.append(f"Artículo {number}.")
    for token in ACRONYM.findall(query):
        if token not in COMMON_UPPER and token not in found and not any(token in f for f in found):
            found.append(token)
    return found


@dataclass
class Retriever:
    """Finds the passages that can answer a question."""

    catalog: Catalog
    store: VectorStore
    embedder: Embedder
    pool: int = 30  # candidates taken from each list before fusion
    same_language_bias: float = 0.05  # calibrated on the development set (docs/answering.md)

    def __post_init__(self) -> None:
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def embed_query(self, query: str) -> np.ndarray:
        """The query's vector (a few hundred recent queries are remembered)."""
        with self._cache_lock:
            vector = self._query_cache.get(query)
        if vector is None:
            vector = self.embedder.embed([query])[0]
            with self._cache_lock:
                self._query_cache[query] = vector
                if len(self._query_cache) > 512:
                    self._query_cache.popitem(last=False)
        return vector

    def ensure_ready(self) -> None:
        """Raise IndexNotReady when nothing has been ingested yet."""
        if not self.catalog.counts()["chunks"]:
            raise IndexNotReady("The index is empty - run `eumex ingest` first (or `make run`).")

    def search(
        self,
        query: str,
        k: int = 8,
        collections: Sequence[str] = (DOCUMENTS,),
        filters: dict[str, str] | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """Return the k best chunks for the query, best first."""
        filters = {key: v for key, v in (filters or {}).items() if v and key in FILTER_KEYS}
        ranked: dict[str, list[str]] = {}
        chunks: dict[str, Chunk] = {}

        if vector is None:
            vector = self.embed_query(query)
        where = {key: value for key, value in filters.items() if key != "language"}
        chroma_where = (where if len(where) <= 1 else {"$and": [{k2: v} for k2, v in where.items()]}) or None
        # Dense candidates per passage language: the model prefers passages in the question's own
        # language, so a Spanish question would otherwise rarely see the English work programmes.
        # One unfiltered query per collection with a deep pool, split by language afterwards (a
        # metadata filter makes Chroma scan: ~7x slower here, and it grows with the index - see
        # docs/benchmarks.md). Scores in the question's own language are lowered by
        # `same_language_bias`.
        languages = ("en", "es") if "language" not in filters else (filters["language"],)
        question_language = detect_language(query)
        found: dict[str, float] = {}
        for coll in collections:
            if coll in DENSE_COLLECTIONS:
                for hit in self.store.query(coll, vector, self.pool * DENSE_DEPTH, chroma_where):
                    found[hit.id] = 1.0 - hit.distance
        live = self.catalog.chunks_by_id(list(found))  # orphan vectors of an interrupted run are dropped here
        dense_scores: dict[str, float] = {}
        adjusted: dict[str, float] = {}
        per_language: dict[tuple[str, str], int] = defaultdict(int)
        for cid in sorted(live, key=lambda i: -found[i]):
            language = live[cid].language
            if language not in languages or per_language[(language, live[cid].collection)] >= self.pool:
                continue
            per_language[(language, live[cid].collection)] += 1
            dense_scores[cid] = found[cid]
            adjusted[cid] = found[cid] - (self.same_language_bias if language == question_language else 0.0)
        ids = sorted(adjusted, key=lambda i: -adjusted[i])
        chunks.update({i: live[i] for i in ids})
        ranked["dense"] = ids[: self.pool]

        # Keyword search on the question plus its glossary translation (cross-lingual keywords).
        keyword_query = " ".join([query, *translate_terms(query)])
        keyword: list[str] = []
        for chunk, _score in self.catalog.keyword_search(keyword_query, self.pool, collections, filters):
            chunks[chunk.id] = chunk
            keyword.append(chunk.id)
        ranked["keyword"] = keyword

        exact: list[str] = []
        for ident in identifiers(query):
            is_code = bool(TOPIC_CODE.fullmatch(ident)) or ident.startswith("Artículo")
            for coll in collections:
                if not is_code and coll == DOCUMENTS:
                    continue  # plain acronyms name projects; in documents keyword search covers them
                for chunk in self.catalog.find_exact(ident, self.pool, coll):
                    if all(getattr(chunk, key) == value for key, value in filters.items()):
                        chunks[chunk.id] = chunk
                        if chunk.id not in exact:
                            exact.append(chunk.id)
        # Among exact hits, prefer passages of the identifier's own section (a topic's text rather
        # than a table that lists its code), then those the other lists also liked.
        other = {i: r for r, i in enumerate(ranked["keyword"])}
        own = {i for i in exact if any(ident in chunks[i].heading for ident in identifiers(query))}
        exact.sort(key=lambda i: (i not in own, other.get(i, len(other))))
        ranked["exact"] = exact

        fused: dict[str, float] = defaultdict(float)
        sources: dict[str, list[str]] = defaultdict(list)
        weights = {"dense": 1.0, "keyword": 1.0, "exact": 3.0}
        for name, ids in ranked.items():
            for rank, cid in enumerate(ids):
                fused[cid] += weights[name] / (RRF_K + rank + 1)
                sources[cid].append(name)
        # A question that names a work-programme period or the Mexican law prefers that document.
        for key, value in implied_filters(query).items():
            for cid in fused:
                if getattr(chunks[cid], key) == value:
                    fused[cid] *= 1.5
        best = sorted(fused, key=lambda i: -fused[i])[:k]
        return [Hit(chunks[i], fused[i], tuple(sources[i]), dense_scores.get(i)) for i in best]


def search_json(query: str, hits: Sequence[Hit]) -> dict[str, object]:
    """The JSON shape of `eumex search --json` and `GET /api/search`."""
    return {
        "query": query,
        "results": [
            {
                "rank": rank,
                "document": h.chunk.document,
                "page": h.chunk.page_start,
                "locator": h.chunk.locator,
                "chunk_id": h.chunk.id,
                "heading": h.chunk.heading,
                "text": h.chunk.text,
                "score": round(h.score, 6),
                "sources": list(h.sources),
            }
            for rank, h in enumerate(hits, start=1)
        ],
    }
