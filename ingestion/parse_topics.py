"""Horizon Europe work programme pages -> structured topic records (:class:`assistant.types.CallTopic`).

Input is a list of ``(page number, page text)`` with one line per visual line, whichever parser
produced it (the tests use PDFium). The work programmes share one layout, which this module reads
generically:

* a call section: ``Call - <title>`` and the call identifier on the next line, then an overview
  table whose linearised text holds ``Opening: <date>`` / ``Deadline(s): <date> (First Stage), …``
  lines, destination lines and one row per topic: ``<code>: <title>`` then the type of action and
  the numbers (budget per year in EUR million, expected EU contribution per project, indicative
  number of projects);
* a topic section: the heading ``<code>: <title>``, a "Specific conditions" table (``Call:``,
  ``Expected EU contribution per project``, ``Indicative budget``, ``Type of Action``,
  ``Technology Readiness Level``, ``Eligibility conditions``, ``Legal and financial set-up of the
  Grant Agreements`` …), then ``Expected Outcome:`` and ``Scope:``.

Running headers and footers ("Horizon Europe - Work Programme 2026-2027", "Part 9 - Page 90 of
356"), page numbers, a diagonal "DRAFT" watermark and footnotes are dropped before parsing; every
field read from the text keeps a verbatim snippet of its page (:class:`SourceQuote`) so an answer
can cite "page N: '…'". The ERC work programme has no topic sections: its calls are the columns of
"Call Identifier" tables (one record per call identifier).

Quotes are the page text with whitespace collapsed and PDFium's U+FFFE (its encoding of a hyphen
at a PDF line break, as in "two\ufffestage") written as "-"; :func:`normalise` applies the same
rule, so ``normalise(quote.text) in normalise(page_text)`` holds for every quote.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import date

from assistant.types import CallTopic, SourceQuote

__all__ = ["normalise", "parse_topics"]


def normalise(text: str) -> str:
    """Whitespace collapsed, U+FFFE as '-': the form quotes are given in and compared by."""
    return " ".join(text.replace("\ufffe", "-").split())


# --- patterns -------------------------------------------------------------------------------------

MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
DATE = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+("
    + "|".join(sorted(MONTHS, key=len, reverse=True))
    + r")\.?\s+(20\d\d)\b",
    re.IGNORECASE,
)
STAGE = re.compile(r"\s*,?\s*\(\s*((?:first|second|third)\s+stage)\s*\)", re.IGNORECASE)

# A code: HORIZON-CL6-2026-01-BIODIV-01, possibly broken after a hyphen at a line end
# ("HORIZON-CL6-2026-01-\nZEROPOLLUTION-01-two-stage"); U+FFFE is already a hyphen here.
CODE = re.compile(r"HORIZON(?:-(?:[ \t]*\n[ \t]*)?[A-Za-z0-9]+)+")
TOPIC_CODE = re.compile(r"^HORIZON-(?:[A-Za-z0-9]+-)*20\d\d-(?:[A-Za-z0-9]+-)*[A-Za-z0-9]+$")
YEAR_SEGMENT = re.compile(r"-20\d\d-")
LEADER = re.compile(r"\.{5,}|…{2,}")

FURNITURE = [
    re.compile(r"^Horizon Europe\s*[-–]\s*Work Programme\s+20\d\d\s*[-–]\s*20\d\d\b.{0,80}$", re.I),
    re.compile(r"^Part\s+\d+\s*[-–]\s*Page\s+\d+\s+of\s+\d+$", re.I),
    re.compile(r"^Page\s+\d+\s+of\s+\d+$", re.I),
    re.compile(r"^[DRAFT](?:\s*[DRAFT]){0,4}$"),  # the watermark, whole or in pieces ("T", "AF", "DR")
]
EDGE = 4  # header/footer candidates: this many lines at either end of a page
REPEAT_SHARE = 0.3

# Type of action in the call overview tables (abbreviated) and in the topic conditions (spelled out).
TOA_TABLE = re.compile(r"^(RIA|IA|CSA|COFUND|PCP|PPI|TMA\b[^\n]*|Grant to identified beneficiar\w*)", re.M)
TOA_SHORT = [
    (re.compile(r"research and innovation action", re.I), "RIA"),
    (re.compile(r"^innovation action|\binnovation actions?$", re.I), "IA"),
    (re.compile(r"coordination and support action", re.I), "CSA"),
    (re.compile(r"co-?fund", re.I), "COFUND"),
    (re.compile(r"pre-?commercial procurement", re.I), "PCP"),
    (re.compile(r"public procurement of innovative", re.I), "PPI"),
    (re.compile(r"prize", re.I), "PRIZE"),
]
MSCA_SHORT = [
    (re.compile(r"doctoral network", re.I), "MSCA-DN"),
    (re.compile(r"postdoctoral fellowship", re.I), "MSCA-PF"),
    (re.compile(r"staff exchange", re.I), "MSCA-SE"),
    (re.compile(r"cofund", re.I), "MSCA-COFUND"),
]

# Labels of the topic's "Specific conditions" table, each at the start of a line.
CONDITION_LABELS = {
    "contribution": r"Expected\s+EU\s+contribution\s+per\s+project",
    "budget": r"Indicative\s+budget",
    "type_of_action": r"Type\s+of\s+Action",
    "trl": r"Technology\s+Readiness\s+Level",
    "eligibility": r"Eligibility(?:\s+conditions)?",
    "admissibility": r"Admissibility(?:\s+conditions)?",
    "legal": r"Legal\s+and\s+financial\s+set-\s*up\s+of\s+the\s+Grant\s+Agreements",
    "procedure": r"Procedure",
    "award": r"Award\s+criteria",
    "security": r"Security\s+Sensitive\s+Topics?",
    "documents": r"Documents",
    "financial_capacity": r"Financial\s+and\s+operational\s+capacity\s+and\s+exclusion",
    "page_limits": r"Exceptional\s+page\s+limits[^\n]*",
}
CONDITION_LABEL = re.compile(
    r"(?m)^[ \t]*(?:" + "|".join(f"(?P<{k}>{v})" for k, v in CONDITION_LABELS.items()) + r")[ \t]*:?"
)
EXPECTED_OUTCOME = re.compile(r"(?m)^[ \t]*Expected\s+Outcomes?\s*:", re.I)
SCOPE = re.compile(r"(?m)^[ \t]*Scope\s*:")

# Amounts of money.
NUM = r"\d{1,3}(?:[ ,]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
SCALE = r"(million|billion|m\b)?"
AROUND = re.compile(r"(?:around|approximately|about|of)\s+EUR\s*(" + NUM + r")\s*" + SCALE, re.I)
BETWEEN = re.compile(
    r"between\s+EUR\s*(" + NUM + r")\s*(million)?\s*(?:and|to|-|–)\s*(?:EUR\s*)?(" + NUM + r")\s*" + SCALE,
    re.I,
)
UP_TO = re.compile(r"(?:up\s+to|maximum\s+of|not\s+exceed(?:ing)?)\s+EUR\s*(" + NUM + r")\s*" + SCALE, re.I)
TOPIC_BUDGET = re.compile(
    r"budget\s+for\s+the\s+topic\s+is\s+(?:EUR\s*)?(" + NUM + r")\s*(?:EUR\s*)?" + SCALE, re.I
)
TRL = re.compile(r"\bTRL\s*(\d)(?:\s*(?:-|–|to|and)\s*(?:TRL\s*)?(\d))?", re.I)
LUMP_SUM = re.compile(r"\blump[\s-]+sum", re.I)

# Named non-EU countries and regions; the longest alternatives first so "South Africa" wins over "Africa".
REGION_NAMES = {
    "Latin America and the Caribbean": "Latin America and the Caribbean",
    "Latin American and Caribbean": "Latin America and the Caribbean",
    "Latin America": "Latin America",
    "Latin American": "Latin America",
    "CELAC": "CELAC",
    "EU-CELAC": "CELAC",
    "Caribbean": "Caribbean",
    "Central America": "Central America",
    "South America": "South America",
    "North America": "North America",
    "Mexico": "Mexico",
    "Mexican": "Mexico",
    "Brazil": "Brazil",
    "Argentina": "Argentina",
    "Chile": "Chile",
    "Colombia": "Colombia",
    "Peru": "Peru",
    "Ecuador": "Ecuador",
    "Uruguay": "Uruguay",
    "Paraguay": "Paraguay",
    "Bolivia": "Bolivia",
    "Venezuela": "Venezuela",
    "Costa Rica": "Costa Rica",
    "Panama": "Panama",
    "Cuba": "Cuba",
    "Guatemala": "Guatemala",
    "United States": "United States",
    "USA": "United States",
    "Canada": "Canada",
    "African Union": "African Union",
    "Sub-Saharan Africa": "Sub-Saharan Africa",
    "North Africa": "North Africa",
    "South Africa": "South Africa",
    "Africa": "Africa",
    "African": "Africa",
    "Mediterranean": "Mediterranean",
    "Middle East": "Middle East",
    "South-East Asia": "South-East Asia",
    "Southeast Asia": "South-East Asia",
    "ASEAN": "ASEAN",
    "Asia": "Asia",
    "China": "China",
    "Japan": "Japan",
    "Republic of Korea": "South Korea",
    "South Korea": "South Korea",
    "Korea": "South Korea",
    "India": "India",
    "Taiwan": "Taiwan",
    "Singapore": "Singapore",
    "Australia": "Australia",
    "New Zealand": "New Zealand",
    "Ukraine": "Ukraine",
    "Ukrainian": "Ukraine",
    "Moldova": "Moldova",
    "Western Balkans": "Western Balkans",
    "Eastern Partnership": "Eastern Partnership",
    "Türkiye": "Türkiye",
    "Turkey": "Türkiye",
    "Switzerland": "Switzerland",
    "United Kingdom": "United Kingdom",
    "Norway": "Norway",
    "Iceland": "Iceland",
    "Israel": "Israel",
    "Egypt": "Egypt",
    "Morocco": "Morocco",
    "Tunisia": "Tunisia",
    "Kenya": "Kenya",
    "Nigeria": "Nigeria",
    "Russia": "Russia",
    "Arctic": "Arctic",
    "Antarctic": "Antarctic",
    "Antarctica": "Antarctic",
    "All-Atlantic": "Atlantic",
    "Atlantic": "Atlantic",
    "Indo-Pacific": "Indo-Pacific",
    "Pacific": "Pacific",
    "Black Sea": "Black Sea",
    "Global South": "Global South",
    "low- and middle-income countries": "low- and middle-income countries",
    "low and middle-income countries": "low- and middle-income countries",
    "LMICs": "low- and middle-income countries",
    "Small Island Developing States": "Small Island Developing States",
}
REGION = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(k) for k in sorted(REGION_NAMES, key=len, reverse=True))
    + r")(?![\w-])"
)
INTERNATIONAL = re.compile(
    r"international\s+cooperation|third\s+countr|non-EU\s+countr|non-associated\s+(?:third\s+)?countr|"
    r"countries\s+outside",
    re.I,
)

# Where a topic's text ends when no next topic heading comes first.
SECTION_END = re.compile(
    r"^(?:Call\s*[-–]\s+\S|Conditions for the Call\b|Other actions not subject to calls for proposals|"
    r"Other Actions not subject|Grants not subject to calls for proposals|Budget\s*$|Indicative budget\s*$|"
    r"Destination\s*[-–:]\s*\S|Destination\s+[A-Z]{4,}\b|DESTINATIONS\s*$|Destinations\s*$|"
    r"Specific conditions for the Marie|General Annexes\s*$)",
)
INVITED = re.compile(r"^Proposals are invited against the following topic", re.I)


# --- the page text as one stream of lines ---------------------------------------------------------


@dataclass
class _Line:
    page: int
    off: int  # offset of the line in its page's (cleaned) text
    text: str
    doc: int = 0  # offset in the joined document text


class _Doc:
    """The pages' kept lines joined with newlines, with offsets back to every page's text."""

    def __init__(self, pages: list[tuple[int, str]]):
        self.page_text: dict[int, str] = {}
        self.footnote_numbers: dict[int, set[int]] = {}
        per_page: list[list[_Line]] = []
        for number, text in pages:
            clean = text.replace("\ufffe", "-").replace("\r", "\n").replace("\u00a0", " ")
            self.page_text[number] = clean
            lines, pos = [], 0
            for raw in clean.split("\n"):
                lines.append(_Line(number, pos, raw))
                pos += len(raw) + 1
            per_page.append(lines)
        furniture = _repeated_edge_lines(per_page)
        next_footnote = 1
        self.lines: list[_Line] = []
        for lines in per_page:
            keys = _edge_keys(lines)
            body = [
                ln
                for ln, key in zip(lines, keys)
                if ln.text.strip() and key not in furniture and not _is_furniture(ln.text)
            ]
            body, numbers = _strip_footnotes(body, next_footnote)
            if numbers:
                next_footnote = max(numbers) + 1
                self.footnote_numbers[lines[0].page] = set(numbers)
            self.lines.extend(body)
        pos = 0
        for ln in self.lines:
            ln.doc = pos
            pos += len(ln.text) + 1
        self.text = "\n".join(ln.text for ln in self.lines)
        self.starts = [ln.doc for ln in self.lines]

    def line_at(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.starts, pos) - 1)

    def page_at(self, pos: int) -> int:
        return self.lines[self.line_at(pos)].page

    def quote(self, name: str, start: int, end: int, limit: int = 300) -> SourceQuote:
        """The page text under document span [start, end), cut at the end of start's page."""
        while start < end and self.text[start].isspace():
            start += 1
        first = self.line_at(start)
        page = self.lines[first].page
        last = self.line_at(max(start, end - 1))
        while self.lines[last].page != page:
            last -= 1
        if last == first or end <= self.lines[last].doc + len(self.lines[last].text):
            stop = min(end, self.lines[last].doc + len(self.lines[last].text))
        else:
            stop = self.lines[last].doc + len(self.lines[last].text)
        a = self.lines[first].off + (start - self.lines[first].doc)
        b = self.lines[last].off + (stop - self.lines[last].doc)
        text = normalise(self.page_text[page][a:b])
        if len(text) > limit:
            text = text[:limit].rsplit(" ", 1)[0]
        return SourceQuote(name, page, text)


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.split()).lower())


