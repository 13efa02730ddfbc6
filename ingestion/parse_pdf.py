"""PDF file -> cleaned pages (one :class:`Page` per PDF page, 1-based numbers).

Text comes from PDFium (pypdfium2), which keeps words whole and follows the order the page draws
its text: a table cell's lines stay together, a footnote stays after its number (pypdf broke words
with spaces, "s ections", and glued running headers to sentences). Four things are fixed on top of
PDFium's lines:

- a footnote mark raised above the line ("Regulation⁵ have been") makes PDFium break the line; the
  pieces of one visual line are put back together from the characters' boxes;
- diagonal text is a stamp, not content: the "DRAFT" watermark of the Horizon Europe 2026-2027
  work programmes is dropped (its characters are rotated by 45°, PDFium gives each one's angle);
- PDFium marks a line-end hyphen it judged a word break (U+FFFE) and joins the lines; it is turned
  back into "-" and a line break, so that the hyphenation rules below decide;
- two words drawn apart without a space character ("addresses|topics" in a justified line) get
  their space: gaps are measured on PDFium's loose boxes (advance width by font height).

Cleaning then removes only what repeats on many pages: running headers and footers such as
"Part 9 - Page 90 of 215", "[Proposal Acronym] 14" or "31 de 52", and page numbers (a bare number
only where it is the page's own number, so that a table cell "3" stays). It also rejoins words
hyphenated at line ends, the document's own spelling deciding whether the hyphen stays
("ocean-related", "submission"), and drops dot leaders of tables of contents. One text line is one
visual line.
"""

from __future__ import annotations

import ctypes
import logging
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from assistant.errors import ParseError
from assistant.types import Page

log = logging.getLogger(__name__)

# Lines within this many lines of a page's top or bottom may be running headers/footers.
EDGE_LINES = 8
REPEAT_SHARE = 0.4  # a line shape on at least this share of pages is boilerplate
NUMBERED_REPEAT_SHARE = 0.2  # ... or this share (six pages at least) when the line carries a page number
PAGE_NUMBER_LINE = re.compile(
    r"^\s*(?:page\s*)?\d{1,4}(?:\s*(?:of|de|/)\s*\d{1,4})?\s*$|^\s*-\s*\d{1,4}\s*-\s*$", re.IGNORECASE
)
RUNNING = "\x00"  # marks the shape of a line ending in a page number
TRAILING_NUMBER = re.compile(r"^(.*\D)\s(\d{1,4})$")
PAGE_OF = re.compile(r"\b(?:page|p[áa]gina)\s*(\d{1,4})\s*(?:of|de|/)\s*(\d{1,4})\b", re.IGNORECASE)
BARE_NUMBER = re.compile(r"^\s*(\d{1,4})\s*$")
DOT_LEADER = re.compile(r"\s*(?:\.\s?){4,}\s*\d*\s*$")
# Word's Symbol/Wingdings bullets are private-use code points; U+FFFE is PDFium's line-end hyphen.
BULLETS = str.maketrans(
    {"\uf0b7": "•", "\uf0a7": "▪", "\uf0d8": "•", "\uf0fc": "✓", "\uf06f": "◦", "\u00a0": " ", "\ufffe": "-"}
)
# An identifier cut after one of its hyphens: "H2020-", "HORIZON-CL6-2026-02-FARM2FORK-01-".
CODE_TOKEN = re.compile(r"[A-Z0-9][A-Za-z0-9]*-$")
CODE_WITH_PARTS = re.compile(r"^[A-Z0-9][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+-$")
URL_TOKEN = re.compile(r"https?://|www\.|\w/\w")
# "pre-\nand post-treatment", "neuro-\nand computer scientists": a suspended hyphen, not a word break.
CONJUNCTIONS = frozenset({"and", "or", "to", "nor", "y", "o", "e", "u", "et", "ou"})

NUMBERED_FURNITURE = re.compile(r"\d+\s*(?:of|de|/)\s*\d+|\b(?:page|p[áa]gina)\s*\d+", re.IGNORECASE)
WORD = re.compile(r"(?<![\w-])[A-Za-zÁÉÍÓÚáéíóúñÑü]+(?![\w-])")  # a word standing alone, not part of 'a-b'
HYPHENATED = re.compile(r"\b[A-Za-zÁÉÍÓÚáéíóúñÑ]+-[a-záéíóúñ]+\b")

