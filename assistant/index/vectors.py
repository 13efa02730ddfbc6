"""Vector store: Chroma, embedded (PersistentClient) or a ``chroma run`` server, one code path.

Vectors are always computed by our own embedder and passed in: Chroma never embeds anything
itself (its default function downloads an English-only model). Collections are named after
the embedder, so changing the model builds a new index instead of mixing vector spaces.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.types import EmbeddingFunction
from chromadb.config import Settings as ChromaSettings

from assistant.config import Settings
from assistant.errors import StoreError
from assistant.index.embed import Embedder
from assistant.types import LANGUAGES, Chunk

log = logging.getLogger(__name__)

MAX_BATCH = 5000  # Chroma's limit is 5461 per call


class ChromaEmbedding(EmbeddingFunction):  # type: ignore[type-arg]
    """Our embedder, handed to Chroma explicitly so it never falls back to its downloading default."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def __call__(self, input):  # type: ignore[no-untyped-def]  # noqa: A002
        return list(self._embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "eumex"

    def get_config(self) -> dict:  # type: ignore[type-arg]
        return {"embedder": self._embedder.name}

    @staticmethod
    def build_from_config(config):  # type: ignore[no-untyped-def]
        """Chroma rebuilds functions from stored config; ours needs the live embedder, so this one refuses to embed."""
        return ChromaEmbedding(_Detached(str(config.get("embedder", "unknown"))))


class _Detached:
    """Stand-in for an embedder Chroma restored from config; we always pass vectors ourselves."""

    def __init__(self, name: str) -> None:
        self.name = name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise StoreError(f"Collection embedder '{self.name}' is not loaded here - open it through VectorStore")


@dataclass(frozen=True)
class DenseHit:
    id: str
    distance: float


def connect(settings: Settings) -> ClientAPI:
    """Open the embedded store under EUMEX_DATA_DIR, or the server at CHROMA_HOST:CHROMA_PORT."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.uses_chroma_server:
            client = chromadb.HttpClient(
                host=settings.chroma_host or "127.0.0.1", port=settings.chroma_port, settings=chroma_settings
            )
            client.heartbeat()
            return client
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except StoreError:
        raise
    except Exception as exc:  # chromadb raises many types; translate them all at this edge
        where = (
            f"the Chroma server at {settings.chroma_host}:{settings.chroma_port} - is `chroma run` started?"
            if settings.uses_chroma_server
            else f"the embedded store at {settings.index_dir}"
        )
        raise StoreError(f"Cannot open {where} ({type(exc).__name__}: {exc})") from exc


class VectorStore:
    """One Chroma collection per dense chunk collection ("documents", "topics") and passage language.

    Partitioned by language because the embedding models rank passages in the question's own language
    first: an English question about the Spanish-language Mexican law would find its passages only far
    down one shared ranking, where approximate (HNSW) results are unstable. Per language, each partition
    gives its own exact-enough top k, and no metadata filter (which makes Chroma scan) is needed.
    """

    def __init__(self, client: ClientAPI, prefix: str, embedder: Embedder) -> None:
        self._client = client
        self._prefix = prefix
        self._embedder = embedder
        self._embedder_name = embedder.name
        self._collections: dict[tuple[str, str], chromadb.Collection] = {}

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def collection_name(self, collection: str, language: str) -> str:
        return f"{self._prefix}-{collection}-{language}-{self._embedder_name}"[:512]

    def _collection(self, collection: str, language: str) -> chromadb.Collection:
        key = (collection, language)
        if key not in self._collections:
            try:
                self._collections[key] = self._client.get_or_create_collection(
                    self.collection_name(collection, language),
                    embedding_function=ChromaEmbedding(self._embedder),
                    metadata={"hnsw:space": "cosine", "embedder": self._embedder_name, "language": language},
                )
            except Exception as exc:
                raise StoreError(f"Cannot open Chroma collection '{collection}' ({language}): {exc}") from exc
        return self._collections[key]

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Upsert chunk vectors with their metadata (used by filters)."""
        for start in range(0, len(chunks), MAX_BATCH):
            part = chunks[start : start + MAX_BATCH]
            by_coll: dict[tuple[str, str], list[int]] = {}
            for i, ch in enumerate(part):
                by_coll.setdefault((ch.collection, ch.language), []).append(i)
            for (coll, language), idx in by_coll.items():
                # Texts stay in the catalog: storing them here too would cost a second full-text index.
                self._collection(coll, language).upsert(
                    ids=[part[i].id for i in idx],
                    embeddings=vectors[start : start + MAX_BATCH][idx],
                    metadatas=[part[i].metadata() for i in idx],  # type: ignore[misc]
                )

    def existing_ids(self, collection: str, ids: Iterable[str]) -> set[str]:
        """Which of these ids already have a vector (lets an interrupted ingestion resume)."""
        ids = list(ids)
        found: set[str] = set()
        for language in LANGUAGES:
            for start in range(0, len(ids), MAX_BATCH):
                got = self._collection(collection, language).get(ids=ids[start : start + MAX_BATCH], include=[])
                found.update(got["ids"])
        return found

    def all_ids(self, collection: str, language: str | None = None) -> set[str]:
        languages = (language,) if language else LANGUAGES
        return {cid for lang in languages for cid in self._ids(self._collection(collection, lang))}

    @staticmethod
    def _ids(coll: chromadb.Collection) -> set[str]:
        found: set[str] = set()
        offset = 0
        while True:
            got = coll.get(include=[], limit=MAX_BATCH, offset=offset)
            found.update(got["ids"])
            if len(got["ids"]) < MAX_BATCH:
                return found
            offset += MAX_BATCH

    def vectors(self, collection: str, language: str | None = None) -> Iterator[tuple[list[str], list[Any]]]:
        """All (ids, vectors) of a collection (or of one of its language partitions), a batch at a time."""
        for language in (language,) if language else LANGUAGES:
            coll = self._collection(collection, language)
            offset = 0
            while True:
                got = coll.get(include=["embeddings"], limit=MAX_BATCH, offset=offset)
                if got["ids"]:
                    yield list(got["ids"]), list(got["embeddings"])  # type: ignore[arg-type]
                if len(got["ids"]) < MAX_BATCH:
                    break
                offset += MAX_BATCH

    def delete(self, collection: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        for language in LANGUAGES:
            for start in range(0, len(ids), MAX_BATCH):
                self._collection(collection, language).delete(ids=ids[start : start + MAX_BATCH])

    def count(self, collection: str) -> int:
        return sum(self._collection(collection, language).count() for language in LANGUAGES)

    def query(
        self, collection: str, language: str, vector: np.ndarray, k: int, where: dict | None = None  # type: ignore[type-arg]
    ) -> list[DenseHit]:
        """Nearest chunks of one language by cosine distance, by Chroma's own (approximate, HNSW) search.
        The retriever searches an exact copy instead (:class:`InMemoryVectors`)."""
        coll = self._collection(collection, language)
        try:
            res = coll.query(
                query_embeddings=[vector.tolist()], n_results=k, where=where or None, include=["distances"]
            )
        except Exception as exc:
            raise StoreError(f"Chroma query failed: {exc}") from exc
        return [DenseHit(i, float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def migrate_unpartitioned(self, collections: Sequence[str]) -> int:
        """Move the vectors of an index built before the language partitions (one collection per chunk
        collection) into them, then drop the old collection. Returns how many vectors moved."""
        moved = 0
        try:
            names = {getattr(c, "name", c) for c in self._client.list_collections()}
        except Exception as exc:
            raise StoreError(f"Cannot list Chroma collections: {exc}") from exc
        for collection in collections:
            old_name = f"{self._prefix}-{collection}-{self._embedder_name}"[:512]
            if old_name not in names:
                continue
            old = self._client.get_collection(old_name, embedding_function=ChromaEmbedding(self._embedder))
            offset = 0
            while True:
                got = old.get(include=["embeddings", "metadatas"], limit=MAX_BATCH, offset=offset)
                by_language: dict[str, list[int]] = {}
                for i, meta in enumerate(got["metadatas"] or []):
                    by_language.setdefault(str((meta or {}).get("language", "en")), []).append(i)
                for language, idx in by_language.items():
                    self._collection(collection, language).upsert(
                        ids=[got["ids"][i] for i in idx],
                        embeddings=[got["embeddings"][i] for i in idx],  # type: ignore[index]
                        metadatas=[got["metadatas"][i] for i in idx],  # type: ignore[index]
                    )
                moved += len(got["ids"])
                if len(got["ids"]) < MAX_BATCH:
                    break
                offset += MAX_BATCH
            self._client.delete_collection(old_name)
            log.info("moved %d vectors of %s into per-language collections", moved, old_name)
        return moved


class InMemoryVectors:
    """An exact copy of a store's vectors of some collections, held in memory and searched exhaustively.

    The dense collections are small (2.8k passages and 2.6k topic records: 15 MB with both models), so one
    matrix product ranks a whole language partition in a fraction of a millisecond, where a Chroma query
    took 1.4 ms alone and 2-8 ms beside the e5 question embedding, and the e5 leg's queries come after that
    embedding, on the answer's critical path (docs/benchmarks.md). The ranking is also exact where HNSW's
    is approximate. Chroma stays the store: ingestion writes there and this copy is read from it; the
    retriever takes a new copy when the catalog says the documents changed.
    """

    def __init__(self, store: VectorStore, collections: Sequence[str]) -> None:
        self._partitions: dict[tuple[str, str], tuple[list[str], np.ndarray]] = {}
        self._rows: dict[str, tuple[np.ndarray, int]] = {}
        for collection in collections:
            for language in LANGUAGES:
                ids: list[str] = []
                batches: list[np.ndarray] = []
                try:
                    for batch_ids, vectors in store.vectors(collection, language):
                        ids += batch_ids
                        batches.append(np.asarray(vectors, dtype=np.float32).reshape(len(batch_ids), -1))
                except StoreError:
                    raise
                except Exception as exc:
                    raise StoreError(f"Cannot read the '{collection}' ({language}) vectors: {exc}") from exc
                if not ids:
                    continue
                matrix = np.concatenate(batches)
                # unit rows: a dot product is the cosine similarity, as Chroma's "cosine" space computes
                matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
                self._partitions[(collection, language)] = (ids, matrix)
                self._rows.update((cid, (matrix, row)) for row, cid in enumerate(ids))

    def __len__(self) -> int:
        return len(self._rows)

    def nearest(
        self, collection: str, language: str, vector: np.ndarray, k: int | None = None
    ) -> list[DenseHit]:
        """The k nearest chunks of one language partition by cosine distance (all of them, ranked,
        when k is None); equal distances (repeated boilerplate passages) keep the store's order."""
        ids, matrix = self._partitions.get((collection, language), ([], np.zeros((0, 0), dtype=np.float32)))
        if not ids:
            return []
        query = np.asarray(vector, dtype=np.float32)
        similarity = matrix @ (query / max(float(np.linalg.norm(query)), 1e-12))
        top = np.argsort(-similarity, kind="stable")[:k]  # a full sort of a few thousand: ~0.1 ms
        return [DenseHit(ids[i], 1.0 - float(similarity[i])) for i in top]

    def vectors_of(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        """The (unit-length) vectors of those of these chunks that have one."""
        return {cid: self._rows[cid][0][self._rows[cid][1]] for cid in ids if cid in self._rows}