def _edge_keys(lines: list[_Line]) -> list[tuple[str, str] | None]:
    """For the lines near a page's top or bottom: (side, shape). Lines that are furniture by their
    form (watermark letters, "Part 9 - Page 90 of 356") do not count, so a stray "D" above the header
    does not move it; a bare page number keeps its rank, as a number elsewhere near the edge is data."""
    kept = [i for i, ln in enumerate(lines) if ln.text.strip() and not _is_furniture(ln.text)]
    keys: list[tuple[str, str] | None] = [None] * len(lines)
    for side, order in (("top", kept[:EDGE]), ("bottom", list(reversed(kept[-EDGE:])))):
        for rank, i in enumerate(order):
            if keys[i] is None:
                shape = _shape(lines[i].text)
                keys[i] = (f"{side}{rank}" if shape == "#" else side, shape)
    return keys


def _repeated_edge_lines(per_page: list[list[_Line]]) -> set[tuple[str, str]]:
    counts: dict[tuple[str, str], int] = {}
    for lines in per_page:
        for key in set(k for k in _edge_keys(lines) if k):
            counts[key] = counts.get(key, 0) + 1
    need = max(3, REPEAT_SHARE * len(per_page))
    return {k for k, n in counts.items() if n >= need}


def _is_furniture(text: str) -> bool:
    stripped = " ".join(text.split())
    return any(p.match(stripped) for p in FURNITURE)


def _strip_footnotes(lines: list[_Line], expected: int) -> tuple[list[_Line], list[int]]:
    """Drop the footnote block at the bottom of a page.

    The block starts at a line "N text" whose N continues the document's footnote numbering
    (``expected`` is the next number) and is referenced higher up on the page, or is followed by
    "N+1 …", or is a bare link. Of several such lines the one with the smallest N starts the block
    (footnote numbers rise down the page; a body line that happens to start with a marker comes
    with a larger one)."""
    candidates: list[tuple[int, int]] = []
    for i in range(1, len(lines)):
        m = re.match(r"^\s*(\d{1,3})(\s+[A-Za-z0-9(“\"'‘].*|\s+(?:https?://|www\.)\S*.*)?\s*$", lines[i].text)
        if not m:
            continue
        n = int(m.group(1))
        if not expected <= n <= expected + 40:
            continue
        if m.group(2) is None and (i + 1 >= len(lines) or not lines[i + 1].text[:1].isspace()):
            continue  # a lone number is a footnote only when its text follows on an indented line
        body = "\n".join(ln.text for ln in lines[:i])
        referenced = re.search(rf"(?<!\d)(?<!\d[.,]){n}(?![\d.,]?\d)", body)
        followed = any(re.match(rf"^\s*{n + 1}\s+\S", ln.text) for ln in lines[i + 1 :])
        if referenced or followed or re.match(r"\s*(?:https?://|www\.)", m.group(2) or ""):
            candidates.append((n, i))  # a marker glued to digits ("SERV-01-0188") needs the block's shape
    if not candidates:
        return lines, []
    n, i = min(candidates)
    numbers = [n]
    for ln in lines[i + 1 :]:
        k = re.match(r"^\s*(\d{1,3})(?:\s|$)", ln.text)
        if k and numbers[-1] < int(k.group(1)) <= numbers[-1] + 3:
            numbers.append(int(k.group(1)))
    return lines[:i], numbers


