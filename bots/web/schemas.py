"""Request and response bodies of the HTTP API (pydantic lives only at this edge)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.answer import MAX_QUESTION_CHARS


class Question(BaseModel):
    """A question to /api/ask or /api/chat."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, examples=["Can Mexican entities get EU funding?"])
    conversation_id: str | None = Field(
        default=None, max_length=100, description="Any id the client picks; follow-up questions use its history."
    )
    lang: Literal["auto", "en", "es"] = Field(default="auto", description="Answer language (auto: the question's).")


class CitationOut(BaseModel):
    n: int
    document: str = Field(description="Path of the document in the corpus (matches `path` in /api/documents).")
    title: str
    page: int | None
    locator: str | None = Field(description="CORDIS record locator when there is no page.")
    quote: str = Field(description="Verbatim text of the source, checked against it.")
    url: str | None
    programme: str
    period: str
    chunk_id: str


class AnswerOut(BaseModel):
    answer: str
    language: Literal["en", "es"]
    abstained: bool = Field(description="True when the sources do not answer the question.")
    citations: list[CitationOut]
    timings_ms: dict[str, float]


class SearchResult(BaseModel):
    rank: int
    document: str
    page: int | None
    locator: str | None
    chunk_id: str
    heading: str
    text: str
    score: float
    sources: list[str]


class SearchOut(BaseModel):
    query: str
    results: list[SearchResult]


class PartnerProjectOut(BaseModel):
    project_id: str
    acronym: str
    title: str
    framework: str
    topic_code: str
    topic_title: str
    action_type: str
    eu_contribution: float | None
    url: str | None = Field(description="The project's public CORDIS page.")
    document: str
    row: int = Field(description="Row of the dataset file the project comes from.")
    why: list[str] = Field(description="Why the project matches: topic, title, participants' countries...")
    citation: int | None = Field(description="Number of the citation (in `citations`) backing this project.")
    participants: list[dict[str, Any]]


class PartnersOut(BaseModel):
    query: str
    filters: dict[str, Any]
    unknown_topic: bool = Field(description="The topic code filter matches no record.")
    total_projects: int
    total_organisations: int
    projects: list[PartnerProjectOut]
    organisations: list[dict[str, Any]]
    coverage: dict[str, Any] = Field(description="What the participation files cover (never complete counts).")
    answer: str = Field(description="The same result as a cited text answer.")
    citations: list[CitationOut]


class DocumentOut(BaseModel):
    id: str
    path: str
    title: str
    short_title: str
    programme: str
    kind: str
    language: str
    period: str
    url: str | None
    present: bool = Field(description="Listed as part of the corpus (false: a key text we know we lack).")
    viewable: bool = Field(description="A PDF that GET /api/documents/{id} serves.")
    covers: str
    covers_es: str


class DocumentsOut(BaseModel):
    documents: list[DocumentOut]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=100)
    message: str = Field(min_length=1, max_length=20_000, description="The answer being rated.")
    rating: Literal["up", "down"]
    reason: str | None = Field(default=None, max_length=2000)
    question: str | None = Field(default=None, max_length=MAX_QUESTION_CHARS, description="The question asked.")


class FeedbackCreated(BaseModel):
    id: int


class FeedbackItem(BaseModel):
    id: int
    created_at: float
    conversation_id: str
    rating: Literal["up", "down"]
    message: str
    question: str | None
    reason: str | None


class FeedbackList(BaseModel):
    feedback: list[FeedbackItem]


class Health(BaseModel):
    status: Literal["ok", "empty"]
    index_loaded: bool
    documents: int
    chunks: int
    mode: Literal["extractive", "llm"]


class Problem(BaseModel):
    detail: str


class TopicOut(BaseModel):
    code: str
    title: str
    call: str | None
    call_title: str | None
    destination: str | None
    part: str
    document: str
    pages: list[int]
    type_of_action: str | None
    action: str | None
    opening_date: str | None
    deadlines: list[str]
    deadline_stages: list[str | None]
    status: Literal["open", "forthcoming", "closed"] = Field(description="Today against the opening date and deadlines.")
    next_deadline: str | None
    budget_eur: float | None
    contribution_min_eur: float | None
    contribution_max_eur: float | None
    projects: int | None
    trl: str | None
    lump_sum: bool
    regions: list[str]
    non_eu: list[str] = Field(description="What the topic's conditions say about participants from outside the EU.")
    why: list[dict[str, Any]] = Field(description="The topic's sentences closest to the idea (quoted in `answer`).")
    score: float
    portal_url: str


class TopicsOut(BaseModel):
    query: str
    today: str
    topics: list[TopicOut]
    answer: str = Field(description="The same topics as cited cards.")
    citations: list[CitationOut]


class PartnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    country: str = Field(min_length=1, max_length=80, description="ISO code or English/Spanish name.")
    type: Literal["HES", "REC", "PRC", "PUB", "OTH"] = "HES"


class ConsortiumIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partners: list[PartnerIn] = Field(min_length=1, max_length=60)
    action: Literal["RIA", "IA", "CSA", "MSCA-DN", "MSCA-PF", "MSCA-SE", "ERC"] = "RIA"
    programme: Literal["he", "h2020"] = "he"
    lang: Literal["en", "es"] = "en"


class EligibilityOut(BaseModel):
    country: str
    country_name: str
    status: str = Field(description="Its place in the General Annexes' lists (member_state, associated, ...).")
    entity_type: str
    action: str
    programme: str
    may_participate: bool | None
    funded_automatically: bool | None
    roles: dict[str, str]
    participation: str
    funding: str
    reasons: list[str]
    how_funded: list[str]
    notes: list[str]
    answer: str
    citations: list[CitationOut]


class ConsortiumOut(BaseModel):
    action: str
    programme: str
    meets_minimum: bool | None
    summary: str
    partners: list[dict[str, Any]]
    conditions: list[dict[str, Any]]
    fixes: list[str]
    notes: list[str]
    answer: str
    citations: list[CitationOut]
