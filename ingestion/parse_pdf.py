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
from assistant.models import Page

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


def _shape(line: str) -> str:
    """A line with its numbers blanked, so 'Page 90 of 215' and 'Page 91 of 215' look the same."""
    return re.sub(r"\d+", "#", " ".join(line.split())).lower()


def _dehyphenate(lines: list[str]) -> list[str]:
    """Rejoin 'submis-' + 'sion' and keep identifiers such as 'H2020-' + 'EINFRA-2014'."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        while line.endswith("-") and i + 1 < len(lines) and lines[i + 1][:1].strip():
            nxt = lines[i + 1]
            last = line.split()[-1] if line.split() else ""
            if re.search(r"[a-záéíóúñ]-$", line) and nxt[:1].islower():
                head, _, rest = nxt.partition(" ")
                line = line[:-1] + head
                lines[i + 1] = rest
                if not rest:
                    i += 1
                    continue
                break
            if CODE_TOKEN.search(last) and (nxt[:1].isupper() or nxt[:1].isdigit()):
                head, _, rest = nxt.partition(" ")
                line = line + head
                lines[i + 1] = rest
                if not rest:
                    i += 1
                    continue
                break
            break
        out.append(line)
        i += 1
    return [ln for ln in out if ln.strip()] if out else out


def _split_lines(text: str) -> list[str]:
    return [" ".join(line.translate(BULLETS).split()) for line in text.splitlines()]


def clean_pages(raw_pages: list[str]) -> list[str]:
    """Remove running headers/footers and page numbers, fix hyphenation, keep page boundaries."""
    split = [[ln for ln in _split_lines(t)] for t in raw_pages]
    counts: Counter[str] = Counter()
    for lines in split:
        nonblank = [ln for ln in lines if ln]
        edge = nonblank[:EDGE_LINES] + nonblank[-EDGE_LINES:]
        counts.update({_shape(ln) for ln in edge})
    min_pages = max(3, int(REPEAT_SHARE * len(split) + 0.999))
    boilerplate = {shape for shape, n in counts.items() if n >= min_pages} if len(split) >= 4 else set()

    cleaned = []
    for lines in split:
        nonblank = [ln for ln in lines if ln]
        edge_ids = {id(x) for x in nonblank[:EDGE_LINES] + nonblank[-EDGE_LINES:]}
        kept = []
        for ln in nonblank:
            if id(ln) in edge_ids and (_shape(ln) in boilerplate or PAGE_NUMBER_LINE.match(ln)):
                continue
            ln = DOT_LEADER.sub("", ln) if DOT_LEADER.search(ln) else ln
            if ln:
                kept.append(ln)
        cleaned.append("\n".join(_dehyphenate(kept)))
    return cleaned


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
    return [Page(document, n, text) for n, text in enumerate(clean_pages(raw), start=1)]
