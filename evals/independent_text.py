"""An independent reading of a PDF, to check that a quote is really on its page.

The assistant quotes its own extraction of the corpus PDFs (``ingestion/parse_pdf.py``). A quote is
only useful if a person finds it in the PDF, so quotes are checked against a *different* extractor:
poppler's ``pdftotext``, run once per document and mode (never once per page).

- :func:`poppler_pages` - the page texts of one PDF as ``pdftotext`` reads them: in its reading order
  (the default), or with ``raw=True`` in the order the page draws its text (``pdftotext -raw``);
- :func:`normalise` / :func:`squash` - whitespace collapsed to one space / all whitespace removed;
- :func:`quotable_sentences` - the sentences of a page a quote could be made of (6-60 words);
- :func:`broken_words` - words a space broke in two ("s ections"), judged by the poppler page's words;
- :class:`PageCheck` - one page's poppler texts prepared for many look-ups: the quotes of an answer,
  or every sentence of a page (``tests/test_quotes_corpus.py``, ``bench/parse_quality.py``).

How strict a look-up is:

- :meth:`PageCheck.has` - the normalised quote is in the normalised reading-order text. Strict, but
  pdftotext's reading order has its own habits: it drops every hyphen that ends a line and joins the
  lines ("cross-|border" -> "crossborder", "HORIZON-|MISS-2026" -> "HORIZONMISS-2026"), sets table
  columns and footnote numbers apart from the text they belong to ("21 22 The Director-General..."),
  and puts spaces around raised footnote marks ("report 17, a key reason").
- :meth:`PageCheck.found` - the quote is in the reading-order text *or* in the raw (drawing-order)
  text, allowing for those habits only (:func:`tolerant_pattern`): a hyphen inside a word may be
  missing or followed by a line break, a number may be set off by a space. This is the check the
  corpus test holds the parser to: every other character of the quote must be there, in order, in
  one of poppler's two readings of that very page.
- :meth:`PageCheck.has_ignoring_spaces` - the reading-order text and the quote without any whitespace.

Nothing here imports the parser: the check stays independent of what it checks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path

MIN_WORDS = 6
MAX_WORDS = 60
BULLET_GLYPHS = re.compile(r"[\ue000-\uf8ff•▪◦■□➢✓]")
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")
_LEADING_PUNCT = re.compile(r"^\W+")
_TRAILING_PUNCT = re.compile(r"\W+$")


class PopplerMissing(RuntimeError):
    """``pdftotext`` is not installed (Debian/Ubuntu: ``apt-get install poppler-utils``)."""


def poppler_pages(path: Path, raw: bool = False, timeout: float = 120) -> list[str]:
    """The text of each page of ``path`` as poppler's ``pdftotext`` reads it (UTF-8).

    One ``pdftotext`` run per document; its output separates pages with form feeds. ``raw=True`` keeps
    the order in which the page draws its strings (``-raw``) instead of poppler's reading order.
    """
    exe = shutil.which("pdftotext")
    if exe is None:
        raise PopplerMissing("pdftotext is not installed: apt-get install poppler-utils")
    args = [exe, "-q", "-enc", "UTF-8", *(["-raw"] if raw else []), str(path), "-"]
    proc = subprocess.run(args, capture_output=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"pdftotext failed on {path}: {proc.stderr.decode(errors='replace')[:300]}")
    pages = proc.stdout.decode("utf-8", errors="replace").split("\f")
    if pages and not pages[-1].strip():
        pages.pop()  # the form feed after the last page
    return pages


def poppler_readings(path: Path) -> list[PageCheck]:
    """Both poppler readings of every page of ``path`` (two pdftotext runs), ready for look-ups."""
    reading, drawing = poppler_pages(path), poppler_pages(path, raw=True)
    if len(drawing) != len(reading):
        drawing = [""] * len(reading)
    return [PageCheck(text, raw) for text, raw in zip(reading, drawing)]


def normalise(text: str) -> str:
    """Whitespace runs (spaces, line breaks, tabs) collapsed to one space; bullet glyphs folded to "•".

    Word's Symbol-font bullets are private-use code points (U+F0B7...) that pdftotext passes on as they
    are and the parser shows as "•"/"▪": on the page they are the same bullet.
    """
    return " ".join(BULLET_GLYPHS.sub("•", text).split())


def squash(text: str) -> str:
    """All whitespace removed: finds a quote whatever the extractors did with spaces and line breaks."""
    return "".join(normalise(text).split())


_TOLERATED = re.compile(r"(?<=\w)-(?=\w)| ?(?<=[^\d-])(?=\d)|(?<=\d)(?=[^\d-]) ?")


def tolerant_pattern(quote: str) -> re.Pattern[str]:
    """The normalised quote as a pattern that allows for two habits of pdftotext.

    A hyphen inside a word may be missing (its reading order drops a hyphen that ends a line) or
    followed by a space (its raw order keeps that line break). A number may or may not be set off by
    a space from the letters or punctuation it touches (it spaces raised footnote marks: "activity60."
    comes out as "activity 60 ." or "activity60 ."; "(PPI) 315 can" as "(PPI)315 can").
    """
    quote = normalise(quote)
    parts, pos = [], 0
    for m in _TOLERATED.finditer(quote):
        parts += [re.escape(quote[pos : m.start()]), "(?:- ?)?" if m.group() == "-" else " ?"]
        pos = m.end()
    parts.append(re.escape(quote[pos:]))
    return re.compile("".join(parts))


def quotable_sentences(text: str, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[str]:
    """The page's sentences of ``min_words``-``max_words`` words, whitespace-normalised.

    A sentence ends at ``.``, ``!``, ``?``, ``;`` or ``:`` followed by whitespace; shorter pieces
    (headings, table cells) and longer ones (run-on lists) are not what an answer quotes.
    """
    sentences = SENTENCE_END.split(normalise(text))
    return [s for s in sentences if min_words <= len(s.split()) <= max_words]


def page_words(text: str) -> set[str]:
    """The page's words, lower-cased, without the punctuation around them."""
    words = (_EDGE_PUNCT.sub("", token).lower() for token in text.split())
    return {w for w in words if w}


