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
