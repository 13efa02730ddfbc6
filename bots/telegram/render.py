"""Turn answers into Telegram messages: clean splitting under 4096 characters, source buttons, source cards.

Messages are plain text (no parse mode): quotes come verbatim from documents, so nothing needs escaping
and nothing can break the formatting. Telegram turns the URLs into links.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from assistant.manifest import PROGRAMME_LABELS, Manifest
from assistant.types import Answer, Citation
from bots.telegram.messages import t

MAX_MESSAGE = 4096  # Telegram's limit, counted in UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
MAX_BUTTON_LABEL = 48
SOURCE_PREFIX = "src"
COMPACT_AFTER = 8  # more sources than this: short buttons ("[12] p. 213"), several per row
COMPACT_PER_ROW = 3

MARKER = re.compile(r"\[\d+(?:\s*[,–-]\s*\d+)*\]")  # [3], [1, 2], [1–3]
QUOTES = re.compile(r"“[^”]*”|«[^»]*»|\"[^\"\n]*\"")
# Where a message may end, best first: a paragraph, a line, a sentence, a word.
BOUNDARIES = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?…])[”»\"]?(?:\s*\[\d+\]\.?)?\s+"),  # a sentence, with its closing quote and marker
    re.compile(r"\s+"),
)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit into `limit` UTF-16 code units."""
    if utf16_len(text) <= limit:
        return len(text)
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return i
    return len(text)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < pos < end for start, end in spans)


