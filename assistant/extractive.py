"""The offline answerer: pick the sentences that answer, and frame them in the user's language.

Quotes are exact sentences of the retrieved passages (whitespace collapsed), so each one is a
verbatim piece of its page; framing text is written in English or Spanish around them.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.guard import is_injection
from assistant.index.embed import Embedder
from assistant.query import Query
from assistant.textutil import TOPIC_CODE, content_words, stem, translate_terms
from assistant.types import DOCUMENTS, Chunk, Hit

# Where a sentence ends: after . ! ? ; before a capital; at a bullet (•, or a dash that starts a line:
# "- Convert the final Part B into PDF format…"); after a colon before a capital.
SENTENCE_END = re.compile(
    r"(?<=[.!?;])\s+(?=[A-ZÁÉÍÓÚÑ¿¡“\"(•\d])|\s*•\s+|\n[-–]\s+(?=\S)|(?<=:)\s+(?=[A-ZÁÉÍÓÚÑ•])"
)
# Where a passage breaks whatever the punctuation: before a footnote at the foot of a page (a line that
# starts with its number: "86 Please note that ..."), and at a form's answer box ("... sub-contracted) Y/N").
BREAK = re.compile(r"\n\d{1,3} (?=[A-Z(]|www|http)|\s+Y/N\b")
WEB_ADDRESS = re.compile(r"\(?(?:https?://|www\.)", re.IGNORECASE)
LINE_START = re.compile(r"\n(?=[A-ZÁÉÍÓÚÑ¿¡“\"(•])")  # a line that starts like a sentence
MIN_SENTENCE, MAX_SENTENCE = 25, 420
MAX_CANDIDATE_CHUNKS = 5
FINISHED = re.compile(r"[.!?;)\]»”\"]$")  # how a statement (not a title line) ends
MAX_SENTENCES = 3
PER_PASSAGE = 2  # quotes from one passage
IDENTIFIER_BONUS = 0.15
# A question asking for a quantity ("how many participants", "¿cuánto se tarda?", "what is the page limit")
# is answered by a sentence that gives one.
QUANTITY_QUESTION = re.compile(
    r"\b(how (many|much|long|often)|what (is|was|are) the (maximum|minimum|limit|threshold|rate|amount|budget|size)|"
    r"page limit|cu[aá]nt[oa]s?|m[aá]xim[oa]|m[ií]nim[oa]|l[ií]mite|umbral|tasa|plazo de)\b",
    re.IGNORECASE,
)
NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred|thousand|million|"
    r"uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|doce|veinte|cien|mil|millones?)\b",
    re.IGNORECASE,
)
REFERENCE = re.compile(
    r"\b(annex(es)?|anexos?|parts?|partes?|sections?|secci[oó]n(es)?|articles?|art[ií]culos?|tables?|tablas?|"
    r"chapters?|cap[ií]tulos?|pillars?|sub-?topics?|horizon|horizonte|h|programmes?)"  # h: H2020
    r"\s*\d[\d.,\s]*(and|y|e|or|o)?\s*\d*",
    re.IGNORECASE,
)
YEARS = re.compile(r"\b(19|20)\d\d\s*[-–/]\s*(19|20)?\d\d\b")
QUANTITY_BONUS = 0.1
ECHO_SHARE, ECHO_PENALTY = 0.25, 0.15  # a sentence with under a quarter of words not in the question
LABEL_WORDS = 8  # a part ending in a colon with at most this many words is a label ("Page limit:")
CONTEXT = 300  # characters of the page read on each side of a passage to complete its cut sentences


# What describes a candidate sentence; a sentence's score is their weighted sum. The hand weights are the
# formula used until 2026-12-08; a learned model (``picker.json``, fitted by ``python -m evals.train_picker``
# on the development sets' reference quotes) replaces them when it was fitted on these features.
PICK_FEATURES = (
    "similarity", "overlap", "heading", "passage_rank", "names_identifier", "gives_amount", "echo", "elsewhere",
    "asks_a_question", "log_length", "has_number", "same_language", "brackets",
)
ELSEWHERE = PICK_FEATURES.index("elsewhere")
HAND_WEIGHTS = {
    "similarity": 1.0, "overlap": 0.35, "heading": 0.1, "passage_rank": 0.08, "names_identifier": IDENTIFIER_BONUS,
    "gives_amount": QUANTITY_BONUS, "echo": -ECHO_PENALTY, "elsewhere": -0.12,
}
MARGIN = 0.12  # with the hand weights, sentences scoring this much below the best are not quoted
PICKER = Path(__file__).with_name("picker.json")


def pick_weights(path: Path = PICKER) -> tuple[np.ndarray, float]:
    """The learned weights and margin when ``path`` holds a model fitted on PICK_FEATURES, else the hand ones."""
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) == PICK_FEATURES:
            return np.asarray(data["weights"], dtype=np.float64), float(data["margin"])
    return np.asarray([HAND_WEIGHTS.get(name, 0.0) for name in PICK_FEATURES]), MARGIN


@dataclass(frozen=True)
class Pick:
    """A sentence chosen to answer, with where it comes from and how well it fits."""

    chunk: Chunk
    quote: str
    score: float
    similarity: float
    elsewhere: bool = False  # names another country than the one the question asks about


def sentences(text: str, record: bool = False) -> list[str]:
    """Split a passage into sentences (each a whitespace-collapsed substring of the passage).
    A dataset record is split into its lines, and long lines at semicolons."""
    if record:
        # The first two lines (what it is; its facts) read as one statement; participants follow.
        lines = [" ".join(line.split()) for line in text.split("\n") if line.strip()]
        out = [" ".join(lines[:2])] if lines else []
        for line in lines[2:]:
            if len(line) <= 600:
                out.append(line)
            else:
                out += [p for p in re.split(r"(?<=;)\s+", line) if len(p) >= MIN_SENTENCE]
        return out
    # Split with the line breaks kept: a form or a list without full stops ("Does the participant plan
    # to subcontract ... (please note that core tasks ... should not be sub-contracted)" then "Y/N") is
    # cut at its lines when it would otherwise read as one overlong sentence.
    lined = re.sub(r"[^\S\n]+", " ", text).strip()
    out = []
    # Footnotes are cut off their numbers and from each other ("84 AlantOS,www... 85 (COM(2012)497)
    # 86 Please note that participants from developed countries are not eligible ..." is three notes).
    parts = _with_labels([part for piece in BREAK.split(lined) for part in SENTENCE_END.split(piece)], lined)
    # A passage may start or end mid-sentence: those fragments are not quoted.
    if parts and parts[0].strip()[:1].islower():
        parts = parts[1:]
    if parts and not re.search(r"[.;:!?)\]”\"]$", parts[-1].strip()):
        # only its last line may be cut off
        lines = LINE_START.split(parts[-1])
        parts = parts[:-1] + (["\n".join(lines[:-1])] if len(lines) > 2 else [])
    for part in parts:
        flat = " ".join(part.split()).strip(" •")
        if MIN_SENTENCE <= len(flat) <= MAX_SENTENCE:
            out.append(flat)
            continue
        if len(flat) < MIN_SENTENCE:
            continue
        lines = [" ".join(line.split()).strip(" •") for line in LINE_START.split(part)]
        if len(lines) > 1 and all(len(line) <= MAX_SENTENCE for line in lines):
            out += [line for line in lines if len(line) >= MIN_SENTENCE and not line.endswith(":")]
            continue
        # Long enumerations: cut at semicolons or commas, never mid-word.
        for piece in re.split(r"(?<=[;,])\s+", flat):
            if MIN_SENTENCE <= len(piece) <= MAX_SENTENCE:
                out.append(piece)
    return out


def _with_labels(parts: list[str], text: str) -> list[str]:
    """A short label ending in a colon stays with what it introduces: "Page limit: The cover page, and
    sections 1, 2 and 3, together should not be longer than 70 pages." or "Type of Action: Research and
    Innovation action" say what they are about only with their label (when the two are contiguous text)."""
    flat = " ".join(text.split())
    out: list[str] = []
    for part in parts:
        if out and (label := out[-1].strip()).endswith(":") and len(label.split()) <= LABEL_WORDS:
            joined = f"{label} {part.strip()}"
            if " ".join(joined.split()) in flat:
                out[-1] = joined
                continue
        out.append(part)
    return out


