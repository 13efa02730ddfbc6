"""ragas 0.4.3 metrics, offline by default and with an explicitly passed judge LLM on request.

Nothing here may reach the internet: telemetry is switched off before ragas is imported, every
metric that can use an LLM or embeddings gets ours passed in (ragas would otherwise silently build an
OpenAI client), and the offline metrics use no model at all.

Offline (per answerable question):
- ``context_recall`` / ``context_precision``: ragas' ``NonLLMContextRecall`` and
  ``NonLLMContextPrecisionWithReference``, reference quotes against the passages the answer was built
  from. Their default Levenshtein similarity compares a 20-word quote with a 100-word passage as whole
  strings, which scores ~0.2 even when the quote is in the passage verbatim, so they are given
  :class:`QuoteInPassage` (rapidfuzz ``partial_ratio``: the quote's best alignment inside the passage) and
  a 0.9 threshold: "the reference quote is (nearly) verbatim in a retrieved passage".
- ``id_context_recall`` / ``id_context_precision``: ``IDBasedContextRecall`` / ``IDBasedContextPrecision``
  over page-level ids (``doc#p12``; CORDIS records ``doc#project 731505``).
- ``string_similarity`` (``NonLLMStringSimilarity``, Levenshtein) and ``rouge_l`` (``RougeScore``, F1)
  of the answer text against the reference answer.

With a judge (``--llm-judge``): ``faithfulness`` (``Faithfulness``) and ``answer_relevancy``
(``ResponseRelevancy`` with strictness 1, since Ollama and llama.cpp ignore the ``n`` parameter; its
embeddings are our own embedder wrapped for LangChain).
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

os.environ["RAGAS_DO_NOT_TRACK"] = "true"  # before ragas is imported anywhere

log = logging.getLogger(__name__)

OFFLINE_METRICS = (
    "context_recall",
    "context_precision",
    "id_context_recall",
    "id_context_precision",
    "string_similarity",
    "rouge_l",
)
JUDGE_METRICS = ("faithfulness", "answer_relevancy")
QUOTE_THRESHOLD = 0.9


def _ragas() -> Any:
    """Import ragas quietly (0.4 warns that the legacy classes move in 1.0; they are what runs offline)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ragas.metrics as metrics
        from ragas.dataset_schema import SingleTurnSample
        from ragas.metrics.base import MetricType, SingleTurnMetric

        names = (
            "NonLLMContextRecall NonLLMContextPrecisionWithReference IDBasedContextRecall "
            "IDBasedContextPrecision NonLLMStringSimilarity RougeScore Faithfulness ResponseRelevancy"
        ).split()
        found = {name: getattr(metrics, name) for name in names}
    return found, SingleTurnSample, MetricType, SingleTurnMetric


def _quote_in_passage_class() -> Any:
    _, SingleTurnSample, MetricType, SingleTurnMetric = _ragas()  # noqa: N806

    @dataclass
    class QuoteInPassage(SingleTurnMetric):  # type: ignore[misc, valid-type]
        """Similarity of the best alignment of the shorter text inside the longer one (0..1)."""

        name: str = "quote_in_passage"
        _required_columns: dict = field(  # type: ignore[type-arg]
            default_factory=lambda: {MetricType.SINGLE_TURN: {"reference", "response"}}
        )

        def init(self, run_config: Any) -> None:
            pass

        async def _single_turn_ascore(self, sample: Any, callbacks: Any) -> float:
            from rapidfuzz import fuzz

            return float(fuzz.partial_ratio(sample.reference or "", sample.response or "")) / 100.0

        async def _ascore(self, row: dict, callbacks: Any) -> float:  # type: ignore[type-arg]
            return await self._single_turn_ascore(SingleTurnSample(**row), callbacks)

    return QuoteInPassage


