"""Hybrid retrieval: dense (Chroma) + keyword (BM25 over FTS5) + exact identifiers, fused by RRF.

Dense search reaches across languages (a Spanish question finds English passages); keyword
search catches rare words; exact search finds identifiers such as ``LC-SFS-34-2019``,
``Artículo 62`` or ``BELLA-S1`` verbatim. Reciprocal-rank fusion combines the three lists
without having to calibrate their scores against each other.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.catalog import Catalog
from assistant.embed import Embedder
from assistant.models import DENSE_COLLECTIONS, DOCUMENTS, Chunk, Hit
from assistant.store import VectorStore

RRF_K = 60
TOPIC_CODE = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*-\d{1,2}[a-z]?(?:-[A-Za-z])?(?:[-/]\d{4})+\b")
ARTICLE = re.compile(r"\b(?:art[íi]culo|article|art\.)\s*(\d{1,3})\b", re.IGNORECASE)
# Project acronyms: at least two capitals anywhere (BELLA-S1, GEMex, ZikaPLAN, ENERXICO).
ACRONYM = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*[A-Z])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b")
COMMON_UPPER = {"EU", "UE", "H2020", "RIA", "IA", "CSA", "MSCA", "ERC", "SME", "PDF", "NCP", "EUR", "THE", "AND"}
FILTER_KEYS = ("programme", "kind", "language", "period", "doc_id")


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

    def search(
        self,
        query: str,
        k: int = 8,
        collections: Sequence[str] = (DOCUMENTS,),
        filters: dict[str, str] | None = None,
    ) -> list[Hit]:
        """Return the k best chunks for the query, best first."""
        filters = {key: v for key, v in (filters or {}).items() if v and key in FILTER_KEYS}
        ranked: dict[str, list[str]] = {}
        chunks: dict[str, Chunk] = {}

        vector = self.embedder.embed([query])[0]
        where = {key: value for key, value in filters.items()}
        chroma_where = (
            None if not where else (where if len(where) == 1 else {"$and": [{k2: v} for k2, v in where.items()]})
        )
        dense_ids: list[str] = []
        dense_scores: dict[str, float] = {}
        for coll in collections:
            if coll not in DENSE_COLLECTIONS:
                continue
            for hit in self.store.query(coll, vector, self.pool, chroma_where):
                dense_ids.append(hit.id)
                dense_scores[hit.id] = 1.0 - hit.distance
        dense_ids.sort(key=lambda i: -dense_scores[i])
        live = self.catalog.chunks_by_id(dense_ids)  # orphan vectors of an interrupted run are dropped here
        chunks.update(live)
        ranked["dense"] = [i for i in dense_ids if i in live]

        keyword: list[str] = []
        for coll in collections:
            for chunk, _score in self.catalog.keyword_search(query, self.pool, coll, filters):
                chunks[chunk.id] = chunk
                keyword.append(chunk.id)
        ranked["keyword"] = keyword

        exact: list[str] = []
        for ident in identifiers(query):
            for coll in collections:
                for chunk in self.catalog.find_exact(ident, self.pool, coll):
                    if all(getattr(chunk, key) == value for key, value in filters.items()):
                        chunks[chunk.id] = chunk
                        if chunk.id not in exact:
                            exact.append(chunk.id)
        # Among exact hits, prefer those the other lists also liked.
        other = {i: r for r, i in enumerate(ranked["keyword"])}
        exact.sort(key=lambda i: other.get(i, len(other)))
        ranked["exact"] = exact

        fused: dict[str, float] = defaultdict(float)
        sources: dict[str, list[str]] = defaultdict(list)
        weights = {"dense": 1.0, "keyword": 1.0, "exact": 2.0}
        for name, ids in ranked.items():
            for rank, cid in enumerate(ids):
                fused[cid] += weights[name] / (RRF_K + rank + 1)
                sources[cid].append(name)
        best = sorted(fused, key=lambda i: -fused[i])[:k]
        return [Hit(chunks[i], fused[i], tuple(sources[i]), dense_scores.get(i)) for i in best]
