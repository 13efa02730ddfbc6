"""Baselines the evaluation runs on the same questions, so our retrieval is judged side by side.

- ``dense``: plain LangChain + Chroma: one ``langchain_chroma.Chroma`` store holding every embedded chunk
  (passages and call topics), queried with ``similarity_search_with_score`` (cosine) and nothing else: no
  per-language queries, keyword search, fusion, routing or boosts. Same embedder and the very vectors
  ingestion stored: our collections keep no texts (they live in the catalog), so the store is built in
  memory from the catalog's texts and Chroma's vectors, without embedding the corpus again (~5 s).
- ``keyword``: the catalog's BM25 (SQLite FTS5) on the question alone, over every collection: no glossary
  translation, no dense or exact search.
"""

from __future__ import annotations

import uuid
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings

from assistant.index import Index
from assistant.types import DENSE_COLLECTIONS, Chunk
from evals.ragas_scores import as_langchain_embeddings
from ingestion.chunk import embedding_text

BATCH = 5000  # Chroma's limit per call is 5461


class DenseBaseline:
    """Plain dense retrieval through langchain-chroma over our embedded chunks."""

    name = "dense"
    label = "LangChain + Chroma, dense only"

    def __init__(self, index: Index) -> None:
        from langchain_chroma import Chroma

        known: dict[str, list[float]] = {}
        texts: list[str] = []
        ids: list[str] = []
        for coll in DENSE_COLLECTIONS:
            for batch_ids, vectors in index.store.vectors(coll):
                chunks = index.catalog.chunks_by_id(batch_ids)
                for cid, vector in zip(batch_ids, vectors, strict=True):
                    if cid in chunks:  # orphan vectors of an interrupted ingestion are skipped
                        text = embedding_text(chunks[cid])
                        known[text] = [float(x) for x in vector]
                        texts.append(text)
                        ids.append(cid)
        self._index = index
        self._client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        self._name = f"eval-dense-{uuid.uuid4().hex[:8]}"
        self.store = Chroma(
            collection_name=self._name,
            embedding_function=as_langchain_embeddings(index.embedder, known),
            client=self._client,
            collection_metadata={"hnsw:space": "cosine"},
        )
        for start in range(0, len(ids), BATCH):
            self.store.add_texts(texts[start : start + BATCH], ids=ids[start : start + BATCH])
        self.size = len(ids)

    def search(self, question: str, k: int = 10) -> list[Chunk]:
        docs = self.store.similarity_search_with_score(question, k=k)
        found = self._index.catalog.chunks_by_id([d.id for d, _ in docs if d.id])
        return [found[d.id] for d, _ in docs if d.id in found]

    def close(self) -> None:
        try:
            self._client.delete_collection(self._name)
        except Exception:  # noqa: BLE001 - an in-memory store; nothing to leak
            pass


class KeywordBaseline:
    """BM25 over the catalog's full-text index, on the question only."""

    name = "keyword"
    label = "catalog BM25, keyword only"

    def __init__(self, index: Index) -> None:
        self._catalog = index.catalog

    def search(self, question: str, k: int = 10) -> list[Chunk]:
        return [chunk for chunk, _score in self._catalog.keyword_search(question, k)]

    def close(self) -> None:
        pass


def build_baselines(index: Index) -> list[Any]:
    """Both baselines over an opened index."""
    return [DenseBaseline(index), KeywordBaseline(index)]
