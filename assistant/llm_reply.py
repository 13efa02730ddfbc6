"""A model's reply read into statements (a sentence and its evidence) as it streams in, in either output mode.

    TextReply      free text whose sentences end with [n: "exact quote"] (or a bare [n])
    ClaimsReply    JSON {"found": bool, "claims": [{"evidence": ["2.3", ...], "text": "..."}]} whose evidence
                   ids name numbered sentences of the passages: the quote is the sentence itself

Both yield a :class:`Statement` as soon as it is complete and say when the model found nothing; what may be
sent is decided elsewhere (``LLMAnswerer._unverified``), the same way for both.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.utils.json import parse_partial_json

log = logging.getLogger(__name__)

CITATION = re.compile(r"\[\s*(\d{1,2})\s*[:：]\s*[\"“«](.+?)[\"”»]\s*\]", re.DOTALL)
BARE_CITATION = re.compile(r"\[\s*(\d{1,2})\s*\]")
# Sentence ids the model may copy into a claim's text ("... is 3 [1.2]", "(2.1, 2.3)"): markers, not prose.
ID_MARKERS = re.compile(r"\s*[\[(]\s*\d{1,2}\.\d{1,2}(?:\s*[,;]\s*\d{1,2}\.\d{1,2})*\s*[\])]")
MAX_CLAIMS = 3
MAX_EVIDENCE = 3


@dataclass(frozen=True)
class Statement:
    text: str  # the sentence without its evidence
    evidence: list[tuple[int, str]]  # (passage number, quote)
    flaw: str | None = None  # what is wrong with it as the model wrote it (a sentence id that was not given ...)


@dataclass(frozen=True)
class Sentence:
    """A sentence given to the model under an id ("2.3": passage 2, sentence 3): a verbatim piece of its page."""

    id: str
    passage: int
    text: str


class TextReply:
    """Free text: a sentence is complete when its brackets are (another bracket may follow them)."""

    def __init__(self) -> None:
        self.not_found = False

    def read(self, tokens: Iterator[str]) -> Iterator[Statement]:
        buffer = ""
        finished = False
        while not finished:
            try:
                buffer += next(tokens)
            except StopIteration:
                finished = True
            if buffer.strip().startswith("NOT_FOUND"):
                self.not_found = True
                return
            segments, buffer = parse_segments(buffer, final=finished)
            for segment in segments:
                statement = statement_of(segment)
                if statement.text or statement.evidence:  # not punctuation or white space between sentences
                    yield statement


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


def claims_schema(ids: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of a reply: evidence ids are an enum of the ids given, so a constrained model cannot cite
    a sentence it was not shown. ``found`` comes first: a model that finds nothing says so in a few tokens."""
    return {
        "type": "object",
        "properties": {
            "found": {"type": "boolean"},
            "claims": {
                "type": "array",
                "maxItems": MAX_CLAIMS,
                "items": {
                    "type": "object",
                    "properties": {
                        # the evidence before the text: the model picks its sentences, then says what they say
                        "evidence": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_EVIDENCE,
                            "items": {"type": "string", "enum": list(ids)},
                        },
                        "text": {"type": "string"},
                    },
                    "required": ["evidence", "text"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["found", "claims"],
        "additionalProperties": False,
    }


class ClaimsReply:
    """JSON claims, parsed as they arrive: a claim is complete when the next one has begun, or when the whole
    reply is valid JSON (a reply cut short never releases its unfinished last claim)."""

    def __init__(self, sentences: Mapping[str, Sentence]) -> None:
        self.sentences = sentences
        self.not_found = False
        self.malformed = False

    def read(self, tokens: Iterator[str]) -> Iterator[Statement]:
        buffer, released = "", 0
        for token in tokens:
            buffer += token
            text = _unfenced(buffer)
            reply = _partial(text)
            if reply.get("found") is False:
                self.not_found = True
                return
            claims = reply.get("claims")
            if isinstance(claims, list):
                # the partial parser closes what is open: the last claim is whole only if the text closes it
                done = len(claims) if _closes_a_claim(text) else len(claims) - 1
                for claim in claims[released:done]:
                    yield self.statement(claim)
                released = max(released, done)
        try:
            reply = json.loads(_unfenced(buffer))
        except json.JSONDecodeError:
            self.malformed = True
            log.info("the model's JSON reply is malformed or cut short: %.200s", buffer)
            return
        if not isinstance(reply, dict) or not isinstance(reply.get("claims"), list):
            self.malformed = True
            log.info("the model's JSON reply has no claims: %.200s", buffer)
            return
        if reply.get("found") is False:
            self.not_found = True
            return
        for claim in reply["claims"][released:]:
            yield self.statement(claim)

    def statement(self, claim: object) -> Statement:
        """The claim's text with the sentences its ids name as quotes."""
        if not isinstance(claim, dict) or not isinstance(claim.get("text"), str):
            return Statement(str(claim)[:200], [], flaw="malformed claim")
        ids = claim.get("evidence")
        if isinstance(ids, str):
            ids = [ids]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return Statement(claim["text"], [], flaw="malformed claim")
        ids = list(dict.fromkeys(i.strip() for i in ids))
        text = " ".join(ID_MARKERS.sub("", claim["text"]).split())
        missing = [i for i in ids if i not in self.sentences]
        evidence = [(self.sentences[i].passage, self.sentences[i].text) for i in ids if i in self.sentences]
        flaw = f"cites sentence {', '.join(missing)}, not given" if missing else None
        return Statement(text, evidence, flaw=flaw)


def _partial(buffer: str) -> dict[str, Any]:
    """What can be read of an unfinished JSON object (an empty dict until something can)."""
    try:
        reply = parse_partial_json(buffer)
    except (json.JSONDecodeError, ValueError):
        return {}
    return reply if isinstance(reply, dict) else {}


def _closes_a_claim(text: str) -> bool:
    """Whether the text ends just after a claim's closing brace (closing the array and the object then makes
    it valid JSON; inside a string or an unfinished claim it does not)."""
    try:
        json.loads(text.rstrip().rstrip(",") + "]}")
    except json.JSONDecodeError:
        return False
    return True


def _unfenced(buffer: str) -> str:
    """The reply without a Markdown code fence around it (a model not held to the schema may add one)."""
    text = buffer.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rstrip().removesuffix("```")
    return text
