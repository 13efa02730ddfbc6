"""Rank the Horizon Europe call topics for a research idea, and say why each fits.

Each topic is represented by its own sentences (title, Expected Outcome, Scope) and by one vector of its whole
text, embedded at ingestion. An idea (a sentence or an abstract, English or Spanish) is compared with all of
them; a topic is ranked by five lists fused by reciprocal rank (no weights to tune): its whole text, its
closest sentence, the mean of its three closest, its title, and BM25 over its text (the idea plus its
glossary translation). On the development ideas (evals/datasets/topics_dev.jsonl) the five lists gave MRR
0.81 EN / 0.92 ES, the whole-text vector alone 0.60 / 0.95, the four without it 0.76 / 0.74. The closest
sentences that sit whole on one page are the topic's "why it fits", quoted and cited to that page.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import date

import numpy as np

from assistant.extractive import sentences
from assistant.index.call_topics import TITLE, WHOLE, CallTopicTable, TopicSentence
from assistant.index.catalog import fts_terms
from assistant.index.embed import Embedder
from assistant.textutil import content_words, stem, translate_terms
from assistant.types import CallTopic, TopicFilters

RRF_K = 60
MAX_IDEA_SENTENCES = 8
WHY = 2  # sentences quoted per topic
OPEN, FORTHCOMING, CLOSED = "open", "forthcoming", "closed"
YEAR = re.compile(r"\b20\d\d\b")
# A topic that asks for, or encourages, cooperation beyond the EU and associated countries.
INTERNATIONAL = re.compile(
    r"international cooperation|third countr|non-associated|outside (?:the )?eu|latin america|celac|mexic|africa|"
    r"asia|global",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Evidence:
    """A sentence of the topic that fits the idea, on its page."""

    sentence: str
    page: int
    field: str
    similarity: float


@dataclass(frozen=True)
class TopicMatch:
    topic: CallTopic
    score: float
    why: tuple[Evidence, ...]
    status: str  # OPEN, FORTHCOMING or CLOSED (today against the opening date and deadlines)
    next_deadline: str | None  # the first deadline from today, if any


def status_of(topic: CallTopic, today: date) -> tuple[str, str | None]:
    """Open, forthcoming or closed, and the next deadline."""
    upcoming = sorted(d for d in topic.deadlines if date.fromisoformat(d) >= today)
    if topic.opening_date and date.fromisoformat(topic.opening_date) > today:
        return FORTHCOMING, upcoming[0] if upcoming else None
    return (OPEN, upcoming[0]) if upcoming else (CLOSED, None)


@lru_cache(maxsize=4096)
def _title_stems(title: str) -> frozenset[str]:
    return frozenset(stem(w) for w in content_words(title) if not w.isdigit())


def named_topic(question: str, topics: Sequence[CallTopic]) -> CallTopic | None:
    """The first topic the question names by its title (most of the title's words, in English or Spanish,
    are in the question) and, when the question names a year, of that year; None otherwise."""
    asked = {stem(w) for w in content_words(question)}
    asked |= {stem(w) for w in content_words(" ".join(translate_terms(question)))}
    years = set(YEAR.findall(question))
    for topic in topics:
        title = _title_stems(topic.title)
        if len(title) < 2 or len(title & asked) < 0.75 * len(title):
            continue
        if years and not years & set(YEAR.findall(f"{topic.code} {topic.title}")):
            continue
        return topic
    return None


def _passes(topic: CallTopic, filters: TopicFilters) -> bool:
    deadlines = [date.fromisoformat(d) for d in topic.deadlines]
    if filters.open_after and not any(d >= filters.open_after for d in deadlines):
        return False
    if filters.deadline_before and not any(d <= filters.deadline_before for d in deadlines):
        return False
    if filters.action and (topic.type_of_action_short or "").upper() != filters.action.upper():
        return False
    if filters.part and topic.part.upper() != filters.part.upper():
        return False
    if filters.international:
        text = " ".join([*topic.conditions, *topic.regions, topic.expected_outcome or "", topic.scope or ""])
        if not (topic.regions or INTERNATIONAL.search(text)):
            return False
    return True


def _ranks(scores: dict[str, float]) -> dict[str, int]:
    return {code: rank for rank, code in enumerate(sorted(scores, key=lambda c: -scores[c]))}


class TopicFinder:
    """Searches the call topics; one instance shared by every request."""

    def __init__(
        self, table: CallTopicTable, embedder: Embedder, today: Callable[[], date] = date.today
    ) -> None:
        self.table = table
        self.embedder = embedder
        self.today = today

    def get(self, code: str) -> CallTopic | None:
        return self.table.get(code)

    def status(self, topic: CallTopic) -> tuple[str, str | None]:
        return status_of(topic, self.today())

    def search(self, idea: str, filters: TopicFilters = TopicFilters(), n: int = 10) -> list[TopicMatch]:
        """The topics that fit the idea, best first, each with the sentences that say why."""
        topics = {t.code: t for t in self.table.all() if _passes(t, filters)}
        items, matrix = self.table.sentences()
        if not topics or not items:
            return []
        parts = sentences(idea)[:MAX_IDEA_SENTENCES] if len(idea) > 200 else []
        queries = np.stack([self.embedder.embed_query(q) for q in [idea, *parts]]).astype(np.float32)
        queries /= np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        similarity = (matrix @ queries.T).max(axis=1)

        by_topic: dict[str, list[tuple[float, TopicSentence]]] = defaultdict(list)
        titles: dict[str, float] = {}
        whole: dict[str, float] = {}
        for item, sim in zip(items, similarity, strict=True):
            if item.code not in topics:
                continue
            if item.field == TITLE:
                titles[item.code] = float(sim)
            elif item.field == WHOLE:
                whole[item.code] = float(sim)
            else:
                by_topic[item.code].append((float(sim), item))
        for found in by_topic.values():
            found.sort(key=lambda pair: -pair[0])
        best = {code: found[0][0] for code, found in by_topic.items()}
        top3 = {code: float(np.mean([s for s, _ in found[:3]])) for code, found in by_topic.items()}
        terms = fts_terms(" ".join([idea, *translate_terms(idea)]))
        keyword = {code: score for code, score in self.table.keyword_search(terms, k=200) if code in topics}

        fused: dict[str, float] = defaultdict(float)
        for ranking in (_ranks(whole), _ranks(best), _ranks(top3), _ranks(titles), _ranks(keyword)):
            for code, rank in ranking.items():
                fused[code] += 1.0 / (RRF_K + rank + 1)
        today = self.today()
        matches = []
        for code in sorted(fused, key=lambda c: -fused[c])[:n]:
            why = tuple(
                Evidence(item.sentence, item.page, item.field, sim)
                for sim, item in by_topic.get(code, [])
                if item.page is not None
            )[:WHY]
            status, next_deadline = status_of(topics[code], today)
            matches.append(TopicMatch(topics[code], fused[code], why, status, next_deadline))
        return matches

    def plain_dense(self, idea: str, texts: dict[str, np.ndarray], n: int = 10) -> list[str]:
        """The baseline the evaluation compares with: the idea against one vector per whole topic text."""
        q = self.embedder.embed_query(idea)
        scores = {code: float(v @ q) for code, v in texts.items()}
        return sorted(scores, key=lambda c: -scores[c])[:n]


def topic_text(topic: CallTopic) -> str:
    """A topic's whole text, as the plain dense baseline embeds it."""
    return "\n".join(x for x in (topic.title, topic.expected_outcome, topic.scope) if x)


def codes(matches: Sequence[TopicMatch]) -> list[str]:
    return [m.topic.code for m in matches]
