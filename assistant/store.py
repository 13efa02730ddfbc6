"""Vector store: Chroma, embedded (PersistentClient) or a ``chroma run`` server, one code path.

Vectors are always computed by our own embedder and passed in: Chroma never embeds anything
itself (its default function downloads an English-only model). Collections are named after
the embedder, so changing the model builds a new index instead of mixing vector spaces.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.types import EmbeddingFunction
from chromadb.config import Settings as ChromaSettings

from assistant.config import Settings
from assistant.embed import Embedder
from assistant.errors import StoreError
from assistant.models import Chunk

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
    """One Chroma collection per dense chunk collection ("documents", "topics")."""

    def __init__(self, client: ClientAPI, prefix: str, embedder: Embedder) -> None:
        self._client = client
        self._prefix = prefix
        self._embedder = embedder
        self._embedder_name = embedder.name
        self._collections: dict[str, chromadb.Collection] = {}

    def collection_name(self, collection: str) -> str:
        return f"{self._prefix}-{collection}-{self._embedder_name}"[:512]

    def _collection(self, collection: str) -> chromadb.Collection:
        if collection not in self._collections:
            try:
                self._collections[collection] = self._client.get_or_create_collection(
                    self.collection_name(collection),
                    embedding_function=ChromaEmbedding(self._embedder),
                    metadata={"hnsw:space": "cosine", "embedder": self._embedder_name},
                )
            except Exception as exc:
                raise StoreError(f"Cannot open Chroma collection '{collection}': {exc}") from exc
        return self._collections[collection]

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Upsert chunk vectors with their metadata (used by filters)."""
        for start in range(0, len(chunks), MAX_BATCH):
            part = chunks[start : start + MAX_BATCH]
            by_coll: dict[str, list[int]] = {}
            for i, ch in enumerate(part):
                by_coll.setdefault(ch.collection, []).append(i)
            for coll, idx in by_coll.items():
                # Texts stay in the catalog: storing them here too would cost a second full-text index.
                self._collection(coll).upsert(
                    ids=[part[i].id for i in idx],
                    embeddings=vectors[start : start + MAX_BATCH][idx],
                    metadatas=[part[i].metadata() for i in idx],  # type: ignore[misc]
                )

    def existing_ids(self, collection: str, ids: Iterable[str]) -> set[str]:
        """Which of these ids already have a vector (lets an interrupted ingestion resume)."""
        ids = list(ids)
        found: set[str] = set()
        for start in range(0, len(ids), MAX_BATCH):
            got = self._collection(collection).get(ids=ids[start : start + MAX_BATCH], include=[])
            found.update(got["ids"])
        return found

    def all_ids(self, collection: str) -> set[str]:
        coll = self._collection(collection)
        found: set[str] = set()
        offset = 0
        while True:
            got = coll.get(include=[], limit=MAX_BATCH, offset=offset)
            found.update(got["ids"])
            if len(got["ids"]) < MAX_BATCH:
                return found
            offset += MAX_BATCH

    def delete(self, collection: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), MAX_BATCH):
            self._collection(collection).delete(ids=ids[start : start + MAX_BATCH])

    def count(self, collection: str) -> int:
        return self._collection(collection).count()

    def query(
        self, collection: str, vector: np.ndarray, k: int, where: dict | None = None  # type: ignore[type-arg]
    ) -> list[DenseHit]:
        """Nearest chunks by cosine distance."""
        coll = self._collection(collection)
        try:
            res = coll.query(
                query_embeddings=[vector.tolist()], n_results=k, where=where or None, include=["distances"]
            )
        except Exception as exc:
            raise StoreError(f"Chroma query failed: {exc}") from exc
        return [DenseHit(i, float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]
