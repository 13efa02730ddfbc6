"""Answers written by an LLM (any OpenAI-compatible endpoint, through LangChain), verified in code.

Two output modes (``EUMEX_LLM_OUTPUT``), read by :mod:`assistant.llm_reply`:

- structured (the default): the model is given the few sentences of the passages closest to the question,
  numbered ("2.3": passage 2, sentence 3), and replies with JSON claims, each citing the ids of the sentences
  that state it; a JSON schema whose ids are an enum of those given constrains the reply. The quotes are the
  cited sentences themselves, verbatim by construction.
- text: the model ends each sentence with ``[n: "exact quote"]``, and the quote is what it copied.

As the reply streams in, each complete sentence or claim is checked the same way in both modes: each quote
must name a passage that was given, occur verbatim on that passage's page and not be an instruction; the
sentence must be in the answer's language and say what its quotes say (every number in it is in a quote, it
is negated when they are and only then, and it is close in meaning to them: the sentence itself is the
model's prose, the quote alone is verified).
Verified sentences are released to the user; a sentence that fails is dropped. If the model finds nothing or
nothing survives, the caller falls back to the extractive answer: nothing unverified is ever sent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.citations import make_citation, quote_is_verified
from assistant.config import Settings
from assistant.errors import LLMError
from assistant.extractive import candidate_sentences, sentences
from assistant.guard import is_injection
from assistant.index.catalog import Catalog
from assistant.language import written_in
from assistant.llm_reply import ClaimsReply, Sentence, Statement, TextReply, claims_schema
from assistant.manifest import Manifest
from assistant.types import DOCUMENTS, Answer, Citation, Delta, Hit

log = logging.getLogger(__name__)

PROMPTS = Path(__file__).with_name("prompts")
MAX_PASSAGES = 5  # small models lose track of citations with long contexts
MAX_PASSAGE_CHARS = 900
MAX_CONDENSED_CHARS = 400  # a standalone question, not an answer
# Structured mode: the sentences closest to the question, a few per passage (a short prompt is read faster,
# and a small model picks from a short list more reliably); and a bound on the reply, which a constrained
# model may otherwise spin out inside a string.
MAX_SENTENCES, MAX_SENTENCES_PER_PASSAGE = 10, 4
MAX_JSON_TOKENS = 400
LANGUAGE_NAMES = {"en": "English", "es": "Spanish (español)"}
# A sentence is released only when it says what its quotes say: its cosine (the index's embedder, USE: it
# reads across English and Spanish) with its closest quote, or with all its quotes together, reaches this.
# Set between hand-made pairs: paraphrases of their quote 0.42-0.94 (Spanish of an English quote included), claims
# the quote does not make -0.03 to 0.15 (docs/llm.md; the real model never paraphrased behind a quote there).
MIN_SUPPORT = 0.35
# What negates a statement, in English and Spanish: a claim that says "VAT is an eligible cost" behind a quote
# that says "VAT ... is totally ineligible" scores well on cosine (measured on a dev question, docs/llm.md).
NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|none|neither|nor|without|ineligible|nunca|jam[aá]s|ni|ning[uú]n[oa]?|sin|tampoco|"
    r"inelegibles?)\b|n't\b",
    re.IGNORECASE,
)
# A number, not digits inside a name: "H2020", "CL4", "SC2" (a claim echoing the question's "H2020 proposal"
# states no number; measured on the dev questions, docs/llm.md).
NUMBER = re.compile(r"(?<!\w)\d+(?:[.,]\d+)*")


Messages = Sequence[tuple[str, str]]  # (role, text): "system", "human"
Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised vectors (the index's embedder)


class ChatModel(Protocol):
    """What the answerer needs of a chat model: its reply as it streams in (held to a JSON schema when one is
    given), or whole."""

    def stream(self, messages: Messages, schema: dict[str, Any] | None = None) -> Iterator[str]: ...

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
        self._schema_form = settings.llm_output

    def stream(self, messages: Messages, schema: dict[str, Any] | None = None) -> Iterator[str]:
        options: dict[str, Any] = {}
        if schema is not None:
            # max_tokens in the body itself: LangChain renames its own to max_completion_tokens, which
            # llama-cpp-python's server ignores
            options = {"response_format": response_format(schema, self._schema_form),
                       "extra_body": {"max_tokens": MAX_JSON_TOKENS}}
        for token in self._chat.stream(list(messages), **options):
            yield str(token.content)

    def complete(self, messages: Messages) -> str:
        return str(self._chat.invoke(list(messages)).content)


def response_format(schema: dict[str, Any], form: str) -> dict[str, Any]:
    """The OpenAI ``response_format`` that holds a reply to the schema: ``json_schema`` is OpenAI's own (vLLM,
    Ollama and llama.cpp's llama-server read it too); llama-cpp-python's server only knows ``json_object``,
    with the schema beside it (llama-server reads that too)."""
    if form == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": schema}}


class LLMAnswerer:
    """Writes an answer with a chat model, releasing only verified sentences."""

    def __init__(
        self, chat: ChatModel, catalog: Catalog, manifest: Manifest, embed: Embed, structured: bool = True
    ) -> None:
        self.chat = chat
        self.catalog = catalog
        self.manifest = manifest
        self.embed = embed
        self.structured = structured
        if structured:
            self.system = (PROMPTS / "claims_system.txt").read_text(encoding="utf-8")
            self.user = (PROMPTS / "claims_user.txt").read_text(encoding="utf-8")
        else:
            self.system = (PROMPTS / "answer_system.txt").read_text(encoding="utf-8")
            self.user = (PROMPTS / "answer_user.txt").read_text(encoding="utf-8")
        self.condense_system = (PROMPTS / "condense_system.txt").read_text(encoding="utf-8")
        self.condense_user = (PROMPTS / "condense_user.txt").read_text(encoding="utf-8")

    def messages(self, question: str, language: str, passages: Sequence[Hit]) -> list[tuple[str, str]]:
        """The text-mode prompt: the passages, numbered."""
        blocks = []
        for i, hit in enumerate(passages, start=1):
            text = " ".join(hit.chunk.text.split())[:MAX_PASSAGE_CHARS]
            blocks.append(f"[{i}] ({_where(hit)})\n{text}")
        return self._prompt(question, language, "\n\n".join(blocks))

    def claims_messages(self, question: str, language: str, passages: Sequence[Hit],
                        given: Sequence[Sentence]) -> list[tuple[str, str]]:
        """The structured-mode prompt: the given sentences under their ids, grouped by passage."""
        blocks = []
        for n, hit in enumerate(passages, start=1):
            lines = [f"{s.id} {s.text}" for s in given if s.passage == n]
            blocks.append(f"[{n}] ({_where(hit)})\n" + "\n".join(lines))
        return self._prompt(question, language, "\n\n".join(blocks))

    def _prompt(self, question: str, language: str, passages: str) -> list[tuple[str, str]]:
        name = LANGUAGE_NAMES[language]
        return [
            ("system", self.system.format(language_name=name)),
            ("human", self.user.format(passages=passages, question=question, language_name=name)),
        ]

    def evidence(self, question: str, hits: Sequence[Hit]) -> tuple[list[Hit], list[Sentence]]:
        """The passages and sentences given to the model in structured mode: the quotable sentences (as the
        extractive answer splits them, each verbatim on one page) closest in meaning to the question, a few
        per passage, in reading order under ids "passage.sentence"."""
        pool: list[tuple[int, str]] = []
        seen: set[str] = set()  # overlapping passages of one page share sentences: each is given once
        for rank, hit in enumerate(hits):
            chunk = hit.chunk
            if chunk.collection == DOCUMENTS:
                page = self.catalog.page_text(chunk.doc_id, chunk.page_start) if chunk.page_start else None
                found = candidate_sentences(chunk, page)
            else:
                found = [s for s in sentences(chunk.text, record=True) if not is_injection(s)]
            for sentence in found:
                if sentence not in seen and quote_is_verified(self.catalog, chunk, sentence):
                    seen.add(sentence)
                    pool.append((rank, sentence))
        if not pool:
            return [], []
        vectors = self.embed([question, *(s for _, s in pool)])
        order = np.argsort(-(vectors[1:] @ vectors[0]), kind="stable")
        chosen: list[int] = []
        for i in order:
            if len(chosen) == MAX_SENTENCES:
                break
            if sum(pool[j][0] == pool[i][0] for j in chosen) < MAX_SENTENCES_PER_PASSAGE:
                chosen.append(int(i))
        passages: list[Hit] = []
        given: list[Sentence] = []
        for rank, hit in enumerate(hits):
            mine = [pool[i][1] for i in sorted(chosen) if pool[i][0] == rank]  # the pool is in reading order
            if mine:
                passages.append(hit)
                n = len(passages)
                given += [Sentence(f"{n}.{k}", n, text) for k, text in enumerate(mine, start=1)]
        return passages, given

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
        reply: TextReply | ClaimsReply
        if self.structured:
            passages, given = self.evidence(standalone, passages)
            reply = ClaimsReply({s.id: s for s in given})
            messages = self.claims_messages(standalone, language, passages, given)
            schema = claims_schema([s.id for s in given])
        else:
            reply, messages, schema = TextReply(), self.messages(standalone, language, passages), None
        if not passages:
            return None
        shown: list[str] = []
        citations: list[Citation] = []
        by_key: dict[tuple[str, str], int] = {}
        try:
            for statement in reply.read(self.chat.stream(messages, schema)):
                rendered = self._verify(statement, passages, citations, by_key, language)
                if rendered:
                    piece = (" " if shown else "") + rendered
                    shown.append(rendered)
                    yield Delta(piece)
        except Exception as exc:  # the endpoint's errors come in many types; never break the answer
            log.warning("LLM call failed, %s: %s", "keeping the sentences sent" if shown else "answering extractively",
                        LLMError(str(exc)))
        if reply.not_found:
            log.info("LLM found no answer in the passages")
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
        return f"{text} {''.join(dict.fromkeys(markers))}."

    def _unverified(self, statement: Statement, passages: list[Hit], language: str) -> str | None:
        """Why the sentence may not be sent (None when it may): each check names what it caught."""
        if statement.flaw:
            return statement.flaw
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
        if negated(statement.text) != any(map(negated, quotes)):
            return "negation not as in its quotes"
        if support(self.embed, statement.text, quotes) < MIN_SUPPORT:
            return "claim not supported by its quotes"
        return None


def _where(hit: Hit) -> str:
    """A passage's heading in a prompt: its document's title and page (or record)."""
    c = hit.chunk
    where = f"page {c.page_start}" if c.page_start else (c.locator or "")
    return f"{c.title}, {where}"


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def numbers_not_quoted(text: str, quotes: Sequence[str]) -> list[str]:
    """The numbers of a sentence that none of its quotes contains ("3 out of 5", "100%", "2027")."""
    quoted = {_digits(n) for q in quotes for n in NUMBER.findall(q)}
    return [n for n in NUMBER.findall(text) if _digits(n) not in quoted]


def negated(text: str) -> bool:
    """Whether a sentence says no, not, never, without, ineligible ... (English or Spanish): a sentence is sent
    only when it and its quotes agree on it (a cosine does not tell "X" from "not X")."""
    return NEGATION.search(text) is not None


def support(embed: Embed, text: str, quotes: Sequence[str]) -> float:
    """How close in meaning a sentence is to its evidence: its best cosine with one quote, or with all."""
    evidence = [*quotes, " ".join(quotes)] if len(quotes) > 1 else list(quotes)
    vectors = embed([text, *evidence])
    return float(np.max(vectors[1:] @ vectors[0]))
