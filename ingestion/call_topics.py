"""A Horizon Europe work programme's pages -> its call topic records and their quotable sentences.

The records come from :func:`ingestion.parse_topics.parse_topics`; here each topic's title, Expected Outcome
and Scope are cut into sentences (as the extractive answerer cuts passages), each placed on the page that
holds it whole, ready to be embedded and written with the document (assistant/index/call_topics.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from assistant.citations import normalise
from assistant.extractive import sentences
from assistant.index.call_topics import EXPECTED_OUTCOME, SCOPE, TITLE
from assistant.manifest import Document
from assistant.types import CallTopic, Page
from ingestion.parse_topics import parse_topics

log = logging.getLogger(__name__)


def has_call_topics(doc: Document) -> bool:
    """Horizon Europe work programmes state call topics (the other documents do not)."""
    return doc.programme == "horizon-europe" and doc.kind == "work-programme"


def read_call_topics(doc: Document, pages: Sequence[Page]) -> list[CallTopic]:
    """The document's topics; none (with a warning in the log) when its structure defeats the parser."""
    try:
        return parse_topics(doc.path, [(p.page, p.text) for p in pages])
    except Exception as exc:  # a surprising layout must not stop the document's passages being indexed
        log.warning("%s: call topics not read (%s: %s)", doc.path, type(exc).__name__, exc)
        return []


def topic_sentences(topic: CallTopic, pages: Sequence[Page]) -> list[tuple[str, int | None, str]]:
    """(field, page, sentence) for the topic's title and the sentences of its Expected Outcome and Scope.
    A sentence's page is the topic page whose text holds it whole (None when it runs over a page break)."""
    first, last = topic.pages
    texts = {p.page: normalise(p.text) for p in pages if first <= p.page <= last}
    out: list[tuple[str, int | None, str]] = []

    def page_of(sentence: str) -> int | None:
        needle = normalise(sentence)
        return next((n for n, text in sorted(texts.items()) if needle in text), None)

    out.append((TITLE, page_of(topic.title), topic.title))
    for field, text in ((EXPECTED_OUTCOME, topic.expected_outcome), (SCOPE, topic.scope)):
        for sentence in sentences(text or ""):
            out.append((field, page_of(sentence), sentence))
    return out

