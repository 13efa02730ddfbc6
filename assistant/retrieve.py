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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from assistant.errors import IndexNotReady
from assistant.index.catalog import Catalog
from assistant.index.embed import Embedder
from assistant.index.vocabulary import Vocabulary
from assistant.index.vectors import DenseHit, InMemoryVectors, VectorStore
from assistant.manifest import Manifest
from assistant.query import RARE, Query, is_code, read_query
from assistant.ranking import Candidates, LearnedRanker
from assistant.textutil import translate_terms
from assistant.types import DENSE_COLLECTIONS, DOCUMENTS, LANGUAGES, SECOND_DENSE_COLLECTIONS, Chunk, Hit

RRF_K = 60
FILTER_KEYS = ("programme", "kind", "language", "period", "doc_id")
# Whether a call is (still) open is answered by its deadline: the work programmes' call conditions.
DEADLINE_WORDS = ("deadline", "deadlines", "opening")
PRIOR = 1.5  # how much a document the question implies is preferred
NAMED_PRIOR = 2.0  # how much a document the question names is preferred (measured: docs/answering.md)
RERANK_DEPTH = 20  # fused candidates reordered by their e5 similarity
RERANK_WEIGHT = 8.0  # score x (1 + weight x similarity above the least similar candidate's)
TRANSLATED_QUESTIONS = ("en", "es")  # whose words the vocabulary translates (measured: docs/answering.md)
WIDEN = 4  # a filtered dense search looks at this many times the pool, unfiltered, before filtering


