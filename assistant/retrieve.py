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
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.catalog import Catalog
from assistant.embed import Embedder
from assistant.errors import IndexNotReady
from assistant.guard import asks_if_open
from assistant.language import detect_language
from assistant.models import DENSE_COLLECTIONS, DOCUMENTS, LANGUAGES, SECOND_DENSE_COLLECTIONS, Chunk, Hit
from assistant.store import DenseHit, InMemoryVectors, VectorStore
from assistant.textutil import TOPIC_CODE, translate_terms

RRF_K = 60
ARTICLE = re.compile(r"\b(?:art[íi]culo|article|art\.)\s*(\d{1,3})\b", re.IGNORECASE)
# Project acronyms: at least two capitals anywhere (BELLA-S1, GEMex, ZikaPLAN, ENERXICO).
ACRONYM = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*[A-Z])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b")
COMMON_UPPER = {"EU", "UE", "H2020", "RIA", "IA", "CSA", "MSCA", "ERC", "SME", "PDF", "NCP", "EUR", "THE", "AND", "PhD"}
FILTER_KEYS = ("programme", "kind", "language", "period", "doc_id")


PERIOD = re.compile(r"\b20(14|16|18)\s*[-–/]\s*(?:20)?(15|17|20)\b")
LAW = re.compile(r"\b(ley|law|mexican science law|ley general|lgmhcti)\b", re.IGNORECASE)
# Names of the EU programme's instruments: a question naming one (and not the law) asks about EU rules,
# not about the Mexican law, however Mexican its other words are.
EU_PROGRAMME = re.compile(
    r"\b(h2020|horizon(?:te)?\s*(?:2020|europe|europa)|ria|csa|msca|marie\s+(?:sk[lł]odowska[- ])?curie|erc|"
    r"research and innovation actions?|innovation actions?|acci[oó]n(?:es)? de (?:investigaci[oó]n e )?innovaci[oó]n|"
    r"work programmes?|programas? de trabajo|(?:model )?grant agreements?|acuerdos? de subvenci[oó]n)\b",
    re.IGNORECASE,
)
# A question about Mexico that says nothing of the EU asks about Mexican rules: the law is the corpus's one
# Mexican text ("Do private companies receiving Mexican public R&D support have to put in their own money?").
MEXICO = re.compile(r"\b(m[eé]xico|mexican[oa]?s?)\b", re.IGNORECASE)
EU_CONTEXT = re.compile(
    r"\b(eu|ue|europ\w*|comisi[oó]n|commission|proposals?|propuestas?|consorti\w*|calls?|convocatorias?)\b",
    re.IGNORECASE,
)
# The law's own name: every page of it says "Humanidades, Ciencias, Tecnologías e Innovación", so the name
# picks out the law (the prior below does that) but says nothing about which of its pages answers.
LAW_TITLE = re.compile(
    r"\b(?:general law|ley general)\b[^?.;]{0,25}?\bhuman\w*,?\s+(?:sciences?|ciencias?),?\s+"
    r"(?:technolog\w*|tecnolog\w*),?\s+(?:and|e|y)\s+(?:innovation|innovaci[oó]n)\b"
    r"|\b(?:mexican|mexico's) (?:science|research) law\b|\bley general de hcti\b|\blgmhcti\b",
    re.IGNORECASE,
)
# Whether a call is (still) open is answered by its deadline: the work programmes' call conditions.
DEADLINE_WORDS = ("deadline", "deadlines", "opening")
PRIOR = 1.5  # how much a document the question implies is preferred
NAMED_PRIOR = 2.0  # how much a document the question names is preferred (measured: docs/answering.md)
RARE = 10  # an acronym found in at most this many passages is an exact hit in the documents (CELAC)
RERANK_DEPTH = 20  # fused candidates reordered by their e5 similarity
RERANK_WEIGHT = 8.0  # score x (1 + weight x similarity above the least similar candidate's)
WIDEN = 4  # a filtered dense search looks at this many times the pool, unfiltered, before filtering


