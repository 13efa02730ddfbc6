"""The one façade every channel calls: a question in, a cited answer (or an honest refusal) out.

    assistant = build_pipeline(settings)            (assistant.pipeline)
    assistant.ask(question, conversation_id, lang) -> Answer
    assistant.stream(...) -> Delta ... then Final(Answer)
    assistant.search(query, k) / partners(query, ...) / health() / forget(conversation_id)

Without an LLM the answer is extractive; with one (EUMEX_LLM_*) the LLM writes it and every
citation is verified in code, falling back to the extractive answer when verification fails.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.citations import make_citation, quote_is_verified
from assistant.config import Settings
from assistant.conversation import Conversations, Turn
from assistant.eligibility.checker import EligibilityChecker, EligibilityError, TopicCondition
from assistant.eligibility.render import VerdictWriter
from assistant.errors import IndexNotReady, QuestionError
from assistant.extractive import ExtractiveAnswerer, Pick
from assistant.guard import (
    absent_programme,
    asks_if_open,
    coverage,
    in_domain,
    last_call_year,
    later_period,
    missing_documents,
)
from assistant.index import Index
from assistant.limits import CpuSlots, checkpoint, mark_heavy
from assistant.abstention import FALLBACK, AbstentionModel, Evidence, HandThresholds
from assistant.llm import LLMAnswerer
from assistant.manifest import PROGRAMME_LABELS, Manifest
from assistant.partners.render import PartnerWriter
from assistant.partners.search import PartnerResult, PartnerSearch
from assistant.phrases import t
from assistant.query import H2020
from assistant.question import INJECTION, MAX_QUESTION_CHARS, QuestionReader, Reading
from assistant.retrieve import Retriever, search_json
from assistant.textutil import TOPIC_CODE
from assistant.topics.finder import TopicFinder, named_topic
from assistant.topics.render import TopicWriter, calendar
from assistant.types import DOCUMENTS, Answer, Chunk, Citation, Delta, Event, Final, Hit, TopicFilters

__all__ = ["MAX_QUESTION_CHARS", "Assistant"]

log = logging.getLogger(__name__)

NO_CORDIS = "The index has no CORDIS data - run `eumex ingest` (with the CORDIS files in the corpus)."
NO_RULES = (
    "The index has no eligibility rules - run `eumex ingest` with the Horizon Europe General Annexes in the corpus."
)
NO_TOPICS = "The index has no Horizon Europe call topics - run `eumex ingest` with the work programmes in the corpus."


@dataclass
class Assistant:
    """Answers questions from the index; one instance is shared by every request and channel."""

    settings: Settings
    index: Index
    reader: QuestionReader
    retriever: Retriever
    extractive: ExtractiveAnswerer
    llm: LLMAnswerer | None = None
    partner_search: PartnerSearch | None = None  # None when the index has no CORDIS data
    topic_finder: TopicFinder | None = None  # None when the index has no Horizon Europe call topics
    eligibility_checker: EligibilityChecker | None = None  # None when no General Annexes were read
    # whether what was found supports an answer: the learned model, or the hand thresholds (assistant/abstention.py)
    abstention: AbstentionModel | HandThresholds = FALLBACK
    conversations: Conversations = field(default_factory=Conversations)
    # CPU-bound work (embedding, retrieval, sentence scoring) runs at most this many at a time; waiting
    # requests queue in order instead of all slowing down together on a 2-core machine, and give up their
    # place when their client leaves or their deadline passes (assistant/limits.py).
    cpu_slots: CpuSlots = field(default_factory=lambda: CpuSlots(2))

    @property
    def manifest(self) -> Manifest:
        return self.index.manifest

    @property
    def streams_text(self) -> bool:
        """Whether an answer arrives in pieces as it is written (an LLM is configured)."""
        return self.llm is not None

    @property
    def has_partner_data(self) -> bool:
        return self.partner_search is not None

    # --- running ---------------------------------------------------------------------------------
    def ensure_ready(self) -> None:
        """Raise IndexNotReady (with the fix) when nothing has been ingested yet."""
        self.retriever.ensure_ready()

    def warm_up(self) -> None:
        """Load the models and the in-memory vectors now rather than at the first question."""
        self.retriever.warm_up()

    def health(self) -> dict[str, Any]:
        """Whether the index holds something, with its document and chunk counts."""
        counts = self.index.catalog.counts()
        return {
            "index_loaded": counts["chunks"] > 0,
            "documents": counts["documents"],
            "chunks": counts["chunks"],
            "mode": "llm" if self.llm is not None else "extractive",
        }

    def checked(self, question: str, lang: str | None = "auto") -> str:
        """The question with whitespace collapsed; QuestionError (in the question's language) when it is
        empty or too long - for a channel that must refuse before it starts streaming."""
        return self.reader.checked(question, lang)[0]

    def language(self, text: str, lang: str | None = "auto") -> str:
        """The answer language for a text: ``lang`` when it is "en" or "es", else the text's."""
        return self.reader.language(lang, text)

    def forget(self, conversation_id: str) -> None:
        """Start afresh: later questions in this conversation are no longer read as follow-ups."""
        self.conversations.forget(conversation_id)

    # --- answers ---------------------------------------------------------------------------------
    def ask(self, question: str, conversation_id: str | None = None, lang: str | None = "auto") -> Answer:
        """Answer one question (blocking)."""
        for event in self.stream(question, conversation_id, lang):
            if isinstance(event, Final):
                return event.answer
        raise AssertionError("stream() ends with a Final event")

    def stream(self, question: str, conversation_id: str | None = None, lang: str | None = "auto") -> Iterator[Event]:
        """Yield :class:`Delta` pieces as the answer is produced, then one :class:`Final`."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        history = self.conversations.history(conversation_id)
        t1 = time.perf_counter()
        reading = self.reader.read(question, history, lang, self.llm.condense if self.llm is not None else None)
        if history:
            timings["condense"] = (time.perf_counter() - t1) * 1000
        checkpoint()  # the client may have left while the question was read
        embeds = reading.refusal is None and (not reading.about_partners or reading.needs_rules)
        cut = embeds and self._cut(reading)
        if cut:
            mark_heavy()  # the most expensive question there is: it waits for the heavy share of the CPU
        if reading.refusal is not None:
            answer = self._refusal(reading, injection=reading.refusal == INJECTION)
        elif reading.about_partners:
            answer = self._partners_answer(reading, timings)
        elif reading.eligibility is not None and self.eligibility_checker is not None:
            answer = self._eligibility_answer(reading, timings)
        elif reading.topic_codes and self.topic_finder is not None:
            answer = self._topic_cards(reading, timings)
        elif reading.asks_for_topics and self.topic_finder is not None:
            answer = self._topic_search_answer(reading, timings)
        else:
            answer = yield from self._documents_answer(reading, timings)
        timings["total"] = (time.perf_counter() - t0) * 1000
        if cut:
            answer = replace(answer, answer=f"{answer.answer}\n\n{t(reading.language, 'question_cut')}")
        answer = replace(
            answer,
            language=reading.language,
            timings_ms=timings,
            question=reading.question,
            standalone_question=reading.standalone,
        )
        self.conversations.add(conversation_id, Turn(reading.question, reading.standalone, answer.answer))
        if answer.mode != "llm":  # the LLM path has streamed its verified sentences already
            for i, line in enumerate(answer.answer.split("\n")):
                yield Delta(("\n" if i else "") + line)
        yield Final(answer)

    def _partners_answer(self, reading: Reading, timings: dict[str, float]) -> Answer:
        """ "Who could we partner with?": the partner search over the CORDIS tables; with the rules as well
        when the question also asks about them, in two clearly separated parts."""
        assert self.partner_search is not None
        rules = None
        if reading.needs_rules:
            t1 = time.perf_counter()
            with self.cpu_slots:
                hits = self.retriever.search(reading.query, k=8, collections=(DOCUMENTS,))
                vector = self.retriever.embed_query(reading.standalone)  # remembered from the search
                rules = self._extractive(reading, hits, vector)
            timings["retrieve"] = (time.perf_counter() - t1) * 1000
        t2 = time.perf_counter()
        with self.cpu_slots:
            first = 1 + (len(rules.citations) if rules else 0)
            result = self.partner_search.search(reading.query)
            answer = self._writer.answer(result, reading.language, first_n=first).answer
            answer = replace(answer, contexts=self._project_hits(result))
        timings["partners"] = (time.perf_counter() - t2) * 1000
        return self._both(rules, answer, reading.language) if rules is not None else answer

    def _documents_answer(self, reading: Reading, timings: dict[str, float]) -> Iterator[Event]:
        """Retrieve passages, then let the LLM write (streaming verified sentences) or pick sentences."""
        t1 = time.perf_counter()
        with self.cpu_slots:
            # The search embeds the question itself, with e5 first: that is the longest leg.
            hits = self.retriever.search(reading.query, k=8, collections=reading.collections)
            vector = self.retriever.embed_query(reading.standalone)  # remembered from the search
        timings["retrieve"] = (time.perf_counter() - t1) * 1000
        answer = None
        if self.llm is not None:
            t2 = time.perf_counter()
            answer = yield from self.llm.stream(reading.standalone, reading.language, hits)
            timings["generate"] = (time.perf_counter() - t2) * 1000
        if answer is None:
            t2 = time.perf_counter()
            with self.cpu_slots:
                answer = self._extractive(reading, hits, vector)
            timings["extract"] = (time.perf_counter() - t2) * 1000
        return answer

    def _eligibility_answer(self, reading: Reading, timings: dict[str, float]) -> Answer:
        """Who may take part and who is funded: a verdict computed from the rules, each reason cited; a
        consortium's composition when the question lists several partners; the topic's own card when it
        names one."""
        assert reading.eligibility is not None and self.eligibility_checker is not None
        ask, lang = reading.eligibility, reading.language
        t1 = time.perf_counter()
        writer = VerdictWriter(self.manifest, self.index.catalog)
        if ask.consortium:
            partners = [{"country": c, "type": ask.entity_type} for c in ask.countries]
            answer = writer.consortium_answer(self.eligibility_checker.check_consortium(partners, ask.action, lang=lang))
        else:
            conditions = self._topic_conditions(reading)
            parts = [
                writer.entity_answer(
                    self.eligibility_checker.check_entity(
                        c, ask.entity_type, ask.action, lang=lang, topic_conditions=conditions,
                        topics=reading.topic_codes,
                    ),
                    aspect=ask.aspect,
                )
                for c in ask.countries[:3]
            ]
            answer = parts[0]
            for more in parts[1:]:
                answer = _joined(answer, more)
        if reading.topic_codes and self.topic_finder is not None:
            answer = _joined(answer, self._topic_cards(reading, timings, first=len(answer.citations) + 1))
        timings["eligibility"] = (time.perf_counter() - t1) * 1000
        return answer

    def _topic_conditions(self, reading: Reading) -> list[TopicCondition]:
        """The sentences of the named topics' own conditions, with the countries each names."""
        if self.topic_finder is None or self.reader.places is None:
            return []
        out = []
        for code in reading.topic_codes[:3]:
            topic = self.topic_finder.get(code)
            for quote in topic.source_quotes if topic else ():
                if quote.field == "conditions":
                    countries = frozenset(self.reader.places(quote.text))
                    out.append(TopicCondition(code, topic.document, quote.page, quote.text, countries))
        return out

    def _topic_cards(self, reading: Reading, timings: dict[str, float], first: int = 1) -> Answer:
        """The topics the question names, each as a card: dates, money, conditions, cited."""
        assert self.topic_finder is not None
        t1 = time.perf_counter()
        answer = None
        for code in reading.topic_codes[:3]:
            card = self._topic_writer.topic_answer(self.topic_finder.get(code), code, reading.language)
            card = _renumbered(card, first + (len(answer.citations) if answer else 0))
            answer = card if answer is None else _joined(answer, card, renumber=False)
        timings["topics"] = (time.perf_counter() - t1) * 1000
        assert answer is not None
        return answer

    def _topic_search_answer(self, reading: Reading, timings: dict[str, float]) -> Answer:
        """Which calls fit a subject: the topic finder's best five, as cards."""
        assert self.topic_finder is not None
        t1 = time.perf_counter()
        with self.cpu_slots:
            matches = self.topic_finder.search(reading.standalone, n=5)
        named = None
        if reading.asks_for_dates:  # the topic the question names by its title, the finder's first if several
            named = named_topic(reading.standalone, [*(m.topic for m in matches), *self.topic_finder.table.all()])
        answer = self._topic_writer.matches_answer(matches, reading.language, dates_of=named)
        timings["topics"] = (time.perf_counter() - t1) * 1000
        return answer

    @property
    def _topic_writer(self) -> TopicWriter:
        return TopicWriter(self.manifest, self.index.catalog, self.settings.current_date)

    # --- the structured tools (eligibility, topics) ----------------------------------------------
    def eligibility(
        self, country: str, entity_type: str = "HES", action: str = "RIA", programme: str = "he", lang: str = "en"
    ) -> dict[str, object]:
        """May an entity of this country take part, is it funded, which roles: cited (`eumex eligibility`)."""
        checker = self._checker()
        try:
            verdict = checker.check_entity(country, entity_type, action, programme, lang)
        except EligibilityError as exc:  # an unknown country, type or action: the user can fix it
            raise QuestionError(str(exc)) from exc
        return VerdictWriter(self.manifest, self.index.catalog).entity_json(verdict)

    def consortium(
        self, partners: Sequence[dict[str, str]], action: str = "RIA", programme: str = "he", lang: str = "en"
    ) -> dict[str, object]:
        """Per partner: participates, funded, role; for the consortium: the minimum composition, cited."""
        checker = self._checker()
        try:
            verdict = checker.check_consortium(list(partners), action, programme, lang=lang)
        except EligibilityError as exc:  # an empty consortium, an unknown country...: the user can fix it
            raise QuestionError(str(exc)) from exc
        return VerdictWriter(self.manifest, self.index.catalog).consortium_json(verdict)

    def _checker(self) -> EligibilityChecker:
        if self.eligibility_checker is None:
            raise IndexNotReady(NO_RULES)
        return self.eligibility_checker

    def topics(self, idea: str, filters: TopicFilters = TopicFilters(), n: int = 10, lang: str | None = "auto") -> dict[str, object]:
        """The Horizon Europe topics that fit a research idea, with dates, money and the quoted reasons."""
        finder = self._finder()
        language = self.language(idea, lang)
        with self.cpu_slots:
            matches = finder.search(idea, filters, n)
        return self._topic_writer.as_json(idea, matches, language)

    def topic_calendar(self, codes: Sequence[str]) -> str:
        """An iCalendar file with the deadlines of these topics (unknown codes: QuestionError)."""
        finder = self._finder()
        found = [(code, finder.get(code)) for code in codes]
        unknown = [code for code, topic in found if topic is None]
        if unknown:
            raise QuestionError(f"Unknown topic code(s): {', '.join(unknown)}. `eumex topics` lists them.")
        return calendar([topic for _, topic in found if topic is not None])

    def _finder(self) -> TopicFinder:
        if self.topic_finder is None:
            raise IndexNotReady(NO_TOPICS)
        return self.topic_finder

    def _cut(self, reading: Reading) -> bool:
        """Whether an embedding model read only the start of the question (EUMEX_QUESTION_MAX_TOKENS)."""
        legs = [(self.retriever.embedder, reading.query.text)]
        if self.retriever.second is not None:
            legs.append((self.retriever.second.embedder, reading.query.unnamed))
        return any(not getattr(embedder, "query_fits", lambda _text: True)(text) for embedder, text in legs)

    # --- searches --------------------------------------------------------------------------------
    def retrieve(self, question: str, k: int = 8) -> list[Hit]:
        """The passages the answer is built from (also used by evaluations): for a partner question,
        the records of the projects the partner search shows."""
        reading = self.reader.read(question)
        if reading.about_partners:
            assert self.partner_search is not None
            hits = self._project_hits(self.partner_search.search(reading.query))
            if hits:
                return list(hits[:k])
        return self.retriever.search(reading.query, k=k, collections=reading.collections)

    def search(self, query: str, k: int = 8, collections: Sequence[str] = (DOCUMENTS,)) -> dict[str, object]:
        """The passages hybrid retrieval finds for a text, best first (`eumex search --json`)."""
        with self.cpu_slots:
            return search_json(query, self.retriever.search(query, k=k, collections=collections))

    def partners(
        self,
        query: str,
        countries: Sequence[str] = (),
        topic: str | None = None,
        action: str | None = None,
        coordinators: bool = False,
        lang: str | None = "auto",
        limit: int = 10,
    ) -> dict[str, object]:
        """Organisations and projects from the CORDIS data, each cited by its dataset row, as JSON."""
        search = self._partner_search()
        language = self.language(query, lang)
        with self.cpu_slots:
            result = search.search(
                query, countries=tuple(countries), topic=topic, action=action,
                role="Coordinator" if coordinators else None, limit=limit,
            )
            return self._writer.as_json(result, language)

    def partner_answer(self, query: str, lang: str | None = "auto") -> Answer:
        """The partner search's cited answer for a text (the bot's /partners)."""
        search = self._partner_search()
        language = self.language(query, lang)
        with self.cpu_slots:
            return self._writer.answer(search.search(query), language).answer

    def _partner_search(self) -> PartnerSearch:
        if self.partner_search is None:
            raise IndexNotReady(NO_CORDIS)
        return self.partner_search

    @property
    def _writer(self) -> PartnerWriter:
        assert self.partner_search is not None
        return PartnerWriter(self.partner_search, self.manifest)

    def _project_hits(self, result: PartnerResult) -> tuple[Hit, ...]:
        """The project records (keyword index) of a partner result, in its order."""
        ids = [m.project.project_id for m in result.projects]
        chunks = self.index.catalog.project_chunks(ids)
        return tuple(
            Hit(chunks[pid], 1.0 / (rank + 1), ("partners",)) for rank, pid in enumerate(ids) if pid in chunks
        )

    # --- the extractive answer -------------------------------------------------------------------
    def _extractive(self, reading: Reading, hits: list[Hit], vector: Any) -> Answer:
        picks = self.extractive.pick(vector, reading.query, hits)
        evidence = self.evidence(reading, picks, hits)
        if evidence is None or not self.abstention.supports(evidence):
            return self._refusal(reading, hits=hits)
        citations, text = self._compose(picks, reading.language)
        if not citations:
            return self._refusal(reading, hits=hits)
        text = self._with_notes(text, reading, citations)
        return Answer(text, reading.language, False, tuple(citations), contexts=tuple(hits), mode="extractive")

    def evidence(self, reading: Reading, picks: list[Pick], hits: list[Hit]) -> Evidence | None:
        """What supports an extractive answer (assistant/abstention.py); None when no sentence was picked."""
        if not picks:
            return None
        best = picks[0]  # the lead (assistant/extractive.py choose)
        across = best.chunk.language != reading.query.language
        return Evidence.of(best.similarity, best.score, across, in_domain(reading.standalone),
                           bool(reading.query.identifiers), hits)

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

    def _with_notes(self, text: str, reading: Reading, citations: list[Citation]) -> str:
        notes = []
        cites_h2020 = any(c.programme == H2020 for c in citations)
        if asks_if_open(reading.question) and cites_h2020:
            notes.append(t(reading.language, "h2020_closed"))
        elif cites_h2020 and H2020 not in reading.query.programmes:
            notes.append(t(reading.language, "h2020_rules"))  # the question did not ask about H2020
        missing = missing_documents(reading.standalone, self.manifest)
        if missing:
            notes.append(t(reading.language, "missing_partial", title=missing[0].label, url=missing[0].url))
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

    def _refusal(self, reading: Reading, injection: bool = False, hits: list[Hit] | None = None) -> Answer:
        lang, standalone = reading.language, reading.standalone
        lines = [t(lang, "injection") if injection else t(lang, "not_found")]
        missing = missing_documents(standalone, self.manifest)
        programme = absent_programme(standalone, self.manifest)
        if missing and not injection:
            lines.append(t(lang, "missing", title=missing[0].label, url=missing[0].url))
        elif programme and not injection:
            docs = [d for d in self.manifest.missing if d.programme == programme]
            label = PROGRAMME_LABELS[programme][1 if lang == "es" else 0]
            lines.append(t(lang, "absent_programme", programme=label, url=docs[0].url if docs else ""))
        elif (year := later_period(standalone, self.manifest)) and not injection:
            lines.append(t(lang, "later_period", year=year, last=last_call_year(self.manifest)))
        elif not injection and reading.query.asks_if_open and _names_an_h2020_topic(standalone, hits or ()):
            # "Is SFS-24-2016 still open?" with no sentence that answers: the call is still closed
            lines = [t(lang, "closed_call_not_found")]
        lines.append(t(lang, "covers", covers=coverage(self.manifest, lang)))
        return Answer(" ".join(lines), lang, True, (), contexts=tuple(hits or ()), mode="refusal")


def _renumbered(answer: Answer, first: int) -> Answer:
    """The answer with its citations numbered from ``first`` (and its markers [n] changed to match)."""
    shift = first - 1
    if not shift or not answer.citations:
        return answer
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + shift}]", answer.answer)
    citations = tuple(replace(c, n=c.n + shift) for c in answer.citations)
    return replace(answer, answer=text, citations=citations)


def _joined(first: Answer, second: Answer, renumber: bool = True) -> Answer:
    """Two answers as one, with one numbering of citations."""
    second = _renumbered(second, len(first.citations) + 1) if renumber else second
    return replace(
        first,
        answer=f"{first.answer}\n\n{second.answer}",
        abstained=first.abstained and second.abstained,
        citations=first.citations + second.citations,
    )


def _names_an_h2020_topic(question: str, hits: Sequence[Hit]) -> bool:
    """Whether a topic code the question names was found verbatim in an H2020 text."""
    codes = TOPIC_CODE.findall(question)
    return any(hit.chunk.programme == "h2020" and any(c in hit.chunk.text for c in codes) for hit in hits)