# --- small parsers --------------------------------------------------------------------------------


def _iso(m: re.Match[str]) -> str | None:
    try:
        return date(int(m.group(3)), MONTHS[m.group(2).lower().rstrip(".")], int(m.group(1))).isoformat()
    except ValueError:
        return None


def _number(text: str) -> float:
    text = text.strip()
    if re.fullmatch(r"\d{1,3}(?:[ ,]\d{3})+(?:\.\d+)?", text):
        text = text.replace(" ", "").replace(",", "")
    return float(text.replace(",", "."))


def _eur(value: str, scale: str | None, default_scale: str | None = "million") -> float:
    amount = _number(value)
    scale = (scale or default_scale or "").lower()
    if scale in ("million", "m"):
        amount *= 1e6
    elif scale == "billion":
        amount *= 1e9
    return round(amount, 2)


def _clean(text: str) -> str:
    """Display text: lines joined, spaces collapsed, bullets kept on their own lines."""
    out: list[str] = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if not line:
            continue
        if out and not re.match(r"^[•▪\-–]\s|^\d+\.\s", line) and not out[-1].endswith(":"):
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out).strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _join_lines(lines: list[str]) -> str:
    """Lines of a heading or cell joined: "(2026-" + "27)" -> "(2026-27)", others with a space."""
    out = ""
    for line in lines:
        line = _one_line(line)
        if out.endswith("-") and line[:1].isalnum() and not out.endswith(" -"):
            out += line
        elif line:
            out = f"{out} {line}" if out else line
    return out


def short_type(raw: str | None, code: str = "") -> str | None:
    """RIA/IA/CSA/COFUND/PCP/PPI/MSCA-DN/… from a type of action as written, or None."""
    if not raw:
        return None
    text = _one_line(raw)
    if text.upper().startswith("TMA") or "-MSCA-" in code:
        for pattern, short in MSCA_SHORT:
            if pattern.search(text):
                return short
    if re.fullmatch(r"RIA|IA|CSA|COFUND|PCP|PPI", text.split()[0]):
        return text.split()[0]
    for pattern, short in TOA_SHORT:
        if pattern.search(text):
            return short
    return None


def _code_text(raw: str) -> str:
    return re.sub(r"\s+", "", raw)


# --- call overview tables -------------------------------------------------------------------------


@dataclass
class _Row:
    code: str
    call_id: str
    call_title: str
    start: int  # document offset of the code in the table
    title: str
    toa: list[str]
    toa_span: tuple[int, int] | None
    values: str
    values_span: tuple[int, int] | None
    years: tuple[int, ...]
    opening: tuple[str, int, int] | None  # (iso, start, end)
    deadlines: list[tuple[str, str | None]]
    deadline_span: tuple[int, int] | None
    destination: str | None
    destination_span: tuple[int, int] | None
    budgets: list[float] = field(default_factory=list)
    contribution: tuple[float | None, float | None] = (None, None)
    projects: tuple[int | None, int | None] = (None, None)


@dataclass
class _Call:
    call_id: str
    title: str
    start: int
    head_end: int  # end of the call identifier line
    table_end: int
    opening: tuple[str, int, int] | None = None
    deadlines: list[tuple[str, str | None]] = field(default_factory=list)
    deadline_span: tuple[int, int] | None = None


VALUE_TOKEN = re.compile(
    r"(?P<nr>Not(?:\s+relevant)?)|(?P<around>\b(?:Around|About|Approx\w*)\b)|(?P<to>\bto\b|–)|"
    r"(?P<num>(?<![\w.])\d+(?:\.\d+)?(?:\s*-\s*\d+(?:\.\d+)?)?(?![\w.]))",
    re.I,
)
TOA_ABBR = re.compile(r"(?:^|(?<=\s))(RIA|IA|CSA|COFUND|PCP|PPI)\s+(?=\d|Not\b)")
TMA = re.compile(r"^TMA\b")
VALUE_START = re.compile(r"(?<![\w.-])(?:\d+(?:\.\d+)?(?![\w-])|Not\b)")
TRAILING_VALUES = re.compile(r"^(.*?)\s+((?:(?:Around|to|\d+(?:\.\d+)?)\s*)+)$")
VALUES_ONLY = re.compile(
    r"^\s*(?:(?:Not|relevant|Around|to|\d+(?:\.\d+)?(?:\s*-\s*\d+(?:\.\d+)?)?)\s*)+$", re.I
)


def _parse_values(values: str, years: int, noise: set[int]) -> tuple[list[float], tuple, tuple]:
    """Budgets per year, (contribution min, max) in EUR million and (projects, max) from a row's values:
    "13.00 Around 6.50 2", "11.00 5.00 to 6.00 2", "223.00 41.50 0.80 to 1.50 210", "20 3-4 4-5",
    "593.03 Not relevant", "8.00 50"."""
    toks: list[tuple[str, str]] = []
    found = list(VALUE_TOKEN.finditer(values))
    for k, m in enumerate(found):
        kind = m.lastgroup or ""
        text = re.sub(r"\s+", "", m.group(0))
        if (
            kind == "num"
            and text.isdigit()
            and int(text) >= 10
            and int(text) in noise
            and toks
            and toks[-1][0] == "num"
            and k + 1 < len(found)
        ):
            continue  # a footnote mark printed after a number: "0.98 189 0.80 to 0.98 1"
        toks.append((kind, text))
    kinds = [k for k, _ in toks]
    nums = [i for i, k in enumerate(kinds) if k == "num"]

    def pair(text: str) -> tuple[float, float]:
        lo, _, hi = text.partition("-")
        return float(lo), float(hi or lo)

    contrib: tuple[float | None, float | None] = (None, None)
    used: set[int] = set()
    first_contrib = len(toks)
    projects: tuple[int | None, int | None] = (None, None)
    if "around" in kinds:
        first_contrib = kinds.index("around")
        after = [i for i in nums if i > first_contrib]
        pick = next((i for i in after if "." in toks[i][1]), after[0] if after else None)
        if pick is not None:
            contrib = pair(toks[pick][1])
            used.add(pick)
    elif "to" in kinds:
        t = kinds.index("to")
        before = [i for i in nums if i < t]
        after = [i for i in nums if i > t]
        if before and after:
            contrib = (float(toks[before[-1]][1]), float(toks[after[0]][1]))
            used.update((before[-1], after[0]))
            first_contrib = before[-1]
    elif "nr" in kinds:
        first_contrib = kinds.index("nr")
    else:  # plain numbers: budget(s), [contribution], projects (an integer or a range such as "4-5")
        rest = list(nums)
        if len(rest) >= 2 and "." not in toks[rest[-1]][1]:
            lo, hi = pair(toks[rest[-1]][1])
            projects = (int(lo), int(hi) if hi != lo else None)
            used.add(rest.pop())
        if len(rest) >= 2:
            contrib = pair(toks[rest[-1]][1])
            used.add(rest[-1])
            first_contrib = rest[-1]
    budgets = [
        float(toks[i][1]) for i in nums if i < first_contrib and i not in used and "-" not in toks[i][1]
    ]
    budgets = budgets[: max(1, years)]
    if projects == (None, None):
        later = [i for i in nums if i > first_contrib and i not in used and "." not in toks[i][1]]
        if later:
            lo, hi = pair(toks[later[-1]][1])
            projects = (int(lo), int(hi) if hi != lo else None)
    return budgets, contrib, projects


def _find_calls(doc: _Doc, heading_starts: list[int]) -> list[_Call]:
    calls: list[_Call] = []
    lines = doc.lines
    for i, ln in enumerate(lines):
        m = re.match(r"^\s*Call\s*[-–]\s+(.+?)\s*$", ln.text)
        if not m or LEADER.search(ln.text):
            continue
        title = m.group(1)
        for j in range(i + 1, min(i + 4, len(lines))):
            ident = lines[j].text.strip()
            if re.fullmatch(r"HORIZON(?:-[A-Za-z0-9]+)+", ident) and YEAR_SEGMENT.search(ident + "-"):
                break
            title += " " + ident
        else:
            continue
        calls.append(_Call(ident, _one_line(title), ln.doc, lines[j].doc + len(lines[j].text), 0))
    for k, call in enumerate(calls):
        end = calls[k + 1].start if k + 1 < len(calls) else len(doc.text)
        k = bisect.bisect_right(heading_starts, call.head_end)
        if k < len(heading_starts):
            end = min(end, heading_starts[k])
        stop = re.compile(r"(?m)^\s*General conditions relating to this call").search(
            doc.text, call.head_end, end
        )
        call.table_end = stop.start() if stop else min(end, call.head_end + 20000)
    return calls