@dataclass(frozen=True)
class Filters:
    """Chunk filters: ``where`` keeps chunks with these values; ``where_not`` drops chunks with all of its."""

    where: dict[str, str]
    where_not: dict[str, str]

    def __bool__(self) -> bool:
        return bool(self.where or self.where_not)

    def passing(self, catalog: Catalog, hits: Sequence[DenseHit]) -> set[str]:
        """The ids of those hits whose chunks pass the filters."""
        return catalog.live_ids([h.id for h in hits], self.where, self.where_not)


def without_law_title(query: str) -> str:
    """The question without the law's name (the keyword and e5 searches use this; the main dense model
    measured better with the whole question)."""
    return LAW_TITLE.sub(" ", query)


def implied_filters(query: str) -> dict[str, str]:
    """Soft filters a question implies: a work-programme period, or the Mexican law."""
    found: dict[str, str] = {}
    if m := PERIOD.search(query):
        found["period"] = f"20{m.group(1)}-20{m.group(2)}"
    if LAW.search(query) or _about_mexico_alone(query):
        found["kind"] = "law"
    return found


def _about_mexico_alone(query: str) -> bool:
    """A question about Mexico that names nothing of the EU (no EU word, instrument or topic code)."""
    return bool(MEXICO.search(query)) and not any(p.search(query) for p in (EU_CONTEXT, EU_PROGRAMME, TOPIC_CODE))


MEXICAN_LAW = {"programme": "mexico", "kind": "law"}


def implied_exclusions(query: str) -> dict[str, str]:
    """The passages a question rules out (those with all of these values): one about an EU programme that
    does not name a law is not about the Mexican law (an English question about "a Mexican university in
    an H2020 action" otherwise gets the law's articles on Mexican universities from every list)."""
    if EU_PROGRAMME.search(query) and not LAW.search(query):
        return dict(MEXICAN_LAW)
    return {}


def identifiers(query: str) -> list[str]:
    """Identifiers worth an exact lookup: topic codes, law articles, project acronyms."""
    found: list[str] = []
    found += TOPIC_CODE.findall(query)
    for number in ARTICLE.findall(query):
        found.append(f"Artículo {number}.")
    for token in ACRONYM.findall(query):
        if token in COMMON_UPPER or token in found or any(token in f for f in found) or _compound_name(token):
            continue
        found.append(token)
    return found


def _compound_name(token: str) -> bool:
    """A name such as "EU-China" or "UE-México": common abbreviations and capitalised words joined by
    hyphens, not an acronym to look up (it made the heading "EU-China cooperation on soil." an answer)."""
    parts = token.split("-")
    return len(parts) > 1 and all(p in COMMON_UPPER or re.fullmatch(r"[A-Z][a-z]+", p) for p in parts)


def is_code(ident: str) -> bool:
    """A topic code or a law article, as opposed to an acronym."""
    return bool(TOPIC_CODE.fullmatch(ident)) or ident.startswith("Artículo")


def acronyms(query: str) -> list[str]:
    """The acronyms among a question's identifiers (project names, CELAC): not topic codes or articles."""
    return [ident for ident in identifiers(query) if not is_code(ident)]


