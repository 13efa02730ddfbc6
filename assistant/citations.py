"""Citations: build them from chunks and check every quote against the source text.

A quote is verified when, after collapsing whitespace, it is a substring of the cited page's
text (PDFs: the stored text of one of the pages page_start..page_end) or of the dataset record it cites.
Nothing is ever shown to a user with an unverified quote.
"""

from __future__ import annotations

import re
import unicodedata

from assistant.index.catalog import Catalog
from assistant.manifest import Manifest
from assistant.types import DOCUMENTS, Chunk, Citation

PROJECT_ID = re.compile(r"project (\d{5,9})")
QUOTE_CHARS = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "\u00a0": " "})


def normalise(text: str) -> str:
    """Whitespace collapsed, typographic quotes and dashes folded, Unicode composed."""
    return " ".join(unicodedata.normalize("NFC", text).translate(QUOTE_CHARS).split())


def quote_page(catalog: Catalog, chunk: Chunk, quote: str) -> int | None:
    """The page of a PDF chunk that holds the whole quote, or None (a chunk may span two pages; a quote
    running over the page break is on neither, and cannot be cited with one page number)."""
    q = normalise(quote).strip(' ."')
    for page in range(chunk.page_start or 0, (chunk.page_end or chunk.page_start or 0) + 1):
        text = catalog.page_text(chunk.doc_id, page)
        if text is not None and q in normalise(text):
            return page
    return None


def on_page(catalog: Catalog, doc_id: str, page: int, quote: str) -> bool:
    """Whether the quote occurs verbatim (normalised whitespace) in the stored text of one page."""
    q = normalise(quote).strip(' ."')
    text = catalog.page_text(doc_id, page)
    return len(q) >= 8 and text is not None and q in normalise(text)


def quote_is_verified(catalog: Catalog, chunk: Chunk, quote: str) -> bool:
    """True when the quote occurs verbatim (normalised whitespace) on one page of the chunk's source
    (PDFs), or in the dataset record it cites."""
    q = normalise(quote).strip(' ."')
    if len(q) < 8:
        return False
    if chunk.collection == DOCUMENTS and chunk.page_start is not None:
        return quote_page(catalog, chunk, quote) is not None
    return q in normalise(chunk.text)


def make_citation(n: int, chunk: Chunk, quote: str, manifest: Manifest, catalog: Catalog) -> Citation:
    """A numbered citation for a verified quote from a chunk."""
    doc = manifest.by_id(chunk.doc_id) or manifest.by_path(chunk.document)
    url = doc.url if doc else None
    if chunk.locator and (m := PROJECT_ID.search(chunk.locator)):
        url = f"https://cordis.europa.eu/project/id/{m.group(1)}"
    return Citation(
        n=n,
        document=chunk.document,
        title=doc.title if doc else chunk.title,
        page=quote_page(catalog, chunk, quote) if chunk.page_start is not None else None,
        locator=chunk.locator,
        quote=" ".join(quote.split()),
        url=url,
        programme=doc.programme if doc else chunk.programme,
        period=doc.period if doc else chunk.period,
        kind=doc.kind if doc else chunk.kind,
        chunk_id=chunk.id,
    )


# --- dataset rows ----------------------------------------------------------------------------------
ROW_SEPARATOR = " | "


def row_quote(cells: dict[str, str], columns: tuple[str, ...]) -> str:
    """A quote of a dataset row: ``column: value`` for the given columns that have a value, in order."""
    return ROW_SEPARATOR.join(f"{c}: {cells[c]}" for c in columns if cells.get(c) not in (None, "", "NA"))


def row_quote_verified(cells: dict[str, str], quote: str) -> bool:
    """True when every ``column: value`` of the quote is exactly that cell of the stored source row."""
    parts = [p for p in quote.split(ROW_SEPARATOR) if p]
    if not parts:
        return False
    for part in parts:
        column, sep, value = part.partition(": ")
        if not sep or column not in cells or normalise(cells[column]) != normalise(value):
            return False
    return True