# Text whose characters are turned by more than this (radians) off a multiple of 90° is a stamp.
DIAGONAL_TOLERANCE = 0.05
# A piece of a line whose first character sits this close (in font heights) after the previous
# piece's last one, on the same band of the page, continues that line.
SAME_LINE_GAP = 1.2
SPACE_GAP = 0.15  # a gap wider than this share of the line's height is a space
WORD_GAP = 0.12  # characters drawn further apart than this share of the font height are two words


def _shape(line: str) -> str:
    """A line's identity across pages: numbers are blanked only in page-number furniture
    ('Part 9 - Page 90 of 215' ~ 'Part 9 - Page 91 of 215'), other lines must repeat exactly."""
    line = " ".join(line.split()).lower()
    return re.sub(r"\d+", "#", line) if NUMBERED_FURNITURE.search(line) else line


# --- PDFium characters -> visual lines ---------------------------------------------------------

Box = tuple[float, float, float, float]  # left, bottom, right, top (PDF points, y upwards)


@dataclass
class _Piece:
    """A run of characters PDFium put on one line: its text, first and last character boxes, and the
    vertical band (lowest bottom, highest top) its characters cover."""

    text: str
    first: Box | None
    last: Box | None
    bottom: float
    top: float


def _is_diagonal(angle: float) -> bool:
    if angle < 0:  # PDFium's "unknown"
        return False
    quarter = angle / (math.pi / 2)
    return abs(quarter - round(quarter)) * (math.pi / 2) > DIAGONAL_TOLERANCE


def _stamp_characters(text: str, handle: object) -> set[int]:
    """Indices of the characters of a diagonal stamp: turned off the page's axes, next to another
    such character (PDFium gives a lone dash or quote an odd angle now and then; a stamp is a word)."""
    get_angle = pdfium_c.FPDFText_GetCharAngle
    visible = [i for i, char in enumerate(text) if not char.isspace()]
    diagonal = [_is_diagonal(get_angle(handle, i)) for i in visible]
    return {
        visible[k]
        for k, turned in enumerate(diagonal)
        if turned and ((k > 0 and diagonal[k - 1]) or (k + 1 < len(diagonal) and diagonal[k + 1]))
    }


def _pieces(textpage: pdfium.PdfTextPage) -> list[_Piece]:
    """PDFium's text of one page, split at its line breaks, without diagonal stamps; a space is put
    where PDFium glued two words drawn apart ("addresses|topics")."""
    text = textpage.get_text_range()
    handle = textpage.raw
    if len(text) != pdfium_c.FPDFText_CountChars(handle):
        # Characters and text no longer line up (never seen in the corpus): keep PDFium's lines as they are.
        return [_Piece(line, None, None, 0.0, 0.0) for line in text.replace("\ufffe", "-\n").splitlines()]
    stamp = _stamp_characters(text, handle)
    rect = pdfium_c.FS_RECTF()
    ref = ctypes.byref(rect)
    get_box = pdfium_c.FPDFText_GetLooseCharBox  # advance width x font height: gaps are real gaps

    pieces: list[_Piece] = []
    chars: list[str] = []
    first: Box | None = None
    last: Box | None = None
    band = [math.inf, -math.inf]

    def close() -> None:
        nonlocal chars, first, last, band
        pieces.append(_Piece("".join(chars), first, last, band[0], band[1]))
        chars, first, last, band = [], None, None, [math.inf, -math.inf]

    for index, char in enumerate(text):
        if char == "\r":
            continue
        if char == "\n":
            close()
            continue
        if index in stamp:
            continue
        if char.isspace():
            chars.append(" ")
            continue
        get_box(handle, index, ref)
        box = (rect.left, rect.bottom, rect.right, rect.top)
        if (
            last is not None
            and chars
            and not chars[-1].isspace()
            and box[0] - last[2] > WORD_GAP * max(box[3] - box[1], last[3] - last[1])
            and min(box[3], last[3]) > max(box[1], last[1])  # side by side on one line
        ):
            chars.append(" ")
        if first is None:
            first = box
        last = box
        band[0], band[1] = min(band[0], box[1]), max(band[1], box[3])
        if char == "\ufffe":  # a line-end hyphen PDFium took for a word break: keep the break visible
            chars.append("-")
            close()
            continue
        chars.append(char)
    close()
    return pieces


