"""The composition root: every channel, job and evaluation builds its parts here."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING

from assistant.catalog import Catalog
from assistant.config import Settings
from assistant.embed import Embedder, make_embedder, make_second_embedder
from assistant.guard import named_documents
from assistant.manifest import Manifest, load_manifest
from assistant.retrieve import Retriever
from assistant.store import VectorStore, connect

# Belt and braces: no library may reach a model hub or send telemetry from here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from assistant.partners import PartnerSearch

log = logging.getLogger(__name__)


@dataclass
class Index:
    """The manifest, catalog, vector store and embedder, opened once and shared."""

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


def build_index(settings: Settings) -> Index:
    """Open the index described by the settings (nothing is loaded until first used)."""
    return Index(settings)


def build_retriever(index: Index) -> Retriever:
    """The hybrid retriever over an opened index."""
    return Retriever(
        index.catalog,
        index.store,
        index.embedder,
        second=index.second_store,
        named=partial(named_documents, manifest=index.manifest),
    )


def build_partner_search(index: Index, retriever: Retriever | None = None) -> PartnerSearch | None:
    """Partner search over the CORDIS tables; None when the index holds no CORDIS data."""
    from assistant.partner_index import PartnerIndex
    from assistant.partners import PartnerSearch

    tables = PartnerIndex(index.catalog)
    return None if tables.is_empty() else PartnerSearch(tables, retriever or build_retriever(index), index.manifest)