@lru_cache(maxsize=256)
def _lined(text: str) -> str:
    """Whitespace collapsed within lines, line breaks kept (sentences() reads them); remembered, as the
    passages of one page are completed from the same page text."""
    return re.sub(r" *\n *", "\n", re.sub(r"[^\S\n]+", " ", text)).strip()


def passage_sentences(chunk: Chunk, page_text: str | None = None) -> list[str]:
    """The sentences of a passage. Passages are cut at a length, not at a full stop: given the text of
    its page, the sentences a passage starts or ends in the middle of are completed from it (a passage of
    WP 2018-2020 p. 145 starts at "from CELAC countries210 is encouraged.", so without its page it cannot
    quote "For sub-topics B and C, participation of partners from CELAC countries210 is encouraged.")."""
    if chunk.collection != DOCUMENTS:
        return sentences(chunk.text, record=True)
    if page_text is None or chunk.page_start != chunk.page_end:
        return sentences(chunk.text)
    page, own = _lined(page_text), _lined(chunk.text)
    start = page.find(own)
    if start < 0:
        return sentences(chunk.text)
    window_start = max(0, start - CONTEXT)
    window = page[window_start : start + len(own) + CONTEXT]
    # where the passage lies in the window once whitespace is collapsed, as sentences() returns them
    flat_window = " ".join(window.split())
    own_start = len(" ".join(page[window_start:start].split()))
    own_end = own_start + len(" ".join(own.split()))
    out = []
    for sentence in sentences(window):
        at = flat_window.find(sentence)
        if 0 <= at < own_end and at + len(sentence) > own_start:  # it overlaps the passage itself
            out.append(sentence)
    return out


