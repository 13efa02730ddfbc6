"""The composition root: every channel, job and evaluation builds its parts here, and only here.

    index = open_index(settings)          the manifest, catalog, vector stores and embedders (lazy)
    assistant = build_pipeline(settings)  the Assistant every channel calls (assistant.answer)
    start(assistant)                      the ready check and the warm-up, before serving
"""

from __future__ import annotations

import logging
import os
from dataclasses import fields

from assistant.abstention import FALLBACK, MODEL, AbstentionModel, Evidence, HandThresholds
from assistant.answer import Assistant
from assistant.index.vocabulary import Vocabulary
from assistant.config import Settings
from assistant.countries import CountryFinder
from assistant.eligibility.checker import EligibilityChecker
from assistant.errors import EumexError, IndexNotReady
from assistant.extractive import ExtractiveAnswerer
from assistant.index import Index
from assistant.index.embed import answer_on_one_blas_thread
from assistant.intent import IntentModel
from assistant.llm import LLMAnswerer, OpenAIChat
from assistant.partners.search import PartnerSearch
from assistant.question import QuestionReader
from assistant.ranking import LearnedRanker
from assistant.retrieve import Retriever
from assistant.topics.finder import TopicFinder
from assistant.types import DENSE_COLLECTIONS, SECOND_DENSE_COLLECTIONS

# Belt and braces: no library may reach a model hub or send telemetry from here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")

log = logging.getLogger(__name__)
EMPTY = "The index is empty - run `eumex ingest` first (or `make run`)."


def open_index(settings: Settings) -> Index:
    """The index described by the settings (nothing is opened or loaded until first used)."""
    return Index(settings)


def build_retriever(index: Index) -> Retriever:
    """The hybrid retriever over an opened index (what `build_pipeline` uses; evaluations use it alone)."""
    ranker = LearnedRanker.load() if index.settings.ranker == "learned" else None
    return Retriever(
        index.catalog, index.store, index.embedder, second=index.second_store, manifest=index.manifest, ranker=ranker,
        vocabulary=Vocabulary(index.catalog, index.embedder),
    )


def build_pipeline(settings: Settings, index: Index | None = None) -> Assistant:
    """The Assistant: question reader, retriever, partner search, extractive answerer, optional LLM."""
    answer_on_one_blas_thread()
    index = index or open_index(settings)
    retriever = build_retriever(index)
    tables = None if index.partner_tables.is_empty() else index.partner_tables
    words = index.catalog.lowercase_words()  # ordinary words, which name no place ("Split", "Para")
    partner_search = PartnerSearch(tables, retriever, words) if tables is not None else None
    # a document's sentence about another country (the extractive answer's check) names it, not its cities
    places = partner_search.finder.named if partner_search is not None else None
    llm = None
    if settings.llm_base_url:
        llm = LLMAnswerer(OpenAIChat(settings), index.catalog, index.manifest, index.embedder.embed,
                          structured=settings.llm_output != "text")
    call_topics = index.call_topics if index.call_topics.count() else None
    finder = TopicFinder(call_topics, index.embedder, settings.current_date) if call_topics is not None else None
    rules = index.catalog.eligibility_rules()
    checker = EligibilityChecker(rules) if rules else None
    return Assistant(
        settings=settings,
        index=index,
        # countries named in a question, by the eligibility rules' names and aliases (ISO codes), else CORDIS's
        reader=QuestionReader(
            index.manifest, tables, index.catalog, call_topics,
            CountryFinder(checker.display, checker.lookup, words) if checker else partner_search and partner_search.finder,
            intent=intent_model(index.embedder.name),
            embed=retriever.embed_query,
        ),
        retriever=retriever,
        extractive=ExtractiveAnswerer(
            index.embedder, stored=index.catalog.sentence_vectors, places=places, page_text=index.catalog.page_text
        ),
        llm=llm,
        partner_search=partner_search,
        topic_finder=finder,
        eligibility_checker=checker,
        abstention=abstention_model(index.embedder.name),
    )


def intent_model(embedder: str) -> IntentModel | None:
    """The eligibility intent model, when it reads this embedder's vectors (it was fitted on USE's: with
    another embedder, eligibility questions are answered from the documents; `python -m evals.train_intent`
    fits one for it)."""
    model = IntentModel.load()
    if model.embedder != embedder:
        log.warning("the eligibility intent model reads %s vectors, not %s: the eligibility check is only "
                    "reached through /api/eligibility and `eumex eligibility`", model.embedder, embedder)
        return None
    return model


def abstention_model(embedder: str) -> AbstentionModel | HandThresholds:
    """The learned abstention model, when it reads this embedder's cosines; else the hand thresholds
    (`python -m evals.train_abstention` fits one for another embedder)."""
    if not MODEL.is_file():
        log.warning("no abstention model at %s: using the hand thresholds", MODEL)
        return FALLBACK
    model = AbstentionModel.load()
    if len(model.weights) != len(fields(Evidence)):
        log.warning("the abstention model was fitted on other evidence: using the hand thresholds")
        return FALLBACK
    if model.embedder != embedder:
        log.warning("the abstention model reads %s cosines, not %s: using the hand thresholds", model.embedder, embedder)
        return FALLBACK
    return model


def start(assistant: Assistant, require_index: bool = True) -> None:
    """Before serving: check that the index holds something (IndexNotReady says how to fix it), then load
    the models and vectors now rather than at the first question. A server that may start before the
    index is built (``require_index=False``) only warms up, and logs why it could not."""
    if require_index:
        assistant.ensure_ready()
        assistant.warm_up()
        return
    try:
        assistant.warm_up()
    except EumexError as exc:
        log.warning("warm-up failed (the first question will load the models): %s", exc)


def ensure_index(settings: Settings) -> None:
    """Raise IndexNotReady when the index is empty (before starting a server on it)."""
    if not open_index(settings).catalog.counts()["chunks"]:
        raise IndexNotReady(EMPTY)


def index_stats(settings: Settings) -> dict[str, object]:
    """What the index holds, and whether Chroma matches the keyword index (`eumex stats`)."""
    index = open_index(settings)
    counts = index.catalog.counts()
    vectors = {coll: index.store.count(coll) for coll in DENSE_COLLECTIONS}
    second = index.second_store
    second_vectors = {coll: second.count(coll) for coll in SECOND_DENSE_COLLECTIONS} if second else {}
    consistent = all(vectors[c] == counts.get(f"chunks_{c}", 0) for c in vectors) and all(
        second_vectors[c] == counts.get(f"chunks_{c}", 0) for c in second_vectors
    )
    return {
        "data_dir": str(settings.data_dir),
        "vector_store": f"chroma server {settings.chroma_host}:{settings.chroma_port}"
        if settings.uses_chroma_server
        else f"embedded chroma {settings.index_dir}",
        "embedder": index.embedder.name,
        "embedder_at_last_ingestion": index.catalog.get_meta("embedder"),
        "catalog": counts,
        "vectors": vectors,
        "second_embedder": second.embedder.name if second else None,
        "second_vectors": second_vectors,
        "consistent": consistent,
        "catalog_integrity": index.catalog.integrity(),
        "documents": index.catalog.stats_by_document(),
        "partners": index.partner_tables.counts(),
        "call_topics": index.call_topics.count(),
        "eligibility_rules": index.catalog.eligibility_rules() is not None,
    }