def _table_rows(doc: _Doc, call: _Call, titles: dict[str, str], prefixed: bool = False) -> list[_Row]:
    """The topic rows of one call overview table. ``prefixed``: the document's tables name destinations
    as "Destination - …", so an unprefixed group line ("Raw Materials") is a sub-group, not a destination."""
    text = doc.text
    region_start = call.start
    table_text = text[region_start : call.table_end]
    overall = re.search(r"(?m)^\s*Overall indicative\s*(?:\n\s*)?budget", table_text)
    limit = region_start + (overall.start() if overall else len(table_text))
    noise: set[int] = set()
    for page in range(doc.page_at(region_start), doc.page_at(max(region_start, call.table_end - 1)) + 1):
        noise |= doc.footnote_numbers.get(page, set())

    events: list[tuple[int, str, re.Match[str]]] = []
    for m in re.finditer(r"(?m)^[ \t]*Opening\s*(?:date)?\s*:?[ \t]*(.*)$", text[region_start:limit]):
        events.append((region_start + m.start(), "opening", m))
    for m in re.finditer(r"(?m)^[ \t]*Deadline\(?s?\)?\s*:[ \t]*(.*)$", text[region_start:limit]):
        events.append((region_start + m.start(), "deadline", m))
    for m in re.finditer(
        r"(?m)^[ \t]*((?:20\d\d\s+)*20\d\d)[ \t]*$|funded\s+((?:20\d\d\s+)*20\d\d)[ \t]*$",
        text[region_start:limit],
    ):
        events.append((region_start + m.start(), "years", m))
    codes = []
    for m in CODE.finditer(text, call.head_end, limit):
        code = _code_text(m.group(0))
        end = m.end()
        if text[end : end + 1] == "-":
            # The code's cell broke across a page ("…-CIRCBIO-01-two-" / "stage: …"): complete it
            # from the topic headings when exactly one of them continues it.
            longer = [c for c in titles if c.startswith(code + "-")]
            ahead = _one_line(text[end : end + 600])
            longer = [c for c in longer if c[len(code) + 1 :] + ":" in ahead.replace(" ", "")] or longer
            if len(longer) == 1:
                code, end = longer[0], end + 1
        if TOPIC_CODE.search(code) and code != call.call_id:
            codes.append((m.start(), end, code))
    events.sort(key=lambda e: e[0])

    rows: list[_Row] = []
    years: tuple[int, ...] = ()
    opening = None
    deadlines: list[tuple[str, str | None]] = []
    deadline_span = None
    destination, destination_span = None, None
    prev_end = call.head_end
    for idx, (cstart, cend, code) in enumerate(codes):
        # What lies between the previous row (or the table head) and this code.
        for pos, kind, m in events:
            if not prev_end <= pos < cstart:
                continue
            if kind == "years":
                years = tuple(int(y) for y in re.findall(r"20\d\d", m.group(0)))
            elif kind == "opening":
                d = DATE.search(m.group(1))
                if d:
                    opening = (_iso(d), region_start + m.start(), region_start + m.start(1) + d.end())
            elif kind == "deadline":
                deadlines, deadline_span = _deadlines(text, region_start + m.start(1), limit)
                deadline_span = (region_start + m.start(), deadline_span[1]) if deadline_span else None
        nxt = codes[idx + 1][0] if idx + 1 < len(codes) else limit
        row_text = text[cend:nxt]
        # Lines of the gap before the code that are neither table head nor values: a destination.
        gap = _gap_destination(text, prev_end, cstart, prefixed)
        if gap:
            destination, destination_span = gap
        title_full = titles.get(code, "")
        title_parts, toa, toa_span, values, values_span = [], [], None, [], None
        colon = re.match(r"[ \t]*:", row_text)
        pos = cend + (colon.end() if colon else 0)
        broken = text[cend - 1] == "-" and code not in _code_text(text[cstart:cend])
        if broken:  # the rest of the code ("stage:") comes later, on the next page
            rest_of_code = code[len(_code_text(text[cstart : cend - 1])) + 1 :]
            colon = re.match("", "")
        seen_toa = False
        in_tma = False
        tma_lines: list[str] = []
        stop_at = nxt
        title_norm = _one_line(title_full).lower()
        for raw in text[pos:nxt].split("\n"):
            line_start = pos
            pos += len(raw) + 1
            line = raw.strip()
            if not line:
                continue
            lead = line_start + (len(raw) - len(raw.lstrip()))
            if not seen_toa:
                if in_tma or TMA.match(
                    line
                ):  # "TMA Postdoctoral / Fellowships - Global / Fellowships / 59.86 Not"
                    in_tma = True
                    v = VALUE_START.search(line)
                    cut = v.start() if v else len(line)
                    if line[:cut].strip():
                        tma_lines.append(line[:cut])
                        toa[:] = [_join_lines(tma_lines)]
                        toa_span = (toa_span[0] if toa_span else lead, lead + cut)
                    if v:
                        seen_toa, in_tma = True, False
                        values.append(line[cut:])
                        values_span = (lead + cut, lead + len(line))
                    continue
                m = TOA_ABBR.search(line)
                if m:
                    seen_toa = True
                    if line[: m.start()].strip():
                        title_parts.append(line[: m.start()].strip())
                    toa.append(m.group(1))
                    toa_span = (lead + m.start(1), lead + len(line))
                    values.append(line[m.end() :])
                    values_span = toa_span
                    continue
                if not colon and VALUES_ONLY.match(line):
                    values.append(line)
                    seen_toa = True
                    values_span = (lead, lead + len(line))
                    continue
                title_parts.append(line)
                continue
            if VALUES_ONLY.match(line):
                values.append(line)
                continue
            if broken and line.replace(" ", "").startswith(rest_of_code + ":"):
                line = line.split(":", 1)[1].strip()
                broken = False
                if not line:
                    continue
            trailing = TRAILING_VALUES.match(line)
            head = trailing.group(1) if trailing else line
            norm = _one_line(head).lower().rstrip(" .")
            if title_norm and norm and norm in title_norm:
                if trailing:  # "health and care systems 10.00": the title's end and a value cell
                    values.append(trailing.group(2))
                continue  # the title cell continued on the next page
            stop_at = line_start  # a destination or other text: read as the next row's gap
            break
        if not colon and title_parts and not toa:
            toa = [_one_line(" ".join(title_parts))]
            title_parts = []
        row = _Row(
            code=code,
            call_id=call.call_id,
            call_title=call.title,
            start=cstart,
            title=_join_lines(title_parts),
            toa=toa,
            toa_span=toa_span,
            values=" ".join(values),
            values_span=values_span,
            years=years,
            opening=opening,
            deadlines=list(deadlines),
            deadline_span=deadline_span,
            destination=destination,
            destination_span=destination_span,
        )
        row.budgets, row.contribution, row.projects = _parse_values(row.values, len(years) or 1, noise)
        rows.append(row)
        prev_end = stop_at
    # Opening/deadline lines that only come after a split header (Deadline on the next page).
    for row in rows:
        if not row.deadlines and deadlines:
            row.deadlines, row.deadline_span = list(deadlines), deadline_span
    if codes and not call.deadlines:
        call.opening, call.deadlines, call.deadline_span = (
            rows[0].opening,
            rows[0].deadlines,
            rows[0].deadline_span,
        )
    return rows


def _deadlines(
    text: str, start: int, limit: int
) -> tuple[list[tuple[str, str | None]], tuple[int, int] | None]:
    """Dates after "Deadline(s):", each with its "(First Stage)" label, up to the end of the line."""
    end = text.find("\n", start)
    end = limit if end < 0 else min(end, limit)
    out: list[tuple[str, str | None]] = []
    for d in DATE.finditer(text, start, end):
        stage = STAGE.match(text, d.end(), end)
        iso = _iso(d)
        if iso:
            out.append((iso, stage.group(1).title() if stage else None))
    return out, ((start, end) if out else None)


DESTINATION_PREFIX = re.compile(r"^Destination\b\s*[-–:]?\s*")
TABLE_HEAD_WORDS = frozenset(
    "topics type of action budgets budget eur million expected eu contribution per project indicative number "
    "projects to be funded".split()
)