@dataclass
class Retriever:
    """Finds the passages that can answer a question."""

    catalog: Catalog
    store: VectorStore
    embedder: Embedder
    second: VectorStore | None = None  # the second dense index of the passages (e5), when configured
    named: Callable[[str], set[str]] | None = None  # question -> ids of the documents it names (manifest)
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

    def _dense(
        self,
        store: VectorStore,
        vector: np.ndarray,
        collections: Sequence[str],
        filters: Filters,
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

        question_language = detect_language(query)
        # The e5 leg embeds the question in a thread while the other legs run (docs/answering.md: it ranks
        # better for both languages, most for questions asked about a document in the other language).
        second_collections = [c for c in collections if c in SECOND_DENSE_COLLECTIONS]
        unnamed = without_law_title(query)
        second_future = None
        if self.second is not None and second_collections:
            second_future = self._threads.submit(self.embed_query, unnamed, self.second.embedder)
        if vector is None:
            vector = self.embed_query(query)
        excluded = implied_exclusions(query)
        if any(key in filters for key in excluded):
            excluded = {}  # the user's own filter on these fields wins
        dense_filters = Filters({key: value for key, value in filters.items() if key != "language"}, excluded)
        languages = LANGUAGES if "language" not in filters else (filters["language"],)
        ranked["dense"], dense_scores = self._dense(
            self.store, vector, collections, dense_filters, languages, question_language, self.same_language_bias
        )
        chunks.update(self.catalog.chunks_by_id(ranked["dense"]))

        # Keyword search on the question plus its glossary translation (cross-lingual keywords), and the
        # deadline's words when it asks whether a call is open.
        deadline = DEADLINE_WORDS if asks_if_open(query) else ()
        keyword_query = " ".join([unnamed, *translate_terms(unnamed), *deadline])
        keyword: list[str] = []
        for chunk, _score in self.catalog.keyword_search(keyword_query, self.pool, collections, filters, excluded):
            chunks[chunk.id] = chunk
            keyword.append(chunk.id)
        ranked["keyword"] = keyword

        exact: list[str] = []
        for ident in identifiers(query):
            for coll in collections:
                found = self.catalog.find_exact(ident, self.pool, coll)
                if not is_code(ident) and coll == DOCUMENTS and len(found) > RARE:
                    continue  # an acronym the documents use everywhere (FNSSA, SC2) singles nothing out
                for chunk in found:
                    if all(getattr(chunk, key) == value for key, value in filters.items()) and not (
                        excluded and all(getattr(chunk, key) == value for key, value in excluded.items())
                    ):
                        chunks[chunk.id] = chunk
                        if chunk.id not in exact:
                            exact.append(chunk.id)
        # Among exact hits, prefer passages of the identifier's own section (a topic's text rather
        # than a table that lists its code), then those the other lists also liked.
        other = {i: r for r, i in enumerate(ranked["keyword"])}
        own = {i for i in exact if any(ident in chunks[i].heading for ident in identifiers(query))}
        exact.sort(key=lambda i: (i not in own, other.get(i, len(other))))
        ranked["exact"] = exact

        second_vector: np.ndarray | None = None
        second_scores: dict[str, float] = {}
        if second_future is not None:
            assert self.second is not None
            second_vector = second_future.result()
            ranked["e5"], second_scores = self._dense(
                self.second,
                second_vector,
                second_collections,
                dense_filters,
                languages,
                question_language,
                self.second_language_bias,
            )
            chunks.update(self.catalog.chunks_by_id([i for i in ranked["e5"] if i not in chunks]))

        fused: dict[str, float] = defaultdict(float)
        sources: dict[str, list[str]] = defaultdict(list)
        weights = {"dense": 1.0, "e5": 1.0, "keyword": 1.0, "exact": 3.0}
        for name, ids in ranked.items():
            for rank, cid in enumerate(ids):
                fused[cid] += weights[name] / (RRF_K + rank + 1)
                sources[cid].append(name)
        # A question that names a work-programme period or the Mexican law prefers that document.
        for key, value in implied_filters(query).items():
            for cid in fused:
                if getattr(chunks[cid], key) == value:
                    fused[cid] *= PRIOR
        # A question that names a document ("the evaluation form", "anexo 1", "e-infrastructure") prefers it.
        for doc_id in self.named(query) if self.named else ():
            for cid in fused:
                if chunks[cid].doc_id == doc_id:
                    fused[cid] *= NAMED_PRIOR
        best = sorted(fused, key=lambda i: -fused[i])[: max(k, RERANK_DEPTH)]
        if second_vector is not None:
            fused.update(self._rerank(best, fused, chunks, second_vector, second_scores))
            best.sort(key=lambda i: -fused[i])
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
