"""Cleaned pages -> page-aware chunks.

Each chunk keeps its document, first and last page, the heading it sits under (a work
programme topic such as ``SFS-33-2018: ...``, a law article such as ``Artículo 62``, or a
numbered section), and a stable id derived from its place and content. A short tail at the
end of a page is carried over to the next page, so such a chunk spans two pages.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.manifest import Document
from assistant.types import DOCUMENTS, PROJECTS, Chunk, Page, Record

TOPIC_CODE = r"[A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*-\d{1,2}[a-z]?(?:-[A-Za-z])?(?:[-/]\d{4})+"
HE_CODE = r"(?:HORIZON|ERC)(?:-[A-Z0-9]+)*-20[2-9]\d(?:-[A-Z0-9]+)*"  # HORIZON-CL6-2027-01-BIODIV-01
TOPIC_HEADING = re.compile(rf"^({TOPIC_CODE}|{HE_CODE})\s*:\s*(\S.{{3,}})$")
ARTICLE_HEADING = re.compile(r"^(Art[íi]culo\s+\d+[o°º]?(?:\s+(?:Bis|Ter))?)\.", re.IGNORECASE)
# The EU texts' articles: "Article 22" (the Regulation, alone on its line) and "ARTICLE 6 — ELIGIBLE AND
# INELIGIBLE COSTS" (the Model Grant Agreement).
EU_ARTICLE_HEADING = re.compile(r"^(Article\s+\d{1,3}|ARTICLE\s+\d{1,3}\s+[—–-]\s+[A-Z].{3,80})\s*$")
LAW_PART = re.compile(r"^(T[ÍI]TULO\s+[A-ZÁÉÍÓÚ]+|Cap[íi]tulo\s+[IVXLC]+)\s*$", re.IGNORECASE)
CALL_HEADING = re.compile(r"^((?:Conditions for the )?Call\s+[-–]\s+[A-Z][\w ,&-]{3,80}?)\s*\d*$")
SECTION_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3}\.?)\s+([A-Z][^.;:]{2,80})$")
MIN_CHUNK = 160  # characters: shorter pieces are merged with their neighbour


@dataclass
class _Block:
    page: int
    heading: str
    text: str


def heading_of(line: str) -> tuple[str, bool] | None:
    """Return (heading, starts_a_block) if the line is a heading we keep track of."""
    if m := TOPIC_HEADING.match(line):
        return f"{m.group(1)}: {m.group(2).strip()}", True
    if m := ARTICLE_HEADING.match(line):
        return m.group(1), True
    if m := EU_ARTICLE_HEADING.match(line):
        return " ".join(m.group(1).split()), True
    if m := CALL_HEADING.match(line):
        return m.group(1).strip(), True
    if LAW_PART.match(line):
        return line.strip(), False
    if (m := SECTION_HEADING.match(line)) and len(line) <= 90:
        return line.strip(), True
    return None


def _blocks(pages: Iterable[Page]) -> Iterator[_Block]:
    """Split pages into blocks at headings; the current heading carries across pages."""
    heading = ""
    for page in pages:
        if page.toc:
            continue  # its lines are headings of other pages; answers never come from here
        current: list[str] = []
        block_heading = heading
        for line in page.text.split("\n"):
            found = heading_of(line)
            if found and found[1]:
                if current:
                    yield _Block(page.page, block_heading, "\n".join(current))
                current = []
                heading = block_heading = found[0]
            current.append(line)
        if current:
            yield _Block(page.page, block_heading, "\n".join(current))


def _stable_id(doc_id: str, page: int | str, text: str, heading: str) -> str:
    digest = hashlib.sha1(f"{heading}\n{text}".encode()).hexdigest()[:12]
    return f"{doc_id}:p{page}:{digest}"


def chunk_pages(pages: list[Page], doc: Document, chunk_chars: int = 700, overlap: int = 100) -> list[Chunk]:
    """Cut a document's pages into focused, page-aware chunks."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_chars,
        chunk_overlap=overlap,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
    )
    pieces: list[tuple[int, int, str, str]] = []  # page_start, page_end, heading, text
    carry: tuple[int, str, str] | None = None  # short tail waiting for the next page
    for block in _blocks(pages):
        parts = [p.strip() for p in splitter.split_text(block.text) if p.strip()]
        if carry is not None:
            c_page, c_heading, c_text = carry
            carry = None
            if parts and c_heading == block.heading and len(c_text) + len(parts[0]) <= chunk_chars * 1.5:
                parts[0] = c_text + "\n" + parts[0]
                pieces.append((c_page, block.page, block.heading, parts.pop(0)))
            else:
                pieces.append((c_page, c_page, c_heading, c_text))
        for i, part in enumerate(parts):
            if i == len(parts) - 1 and len(part) < MIN_CHUNK:
                carry = (block.page, block.heading, part)
            else:
                pieces.append((block.page, block.page, block.heading, part))
    if carry is not None:
        pieces.append((carry[0], carry[0], carry[1], carry[2]))

    merged = _merge_small(pieces, chunk_chars)
    chunks = []
    seen: set[str] = set()
    for start, end, heading, text in merged:
        cid = _stable_id(doc.id, start, text, heading)
        if cid in seen:  # identical passage twice on one page: keep one
            continue
        seen.add(cid)
        chunks.append(
            Chunk(
                id=cid,
                doc_id=doc.id,
                document=doc.path,
                text=text,
                collection=DOCUMENTS,
                page_start=start,
                page_end=end,
                heading=heading,
                language=doc.language,
                programme=doc.programme,
                kind=doc.kind,
                period=doc.period,
                title=doc.label,
            )
        )
    return chunks