class EmbedderAsLangChain:
    """Our embedder behind LangChain's ``Embeddings`` interface (for ragas and langchain-chroma).

    ``known`` maps a text to a vector already computed by the same embedder (e.g. stored in Chroma), so
    indexing passages that were embedded at ingestion does not embed them again.
    """

    def __init__(self, embedder: Any, known: dict[str, list[float]] | None = None) -> None:
        self.embedder = embedder
        self.known = known or {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        todo = [t for t in dict.fromkeys(texts) if t not in self.known]
        fresh = dict(zip(todo, self.embedder.embed(todo).tolist(), strict=True)) if todo else {}
        return [self.known.get(t) or fresh[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embedder.embed([text])[0]]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


def as_langchain_embeddings(embedder: Any, known: dict[str, list[float]] | None = None) -> Any:
    """An ``EmbedderAsLangChain`` that is also a ``langchain_core.embeddings.Embeddings``."""
    from langchain_core.embeddings import Embeddings

    cls = type("EumexEmbeddings", (EmbedderAsLangChain, Embeddings), {})
    return cls(embedder, known)


@dataclass
class Judge:
    """The LLM (and embeddings) ragas' judged metrics use, always passed explicitly."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 120.0

    def chat(self) -> Any:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=self.base_url,
            model=self.model,
            api_key=self.api_key or "not-needed",  # type: ignore[arg-type]
            temperature=0,
            timeout=self.timeout_s,
            max_retries=1,
        )


class Scorer:
    """Scores one question's sample with the offline ragas metrics, and the judged ones when given a judge."""

    def __init__(self, embedder: Any = None, judge: Judge | None = None) -> None:
        found, self._Sample, _, _ = _ragas()
        quote = _quote_in_passage_class()
        self.offline = {
            "context_recall": found["NonLLMContextRecall"](threshold=QUOTE_THRESHOLD, _distance_measure=quote()),
            "context_precision": found["NonLLMContextPrecisionWithReference"](
                threshold=QUOTE_THRESHOLD, distance_measure=quote()
            ),
            "id_context_recall": found["IDBasedContextRecall"](),
            "id_context_precision": found["IDBasedContextPrecision"](),
            "string_similarity": found["NonLLMStringSimilarity"](),
            "rouge_l": found["RougeScore"](),
        }
        self.judged: dict[str, Any] = {}
        if judge is not None:
            if embedder is None:
                raise ValueError("ResponseRelevancy needs our embedder: pass embedder= with judge=")
            from ragas.embeddings import LangchainEmbeddingsWrapper
            from ragas.llms import LangchainLLMWrapper

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                llm = LangchainLLMWrapper(judge.chat())
                embeddings = LangchainEmbeddingsWrapper(as_langchain_embeddings(embedder))
                self.judged = {
                    "faithfulness": found["Faithfulness"](llm=llm),
                    "answer_relevancy": found["ResponseRelevancy"](llm=llm, embeddings=embeddings, strictness=1),
                }

    def _score(self, metric: Any, sample: Any) -> float | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = metric.single_turn_score(sample)
        except Exception as exc:  # a judge that answers badly must not end the whole run
            log.warning("ragas %s failed: %s: %s", metric.name, type(exc).__name__, exc)
            return None
        value = float(value)
        return None if math.isnan(value) else round(value, 4)

    def score(
        self,
        question: str,
        answer: str,
        abstained: bool,
        contexts: Sequence[str],
        context_ids: Sequence[str],
        reference: str | None,
        reference_quotes: Sequence[str],
        reference_ids: Sequence[str],
    ) -> dict[str, float | None]:
        """The scores of one question; None where a metric does not apply (e.g. no reference)."""
        out: dict[str, float | None] = {}
        if reference_ids:
            if contexts:
                sample = self._Sample(
                    user_input=question,
                    retrieved_contexts=list(contexts),
                    reference_contexts=list(reference_quotes),
                    retrieved_context_ids=list(dict.fromkeys(context_ids)),
                    reference_context_ids=list(reference_ids),
                )
                for name in ("context_recall", "context_precision", "id_context_recall", "id_context_precision"):
                    out[name] = self._score(self.offline[name], sample)
            # No passages (a guard refused first, or the partner search answered from dataset rows): the
            # context metrics do not apply; retrieval itself is still measured by hit@k and friends.
            if reference:
                sample = self._Sample(user_input=question, response=answer, reference=reference)
                out["string_similarity"] = self._score(self.offline["string_similarity"], sample)
                out["rouge_l"] = self._score(self.offline["rouge_l"], sample)
        if self.judged and not abstained and contexts:
            sample = self._Sample(user_input=question, response=answer, retrieved_contexts=list(contexts))
            for name, metric in self.judged.items():
                out[name] = self._score(metric, sample)
        return out
