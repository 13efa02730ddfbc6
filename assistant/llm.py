"""Answers written by an LLM (any OpenAI-compatible endpoint, through LangChain), verified in code.

The model must end each sentence with ``[n: "exact quote"]``. As the reply streams in, each
complete sentence is checked: n must name a passage that was given, the quote must occur verbatim on
that passage's page and must not be an instruction, the sentence must be in the answer's language, and
what the sentence says must be what its quotes say (every number in it is in a quote, and it is close in
meaning to them: the sentence itself is the model's prose, the quote alone is verified). Verified
sentences are released to the user; a sentence that fails is dropped. If the reply says NOT_FOUND or
nothing survives, the caller falls back to the extractive answer — nothing unverified is ever sent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.citations import make_citation, quote_is_verified
from assistant.config import Settings
from assistant.errors import LLMError
from assistant.guard import is_injection
from assistant.index.catalog import Catalog
from assistant.language import written_in
from assistant.manifest import Manifest
from assistant.types import Answer, Citation, Delta, Hit

log = logging.getLogger(__name__)

PROMPTS = Path(__file__).with_name("prompts")
MAX_PASSAGES = 5  # small models lose track of citations with long contexts
MAX_PASSAGE_CHARS = 900
MAX_CONDENSED_CHARS = 400  # a standalone question, not an answer
CITATION = re.compile(r"\[\s*(\d{1,2})\s*[:：]\s*[\"“«](.+?)[\"”»]\s*\]", re.DOTALL)
BARE_CITATION = re.compile(r"\[\s*(\d{1,2})\s*\]")
LANGUAGE_NAMES = {"en": "English", "es": "Spanish (español)"}
# A sentence is released only when it says what its quotes say: its cosine (the index's embedder, USE: it
# reads across English and Spanish) with its closest quote, or with all its quotes together, reaches this.
# Set between hand-made pairs: paraphrases of their quote 0.42-0.94 (Spanish of an English quote included), claims
# the quote does not make -0.03 to 0.15 (docs/llm.md; the real model never paraphrased behind a quote there).
MIN_SUPPORT = 0.35
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


Messages = Sequence[tuple[str, str]]  # (role, text): "system", "human"
Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised vectors (the index's embedder)


class ChatModel(Protocol):
    """What the answerer needs of a chat model: its reply as it streams in, or whole."""

    def stream(self, messages: Messages) -> Iterator[str]: ...

    def complete(self, messages: Messages) -> str: ...


class OpenAIChat:
    """A chat model behind any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp's server),
    through LangChain."""

    def __init__(self, settings: Settings) -> None:
        from langchain_openai import ChatOpenAI

        self._chat = ChatOpenAI(
            base_url=settings.llm_base_url,
            model=settings.llm_model or "",
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed",
            temperature=0,
            timeout=settings.llm_timeout_s,
            max_retries=1,
            streaming=True,
        )

    def stream(self, messages: Messages) -> Iterator[str]:
        for token in self._chat.stream(list(messages)):
            yield str(token.content)

    def complete(self, messages: Messages) -> str:
        return str(self._chat.invoke(list(messages)).content)


@dataclass(frozen=True)
class Statement:
    text: str  # the sentence without its evidence brackets
    evidence: list[tuple[int, str]]  # (passage number, quote)


def parse_segments(reply: str, final: bool) -> tuple[list[str], str]:
    """Split off complete segments (text + its [n: "quote"] or bare [n] brackets); return (segments, rest)."""
    segments = []
    pos = 0
    for match in re.finditer(r"(?:\s*\[\s*\d{1,2}\s*(?:[:：]\s*[\"“«].+?[\"”»]\s*)?\])+", reply, re.DOTALL):
        end = match.end()
        if end == len(reply) and not final:
            break  # another bracket may follow
        segments.append(reply[pos:end])
        pos = end
    rest = reply[pos:]
    if final and rest.strip():
        segments.append(rest)
        rest = ""
    return segments, rest


def statement_of(segment: str) -> Statement:
    evidence = [(int(n), " ".join(q.split())) for n, q in CITATION.findall(segment)]
    bare = [int(n) for n in BARE_CITATION.findall(segment)]
    text = CITATION.sub("", segment)
    text = BARE_CITATION.sub("", text)
    # The model often puts the sentence's full stop after the brackets: it belongs to the previous one.
    text = " ".join(text.split()).lstrip(".,;: ")
    if not evidence and bare:
        # A sentence that ends with a bare [n] (small models often drop the quote) is its own quote: it is sent
        # only when it is copied verbatim from passage n, like any quote.
        evidence = [(n, text) for n in bare]
    return Statement(text, evidence)


class LLMAnswerer:
    """Writes an answer with a chat model, releasing only verified sentences."""

    def __init__(self, chat: ChatModel, catalog: Catalog, manifest: Manifest, embed: Embed) -> None:
        self.chat = chat
        self.catalog = catalog
        self.manifest = manifest
        self.embed = embed
        self.system = (PROMPTS / "answer_system.txt").read_text(encoding="utf-8")
        self.user = (PROMPTS / "answer_user.txt").read_text(encoding="utf-8")
        self.condense_system = (PROMPTS / "condense_system.txt").read_text(encoding="utf-8")
        self.condense_user = (PROMPTS / "condense_user.txt").read_text(encoding="utf-8")

    def messages(self, question: str, language: str, passages: Sequence[Hit]) -> list[tuple[str, str]]:
        blocks = []
        for i, hit in enumerate(passages, start=1):
            c = hit.chunk
            where = f"page {c.page_start}" if c.page_start else (c.locator or "")
            text = " ".join(c.text.split())[:MAX_PASSAGE_CHARS]
            blocks.append(f"[{i}] ({c.title}, {where})\n{text}")
        name = LANGUAGE_NAMES[language]
        return [
            ("system", self.system.format(language_name=name)),
            ("human", self.user.format(passages="\n\n".join(blocks), question=question, language_name=name)),
        ]

    def condense(self, question: str, earlier: Sequence[str], language: str) -> str | None:
        """The follow-up rewritten as a standalone question by the model; None when the model fails or
        its reply does not look like one question in the user's language (the caller then falls back)."""
        name = LANGUAGE_NAMES[language]
        messages = [
            ("system", self.condense_system.format(language_name=name)),
            (
                "human",
                self.condense_user.format(history="\n".join(f"- {q}" for q in earlier), question=question),
            ),
        ]
        try:
            reply = self.chat.complete(messages)
        except Exception as exc:  # the endpoint's errors come in many types; the rule-based rewrite stays
            log.warning("LLM condense failed, using the rule-based rewrite: %s", LLMError(str(exc)))
            return None
        lines = [line for line in reply.strip().splitlines() if line.strip()]
        candidate = " ".join(lines[0].split()).strip("\"“”«» ") if len(lines) == 1 else ""
        if (
            not candidate
            or len(candidate) > MAX_CONDENSED_CHARS
            or candidate.startswith("NOT_FOUND")
            or is_injection(candidate)
            or (len(candidate) > 30 and not written_in(candidate, language))
        ):
            log.info("ignoring an unusable condensed question: %.120s", reply)
            return None
        return candidate

    def stream(self, standalone: str, language: str, hits: Sequence[Hit]) -> Generator[Delta, None, Answer | None]:
        """Yield a :class:`Delta` for each verified sentence; return the Answer, or None when nothing
        verified came (the caller then answers extractively)."""
        # Passages that carry instructions ("ignore previous instructions ...") are not shown to the model.
        passages = [h for h in hits if not is_injection(h.chunk.text)][:MAX_PASSAGES]
        if not passages:
            return None
        buffer, shown = "", []
        citations: list[Citation] = []
        by_key: dict[tuple[str, str], int] = {}
        try:
            tokens = self.chat.stream(self.messages(standalone, language, passages))
            finished = False
            while not finished:
                try:
                    buffer += next(tokens)
                except StopIteration:
                    finished = True
                if buffer.strip().startswith("NOT_FOUND"):
                    log.info("LLM found no answer in the passages")
                    return None
                segments, buffer = parse_segments(buffer, final=finished)
                for segment in segments:
                    statement = statement_of(segment)
                    if not statement.text and not statement.evidence:
                        continue  # punctuation or white space between sentences
                    rendered = self._verify(statement, passages, citations, by_key, language)
                    if rendered:
                        piece = (" " if shown else "") + rendered
                        shown.append(rendered)
                        yield Delta(piece)
        except Exception as exc:  # the endpoint's errors come in many types; never break the answer
            log.warning("LLM call failed, answering extractively: %s", LLMError(str(exc)))
            return None
        if not shown:
            return None
        return Answer(" ".join(shown), language, False, tuple(citations), contexts=tuple(hits), mode="llm")

    def _verify(
        self,
        statement: Statement,
        passages: list[Hit],
        citations: list[Citation],
        by_key: dict[tuple[str, str], int],
        language: str,
    ) -> str | None:
        """The sentence with renumbered [n] markers when all its evidence checks out; else None."""
        reason = self._unverified(statement, passages, language)
        if reason is not None:
            log.info("dropping a sentence (%s): %.120s", reason, statement.text,
                     extra={"drop_reason": reason, "sentence": statement.text})
            return None
        markers = []
        for n, quote in statement.evidence:
            chunk = passages[n - 1].chunk
            key = (chunk.id, quote)
            if key not in by_key:
                by_key[key] = len(citations) + 1
                citations.append(make_citation(by_key[key], chunk, quote, self.manifest, self.catalog))
            markers.append(f"[{by_key[key]}]")
        text = statement.text.rstrip().rstrip(".")
        return f"{text} {''.join(markers)}."

    def _unverified(self, statement: Statement, passages: list[Hit], language: str) -> str | None:
        """Why the sentence may not be sent (None when it may): each check names what it caught."""
        if not statement.text:
            return "a quote without a sentence"
        if not statement.evidence:
            return "uncited"
        if len(statement.text) > 30 and not written_in(statement.text, language):
            return "wrong language"
        for n, quote in statement.evidence:
            if not 1 <= n <= len(passages):
                return f"cites passage {n} of {len(passages)}"
            if not quote_is_verified(self.catalog, passages[n - 1].chunk, quote):
                return "quote not on the page"
            if is_injection(quote):
                return "quote is an instruction"
        quotes = [quote for _, quote in statement.evidence]
        if numbers_not_quoted(statement.text, quotes):
            return "number not in its quotes"
        if support(self.embed, statement.text, quotes) < MIN_SUPPORT:
            return "claim not supported by its quotes"
        return None


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def numbers_not_quoted(text: str, quotes: Sequence[str]) -> list[str]:
    """The numbers of a sentence that none of its quotes contains ("3 out of 5", "100%", "2027")."""
    quoted = {_digits(n) for q in quotes for n in NUMBER.findall(q)}
    return [n for n in NUMBER.findall(text) if _digits(n) not in quoted]


def support(embed: Embed, text: str, quotes: Sequence[str]) -> float:
    """How close in meaning a sentence is to its evidence: its best cosine with one quote, or with all."""
    evidence = [*quotes, " ".join(quotes)] if len(quotes) > 1 else list(quotes)
    vectors = embed([text, *evidence])
    return float(np.max(vectors[1:] @ vectors[0]))
