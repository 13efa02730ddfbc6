"""PDF file -> cleaned pages (one :class:`Page` per PDF page, 1-based numbers).

Cleaning keeps every page's own text and removes only what repeats on most pages: running
headers and footers such as "Part 9 - Page 90 of 215" or "31 de 52". It also rejoins words
hyphenated at line ends and drops dot leaders of tables of contents.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

from assistant.errors import ParseError
from assistant.types import Page

log = logging.getLogger(__name__)

# Lines within this many lines of a page's top or bottom may be running headers/footers.
EDGE_LINES = 8
REPEAT_SHARE = 0.4  # a line shape on at least this share of pages is boilerplate
PAGE_NUMBER_LINE = re.compile(
    r"^\s*(?:page\s*)?\d{1,4}(?:\s*(?:of|de|/)\s*\d{1,4})?\s*$|^\s*-\s*\d{1,4}\s*-\s*$", re.IGNORECASE
)
DOT_LEADER = re.compile(r"\s*(?:\.\s?){4,}\s*\d*\s*$")
BULLETS = str.maketrans({"\uf0b7": "•", "\uf0a7": "▪", "\uf0d8": "•", "\uf0fc": "✓", "\u00a0": " "})
CODE_TOKEN = re.compile(r"[A-Z0-9][A-Za-z0-9]*-$")


NUMBERED_FURNITURE = re.compile(r"\d+\s*(?:of|de|/)\s*\d+|\b(?:page|p[áa]gina)\s*\d+", re.IGNORECASE)
HYPHENATED = re.compile(r"\b[A-Za-zÁÉÍÓÚáéíóúñÑ]+-[a-záéíóúñ]+\b")


def _shape(line: str) -> str:
    """A line's identity across pages: numbers are blanked only in page-number furniture
    ('Part 9 - Page 90 of 215' ~ 'Part 9 - Page 91 of 215'), other lines must repeat exactly."""
    line = " ".join(line.split()).lower()
    return re.sub(r"\d+", "#", line) if NUMBERED_FURNITURE.search(line) else line


def _dehyphenate(lines: list[str], compounds: set[str]) -> list[str]:
    """Rejoin 'submis-' + 'sion', keep 'bio-' + 'based' when the document writes 'bio-based' elsewhere,
    and keep identifiers such as 'H2020-' + 'EINFRA-2014'."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.endswith("-") and i + 1 < len(lines) and lines[i + 1][:1].strip():
            nxt = lines[i + 1]
            last = line.split()[-1] if line.split() else ""
            head, _, rest = nxt.partition(" ")
            joined = None
            if re.search(r"[a-záéíóúñ]-$", line) and nxt[:1].islower():
                word = re.sub(r"^\W+|\W+$", "", last[:-1] + "-" + head).lower()
                joined = line + head if word in compounds else line[:-1] + head
            elif CODE_TOKEN.search(last) and (nxt[:1].isupper() or nxt[:1].isdigit()):
                joined = line + head
            if joined is not None:
                out.append(joined)
                if rest:
                    lines[i + 1] = rest
                    i += 1
                else:
                    i += 2
                continue
        out.append(line)
        i += 1
    return out


def _split_lines(text: str) -> list[str]:
    return [" ".join(line.translate(BULLETS).split()) for line in text.splitlines()]


def clean_pages(raw_pages: list[str]) -> list[str]:
    """Remove running headers/footers and page numbers, fix hyphenation, keep page boundaries."""
    pages = [[ln for ln in _split_lines(t) if ln] for t in raw_pages]
    compounds = {m.lower() for lines in pages for ln in lines for m in HYPHENATED.findall(ln)}

    def edges(lines: list[str]) -> set[int]:
        n = len(lines)
        return set(range(min(EDGE_LINES, n))) | set(range(max(0, n - EDGE_LINES), n))

    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_shape(lines[i]) for i in edges(lines)})
    min_pages = max(3, int(REPEAT_SHARE * len(pages) + 0.999))
    boilerplate = {shape for shape, n in counts.items() if n >= min_pages} if len(pages) >= 4 else set()

    cleaned = []
    for lines in pages:
        edge = edges(lines)
        kept = []
        for i, ln in enumerate(lines):
            if i in edge and (_shape(ln) in boilerplate or PAGE_NUMBER_LINE.match(ln)):
                continue
            ln = DOT_LEADER.sub("", ln) if DOT_LEADER.search(ln) else ln
            if ln:
                kept.append(ln)
        if not kept and any(not PAGE_NUMBER_LINE.match(ln) for ln in lines):
            # Everything looked like furniture: keep the page's own text rather than lose it.
            kept = [ln for ln in lines if not PAGE_NUMBER_LINE.match(ln)]
        cleaned.append("\n".join(_dehyphenate(kept, compounds)))
    return cleaned


def is_toc_page(raw_text: str) -> bool:
    """A table-of-contents page: many lines end in dot leaders and a page number."""
    lines = [ln for ln in raw_text.splitlines() if ln.strip()]
    leaders = sum(1 for ln in lines if DOT_LEADER.search(ln) and re.search(r"\d\s*$", ln))
    return leaders >= 5 or (len(lines) >= 4 and leaders / len(lines) >= 0.3)


def read_pdf(path: Path, document: str) -> list[Page]:
    """Parse a PDF into cleaned pages; raise ParseError with a reason a person can act on."""
    if not path.is_file():
        raise ParseError(document, f"file not found at {path}")
    if path.stat().st_size == 0:
        raise ParseError(document, "the file is empty (0 bytes) - fetch it again with `eumex corpus fetch`")
    with path.open("rb") as fh:
        if b"%PDF" not in fh.read(1024):
            raise ParseError(document, "not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise ParseError(document, "the PDF is encrypted with a password - provide a decrypted copy")
            except (NotImplementedError, FileNotDecryptedError) as exc:
                raise ParseError(document, f"the PDF is encrypted and cannot be opened ({exc})") from exc
        raw = [page.extract_text() or "" for page in reader.pages]
    except ParseError:
        raise
    except FileNotDecryptedError as exc:
        raise ParseError(document, "the PDF is encrypted with a password - provide a decrypted copy") from exc
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise ParseError(document, f"unreadable PDF (truncated or damaged?): {exc}") from exc
    if not raw:
        raise ParseError(document, "the PDF has no pages")
    if not any(t.strip() for t in raw):
        raise ParseError(document, "the PDF has no extractable text (scanned images? run OCR first)")
    return [
        Page(document, n, text, toc=is_toc_page(raw[n - 1])) for n, text in enumerate(clean_pages(raw), start=1)
    ]