def _merge_small(
    pieces: list[tuple[int, int, str, str]], chunk_chars: int
) -> list[tuple[int, int, str, str]]:
    """Join a short piece to the previous one on the same page and under the same heading."""
    out: list[tuple[int, int, str, str]] = []
    for piece in pieces:
        start, end, heading, text = piece
        if out:
            p_start, p_end, p_heading, p_text = out[-1]
            short = len(text) < MIN_CHUNK or len(p_text) < MIN_CHUNK
            if short and p_end == start == end and len(p_text) + len(text) <= chunk_chars * 1.5:
                out[-1] = (p_start, end, p_heading or heading, _join_without_overlap(p_text, text))
                continue
        out.append(piece)
    return out


def _join_without_overlap(first: str, second: str) -> str:
    """Join consecutive pieces; the splitter's overlap must not appear twice in the result."""
    for k in range(min(len(first), len(second)), 0, -1):
        if first.endswith(second[:k]) and (k == len(second) or not second[k].isalnum() or second[k - 1] == " "):
            rest = second[k:]
            if not rest:
                return first
            if rest[0].isspace() or first[-1].isspace():
                return first + rest
            return first + ("\n" if second[k - 1] in ".;:" else " ") + rest
    return first + "\n" + second


def chunk_records(records: list[Record], doc: Document, collection: str = PROJECTS) -> list[Chunk]:
    """One chunk per dataset record (a project, a topic): the record is already a focused text."""
    return [
        Chunk(
            id=f"{doc.id}:{rec.key}:{hashlib.sha1(rec.text.encode()).hexdigest()[:10]}",
            doc_id=doc.id,
            document=doc.path,
            text=rec.text,
            collection=collection,
            locator=rec.locator,
            heading=str(rec.fields.get("heading", "")),
            language=doc.language,
            programme=doc.programme,
            kind=doc.kind,
            period=doc.period,
            title=doc.label,
        )
        for rec in records
    ]


def embedding_text(chunk: Chunk) -> str:
    """What the embedder sees: the heading gives a passage its context."""
    if chunk.collection != DOCUMENTS:
        return chunk.text.split("\n", 1)[0]  # a record's first line says what it is about
    if chunk.heading and chunk.heading not in chunk.text:
        return f"{chunk.heading}\n{chunk.text}"
    return chunk.text