def candidate_sentences(chunk: Chunk, page_text: str | None = None) -> list[str]:
    """The sentences of a passage that may be quoted as an answer (the ingestion job embeds these)."""
    out = []
    for sentence in passage_sentences(chunk, page_text):
        if sentence.endswith(":") or sum(map(str.isalpha, sentence)) < 0.5 * len(sentence):
            continue  # a heading or a table row, not a statement
        if len([w for w in sentence.split() if not WEB_ADDRESS.match(w)]) < 3:
            continue  # a web address or a name in a footnote
        if _title_case(sentence):
            continue  # a title, heading or name ("EN Horizon 2020 Work Programme 2018-2020 9."), not a statement
        if chunk.page_start == 1 and chunk.collection == DOCUMENTS and not FINISHED.search(sentence):
            continue  # a cover page's title lines ("Self-evaluation form Research and innovation actions ...")
        if is_injection(sentence):
            continue  # instructions inside a document are data, never an answer
        out.append(sentence)
    return out


@lru_cache(maxsize=2048)
def _quotable(chunk: Chunk, page_text: str | None) -> tuple[str, ...]:
    """``candidate_sentences``, remembered: related questions bring back the same passages, and a
    passage's sentences do not depend on the question (measured in docs/benchmarks.md)."""
    return tuple(candidate_sentences(chunk, page_text))


def _title_case(sentence: str) -> bool:
    """Every word with letters starts with a capital (a document title, a heading, a list of names)."""
    words = 0
    for word in sentence.split():
        if any(map(str.isalpha, word)):
            if not word.lstrip("(“\"[•¿¡")[:1].isupper():
                return False  # most sentences end here, at their second word
            words += 1
    return words >= 2


def _document_terms(chunk: Chunk) -> frozenset[str]:
    """The words that name a passage's kind of document and its period ("work programme", "2018-2020")."""
    return _terms(f"{chunk.kind.replace('-', ' ')} {chunk.period}")


@lru_cache(maxsize=16384)
def _terms(text: str) -> frozenset[str]:
    """Content words, stemmed so that participate/participar meet (remembered: the sentences of the
    passages that come back for related questions)."""
    return frozenset(stem(w) for w in content_words(text))