def _is_table_head(line: str) -> bool:
    """A line made of the overview table's column headings ("Expected", "EU", "(EUR", "million)42")."""
    words = re.findall(r"[A-Za-z]+", line)
    return bool(words) and all(w.lower() in TABLE_HEAD_WORDS for w in words)


def _gap_destination(text: str, a: int, b: int, prefixed: bool) -> tuple[str, tuple[int, int]] | None:
    """The destination named between two table rows, if any."""
    lines, spans = [], []
    pos = a
    for raw in text[a:b].split("\n"):
        s = pos
        pos += len(raw) + 1
        line = raw.strip()
        if not line:
            continue
        if (
            VALUES_ONLY.match(line)
            or re.match(
                r"^(?:Opening|Deadline|Overall indicative|Topics\b|Call\s*[-–]|Overview of this call)", line
            )
            or re.fullmatch(r"(?:20\d\d\s*)+", line)
            or re.match(r"^(?:Proposals are invited|Indicative budget|Conditions for the Call)", line)
        ):
            lines, spans = [], []
            continue
        if _is_table_head(line):
            lines, spans = [], []
            continue
        lines.append(line)
        spans.append((s, s + len(raw)))
    if not lines or (prefixed and not DESTINATION_PREFIX.match(lines[0])):
        return None
    name = _join_lines(lines)
    name = DESTINATION_PREFIX.sub("", name).strip()
    return (name, (spans[0][0], spans[-1][1])) if name else None


# --- topic sections -------------------------------------------------------------------------------


@dataclass
class _Heading:
    code: str
    start: int  # the code's document offset
    title: str
    title_end: int
    body: int  # where the conditions table / expected outcome starts
    end: int = 0


def _find_headings(doc: _Doc) -> list[_Heading]:
    text = doc.text
    found: list[_Heading] = []
    for m in CODE.finditer(text):
        if (
            m.start()
            and text[m.start() - 1] != "\n"
            and text[text.rfind("\n", 0, m.start()) + 1 : m.start()].strip()
        ):
            continue  # not at the start of a line
        code = _code_text(m.group(0))
        if not TOPIC_CODE.search(code):
            continue
        colon = re.match(r"[ \t]*:", text[m.end() : m.end() + 5])
        if not colon:
            continue
        line_end = text.find("\n", m.end())
        if LEADER.search(text[m.start() : line_end if line_end > 0 else len(text)]):
            continue
        # The title runs until a line that opens the topic's body.
        pos = m.end() + colon.end()
        title_lines: list[str] = []
        body = None
        for _ in range(12):
            nl = text.find("\n", pos)
            line = text[pos : nl if nl >= 0 else len(text)]
            stripped = line.strip()
            if re.match(
                r"^(?:Call\s*:|Specific\s+conditions|Expected\s+Outcomes?\s*:|Scope\s*:)", stripped, re.I
            ):
                body = pos
                break
            if (
                LEADER.search(line)
                or CODE.match(stripped)
                or TOA_TABLE.match(stripped)
                and VALUE_TOKEN.search(stripped)
            ):
                break
            title_lines.append(stripped)
            if nl < 0:
                break
            pos = nl + 1
        if body is None or not title_lines:
            continue
        title_text = _join_lines(title_lines)
        found.append(_Heading(code, m.start(), title_text, body, body))
    return found


def _toc_headings(doc: _Doc) -> set[str]:
    """The table of contents' entries other than topics and calls (destinations, sub-sections,
    "Other actions …"): a body line equal to one (or, wrapped, its beginning) is a section heading."""
    entries: set[str] = set()
    buffer: list[str] = []
    previous_was_toc = False
    for ln in doc.lines:
        m = re.match(r"^(.*?)\s*(?:\.\s?){5,}\s*\d+\s*$|^(.*?)\s*…{2,}\s*\d+\s*$", ln.text)
        if m:
            entry = _join_lines(buffer + [m.group(1) or m.group(2) or ""])
            buffer, previous_was_toc = [], True
            if entry and not re.match(r"^(?:HORIZON-|Call\s*[-–]|Conditions for the Call)", entry):
                entries.add(entry)
        elif previous_was_toc and len(buffer) < 2:
            buffer.append(ln.text)
        else:
            buffer, previous_was_toc = [], False
    return {e for e in entries if len(e) >= 4 and not e.startswith("(")}


def _is_heading(line: str, headings: set[str]) -> bool:
    return line in headings or (len(line) >= 20 and any(h.startswith(line) for h in headings))


def _topic_end(
    doc: _Doc, start: int, stop: int, destinations: set[str], headings: set[str] = frozenset()
) -> int:
    """Where a topic's text ends: at the next section heading before ``stop`` (the next topic)."""
    first = doc.line_at(start) + 1
    last = doc.line_at(max(start, stop - 1))
    for i in range(first, last + 1):
        line = re.sub(r"(?<=[A-Za-z)])\d+(?:\s+\d+)*$", "", _one_line(doc.lines[i].text))  # "Budget191 192"
        if (
            SECTION_END.match(line)
            or (destinations and line.lower() in destinations)
            or _is_heading(line, headings)
        ):
            return doc.lines[i].doc
        if INVITED.match(line):
            j = i
            while j - 1 > first and i - j < 3:
                prev = _one_line(doc.lines[j - 1].text)
                if len(prev) > 100 or re.search(r"[.;:,]$", prev) or prev.startswith(("•", "-")):
                    break
                j -= 1
            return doc.lines[j].doc
    return stop


def _conditions_table(text: str, a: int, b: int) -> dict[str, list[tuple[str, int, int]]]:
    """The topic's "Specific conditions" rows: label -> [(value, value start, value end)], in order
    (MSCA fellowships repeat "Indicative budget" and "Type of Action" once per sub-scheme)."""
    found = []
    for m in CONDITION_LABEL.finditer(text, a, b):
        found.append((m.lastgroup or "", m.start(), m.end()))
    out: dict[str, list[tuple[str, int, int]]] = {}
    for k, (name, _s, e) in enumerate(found):
        stop = found[k + 1][1] if k + 1 < len(found) else b
        out.setdefault(name, []).append((text[e:stop], e, stop))
    return out


SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z“\"(•▪])|\s*(?=[•▪]\s)|\n(?=\s*(?:\d+\)|[a-z]\)|-)\s)"
)
NOT_AN_END = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|No|Art|cf|approx|incl|Dr|Mr|Ms|St)\.|(?:^|\n)[ \t]*\(?\w{1,3}\.)$"
)
CONDITION_PREFIX = re.compile(
    r"^(?:(?:The\s+(?:general\s+)?conditions\s+are\s+described\s+in\s+General\s+Annex\s+[A-H]\.?|The\s+rules\s+"
    r"are\s+described\s+in\s+General\s+Annex\s+[A-H]\.?|The\s+procedure\s+is\s+described\s+in\s+General\s+"
    r"Annex\s+[A-H]\.?|The\s+following\s+(?:additional\s+)?(?:exceptions|eligibility\s+(?:criteria|conditions))"
    r"\s+apply:?|[•▪-])\s*)+"
)


def _sentences(text: str, offset: int) -> list[tuple[str, int, int]]:
    """Sentences of ``text`` (which starts at document offset ``offset``): (display text, start, end),
    leading boilerplate ("The following exceptions apply:") left out."""
    out = []
    start = 0
    ends = [
        m
        for m in SENTENCE_END.finditer(text)
        if not NOT_AN_END.search(text[max(0, m.start() - 12) : m.start()])
    ]
    for m in ends + [None]:
        stop = m.start() if m else len(text)
        chunk = text[start:stop]
        lead = len(chunk) - len(chunk.lstrip())
        prefix = CONDITION_PREFIX.match(chunk[lead:])
        if prefix:
            lead += prefix.end()
        body = chunk[lead:].rstrip()
        if body:
            out.append((_one_line(body), offset + start + lead, offset + start + lead + len(body)))
        start = m.end() if m else len(text)
    return out


BOILERPLATE_CONDITION = re.compile(
    r"^(?:The (?:general )?conditions are described in General Annex \w\.?|The rules are described in General "
    r"Annex \w\.?|The procedure is described in General Annex \w\.?|See exceptions and specific conditions.*)$|"
    r"^If projects use satellite-based earth observation|^The JRC will not participate in the preparation",
    re.I,
)
COOPERATION = re.compile(
    r"cooperat|collaborat|partner|participat|involv|eligib|establish|link|twinn|joint|coordinat|exchange|"
    r"encouraged|required|mandatory|consorti",
    re.I,
)


# --- the parser ------------------------------------------------------------------------------------


