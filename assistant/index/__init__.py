"""The index: what ingestion writes and answering reads, opened once and shared.

    catalog.py         SQLite: chunk and page texts, keyword indexes (FTS5/BM25), ingestion state
    vectors.py         Chroma: the dense vectors, and an exact in-memory copy for searching them
    embed.py           the embedding models (packaged USE and e5, or an OpenAI-compatible endpoint)
    partner_tables.py  the CORDIS projects and participations as tables, for the partner search
    call_topics.py     the Horizon Europe call topics as records, for the topic finder and topic answers

Nothing is opened or loaded until first used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from assistant.config import Settings
from assistant.index.call_topics import CallTopicTable
from assistant.index.catalog import Catalog
from assistant.index.embed import Embedder, make_embedder, make_second_embedder
from assistant.index.partner_tables import PartnerIndex
from assistant.index.vectors import VectorStore, connect
from assistant.manifest import Manifest, load_manifest

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


@dataclass
class Index:
    """The manifest, catalog, vector stores and embedders described by the settings."""

    settings: Settings

    @cached_property
    def manifest(self) -> Manifest:
        return load_manifest(self.settings.manifest)

    @cached_property
    def embedder(self) -> Embedder:
        return make_embedder(self.settings)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.settings.catalog_path)

    @cached_property
    def client(self) -> ClientAPI:
        return connect(self.settings)

    @cached_property
    def store(self) -> VectorStore:
        return VectorStore(self.client, self.settings.collection_prefix, self.embedder)

    @cached_property
    def second_store(self) -> VectorStore | None:
        """The second dense index of the document passages (EUMEX_SECOND_EMBEDDER), or None."""
        embedder = make_second_embedder(self.settings)
        if embedder is None:
            return None
        return VectorStore(self.client, self.settings.collection_prefix, embedder)

    @cached_property
    def partner_tables(self) -> PartnerIndex:
        return PartnerIndex(self.catalog)

    @cached_property
    def call_topics(self) -> CallTopicTable:
        return CallTopicTable(self.catalog)