class ExtractiveAnswerer:
    """Chooses answer sentences from the retrieved passages."""

    def __init__(
        self,
        embedder: Embedder,
        cache_size: int = 4096,
        stored: Callable[[list[str]], dict[str, np.ndarray]] | None = None,
        places: Callable[[str], set[str]] | None = None,
        page_text: Callable[[str, int], str | None] | None = None,
        weights: tuple[np.ndarray, float] | None = None,
    ) -> None:
        self.embedder = embedder
        self.stored = stored  # chunk ids -> {sentence: vector} computed by the ingestion job
        self.page_text = page_text  # (doc_id, page) -> the page's text, to complete cut sentences
        self.places = places  # text -> country codes it names (assistant.countries.CountryFinder)
        # over PICK_FEATURES, and how far below the best a sentence may score and still be quoted
        self.weights, self.margin = pick_weights() if weights is None else weights
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _places(self, text: str) -> set[str]:
        """Country codes a text names (by country name or demonym, English or Spanish)."""
        return self.places(text) if self.places else set()

    def _vectors(self, texts: Sequence[str], stored: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Sentence vectors: computed at ingestion (``stored``), else from the cache when a sentence was
        seen before (threads share it), else embedded now."""
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        known.update({t: stored[t] for t in texts if stored and t in stored})
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            fresh = dict(zip(todo, self.embedder.embed(todo), strict=True))
            known.update(fresh)
            with self._lock:
                if len(self._cache) + len(fresh) > self._cache_size:
                    self._cache.clear()
                self._cache.update(fresh)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, 1))

    def candidates(
        self, question_vector: np.ndarray, query: Query, hits: Sequence[Hit]
    ) -> tuple[list[tuple[Hit, str, float]], np.ndarray]:
        """The quotable sentences of the best passages, (hit, sentence, cosine) each, and their features
        (one row per sentence, columns as PICK_FEATURES)."""
        q_terms = _terms(query.text)
        # the question's terms in the other language (glossary): a Spanish question quoting an English rule
        translated = _terms(" ".join(translate_terms(query.text)))
        language = query.language
        asked = self._places(query.text)
        # acronyms the question names (CELAC), as whole tokens; not topic codes, which the work programmes
        # list in tables
        named = [re.compile(rf"(?<![\w-]){re.escape(a)}(?![\w-])") for a in query.acronyms]
        # topic codes the question names: the sentences of that topic's own section (its heading names it)
        codes = query.topic_codes
        quantity = bool(QUANTITY_QUESTION.search(query.text))
        candidates: list[tuple[int, Hit, str]] = []
        # per passage: the words that name its document itself ("the 2018-2020 work programme") do not tell
        # its sentences apart (they made its cover line the best answer to "... mention CELAC?"); heading words
        own: dict[str, frozenset[str]] = {}
        heading: dict[str, float] = {}
        for rank, hit in enumerate(hits[:MAX_CANDIDATE_CHUNKS]):
            chunk = hit.chunk
            own[chunk.id] = _document_terms(chunk)
            heading[chunk.id] = len(q_terms & _terms(chunk.heading)) / max(1, len(q_terms))
            page = self.page_text(chunk.doc_id, chunk.page_start) if self.page_text and chunk.page_start else None
            for sentence in _quotable(chunk, page):
                candidates.append((rank, hit, sentence))
        if not candidates:
            return [], np.zeros((0, len(PICK_FEATURES)))
        stored = self.stored(list({c[1].chunk.id for c in candidates})) if self.stored else {}
        vectors = self._vectors([c[2] for c in candidates], stored)
        sims = vectors @ question_vector
        rows = []
        for (rank, hit, sentence), sim in zip(candidates, sims, strict=True):
            terms = _terms(sentence)
            asked_terms, asked_translated = q_terms - own[hit.chunk.id], translated - own[hit.chunk.id]
            overlap = len(asked_terms & terms) / max(1, len(asked_terms))
            if asked_translated and hit.chunk.language != language:
                # across languages, the question's glossary terms stand for it
                overlap = max(overlap, len(asked_translated & terms) / len(asked_translated))
            # a sentence that only repeats the question's own words says nothing about it (a glossary entry
            # "Consejo Nacional: Consejo Nacional de Humanidades, Ciencias y Tecnologías;" for "¿Qué es el
            # Consejo Nacional…?")
            echo = bool(terms) and len(terms - q_terms) < ECHO_SHARE * len(terms)
            # a sentence about another country's arrangements (e.g. China's co-funding mechanism) does not
            # answer a question about Mexico
            elsewhere = bool(asked and (places := self._places(sentence)) and not places & asked)
            # a sentence that names the acronym the question asks about, or is in the section of its topic
            naming = any(pattern.search(sentence) for pattern in named) or any(c in hit.chunk.heading for c in codes)
            numeric = bool(NUMBER.search(_without_references(sentence)))
            rows.append([
                float(sim), overlap, heading[hit.chunk.id], 1.0 / (rank + 1), float(naming),
                float(quantity and numeric), float(echo), float(elsewhere),
                float(sentence.rstrip().endswith("?")), np.log1p(len(sentence)) / 6.0, float(numeric),
                float(hit.chunk.language == language), float("[" in sentence or "]" in sentence),
            ])
        found = [(hit, sentence, float(sim)) for (_, hit, sentence), sim in zip(candidates, sims, strict=True)]
        return found, np.asarray(rows)

    def pick(self, question_vector: np.ndarray, query: Query, hits: Sequence[Hit]) -> list[Pick]:
        """Rank the sentences of the best passages; return the few that answer."""
        found, x = self.candidates(question_vector, query, hits)
        if not found:
            return []
        scores = x @ self.weights
        chosen = choose(
            scores, [s for _, s, _ in found], [h.chunk.id for h, _, _ in found], x[:, ELSEWHERE] > 0, self.margin,
            related=[sim > 0 for _, _, sim in found],
        )
        return _in_reading_order([
            Pick(found[i][0].chunk, found[i][1], float(scores[i]), found[i][2], bool(x[i, ELSEWHERE])) for i in chosen
        ])


def choose(
    scores: np.ndarray, quotes: Sequence[str], passages: Sequence[str], elsewhere: Sequence[bool], margin: float,
    related: Sequence[bool] | None = None,
) -> list[int]:
    """The sentences to quote, best first: the best one related to the question and not about another country
    than the one asked (when any is), then up to two more that score within ``margin`` of it, are not about
    another country, do not repeat a chosen one, and keep at most two quotes from one passage (the third then
    comes from another passage: it is more often on a page that answers; docs/answering.md)."""
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    # the lead is related to the question (a positive cosine: the answer is refused otherwise) and about the
    # country asked, when any sentence is
    related = related if related is not None else [True] * len(order)
    lead = next((i for i in order if related[i] and not elsewhere[i]), next((i for i in order if related[i]), order[0]))
    chosen = [lead]
    for i in order:
        if len(chosen) == MAX_SENTENCES or scores[i] < scores[chosen[0]] - margin:
            break
        if i in chosen or elsewhere[i] or any(_similar(quotes[i], quotes[j]) for j in chosen):
            continue
        if sum(passages[j] == passages[i] for j in chosen) >= PER_PASSAGE:
            continue
        chosen.append(i)
    return chosen


def _without_references(sentence: str) -> str:
    """The sentence without topic codes and references to numbered parts ("Annex 1", "sections 1, 2 and 3",
    "Work Programme 2018-2020"), whose numbers are not amounts."""
    return REFERENCE.sub(" ", YEARS.sub(" ", TOPIC_CODE.sub(" ", sentence)))


def _similar(a: str, b: str) -> bool:
    ta, tb = _terms(a), _terms(b)
    return bool(ta) and len(ta & tb) / len(ta | tb) > 0.6 or a in b or b in a


def _in_reading_order(picks: list[Pick]) -> list[Pick]:
    """The best sentence first (the answer leads with it); the others grouped by passage, the best sentence's
    passage first, each passage's sentences in its own order."""
    if not picks:
        return []
    first_seen: dict[str, int] = {}
    for i, p in enumerate(picks):
        first_seen.setdefault(p.chunk.id, i)
    return [picks[0]] + sorted(
        picks[1:],
        key=lambda p: (
            first_seen[p.chunk.id],
            " ".join(p.chunk.text.split()).find(p.quote) if p.chunk.collection == DOCUMENTS else 0,
        ),
    )