def parse_topics(document: str, pages: list[tuple[int, str]]) -> list[CallTopic]:
    """All topics of one work programme part, in the order their headings appear.

    ``document`` is the PDF's path relative to the corpus directory; ``pages`` are its
    ``(1-based page number, text)`` pairs.
    """
    doc = _Doc(pages)
    part = _part_of(document, doc)
    if re.search(r"(?m)^\s*Call Identifier\s+ERC-", doc.text):
        return _parse_erc(doc, document, part)
    headings = _find_headings(doc)
    calls = _find_calls(doc, [h.start for h in headings])
    titles = {h.code: h.title for h in headings}
    rows: dict[str, list[_Row]] = {}
    prefixed = any(re.search(r"(?m)^[ \t]*Destination\b", doc.text[c.head_end : c.table_end]) for c in calls)
    for call in calls:
        for row in _table_rows(doc, call, titles, prefixed):
            rows.setdefault(row.code, []).append(row)
    destinations = {r.destination.lower() for rs in rows.values() for r in rs if r.destination}
    toc = _toc_headings(doc)
    ends = [h.start for h in headings[1:]] + [len(doc.text)]
    topics: list[CallTopic] = []
    seen: set[str] = set()
    for heading, stop in zip(headings, ends):
        if heading.code in seen:
            continue
        seen.add(heading.code)
        heading.end = _topic_end(doc, heading.body, stop, destinations, toc)
        topics.append(_topic(doc, document, part, heading, rows.get(heading.code, []), calls))
    return topics


def _part_of(document: str, doc: _Doc) -> str:
    m = re.search(r"wp-(\d+)-", document)
    if m:
        return m.group(1)
    if re.search(r"erc", document, re.I):
        return "ERC"
    m = re.search(r"(?m)^\s*Part\s+(\d+)\s*[-–]\s*Page", "\n".join(doc.page_text.values()))
    return m.group(1) if m else "?"


def _topic(doc: _Doc, document: str, part: str, h: _Heading, rows: list[_Row], calls: list[_Call]) -> CallTopic:
    text = doc.text
    quotes: list[SourceQuote] = []
    missing: list[str] = []
    quotes.append(doc.quote("code", h.start, h.title_end))
    quotes.append(doc.quote("title", h.start, h.title_end))

    eo = EXPECTED_OUTCOME.search(text, h.body, h.end)
    sc = SCOPE.search(text, h.body, h.end)
    cond_end = min(x.start() for x in (eo, sc) if x) if (eo or sc) else h.end
    tables = _conditions_table(text, h.body, cond_end)
    table = {name: found[0] for name, found in tables.items()}

    # The call: the overview table's row, else the "Call:" line and the code's prefix.
    row = rows[0] if rows else None
    call_id = row.call_id if row else None
    call_title = row.call_title if row else None
    call_line = re.compile(r"(?m)^\s*Call\s*:\s*(.+)$").search(text, h.body, cond_end)
    call = None
    if row is None:
        candidates = [c for c in calls if h.code.startswith(c.call_id + "-")]
        if call_line:
            named = [c for c in candidates if c.title.lower() == call_line.group(1).strip().lower()]
            candidates = named or candidates
        if candidates:
            call = max(candidates, key=lambda c: len(c.call_id))
            call_id, call_title = call.call_id, call.title
            missing.append("call_table_page: no row for the topic in its call's overview table")
        else:
            missing.append("call_id: the topic is in no call overview table and its code matches no call")
    the_call = call or next(
        (c for c in calls if row and c.call_id == row.call_id and c.start <= row.start), None
    )
    if the_call:
        quotes.append(doc.quote("call_id", the_call.head_end - len(the_call.call_id), the_call.head_end))
    if call_line:
        quotes.append(doc.quote("call_title", call_line.start(1), call_line.end(1)))
        if not call_title:
            call_title = _one_line(call_line.group(1))

    # Destination: the overview table's.
    destination = row.destination if row else None
    if destination and row and row.destination_span:
        quotes.append(doc.quote("destination", *row.destination_span))
    elif not destination:
        missing.append("destination: no destination line above the topic in its call's overview table")

    # Type of action: the conditions table spells it out, the overview table abbreviates it.
    toa = short = None
    written = []
    for value, a, b in tables.get("type_of_action", []):
        one = _one_line(value)
        if len(one) > 120:
            one = _one_line(value.strip().split("\n")[0])
        if one and one not in written:
            written.append(one)
            quotes.append(doc.quote("type_of_action", a, b))
    toa = "; ".join(written) or None
    if rows and any(r.toa for r in rows):
        table_toa = "; ".join(dict.fromkeys(t for r in rows for t in r.toa))
        if not toa:
            toa = table_toa
            r0 = next(r for r in rows if r.toa)
            if r0.toa_span:
                quotes.append(doc.quote("type_of_action", *r0.toa_span))
        short = short_type(table_toa, h.code)
    short = short_type(toa, h.code) if toa and not short else short
    if not toa:
        missing.append("type_of_action: neither a 'Type of Action' row nor an overview-table row gives it")

    # Dates: the overview table's Opening / Deadline(s) above the row.
    opening, deadlines, stages = None, (), ()
    source = row if row else call
    if source and source.opening:
        opening = source.opening[0]
        quotes.append(doc.quote("opening_date", source.opening[1] - 0, source.opening[2]))
    if source and source.deadlines:
        deadlines = tuple(d for d, _ in source.deadlines)
        stages = tuple(s for _, s in source.deadlines)
        if source.deadline_span:
            quotes.append(doc.quote("deadlines", *source.deadline_span))
    if not opening:
        missing.append("opening_date: no 'Opening:' line in the call's overview table")
    if not deadlines:
        missing.append("deadlines: no 'Deadline(s):' line in the call's overview table")

    # Money: the conditions table's sentences, else the overview table's columns (EUR million).
    budget = None
    budget_by_year: tuple[tuple[int, float], ...] = ()
    for value, a, _ in tables.get("budget", []):  # one per sub-scheme when repeated: their sum
        m = TOPIC_BUDGET.search(value) or re.search(r"EUR\s*(" + NUM + r")\s*" + SCALE, value)
        if m:
            budget = round((budget or 0.0) + _eur(m.group(1), m.group(2)), 2)
            quotes.append(doc.quote("budget_eur", a + m.start(), a + m.end()))
    if rows:
        budgets = [b for r in rows for b in r.budgets]
        years = rows[0].years
        if len(rows) == 1 and years and len(rows[0].budgets) == len(years):
            budget_by_year = tuple((y, round(b * 1e6, 2)) for y, b in zip(years, rows[0].budgets))
        elif len(rows) == 1 and len(rows[0].budgets) == 1 and years:
            year = re.search(r"-(20\d\d)-", h.code)
            if year and int(year.group(1)) in years:
                budget_by_year = ((int(year.group(1)), round(rows[0].budgets[0] * 1e6, 2)),)
        if budget is None and budgets:
            budget = round(sum(budgets) * 1e6, 2)
            span = next((r.values_span for r in rows if r.values_span), None)
            if span:
                quotes.append(doc.quote("budget_eur", *span))
    if budget is None:
        missing.append("budget_eur: no 'Indicative budget' sentence and no budget in the overview table")

    # Expected EU contribution per project: the conditions row ("around EUR 6.50 million", "between EUR
    # 2.00 and 3.00 million"), else an "EU contribution of …" sentence in the conditions (its label may be
    # interleaved with it), else the overview table's column.
    cmin = cmax = None
    spans = [(a, b) for _, a, b in tables.get("contribution", [])[:1]]
    sentence = re.search(r"EU\s+contribution\s+of\b", text[h.body : cond_end])
    if not spans and sentence:
        spans.append((h.body + sentence.start(), min(cond_end, h.body + sentence.end() + 200)))
    for a, b in spans:
        if m := BETWEEN.search(text, a, b):
            cmin, cmax = _eur(m.group(1), m.group(2) or m.group(4)), _eur(m.group(3), m.group(4))
        elif m := AROUND.search(text, a, b):
            cmin = cmax = _eur(m.group(1), m.group(2))
        elif m := UP_TO.search(text, a, b):
            cmax = _eur(m.group(1), m.group(2))
        if m:
            quotes.append(doc.quote("contribution", m.start(), m.end()))
    if cmin is None and cmax is None and rows and rows[0].contribution != (None, None):
        lo, hi = rows[0].contribution
        cmin = round(lo * 1e6, 2) if lo is not None else None
        cmax = round(hi * 1e6, 2) if hi is not None else None
        if rows[0].values_span:
            quotes.append(doc.quote("contribution", *rows[0].values_span))
    if cmin is None and cmax is None:
        value = table.get("contribution", ("",))[0]
        if re.search(r"unit contribution|person-?\s*months", value, re.I) or (
            rows and re.search(r"Not\s+relevant", rows[0].values, re.I)
        ):
            why = "it depends on unit contributions (the overview table says 'Not relevant')"
        elif value.strip():
            why = (
                f"the 'Expected EU contribution per project' row states no amount: '{_one_line(value)[:80]}'"
            )
        else:
            why = "no 'Expected EU contribution per project' row and no amount in the overview table"
        missing.append("contribution: " + why)

    discrepancies: list[str] = []
    if rows and rows[0].values_span:
        page = doc.page_at(rows[0].values_span[0])
        table_budget = round(sum(b for r in rows for b in r.budgets) * 1e6, 2)
        if budget is not None and table_budget and abs(table_budget - budget) > 1:
            discrepancies.append(
                f"budget_eur: conditions EUR {budget / 1e6:g} million, overview table (page {page}) "
                f"EUR {table_budget / 1e6:g} million"
            )
        lo, hi = rows[0].contribution
        if (lo, hi) != (None, None) and (cmin, cmax) != (None, None):
            table_pair = tuple(None if v is None else round(v * 1e6, 2) for v in (lo, hi))
            if table_pair != (cmin, cmax) and not (table_pair[0] == 0 and table_pair[1] == cmax):
                show = lambda v: "?" if v is None else f"{v / 1e6:g}"  # noqa: E731
                discrepancies.append(
                    f"contribution: conditions EUR {show(cmin)}-{show(cmax)} million, overview table "
                    f"(page {page}) EUR {show(table_pair[0])}-{show(table_pair[1])} million"
                )

    projects = projects_max = None
    if rows and rows[0].projects[0] is not None:
        projects, projects_max = rows[0].projects
        if rows[0].values_span:
            quotes.append(doc.quote("projects", *rows[0].values_span))
    else:
        missing.append("projects: the overview table gives no indicative number of projects")

    # TRL: the "Technology Readiness Level" row, else an "achieve TRL …" sentence in the conditions (the
    # label may be interleaved with its value: "Technology Activities are expected … Readiness Level").
    trl = None
    spans = [(a, b) for _, a, b in tables.get("trl", [])]
    hint = re.search(r"achieve\s+TRL\s*\d", text[h.body : cond_end])
    if hint:
        spans.append((h.body + hint.start(), cond_end))
    for a, b in spans:
        m = TRL.search(text, a, b)
        if m:
            trl = m.group(1) + (f"-{m.group(2)}" if m.group(2) else "")
            higher = re.match(r"\s*or\s+(?:higher|above)", text[m.end() : m.end() + 20])
            trl += "+" if higher and not m.group(2) else ""
            quotes.append(doc.quote("trl", m.start(), m.end() + (higher.end() if higher else 0)))
            break
    if trl is None:
        missing.append("trl: the topic states no Technology Readiness Level")
    # Lump sum: the legal and financial set-up row, else anywhere in the conditions table.
    lump = None
    for _, a, b in tables.get("legal", []) + [("", h.body, cond_end)]:
        lump = LUMP_SUM.search(text, a, b)
        if lump:
            break
    lump_sum = lump is not None
    if lump:
        line_a = text.rfind("\n", 0, lump.start()) + 1
        line_b = text.find("\n", lump.end())
        quotes.append(doc.quote("lump_sum", line_a, line_b if line_b > 0 else lump.end()))

    # Conditions: eligibility / set-up exceptions, and what the text says about cooperation abroad.
    conditions: list[str] = []

    def add_condition(sentence: str, s: int, e: int) -> None:
        shown = re.split(r"\s+as (?:defined|stipulated) in\b", sentence)[0].rstrip(" ,;")
        shown = re.sub(r"(?<=[.”\"’)])\s*\d{1,3}$", "", shown)  # a footnote mark after the full stop
        if len(shown) > 250:
            shown = shown[:247].rsplit(" ", 1)[0] + "…"
        if shown not in conditions:
            conditions.append(shown)
            quotes.append(doc.quote("conditions", s, e))

    for name in ("eligibility", "legal", "security"):
        for value, a, _ in tables.get(name, []):
            for sentence, s, e in _sentences(value, a):
                if len(sentence) >= 25 and not BOILERPLATE_CONDITION.search(sentence):
                    add_condition(sentence, s, e)
    body_start = min(x.start() for x in (eo, sc) if x) if (eo or sc) else h.end
    regions: list[str] = []
    for m in REGION.finditer(text, h.start, h.end):
        name = REGION_NAMES[m.group(1)]
        if name not in regions:
            regions.append(name)
            quotes.append(doc.quote("regions", max(h.start, m.start() - 60), min(h.end, m.end() + 60)))
    for sentence, s, e in _sentences(text[body_start : h.end], body_start):
        if INTERNATIONAL.search(sentence) or (REGION.search(sentence) and COOPERATION.search(sentence)):
            add_condition(sentence, s, e)

    # Texts.
    expected_outcome = scope = None
    if eo:
        expected_outcome = _clean(text[eo.end() : sc.start() if sc and sc.start() > eo.start() else h.end])
        quotes.append(doc.quote("expected_outcome", eo.start(), eo.end() + 160))
    else:
        missing.append("expected_outcome: no 'Expected Outcome:' section")
    if sc:
        scope = _clean(text[sc.end() : h.end])
        quotes.append(doc.quote("scope", sc.start(), sc.end() + 160))
    else:
        missing.append("scope: no 'Scope:' section")

    first_page = doc.page_at(h.start)
    last_page = doc.page_at(max(h.start, h.end - 1))
    table_page = None
    if row:
        table_page = doc.page_at(row.values_span[0] if row.values_span else row.start)
    return CallTopic(
        code=h.code,
        title=h.title,
        call_id=call_id,
        call_title=call_title,
        destination=destination,
        part=part,
        document=document,
        type_of_action=toa,
        type_of_action_short=short,
        opening_date=opening,
        deadlines=deadlines,
        deadline_stages=stages,
        budget_eur=budget,
        budget_by_year=budget_by_year,
        contribution_min_eur=cmin,
        contribution_max_eur=cmax,
        projects=projects,
        projects_max=projects_max,
        trl=trl,
        lump_sum=lump_sum,
        conditions=tuple(conditions),
        regions=tuple(regions),
        expected_outcome=expected_outcome,
        scope=scope,
        pages=(first_page, last_page),
        call_table_page=table_page,
        source_quotes=tuple(q for q in quotes if q.text),
        missing=tuple(missing),
        discrepancies=tuple(discrepancies),
    )