def _continues(line_last: Box, band: tuple[float, float], first: Box) -> bool:
    """Does a piece starting with box ``first`` continue the line whose last box is ``line_last``?"""
    centre = (first[1] + first[3]) / 2
    if not band[0] <= centre <= band[1]:
        overlap = min(line_last[3], first[3]) - max(line_last[1], first[1])
        heights = (line_last[3] - line_last[1], first[3] - first[1])
        if min(heights) <= 0 or overlap < 0.5 * min(heights):
            return False
    gap = first[0] - line_last[2]
    height = max(band[1] - band[0], line_last[3] - line_last[1], first[3] - first[1])
    return -1.0 <= gap <= SAME_LINE_GAP * height


def page_lines(textpage: pdfium.PdfTextPage) -> list[str]:
    """The visual lines of a page, in PDFium's order, without diagonal stamps."""
    lines: list[str] = []
    line_last: Box | None = None
    band = (0.0, 0.0)
    for piece in _pieces(textpage):
        if (
            lines
            and line_last is not None
            and piece.first is not None
            and _continues(line_last, band, piece.first)
        ):
            gap = piece.first[0] - line_last[2]
            sep = " " if gap > SPACE_GAP * max(band[1] - band[0], 1.0) else ""
            lines[-1] = lines[-1].rstrip() + sep + piece.text.lstrip() if sep else lines[-1] + piece.text
            band = (min(band[0], piece.bottom), max(band[1], piece.top))
        else:
            lines.append(piece.text)
            band = (piece.bottom, piece.top)
        if piece.last is not None:
            line_last = piece.last
    return lines


def extract_pages(pdf: pdfium.PdfDocument) -> list[str]:
    """The raw text of every page (visual lines joined by newlines)."""
    texts = []
    for index in range(len(pdf)):
        page = pdf[index]
        textpage = page.get_textpage()
        try:
            texts.append("\n".join(page_lines(textpage)))
        finally:
            textpage.close()
            page.close()
    return texts


# --- cleaning ------------------------------------------------------------------------------------


def _joined_at_hyphen(line: str, nxt: str, compounds: set[str], vocabulary: set[str]) -> str | None:
    """``line`` ends with a hyphen: the line with the next line's first word attached, or None to keep
    the line break. 'submis-' + 'sion' -> 'submission'; 'bio-' + 'based' -> 'bio-based' when the
    document writes 'bio-based' elsewhere; identifiers, URLs and 'post-' + '2020' keep their hyphen."""
    last = line.split()[-1] if line.split() else ""
    head = nxt.split(" ", 1)[0]
    if len(last) < 2 or not head[:1].isalnum():
        return None  # a free-standing dash: "Budget 2019 -" / "see the table"
    if URL_TOKEN.search(last):
        return line + head
    if CODE_TOKEN.search(last) and (head[:1].isupper() or head[:1].isdigit()):
        return line + head
    if CODE_WITH_PARTS.match(last):
        return line + head
    if re.search(r"[a-záéíóúñ]-$", line):
        if head[:1].isdigit():
            return line + head  # 'post-' + '2020'
        if head[:1].islower() and re.sub(r"\W+$", "", head) not in CONJUNCTIONS:
            return line + head if _keeps_hyphen(last[:-1], head, compounds, vocabulary) else line[:-1] + head
    return None


def _keeps_hyphen(before: str, after: str, compounds: set[str], vocabulary: set[str]) -> bool:
    """'ocean-' + 'related': a compound word (keep the hyphen) or one word cut in two ('submis-' + 'sion')?
    The document's own spelling decides: the compound written whole elsewhere, else the word written
    without the hyphen, else both halves being words of the document (three letters or more)."""
    first, second = re.sub(r"^\W+", "", before).lower(), re.sub(r"\W+$", "", after).lower()
    if f"{first}-{second}" in compounds or "-" in first:  # 'peer-to-' + 'peer', 'water-nutrient-' + 'energy'
        return True
    if first + second in vocabulary:
        return False
    return len(first) >= 3 and len(second) >= 3 and first in vocabulary and second in vocabulary