@dataclass(frozen=True)
class ChunkFilters:
    """Chunk filters: ``where`` keeps chunks with these values; each of ``where_not`` drops the chunks that
    have all of its values."""

    where: dict[str, str]
    where_not: tuple[dict[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.where or self.where_not)

    def passing(self, catalog: Catalog, hits: Sequence[DenseHit]) -> set[str]:
        """The ids of those hits whose chunks pass the filters."""
        return catalog.live_ids([h.id for h in hits], self.where, self.where_not)


@dataclass
class Retriever:
    """Finds the passages that can answer a question."""

    catalog: Catalog
    store: VectorStore
    embedder: Embedder
    second: VectorStore | None = None  # the second dense index of the passages (e5), when configured
    manifest: Manifest | None = None  # to read a text query (which documents it names)
    ranker: LearnedRanker | None = None  # orders the candidates; None: reciprocal-rank fusion
    vocabulary: Vocabulary | None = None  # the question's words in the other language (assistant/index/vocabulary.py)
    pool: int = 30  # candidates taken from each list before fusion
    same_language_bias: float = 0.05  # calibrated on the development set (docs/answering.md)
    second_language_bias: float = 0.08  # the same for e5 (which prefers its own language more)

    def __post_init__(self) -> None:
        self._query_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="e5-query")
        self._cache_lock = threading.Lock()

    def embed_query(self, query: str, embedder: Embedder | None = None) -> np.ndarray:
        """The query's vector by the main (or the given) embedder; recent queries are remembered."""
        embedder = embedder or self.embedder
        key = (embedder.name, query)
        with self._cache_lock:
            vector = self._query_cache.get(key)
        if vector is None:
            vector = embedder.embed_query(query)
            with self._cache_lock:
                self._query_cache[key] = vector
                if len(self._query_cache) > 512:
                    self._query_cache.popitem(last=False)
        return vector

    def vectors(self, store: VectorStore) -> InMemoryVectors:
        """The in-memory copy of a store's dense vectors, taken again when the indexed documents change
        (ingestion adds a document's vectors before its catalog rows, so a new copy has them)."""
        collections = SECOND_DENSE_COLLECTIONS if store is self.second else DENSE_COLLECTIONS
        return self.catalog.per_generation(
            ("vectors", store.embedder.name), lambda: InMemoryVectors(store, collections)
        )

    def warm_up(self) -> None:
        """Load the models and the in-memory vectors now rather than at the first question."""
        for store in (self.store, self.second):
            if store is not None:
                self.embed_query("warm up", store.embedder)
                self.vectors(store)
        if self.vocabulary is not None:  # both languages' word matrices
            self.vocabulary.translate("calentamiento", "es")
            self.vocabulary.translate("warming", "en")

    def _dense(
        self,
        store: VectorStore,
        vector: np.ndarray,
        collections: Sequence[str],
        filters: ChunkFilters,
        languages: Sequence[str],
        question_language: str,
        bias: float,
    ) -> tuple[list[str], dict[str, float]]:
        """Dense candidates, best first, with their cosine similarities.

        The models prefer passages in the question's own language, so a Spanish question would otherwise
        rarely see the English work programmes: the store keeps one collection per passage language, the
        best ``pool`` of each are taken, and scores in the question's own language are lowered by
        ``bias`` before they are ranked together.

        The search is exact, over the store's in-memory copy (:meth:`vectors`). Filters are applied in
        the catalog to a wider candidate list; only when too few of those pass is the whole partition
        ranked and filtered."""
        found: dict[str, float] = {}
        adjusted: dict[str, float] = {}
        in_memory = self.vectors(store)
        for coll in collections:
            if coll not in DENSE_COLLECTIONS:
                continue
            for language in languages:
                hits = in_memory.nearest(coll, language, vector, self.pool * (WIDEN if filters else 1))
                if filters:
                    passing = filters.passing(self.catalog, hits)
                    if len(passing) < self.pool and len(hits) == self.pool * WIDEN:
                        hits = in_memory.nearest(coll, language, vector)  # the whole partition, ranked
                        passing = filters.passing(self.catalog, hits)
                    hits = [h for h in hits if h.id in passing][: self.pool]
                for hit in hits:
                    found[hit.id] = 1.0 - hit.distance
                    adjusted[hit.id] = found[hit.id] - (bias if language == question_language else 0.0)
        live = self.catalog.live_ids(list(found))  # orphan vectors of an interrupted run are dropped here
        ranked = sorted((i for i in adjusted if i in live), key=lambda i: -adjusted[i])
        return ranked[: self.pool], found

    def ensure_ready(self) -> None:
        """Raise IndexNotReady when nothing has been ingested yet."""
        if not self.catalog.counts()["chunks"]:
            raise IndexNotReady("The index is empty - run `eumex ingest` first (or `make run`).")

    def search(
        self,
        query: Query | str,
        k: int = 8,
        collections: Sequence[str] = (DOCUMENTS,),
        filters: dict[str, str] | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """Return the k best chunks for the query, best first."""
        if isinstance(query, str):
            query = read_query(query, self.manifest)
        found, second_vector = self.candidates(query, collections, filters, vector)
        if self.ranker is not None:
            return self._learned(query, found, k)
        return self._fused(query, found, k, second_vector)

    def candidates(
        self,
        query: Query,
        collections: Sequence[str] = (DOCUMENTS,),
        filters: dict[str, str] | None = None,
        vector: np.ndarray | None = None,
        similarities: bool = False,
    ) -> tuple[Candidates, np.ndarray | None]:
        """Every leg's candidates for the query (and the question's e5 vector, when that leg ran); with
        ``similarities`` (always when a learned ranker orders them) each candidate's cosine too."""
        filters = {key: v for key, v in (filters or {}).items() if v and key in FILTER_KEYS}
        found = Candidates()
        chunks, ranked = found.chunks, found.ranked

        question_language = query.language
        # The e5 leg embeds the question in a thread while the other legs run (docs/answering.md: it ranks
        # better for both languages, most for questions asked about a document in the other language).
        second_collections = [c for c in collections if c in SECOND_DENSE_COLLECTIONS]
        unnamed = query.unnamed
        second_future = None
        if self.second is not None and second_collections:
            second_future = self._threads.submit(self.embed_query, unnamed, self.second.embedder)
        if vector is None:
            vector = self.embed_query(query.text)
        # the user's own filter on a field wins over what the question implies about it
        excluded = tuple(e for e in query.exclusions if not any(key in filters for key in e))
        dense_filters = ChunkFilters({key: value for key, value in filters.items() if key != "language"}, excluded)
        languages = LANGUAGES if "language" not in filters else (filters["language"],)
        ranked["dense"], found.scores["dense"] = self._dense(
            self.store, vector, collections, dense_filters, languages, question_language, self.same_language_bias
        )
        chunks.update(self.catalog.chunks_by_id(ranked["dense"]))

        # Keyword search on the question plus its glossary translation (cross-lingual keywords), and the
        # deadline's words when it asks whether a call is open.
        deadline = DEADLINE_WORDS if query.asks_if_open else ()
        found.translated = self.translated(unnamed, question_language)
        keyword_query = " ".join([unnamed, *found.translated, *deadline])
        keyword: list[str] = []
        found.scores["keyword"] = {}
        for chunk, score in self.catalog.keyword_search(keyword_query, self.pool, collections, filters, excluded):
            chunks[chunk.id] = chunk
            keyword.append(chunk.id)
            found.scores["keyword"][chunk.id] = score
        ranked["keyword"] = keyword

        exact: list[str] = []
        for ident in query.identifiers:
            for coll in collections:
                hits = self.catalog.find_exact(ident, self.pool, coll)
                if not is_code(ident) and coll == DOCUMENTS and len(hits) > RARE:
                    continue  # an acronym the documents use everywhere (FNSSA, SC2) singles nothing out
                for chunk in hits:
                    if all(getattr(chunk, key) == value for key, value in filters.items()) and not any(
                        all(getattr(chunk, key) == value for key, value in exclusion.items()) for exclusion in excluded
                    ):
                        chunks[chunk.id] = chunk
                        if chunk.id not in exact:
                            exact.append(chunk.id)
        # Among exact hits, prefer passages of the identifier's own section (a topic's text rather
        # than a table that lists its code), then those the other lists also liked.
        other = {i: r for r, i in enumerate(ranked["keyword"])}
        found.own = {i for i in exact if any(_names(chunks[i].heading, ident) for ident in query.identifiers)}
        exact.sort(key=lambda i: (i not in found.own, other.get(i, len(other))))
        ranked["exact"] = exact

        second_vector: np.ndarray | None = None
        if second_future is not None:
            assert self.second is not None
            second_vector = second_future.result()
            ranked["e5"], found.scores["e5"] = self._dense(
                self.second,
                second_vector,
                second_collections,
                dense_filters,
                languages,
                question_language,
                self.second_language_bias,
            )
            chunks.update(self.catalog.chunks_by_id([i for i in ranked["e5"] if i not in chunks]))
        if similarities or self.ranker is not None:  # the learned ranker compares every candidate's
            found.similarity = self._similarities(self.store, chunks, vector)
            found.sentence_similarity = self._sentence_similarities(chunks, vector)
            if second_vector is not None and self.second is not None:
                found.second_similarity = self._similarities(self.second, chunks, second_vector)
        return found, second_vector

    def _similarities(self, store: VectorStore, chunks: dict[str, Chunk], vector: np.ndarray) -> dict[str, float]:
        """Cosine of each candidate that has a vector in this store with the question's vector."""
        unit = np.asarray(vector, dtype=np.float32)
        unit = unit / max(float(np.linalg.norm(unit)), 1e-12)
        return {cid: float(v @ unit) for cid, v in self.vectors(store).vectors_of(chunks).items()}

    def translated(self, text: str, language: str) -> list[str]:
        """The text's words in the other language: the glossary's, then the passages' nearest words."""
        words = translate_terms(text)
        if self.vocabulary is not None and language in TRANSLATED_QUESTIONS:
            words += self.vocabulary.translate(text, language)
        return list(dict.fromkeys(words))

    def _sentence_similarities(self, chunks: dict[str, Chunk], vector: np.ndarray) -> dict[str, float]:
        """Each candidate's closest sentence to the question (cosine; sentence vectors come from ingestion)."""
        unit = np.asarray(vector, dtype=np.float32)
        unit = unit / max(float(np.linalg.norm(unit)), 1e-12)
        return {cid: float(np.max(m @ unit)) for cid, m in self.catalog.chunk_sentence_vectors(list(chunks)).items()}

    def _learned(self, query: Query, found: Candidates, k: int) -> list[Hit]:
        """The candidates ordered by the learned ranker."""
        assert self.ranker is not None
        sources = {cid: tuple(leg for leg, ids in found.ranked.items() if cid in ids) for cid in found.chunks}
        return [
            Hit(found.chunks[cid], score, sources[cid], found.similarity.get(cid))
            for cid, score in pages_first(self.ranker.order(query, found), found.chunks)[:k]
        ]

    def _fused(self, query: Query, found: Candidates, k: int, second_vector: np.ndarray | None) -> list[Hit]:
        """The candidates fused by reciprocal rank, with the priors the question implies, reordered by e5."""
        chunks, ranked = found.chunks, found.ranked
        fused: dict[str, float] = defaultdict(float)
        sources: dict[str, list[str]] = defaultdict(list)
        weights = {"dense": 1.0, "e5": 1.0, "keyword": 1.0, "exact": 3.0}
        for name, ids in ranked.items():
            for rank, cid in enumerate(ids):
                fused[cid] += weights[name] / (RRF_K + rank + 1)
                sources[cid].append(name)
        # A question that names a work-programme period or the Mexican law prefers that document.
        for key, value in query.priors.items():
            for cid in fused:
                if getattr(chunks[cid], key) == value:
                    fused[cid] *= PRIOR
        # A question that names a document ("the evaluation form", "anexo 1", "e-infrastructure") prefers it.
        for doc_id in query.named_documents:
            for cid in fused:
                if chunks[cid].doc_id == doc_id:
                    fused[cid] *= NAMED_PRIOR
        best = sorted(fused, key=lambda i: -fused[i])[: max(k, RERANK_DEPTH)]
        if second_vector is not None:
            fused.update(self._rerank(best, fused, chunks, second_vector, found.scores.get("e5", {})))
            best.sort(key=lambda i: -fused[i])
        dense_scores = found.scores.get("dense", {})
        return [Hit(chunks[i], fused[i], tuple(sources[i]), dense_scores.get(i)) for i in best[:k]]

    def _rerank(
        self,
        best: list[str],
        fused: dict[str, float],
        chunks: dict[str, Chunk],
        vector: np.ndarray,
        similarities: dict[str, float],
    ) -> dict[str, float]:
        """New scores for the best fused candidates, by how close e5 puts each passage to the question.

        Rank fusion keeps only the order of each list: a passage just outside e5's own top ``pool`` gets
        nothing from it, and one far ahead counts no more than one barely ahead. Here every candidate's
        score grows with its page's e5 similarity (its closest passage's) above the least similar
        candidate's. Records without an e5 vector (topics, projects) keep their fused score, as the least
        similar candidate does: tried as a typical (median) candidate instead, they pushed the
        work-programme page of a topic-code question down more often. docs/answering.md has the
        measurements behind ``RERANK_WEIGHT``."""
        assert self.second is not None
        missing = [
            cid
            for cid in best
            if cid not in similarities and chunks[cid].collection in SECOND_DENSE_COLLECTIONS
        ]
        scores = dict(similarities)
        for cid, passage in self.vectors(self.second).vectors_of(missing).items():
            scores[cid] = float(passage @ vector)
        known = [scores[cid] for cid in best if cid in scores]
        floor = min(known, default=0.0)
        # A page is as close as its closest passage: a page's short tail ("Thresholds The threshold for
        # individual criteria is 3.") is judged with the passage it continues.
        page_best: dict[tuple[str, int | None], float] = {}
        for cid in best:
            if cid in scores:
                page = (chunks[cid].doc_id, chunks[cid].page_start)
                page_best[page] = max(page_best.get(page, floor), scores[cid])
        return {
            cid: fused[cid]
            * (1 + RERANK_WEIGHT * (page_best.get((chunks[cid].doc_id, chunks[cid].page_start), floor) - floor))
            for cid in best
        }


def pages_first(order: list[tuple[str, float]], chunks: dict[str, Chunk]) -> list[tuple[str, float]]:
    """The best passage of each page first, in order, then the pages' other passages: five results name five
    pages, not one page's neighbouring passages (on the development and held-out sets it put the right page
    in the top 5 for 0.87 of questions instead of 0.83, the top 1 unchanged: docs/answering.md)."""
    seen: set[tuple[str, int | None, str | None]] = set()
    first, rest = [], []
    for pair in order:
        c = chunks[pair[0]]
        page = (c.doc_id, c.page_start, None if c.page_start else c.locator)
        (rest if page in seen else first).append(pair)
        seen.add(page)
    return first + rest


def _names(heading: str, ident: str) -> bool:
    """Whether a heading names the identifier as a whole token, in any case ("ARTICLE 6 — …" names
    "Article 6"; "Article 22" does not name "Article 2")."""
    return ident.lower() in heading.lower() and bool(
        re.search(rf"(?<![\w-]){re.escape(ident)}(?![\w-])", heading, re.IGNORECASE)
    )


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