# --- ERC -------------------------------------------------------------------------------------------


ERC_ROW_LABELS = re.compile(
    r"(?m)^[ \t]*(?P<label>Call Identifier|Type of Action|Opening(?: Date|\s+of\s+the\s+Call)|"
    r"(?:Cut-off dates or )?Deadline(?:\(s\))?(?:\s+for\s+Application)?|"
    r"Budget(?:\s*\(EUR,?\s*m\)|\s+EUR(?:\s*\n[ \t]*\(estimated number of grants\)[ \t]*)?)|Estimated Number of Grants|Date(?:s)? (?:to|for)\b[^\n]*|Grant Agreement[^\n]*)"
)


def _date_columns(dates: list[tuple[str, int, int]], columns: int) -> list[list[tuple[str, int, int]]] | None:
    """Dates read across a row of ``columns`` cells: one each, or runs of rising dates (cut-offs)."""
    if len(dates) == columns:
        return [[d] for d in dates]
    runs: list[list[tuple[str, int, int]]] = []
    for d in dates:
        if runs and d[0] > runs[-1][-1][0]:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs if len(runs) == columns else None


def _column_dates(cell: tuple[str, int, int] | None, columns: int) -> list[list[tuple[str, int, int]]] | None:
    if cell is None:
        return None
    value, a, _ = cell
    dates = [(iso, a + d.start(), a + d.end()) for d in DATE.finditer(value) if (iso := _iso(d))]
    return _date_columns(dates, columns)