def _dehyphenate(lines: list[str], compounds: set[str], vocabulary: set[str] = frozenset()) -> list[str]:
    """Rejoin words split at a line-end hyphen (see :func:`_joined_at_hyphen`); the rest of the
    next line stays on its own line."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.endswith("-") and i + 1 < len(lines) and lines[i + 1][:1].strip():
            joined = _joined_at_hyphen(line, lines[i + 1], compounds, vocabulary)
            if joined is not None:
                out.append(joined)
                rest = lines[i + 1].partition(" ")[2]
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


def _numbered_shape(line: str, page: int) -> str:
    """A line ending in a number, as a running header with the page number: '[Proposal Acronym] 14' on
    PDF page 27 -> '[proposal acronym] #-13'. Lines with the same shape carry the page number at the
    same offset from the PDF page."""
    m = TRAILING_NUMBER.match(" ".join(line.split()).lower())
    return f"{RUNNING}{m.group(1)} #{int(m.group(2)) - page:+d}" if m else ""


def _boilerplate(pages: list[list[str]], edges: Callable[[list[str]], set[int]]) -> set[str]:
    """Shapes of the lines at page edges that repeat on many pages: on 40% of the pages; or on 20% (six
    pages at least) when they carry a page number: 'Page 4 of 11' on the eleven pages of a form inside a
    longer document, '[Proposal Acronym] 14' (a line ending in the page number needs six pages even in
    a short document: 'Section 1', 'Section 2'... at the top of five pages may be headings)."""
    if len(pages) < 4:
        return set()
    counts: Counter[str] = Counter()
    for page, lines in enumerate(pages, start=1):
        shapes = {_shape(lines[i]) for i in edges(lines)} | {
            _numbered_shape(lines[i], page) for i in edges(lines)
        }
        counts.update(shapes - {""})
    usual = max(3, int(REPEAT_SHARE * len(pages) + 0.999))
    numbered = min(usual, max(6, int(NUMBERED_REPEAT_SHARE * len(pages) + 0.999)))
    running = max(6, int(NUMBERED_REPEAT_SHARE * len(pages) + 0.999))
    return {
        shape
        for shape, n in counts.items()
        if n >= (running if shape.startswith(RUNNING) else numbered if "#" in shape else usual)
    }


def _vocabulary(pages: list[list[str]]) -> set[str]:
    """The document's words, lower-cased, leaving out the pieces of words cut at a line-end hyphen."""
    words: set[str] = set()
    for lines in pages:
        for i, line in enumerate(lines):
            if i > 0 and lines[i - 1].endswith("-"):
                line = line.partition(" ")[2]
            if line.endswith("-"):
                line = line.rpartition(" ")[0]
            words.update(w.lower() for w in WORD.findall(line))
    return words


def _page_number_offsets(pages: list[list[str]], edges: Callable[[list[str]], set[int]]) -> set[int] | None:
    """How printed page numbers relate to PDF page numbers: the offsets (printed - PDF page) that a bare
    number at a page's edge has on many pages. None when there are too few pages to tell; then every
    bare number at an edge is taken for a page number."""
    if len(pages) < 4:
        return None
    counts: Counter[int] = Counter()
    for n, lines in enumerate(pages, start=1):
        counts.update({int(m.group(1)) - n for i in edges(lines) if (m := BARE_NUMBER.match(lines[i]))})
    return {offset for offset, c in counts.items() if c >= max(2, 0.2 * len(pages))}


def _is_page_number(line: str, page: int, offsets: set[int] | None, n_pages: int) -> bool:
    """'Page 3', '12 of 20', '31 de 52', '- 4 -' always; a bare '12' only when it is this page's number
    (a table cell '3' or a footnote mark at the foot of a page stays); a line with 'Page N of M' where
    N is this page or M the number of pages ('Part 2 - Page 111 of 112' on three landscape pages)."""
    if (m := PAGE_OF.search(line)) and (int(m.group(1)) == page or int(m.group(2)) == n_pages):
        return True
    if not PAGE_NUMBER_LINE.match(line):
        return False
    bare = BARE_NUMBER.match(line)
    return bare is None or offsets is None or int(bare.group(1)) - page in offsets