def broken_words(sentence: str, words: set[str]) -> list[str]:
    """Word pairs of ``sentence`` that are one word of the page broken by a space: "s ections".

    A pair counts when the two pieces joined are a word of the (poppler) page and neither piece
    is; "in to" is not counted when "in" is a word of the page.
    """
    tokens = sentence.split()
    found = []
    for first, second in pairwise(tokens):
        a = _LEADING_PUNCT.sub("", first).lower()
        b = _TRAILING_PUNCT.sub("", second).lower()
        if not a or not b or not re.search(r"[^\W\d_]", a + b):
            continue
        if (a + b) in words and a not in words and b not in words:
            found.append(f"{first} {second}")
    return found


@dataclass
class PageCheck:
    """One page as poppler reads it (reading order, and optionally raw drawing order), ready to answer
    "is this quote on the page?" many times."""

    text: str
    raw: str = ""

    @cached_property
    def normalised(self) -> str:
        return normalise(self.text)

    @cached_property
    def raw_normalised(self) -> str:
        return normalise(self.raw)

    @cached_property
    def squashed(self) -> str:
        return squash(self.text)

    @cached_property
    def words(self) -> set[str]:
        return page_words(self.text) | page_words(self.raw)

    def has(self, quote: str) -> bool:
        """Strict: the normalised quote is in the normalised reading-order text."""
        return normalise(quote) in self.normalised

    def found(self, quote: str) -> bool:
        """The quote is in either poppler reading, allowing for pdftotext's line-end hyphens and
        spaced footnote marks (:func:`tolerant_pattern`)."""
        quote = normalise(quote)
        if quote in self.normalised or quote in self.raw_normalised:
            return True
        pattern = tolerant_pattern(quote)
        return pattern.search(self.normalised) is not None or pattern.search(self.raw_normalised) is not None

    def has_ignoring_spaces(self, quote: str) -> bool:
        """The quote is in the reading-order text once all whitespace is removed from both."""
        return squash(quote) in self.squashed

    def broken_words(self, quote: str) -> list[str]:
        return broken_words(quote, self.words)


@dataclass
class SentenceStats:
    """Counts of the sentence check over pages.

    ``strict``: in the reading-order text (:meth:`PageCheck.has`); ``found``: :meth:`PageCheck.found`;
    ``squashed``: found ignoring whitespace; ``broken``: sentences with a word broken by a space.
    ``misses`` keeps examples of sentences not ``found``.
    """

    sentences: int = 0
    strict: int = 0
    found: int = 0
    squashed: int = 0
    broken: int = 0
    misses: list[tuple[int, str]] = field(default_factory=list)
    broken_examples: list[tuple[int, str]] = field(default_factory=list)

    def add_page(self, page: int, text: str, check: PageCheck, keep: int = 50) -> None:
        for sentence in quotable_sentences(text):
            self.sentences += 1
            strict = check.has(sentence)
            self.strict += strict
            self.squashed += strict or check.has_ignoring_spaces(sentence)
            if strict or check.found(sentence):
                self.found += 1
            elif len(self.misses) < keep:
                self.misses.append((page, sentence))
            if pieces := check.broken_words(sentence):
                self.broken += 1
                if len(self.broken_examples) < keep:
                    self.broken_examples.append((page, ", ".join(pieces)))

    def merge(self, other: SentenceStats) -> None:
        self.sentences += other.sentences
        self.strict += other.strict
        self.found += other.found
        self.squashed += other.squashed
        self.broken += other.broken

    def share(self, count: int) -> float:
        return count / self.sentences if self.sentences else 1.0


def check_pages(
    page_texts: list[str], poppler: list[PageCheck], skip: frozenset[int] = frozenset(), keep: int = 50
) -> SentenceStats:
    """Every quotable sentence of ``page_texts`` (page n, 1-based) looked up in poppler's page n.

    ``skip`` holds page numbers left out, such as tables of contents (never quoted).
    """
    stats = SentenceStats()
    for n, text in enumerate(page_texts, start=1):
        if n not in skip:
            stats.add_page(n, text, poppler[n - 1] if n <= len(poppler) else PageCheck(""), keep)
    return stats