def _parse_erc(doc: _Doc, document: str, part: str) -> list[CallTopic]:
    """The ERC work programme: one record per column of its "Call Identifier" tables."""
    text = doc.text
    topics: list[CallTopic] = []
    for table in re.finditer(r"(?m)^[ \t]*Call Identifier((?:[ \t]+ERC-\d{4}-\w+)+)[ \t]*$", text):
        ids = table.group(1).split()
        head_start = text.rfind("\nTable ", 0, table.start())
        caption_end = text.find("\n", head_start + 1)
        header = _one_line(text[caption_end : table.start()])
        names = (
            [n for n in re.split(r"\s*\([^)]*\)\s*", header) if n]
            if "(" in header
            else [n for n in re.split(r"\s*\bCall\d*\b\s*", header) if n]
        )
        if len(names) != len(ids):
            names = list(ids)
        # The rows under the identifiers, up to the next caption or footnote-free paragraph.
        end = text.find("\nTable ", table.end())
        end = len(text) if end < 0 else end
        labels = [m for m in ERC_ROW_LABELS.finditer(text, table.end(), end)]
        cells: dict[str, tuple[str, int, int]] = {}
        for k, m in enumerate(labels):
            stop = labels[k + 1].start() if k + 1 < len(labels) else end
            key = m.group("label").split()[0].lower()
            if key == "cut-off":
                key = "deadline"
            cells.setdefault(key, (text[m.end() : stop], m.end(), stop))
        table_page = doc.page_at(table.start())
        destination = None
        for dm in re.compile(r"(?m)^[ \t]*\d\.[ \t]+([A-Z][^\n]*)\n([^\n]*)").finditer(
            text, 0, table.start()
        ):
            destination = _one_line(dm.group(1))
            follow = _one_line(dm.group(2))
            if len(follow) < 60 and not re.search(r"[.:;]$", follow) and follow[:1].isupper():
                destination += " " + follow  # a heading wrapped onto a second line

        openings = _column_dates(cells.get("opening"), len(ids))
        deadlines = _column_dates(cells.get("deadline"), len(ids))
        budgets: list[tuple[float, int, int]] | None = None
        counts: list[tuple[int, int, int]] | None = None
        if "budget" in cells:
            value, a, _ = cells["budget"]
            million = re.search(r"\bm\b|million", text[cells["budget"][1] - 60 : cells["budget"][1]], re.I)
            if million:
                nums = [
                    (float(n.group(0)) * 1e6, a + n.start(), a + n.end())
                    for n in re.finditer(r"\d+(?:\.\d+)?", value)
                ]
            else:
                nums = [
                    (_number(n.group(1)), a + n.start(1), a + n.end(1))
                    for n in re.finditer(r"(?m)^[ \t]*(\d{1,3}(?: \d{3})*)[ \t]*$", value)
                ]
                counts = [
                    (int(c.group(1)), a + c.start(), a + c.end()) for c in re.finditer(r"\((\d+)\)", value)
                ]
            budgets = nums if len(nums) == len(ids) else None
        if "estimated" in cells:
            value, a, _ = cells["estimated"]
            found = [(int(n.group(0)), a + n.start(), a + n.end()) for n in re.finditer(r"\b\d+\b", value)]
            counts = found if len(found) == len(ids) else counts
        toas: list[str] | None = None
        if "type" in cells:
            parts: list[str] = []
            for line in cells["type"][0].split("\n"):
                line = _one_line(line)
                if line and parts and line[:1].islower():
                    parts[-1] += " " + line  # a cell wrapped onto a second line
                elif line:
                    parts.append(line)
            toas = parts if len(parts) == len(ids) else None

        for col, (ident, name) in enumerate(zip(ids, names)):
            quotes: list[SourceQuote] = []
            missing: list[str] = []
            id_at = table.start() + table.group(0).index(ident)
            quotes.append(doc.quote("code", id_at, id_at + len(ident)))
            toa = toas[col] if toas else None
            if toa:
                quotes.append(doc.quote("type_of_action", cells["type"][1], cells["type"][2]))
            short = (
                short_type(toa) if toa and short_type(toa) in ("PRIZE",) else "ERC-" + ident.split("-")[-1]
            )
            if not toa:
                missing.append(
                    "type_of_action: the ERC table prints none; short form from the call identifier"
                )
            opening = None
            if openings:
                opening = openings[col][0][0]
                quotes.append(doc.quote("opening_date", openings[col][0][1], openings[col][0][2]))
            else:
                missing.append("opening_date: the table's opening dates could not be matched to its columns")
            dl: tuple[str, ...] = ()
            if deadlines:
                dl = tuple(d for d, _, _ in deadlines[col])
                for d in deadlines[col]:
                    quotes.append(doc.quote("deadlines", d[1], d[2]))
            else:
                missing.append("deadlines: the table's deadlines could not be matched to its columns")
            budget = None
            if budgets:
                budget = round(budgets[col][0], 2)
                quotes.append(doc.quote("budget_eur", budgets[col][1], budgets[col][2]))
            else:
                missing.append("budget_eur: no budget row matching the table's columns")
            projects = None
            if counts and len(counts) == len(ids):
                projects = counts[col][0]
                quotes.append(doc.quote("projects", counts[col][1], counts[col][2]))
            else:
                missing.append("projects: no number of grants matching the table's columns")
            cmax, lump_sum, conditions = _erc_features(doc, name, quotes)
            if cmax is None:
                missing.append("contribution: no grant size found for the scheme")
            scope, pages = _erc_section(doc, name, quotes)
            if scope is None:
                missing.append("scope: no numbered section titled with the scheme's name")
            missing.append("expected_outcome: the ERC work programme has no 'Expected Outcome' sections")
            missing.append("trl: not applicable to ERC grants")
            topics.append(
                CallTopic(
                    code=ident,
                    title=name,
                    call_id=ident,
                    call_title=name,
                    destination=destination,
                    part=part,
                    document=document,
                    type_of_action=toa,
                    type_of_action_short=short,
                    opening_date=opening,
                    deadlines=dl,
                    deadline_stages=tuple(None for _ in dl),
                    budget_eur=budget,
                    budget_by_year=((int(ident.split("-")[1]), budget),) if budget else (),
                    contribution_min_eur=None,
                    contribution_max_eur=cmax,
                    projects=projects,
                    projects_max=None,
                    trl=None,
                    lump_sum=lump_sum,
                    conditions=tuple(conditions),
                    regions=(),
                    expected_outcome=None,
                    scope=scope,
                    pages=pages or (table_page, table_page),
                    call_table_page=table_page,
                    source_quotes=tuple(q for q in quotes if q.text),
                    missing=tuple(missing),
                )
            )
    return topics


def _erc_features(doc: _Doc, name: str, quotes: list[SourceQuote]) -> tuple[float | None, bool, list[str]]:
    """Maximum grant, funding model and target audience from the grant-features table row."""
    text = doc.text
    for m in re.finditer(rf"(?m)^[ \t]*{re.escape(name)}\b(?!\s+Call)", text):
        row_end = text.find("\n", m.end())
        for _ in range(7):
            nxt = text.find("\n", row_end + 1)
            if nxt < 0 or re.search(r"Lump\s+Sum|Actual\s*\n?\s*Cost", text[m.end() : row_end]):
                break
            row_end = nxt
        row = text[m.end() : row_end]
        model = re.search(r"Lump\s+Sum|Actual\s+Cost", row)
        amount = re.search(r"\b\d{1,3}(?: \d{3})+\b", row)
        if not (model and amount):
            continue
        conditions = []
        audience = _one_line(row[: amount.start()])
        if audience:
            conditions.append("Target audience: " + audience)
            quotes.append(doc.quote("conditions", m.end(), m.end() + amount.start()))
        quotes.append(doc.quote("contribution", m.end() + amount.start(), m.end() + amount.end()))
        quotes.append(doc.quote("lump_sum", m.end() + model.start(), m.end() + model.end()))
        return _number(amount.group(0)), model.group(0).lower().startswith("lump"), conditions
    return None, False, []


def _erc_section(
    doc: _Doc, name: str, quotes: list[SourceQuote]
) -> tuple[str | None, tuple[int, int] | None]:
    """The text of the numbered section titled ``name`` ("1.1.1 Starting Grant")."""
    text = doc.text
    heading = re.compile(r"(?m)^[ \t]*(?:\d+(?:\.\d+)*\.?[ \t]+\S[^\n]*|Table \d+\b[^\n]*)$")
    m = re.search(rf"(?m)^[ \t]*\d+(?:\.\d+)*\.?[ \t]+{re.escape(name)}[ \t]*$", text)
    if not m:
        return None, None
    body_start = m.end()
    nxt = heading.search(text, body_start)
    if (
        nxt and len(text[body_start : nxt.start()].strip()) < 100
    ):  # "2.1 Proof of Concept Grant" / "2.1.1 Objectives"
        body_start = nxt.end()
        nxt = heading.search(text, body_start)
    end = nxt.start() if nxt else len(text)
    quotes.append(doc.quote("scope", m.start(), body_start + 160))
    return _clean(text[body_start:end]), (doc.page_at(m.start()), doc.page_at(max(m.start(), end - 1)))
