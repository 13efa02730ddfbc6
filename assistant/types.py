"""The data that flows between stages, named once.

parse -> :class:`Page` / :class:`Record`; chunk -> :class:`Chunk`; retrieve -> :class:`Hit`;
answer -> :class:`Citation` and :class:`Answer`; a streamed answer is :class:`Delta` events, then one
:class:`Final`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

DOCUMENTS = "documents"  # PDF passages: dense (Chroma) + keyword (FTS5)
TOPICS = "topics"  # H2020 call topics from CORDIS reference data: dense + keyword
PROJECTS = "projects"  # CORDIS project records: keyword only (see docs/ingestion.md for why)
DENSE_COLLECTIONS = (DOCUMENTS, TOPICS)
LANGUAGES = ("en", "es")  # of questions, answers and passages; each language has its own vector collections
SECOND_DENSE_COLLECTIONS = (DOCUMENTS,)  # the second dense index (e5) holds the document passages only


@dataclass(frozen=True)
class Page:
    """One PDF page of cleaned text. ``page`` is the 1-based PDF page number."""

    document: str
    page: int
    text: str
    toc: bool = False  # a table-of-contents page: kept for citations, not chunked for retrieval


@dataclass(frozen=True)
class Record:
    """One row-derived record of a dataset (e.g. a CORDIS project), located without a page."""

    document: str
    locator: str  # e.g. "project 731505 (h2020-projects_dashboard-export.xlsx, row 1234)"
    key: str  # stable key inside the document, e.g. the project id
    text: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage with everything a citation needs."""

    id: str
    doc_id: str
    document: str  # path relative to the corpus directory
    text: str
    collection: str = DOCUMENTS
    page_start: int | None = None
    page_end: int | None = None
    locator: str | None = None
    heading: str = ""
    language: str = "en"
    programme: str = ""
    kind: str = ""
    period: str = ""
    title: str = ""

    @property
    def page(self) -> int | None:
        return self.page_start

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata for Chroma (no None values allowed there)."""
        meta: dict[str, str | int] = {
            "doc_id": self.doc_id,
            "document": self.document,
            "collection": self.collection,
            "heading": self.heading,
            "language": self.language,
            "programme": self.programme,
            "kind": self.kind,
            "period": self.period,
        }
        if self.page_start is not None:
            meta["page_start"] = self.page_start
            meta["page_end"] = self.page_end if self.page_end is not None else self.page_start
        if self.locator:
            meta["locator"] = self.locator
        return meta


@dataclass(frozen=True)
class Hit:
    """A chunk found for a query, with its fused score and where it came from."""

    chunk: Chunk
    score: float
    sources: tuple[str, ...] = ()  # "dense", "keyword", "exact"
    similarity: float | None = None  # cosine similarity to the query, when the dense search found it


@dataclass(frozen=True)
class Citation:
    """A numbered, verified pointer to the source of a statement."""

    n: int
    document: str
    title: str
    page: int | None
    locator: str | None
    quote: str
    url: str | None
    programme: str = ""
    period: str = ""
    kind: str = ""
    chunk_id: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "document": self.document,
            "title": self.title,
            "page": self.page,
            "locator": self.locator,
            "quote": self.quote,
            "url": self.url,
            "programme": self.programme,
            "period": self.period,
            "chunk_id": self.chunk_id,
        }


@dataclass(frozen=True)
class Answer:
    """What every channel renders."""

    answer: str
    language: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    question: str = ""
    standalone_question: str = ""
    contexts: tuple[Hit, ...] = ()
    mode: str = "extractive"

    def as_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "language": self.language,
            "abstained": self.abstained,
            "citations": [c.as_json() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@dataclass(frozen=True)
class SourceQuote:
    """A verbatim snippet (whitespace collapsed) of page ``page`` that ``field`` was read from."""

    field: str
    page: int
    text: str


@dataclass(frozen=True)
class CallTopic:
    """A Horizon Europe call topic as its work programme states it (ingestion/parse_topics.py)."""

    code: str
    title: str
    call_id: str | None
    call_title: str | None
    destination: str | None
    part: str  # work programme part number ("9") or "ERC"
    document: str  # path relative to the corpus directory
    type_of_action: str | None  # as written ("Research and Innovation Actions", "TMA Doctoral Networks")
    type_of_action_short: str | None  # RIA, IA, CSA, COFUND, PCP, MSCA-DN, ERC-StG …
    opening_date: str | None  # ISO date
    deadlines: tuple[str, ...]  # ISO dates; two for two-stage calls
    deadline_stages: tuple[str | None, ...]  # parallel to deadlines: "First Stage", "Second Stage" or None
    budget_eur: float | None  # the topic's indicative budget
    budget_by_year: tuple[tuple[int, float], ...]  # (year, EUR) from the call table's year columns
    contribution_min_eur: float | None  # expected EU contribution per project
    contribution_max_eur: float | None
    projects: int | None  # indicative number of projects (lower bound when a range is printed)
    projects_max: int | None  # upper bound when the table prints a range such as "4-5"
    trl: str | None  # "4-5", "6"
    lump_sum: bool
    conditions: tuple[str, ...]
    regions: tuple[str, ...]
    expected_outcome: str | None
    scope: str | None
    pages: tuple[int, int]  # first and last page of the topic's text
    call_table_page: int | None  # page of the overview-table row holding the topic's numbers
    source_quotes: tuple[SourceQuote, ...] = field(default_factory=tuple)
    missing: tuple[str, ...] = field(default_factory=tuple)  # "field: why"
    # Where the topic's conditions and its overview-table row disagree (the record keeps the conditions').
    discrepancies: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class TopicFilters:
    """Which topics may be shown."""

    open_after: date | None = None  # a deadline on or after this date
    deadline_before: date | None = None  # a deadline on or before this date
    action: str | None = None  # type of action, short form (RIA, IA, CSA, MSCA-DN, ERC-StG...)
    part: str | None = None  # work programme part ("9", "ERC")
    international: bool = False  # international cooperation, or a named non-EU region, in its text


@dataclass(frozen=True)
class Delta:
    """A piece of an answer's text, as it is produced (verified sentences only)."""

    text: str


@dataclass(frozen=True)
class Final:
    """The end of a streamed answer: the whole :class:`Answer`, citations included."""

    answer: Answer


Event = Delta | Final
