"""The answering pipeline every channel calls: question -> retrieval -> cited answer (or an honest refusal).

    assistant.ask(question, conversation_id=None, lang="auto") -> Answer
    assistant.stream(...) -> iterator of ("delta", text) ... ("answer", Answer)

Without an LLM the answer is extractive; with one (EUMEX_LLM_*) the LLM writes it and every
citation is verified in code, falling back to the extractive answer when verification fails.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from assistant.citations import make_citation, quote_is_verified
from assistant.config import Settings
from assistant.conversation import Conversations, Turn, condense
from assistant.errors import QuestionError
from assistant.extractive import ExtractiveAnswerer, Pick
from assistant.guard import (
    absent_programme,
    asks_if_open,
    coverage,
    in_domain,
    is_injection,
    missing_documents,
    later_period,
    named_missing_documents,
)
from assistant.language import resolve_language
from assistant.manifest import PROGRAMME_LABELS, Manifest
from assistant.messages import t
from assistant.models import DOCUMENTS, PROJECTS, TOPICS, Answer, Chunk, Citation, Hit
from assistant.partners import (
    PartnerResult,
    PartnerSearch,
    place_finder,
    is_partner_question,
    needs_rules_too,
)
from assistant.pipeline import Index
from assistant.retrieve import RARE, Retriever, acronyms, identifiers
from assistant.textutil import TOPIC_CODE

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
# Support thresholds, calibrated on evals/datasets/dev.jsonl (see docs/answering.md).
MIN_SIMILARITY = 0.15  # cosine between the question and the best answer sentence
MIN_SCORE = 0.345  # similarity + lexical overlap bonus of the best sentence
PARTNER_WORDS = re.compile(
    r"\b(projects?|proyectos?|partners?|socios?|consorcios?|organi[sz]ations?|organizaci[oó]n(es)?|"
    r"instituci[oó]n(es)?|universit(y|ies)|universidad(es)?|coordinat\w*|coordin\w*|"
    r"cordis|eu contribution|contribuci[oó]n)",
    re.IGNORECASE,
)

TOPIC_WORDS = re.compile(r"\b(call topics?|topics?|temas?|convocatorias? (espec[ií]fica|sobre|de))\b", re.IGNORECASE)


@dataclass
class Assistant:
    """Answers questions from the index; one instance is shared by every request."""

    settings: Settings
    index: Index
    retriever: Retriever
    extractive: ExtractiveAnswerer
    llm: Any = None  # assistant.llm.LLMAnswerer when configured
    partners: PartnerSearch | None = None  # CORDIS partner search (None when the index has no CORDIS data)
    conversations: Conversations = field(default_factory=Conversations)
    # CPU-bound work (embedding, retrieval, sentence scoring) runs at most this many at a time; waiting
    # requests queue in order instead of all slowing down together on a 2-core machine.
    cpu_slots: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(2))

    @property
    def manifest(self) -> Manifest:
        return self.index.manifest

    # --- public API ------------------------------------------------------------------------------
    def ask(self, question: str, conversation_id: str | None = None, lang: str | None = "auto") -> Answer:
        """Answer one question (blocking)."""
        answer = None
        for kind, value in self.stream(question, conversation_id, lang):
            if kind == "answer":
                answer = value
        assert answer is not None
        return answer

    def stream(
        self, question: str, conversation_id: str | None = None, lang: str | None = "auto"
    ) -> Iterator[tuple[str, Any]]:
        """Yield ("delta", text) pieces as the answer is produced, then ("answer", Answer)."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        question = " ".join((question or "").split())
        language = resolve_language(lang, question) if question else resolve_language(lang, "")
        if not question:
            raise QuestionError(t(language, "empty"))
        if len(question) > MAX_QUESTION_CHARS:
            raise QuestionError(t(language, "too_long", length=len(question), limit=MAX_QUESTION_CHARS))

        history = self.conversations.history(conversation_id)
        rewrite = None
        if self.llm is not None and not is_injection(question):
            rewrite = partial(self.llm.condense, language=language)
        t1 = time.perf_counter()
        standalone = condense(question, history, rewrite)
        if history:
            timings["condense"] = (time.perf_counter() - t1) * 1000
        if is_injection(question):
            answer = self._refusal(question, standalone, language, injection=True)
        elif (
            named_missing_documents(standalone, self.manifest)
            or absent_programme(standalone, self.manifest)
            or later_period(standalone)
        ):
            # The question is about a text we do not have: say so rather than answer from neighbours.
            answer = self._refusal(question, standalone, language)
        elif self.partners is not None and is_partner_question(standalone, self.partners.index):
            # "Who could we partner with?": the partner search over the CORDIS tables; with the rules
            # as well when the question also asks about them, in two clearly separated parts.
            rules = None
            if needs_rules_too(standalone):
                t1 = time.perf_counter()
                with self.cpu_slots:
                    hits = self.retriever.search(standalone, k=8, collections=(DOCUMENTS,))
                    vector = self.retriever.embed_query(standalone)  # remembered from the search
                    rules = self._extractive(question, standalone, language, hits, vector)
                timings["retrieve"] = (time.perf_counter() - t1) * 1000
            t2 = time.perf_counter()
            with self.cpu_slots:
                first = 1 + (len(rules.citations) if rules else 0)
                result = self.partners.search(standalone, lang=language)
                answer = self.partners.answer(standalone, language, first_n=first, result=result)
                answer = replace(answer, contexts=self._project_hits(result))
            timings["partners"] = (time.perf_counter() - t2) * 1000
            if rules is not None:
                answer = self._both(rules, answer, language)
        else:
            t1 = time.perf_counter()
            with self.cpu_slots:
                # The search embeds the question itself, with e5 first: that is the longest leg.
                hits = self.retrieve(standalone)
                vector = self.retriever.embed_query(standalone)  # remembered from the search
            timings["retrieve"] = (time.perf_counter() - t1) * 1000
            answer = None
            if self.llm is not None:
                t2 = time.perf_counter()
                for kind, value in self.llm.stream(question, standalone, language, hits):
                    if kind == "delta":
                        yield kind, value
                    else:
                        answer = value
                timings["generate"] = (time.perf_counter() - t2) * 1000
            if answer is None:
                t2 = time.perf_counter()
                with self.cpu_slots:
                    answer = self._extractive(question, standalone, language, hits, vector)
                timings["extract"] = (time.perf_counter() - t2) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        answer = replace(
            answer, language=language, timings_ms=timings, question=question, standalone_question=standalone
        )
        self.conversations.add(conversation_id, Turn(question, standalone, answer.answer))
        if answer.mode != "llm":  # the LLM path has streamed its verified sentences already
            for i, line in enumerate(answer.answer.split("\n")):
                yield "delta", ("\n" if i else "") + line
        yield "answer", answer

    def retrieve(self, question: str, k: int = 8) -> list[Hit]:
        """The passages the answer is built from (also used by evaluations): for a partner question,
        the records of the projects the partner search shows."""
        if self.partners is not None and is_partner_question(question, self.partners.index):
            hits = self._project_hits(self.partners.search(question, lang=resolve_language("auto", question)))
            if hits:
                return list(hits[:k])
        return self.retriever.search(question, k=k, collections=self._route(question))

    def _project_hits(self, result: PartnerResult) -> tuple[Hit, ...]:
        """The project records (keyword index) of a partner result, in its order."""
        ids = [m.project.project_id for m in result.projects]
        chunks = self.index.catalog.project_chunks(ids)
        return tuple(
            Hit(chunks[pid], 1.0 / (rank + 1), ("partners",)) for rank, pid in enumerate(ids) if pid in chunks
        )

    # --- steps -----------------------------------------------------------------------------------
    def _route(self, question: str) -> tuple[str, ...]:
        """Documents always; project records when the question is about projects or partners;
        topic records when it asks about call topics."""
        named = acronyms(question)
        if self.partners is not None:  # only acronyms of projects in the data (not e.g. "CELAC") ...
            named = [a for a in named if self.partners.index.by_acronym(a)]
        # ... that the documents do not use as their own vocabulary (there are projects called SC2 and TRL;
        # searching 38k project records costs 100-180 ms and brings them into a work-programme answer)
        named = [a for a in named if len(self.index.catalog.find_exact(a, RARE + 1, DOCUMENTS)) <= RARE]
        if named or (self.partners is None and PARTNER_WORDS.search(question)):
            return (DOCUMENTS, TOPICS, PROJECTS)
        if TOPIC_WORDS.search(question):
            return (DOCUMENTS, TOPICS)
        return (DOCUMENTS,)

    def _extractive(
        self, question: str, standalone: str, lang: str, hits: list[Hit], vector: Any
    ) -> Answer:
        picks = self.extractive.pick(vector, standalone, hits)
        best = max(picks, key=lambda p: p.score) if picks else None  # picks come in reading order
        supported = (
            best is not None
            and best.similarity >= MIN_SIMILARITY
            and best.score >= MIN_SCORE
            and (in_domain(standalone) or bool(identifiers(standalone)))
        )
        if not supported:
            return self._refusal(question, standalone, lang, hits=hits)
        citations, text = self._compose(picks, lang)
        if not citations:
            return self._refusal(question, standalone, lang, hits=hits)
        text = self._with_notes(text, question, standalone, lang, citations)
        return Answer(text, lang, False, tuple(citations), contexts=tuple(hits), mode="extractive")

    def _compose(self, picks: list[Pick], lang: str) -> tuple[list[Citation], str]:
        """Frame the chosen sentences: who says it, the verbatim quote, the citation number."""
        citations: list[Citation] = []
        parts: list[str] = []
        previous: Chunk | None = None
        for pick in picks:
            if not quote_is_verified(self.index.catalog, pick.chunk, pick.quote):
                log.warning("dropping an unverifiable quote from %s", pick.chunk.id)
                continue
            n = len(citations) + 1
            citation = make_citation(n, pick.chunk, pick.quote, self.manifest, self.index.catalog)
            citations.append(citation)
            quote = citation.quote
            if previous is not None and previous.doc_id == pick.chunk.doc_id:
                parts.append(t(lang, "also", quote=quote, n=n))
            else:
                key = "says" if previous is None else "adds"
                parts.append(t(lang, key, source=self._source(pick.chunk, citation, lang), quote=quote, n=n))
            previous = pick.chunk
        text = ".\n".join(parts) + "."
        if lang == "es" and any(c.kind and self._doc_lang(c) != "es" for c in citations):
            text += "\n" + t(lang, "quotes_note")
        return citations, text

    def _doc_lang(self, citation: Citation) -> str:
        doc = self.manifest.by_path(citation.document)
        return doc.language if doc else "en"

    def _source(self, chunk: Chunk, citation: Citation, lang: str) -> str:
        doc = self.manifest.by_id(chunk.doc_id)
        title = doc.label if doc else chunk.title
        if citation.page is not None:
            where = t(lang, "page", page=citation.page)
        else:
            where = f"CORDIS, {chunk.locator}" if chunk.locator else "CORDIS"
        return t(lang, "source", title=title, where=where)

    def _with_notes(
        self, text: str, question: str, standalone: str, lang: str, citations: list[Citation]
    ) -> str:
        notes = []
        if asks_if_open(question) and any(c.programme == "h2020" for c in citations):
            notes.append(t(lang, "h2020_closed"))
        missing = missing_documents(standalone, self.manifest)
        if missing:
            notes.append(t(lang, "missing_partial", title=missing[0].label, url=missing[0].url))
        return "\n\n".join([text, *notes])

    def _both(self, rules: Answer, partners: Answer, lang: str) -> Answer:
        """Rules first, then partners, as one answer with one numbering."""
        text = f"{t(lang, 'rules_section')}:\n{rules.answer}\n\n{t(lang, 'partners_section')}:\n{partners.answer}"
        return Answer(
            text,
            lang,
            rules.abstained and partners.abstained,
            rules.citations + partners.citations,
            contexts=rules.contexts,
            mode="rules+partners",
        )

    def _refusal(
        self, question: str, standalone: str, lang: str, injection: bool = False, hits: list[Hit] | None = None
    ) -> Answer:
        lines = [t(lang, "injection") if injection else t(lang, "not_found")]
        missing = missing_documents(standalone, self.manifest)
        programme = absent_programme(standalone, self.manifest)
        if missing and not injection:
            lines.append(t(lang, "missing", title=missing[0].label, url=missing[0].url))
        elif programme and not injection:
            docs = [d for d in self.manifest.missing if d.programme == programme]
            label = PROGRAMME_LABELS[programme][1 if lang == "es" else 0]
            lines.append(t(lang, "absent_programme", programme=label, url=docs[0].url if docs else ""))
        elif (year := later_period(standalone)) and not injection:
            lines.append(t(lang, "later_period", year=year))
        elif not injection and asks_if_open(standalone) and _names_an_h2020_topic(standalone, hits or ()):
            # "Is SFS-24-2016 still open?" with no sentence that answers: the call is still closed
            lines = [t(lang, "closed_call_not_found")]
        lines.append(t(lang, "covers", covers=coverage(self.manifest, lang)))
        return Answer(" ".join(lines), lang, True, (), contexts=tuple(hits or ()), mode="refusal")


def _names_an_h2020_topic(question: str, hits: Sequence[Hit]) -> bool:
    """Whether a topic code the question names was found verbatim in an H2020 text."""
    codes = TOPIC_CODE.findall(question)
    return any(hit.chunk.programme == "h2020" and any(c in hit.chunk.text for c in codes) for hit in hits)


def build_assistant(settings: Settings) -> Assistant:
    """The composition root for answering: index, retriever, answerers, conversation store."""
    from assistant.embed import answer_on_one_blas_thread
    from assistant.pipeline import build_index, build_partner_search, build_retriever

    answer_on_one_blas_thread()
    index = build_index(settings)
    llm = None
    if settings.llm_base_url:
        from assistant.llm import LLMAnswerer

        llm = LLMAnswerer.from_settings(settings, index)
    retriever = build_retriever(index)
    partners = build_partner_search(index, retriever)
    places = place_finder(partners.index.labels("country")) if partners is not None else None
    return Assistant(
        settings=settings,
        index=index,
        retriever=retriever,
        extractive=ExtractiveAnswerer(
            index.embedder, stored=index.catalog.sentence_vectors, places=places, page_text=index.catalog.page_text
        ),
        llm=llm,
        partners=partners,
    )