def _cut(text: str, limit: int) -> tuple[int, int]:
    """(end of this part, start of the next) for the best place to split `text` within `limit`."""
    room = _fit(text, limit)
    markers, quotes = _spans(MARKER, text), _spans(QUOTES, text)
    for avoid_quotes in (True, False):
        for boundary in BOUNDARIES:
            best = None
            for m in boundary.finditer(text, 0, room + 1):
                end = m.start() + len(m.group(0).rstrip())  # a sentence keeps its closing quote and marker
                if not 0 < end <= room or _inside(end, markers) or (avoid_quotes and _inside(end, quotes)):
                    continue
                best = (end, m.end())
            # A paragraph or line break is worth it only when the part is not too short.
            if best and (best[0] >= room // 3 or boundary is BOUNDARIES[-1]):
                return best
    end = room  # one enormous word: cut it, but never inside a citation marker
    for start, stop in markers:
        if start < end < stop:
            end = start
    return (end, end) if end > 0 else (room, room)


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split `text` into parts of at most `limit` UTF-16 units, on paragraph, line or sentence boundaries."""
    parts: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        end, start = _cut(rest, limit)
        part = rest[:end].rstrip()
        if part:
            parts.append(part)
        rest = rest[start:].lstrip()
    if rest:
        parts.append(rest)
    return parts


# --- answers ---------------------------------------------------------------------------------------
def answer_from_json(data: Mapping[str, Any], lang: str, question: str = "", mode: str = "",
                     header: str = "") -> Answer:
    """An :class:`Answer` from the JSON of a structured tool (topics, eligibility): its cited text and
    citations, so it is sent, remembered and given source buttons like any answer. `header` goes first."""
    citations = tuple(
        Citation(
            n=int(c["n"]), document=str(c["document"]), title=str(c["title"]), page=c.get("page"),
            locator=c.get("locator"), quote=str(c["quote"]), url=c.get("url"),
            programme=str(c.get("programme") or ""), period=str(c.get("period") or ""),
            chunk_id=str(c.get("chunk_id") or ""),
        )
        for c in data.get("citations", [])
    )
    text = str(data.get("answer", ""))
    if header:
        text = f"{header}\n\n{text}"
    return Answer(text, lang, not citations, citations, question=question, mode=mode)


def answer_text(answer: Answer) -> str:
    """The answer as the user reads it: the assistant's text, plus a hint when there are sources."""
    if not answer.citations:
        return answer.answer
    return f"{answer.answer}\n\n{t(answer.language, 'tap_source')}"


def callback_data(answer_id: str, n: int) -> str:
    data = f"{SOURCE_PREFIX}:{answer_id}:{n}"
    assert len(data.encode()) <= MAX_CALLBACK_DATA, data
    return data


CALLBACK = re.compile(rf"{SOURCE_PREFIX}:([A-Za-z0-9_-]{{1,40}}):([0-9]{{1,3}})")


def parse_callback(data: str | None) -> tuple[str, int] | None:
    """(answer id, citation number) from a source button, or None for anything else (callback data comes from
    the client: "src:x:²" is not a number even though "²".isdigit())."""
    match = CALLBACK.fullmatch(data or "")
    if match is None:
        return None
    return match.group(1), int(match.group(2))


def where(citation: Citation, lang: str) -> str:
    """'p. 12', or the CORDIS locator of a record."""
    if citation.page is not None:
        return t(lang, "source_page", page=citation.page)
    return citation.locator or "CORDIS"


def _short_title(citation: Citation, manifest: Manifest) -> str:
    doc = manifest.by_path(citation.document)
    return doc.label if doc else citation.title


def source_keyboard(answer: Answer, answer_id: str, manifest: Manifest) -> InlineKeyboardMarkup | None:
    """One button per citation, e.g. '[1] H2020 WP 2018-2020 General Annexes · p. 3'; when there are many
    (five topic cards, an eligibility verdict), short ones three to a row: '[12] p. 213'."""
    if not answer.citations:
        return None
    if len(answer.citations) > COMPACT_AFTER:
        buttons = [
            InlineKeyboardButton(f"[{c.n}] {where(c, answer.language) if c.page is not None else 'CORDIS'}",
                                 callback_data=callback_data(answer_id, c.n))
            for c in answer.citations
        ]
        return InlineKeyboardMarkup(
            [buttons[i: i + COMPACT_PER_ROW] for i in range(0, len(buttons), COMPACT_PER_ROW)]
        )
    rows = []
    for c in answer.citations:
        place = where(c, answer.language) if c.page is not None else "CORDIS"
        label = f"[{c.n}] {_short_title(c, manifest)}"
        room = MAX_BUTTON_LABEL - len(place) - 3
        if len(label) > room:
            label = label[: room - 1].rstrip() + "…"
        rows.append([InlineKeyboardButton(f"{label} · {place}", callback_data=callback_data(answer_id, c.n))])
    return InlineKeyboardMarkup(rows)


def _link(citation: Citation) -> str | None:
    """The document's URL; PDFs open at the cited page."""
    if not citation.url:
        return None
    if citation.page is not None and citation.url.lower().endswith(".pdf"):
        return f"{citation.url}#page={citation.page}"
    return citation.url


def source_card(citation: Citation, lang: str) -> str:
    """What a source button shows: the quote, the document, programme and period, the page, a link."""
    programme = PROGRAMME_LABELS.get(citation.programme, (citation.programme, citation.programme))
    details = " · ".join(
        x for x in (programme[1 if lang == "es" else 0], citation.period, where(citation, lang)) if x
    )
    lines = [f"[{citation.n}] “{citation.quote}”", "", citation.title, details]
    link = _link(citation)
    if link:
        lines.append(t(lang, "source_link", url=link))
    return "\n".join(lines)


def sources_overview(manifest: Manifest, lang: str) -> str:
    """/sources: the documents the assistant has read, then the key texts it lacks, with their URLs."""
    lines = [t(lang, "sources_present")]
    data_listed = False
    for doc in manifest.present:
        if doc.kind in {"dataset", "reference-data"}:
            if not data_listed:
                lines.append(f"• {t(lang, 'sources_data')}")
                data_listed = True
            continue
        lines.append(f"• {doc.label} — {doc.describe(lang)}")
    missing = manifest.missing
    if missing:
        lines += ["", t(lang, "sources_missing")]
        lines += [f"• {doc.label}" + (f" — {doc.url}" if doc.url else "") for doc in missing]
    return "\n".join(lines)