def clean_pages(raw_pages: list[str]) -> list[str]:
    """Remove running headers/footers and page numbers, fix hyphenation, keep page boundaries."""
    pages = [[ln for ln in _split_lines(t) if ln] for t in raw_pages]
    compounds = {m.lower() for lines in pages for ln in lines for m in HYPHENATED.findall(ln)}
    vocabulary = _vocabulary(pages)

    def edges(lines: list[str]) -> set[int]:
        n = len(lines)
        return set(range(min(EDGE_LINES, n))) | set(range(max(0, n - EDGE_LINES), n))

    boilerplate = _boilerplate(pages, edges)
    offsets = _page_number_offsets(pages, edges)

    cleaned = []
    for page, lines in enumerate(pages, start=1):
        edge = edges(lines)
        kept = []
        for i, ln in enumerate(lines):
            if i in edge and (
                _shape(ln) in boilerplate
                or _is_page_number(ln, page, offsets, len(pages))
                or _numbered_shape(ln, page) in boilerplate
            ):
                continue
            ln = DOT_LEADER.sub("", ln) if DOT_LEADER.search(ln) else ln
            if ln:
                kept.append(ln)
        if not kept and any(not PAGE_NUMBER_LINE.match(ln) for ln in lines):
            # Everything looked like furniture: keep the page's own text rather than lose it.
            kept = [ln for ln in lines if not PAGE_NUMBER_LINE.match(ln)]
        cleaned.append("\n".join(_dehyphenate(kept, compounds, vocabulary)))
    return cleaned


def is_toc_page(raw_text: str) -> bool:
    """A table-of-contents page: many lines end in dot leaders and a page number."""
    lines = [ln for ln in raw_text.splitlines() if ln.strip()]
    leaders = sum(1 for ln in lines if DOT_LEADER.search(ln) and re.search(r"\d\s*$", ln))
    return leaders >= 5 or (len(lines) >= 4 and leaders / len(lines) >= 0.3)


# --- reading a file ------------------------------------------------------------------------------

EOF_WINDOW = 2048  # a complete PDF ends with %%EOF (give or take trailing whitespace)


def _open(path: Path, document: str) -> pdfium.PdfDocument:
    with path.open("rb") as fh:
        if b"%PDF" not in fh.read(1024):
            raise ParseError(document, "not a PDF file (no %PDF header)")
        fh.seek(max(0, path.stat().st_size - EOF_WINDOW))
        if b"%%EOF" not in fh.read():
            # PDFium would rebuild what it can of a cut file and return the first pages only.
            raise ParseError(
                document,
                "unreadable PDF (truncated or damaged?): no %%EOF marker at its end - fetch it again "
                "with `eumex corpus fetch`",
            )
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise ParseError(
                document, "the PDF is encrypted with a password - provide a decrypted copy"
            ) from exc
        if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise ParseError(document, f"the PDF is encrypted and cannot be opened ({exc})") from exc
        raise ParseError(document, f"unreadable PDF (truncated or damaged?): {exc}") from exc


def read_pdf(path: Path, document: str) -> list[Page]:
    """Parse a PDF into cleaned pages; raise ParseError with a reason a person can act on."""
    if not path.is_file():
        raise ParseError(document, f"file not found at {path}")
    if path.stat().st_size == 0:
        raise ParseError(document, "the file is empty (0 bytes) - fetch it again with `eumex corpus fetch`")
    pdf = _open(path, document)
    try:
        raw = extract_pages(pdf)
    except pdfium.PdfiumError as exc:
        raise ParseError(document, f"unreadable PDF (truncated or damaged?): {exc}") from exc
    finally:
        pdf.close()
    if not raw:
        raise ParseError(document, "the PDF has no pages")
    if not any(t.strip() for t in raw):
        raise ParseError(document, "the PDF has no extractable text (scanned images? run OCR first)")
    return [
        Page(document, n, text, toc=is_toc_page(raw[n - 1]))
        for n, text in enumerate(clean_pages(raw), start=1)
    ]
