"""Horizon Europe eligibility rules read from the documents, every rule with its page and a verbatim quote.

Input is page text, ``list[tuple[int, str]]`` (1-based PDF page number, one line per visual line), so this
module does not depend on the PDF parser; ``pdf_pages`` reads a PDF with PDFium for the command line and the
tests.

What is read:

* the country lists of the General Annexes ("To be eligible for funding, applicants must be established in one
  of the following countries: – the Member States …; – the Overseas Countries and Territories …; – countries
  associated to Horizon Europe; – the following low- and middle-income countries: …"). The lists are parsed
  from the text (bullet heading, comma-separated names, a full stop ending the list), so a newer General
  Annexes brings its own lists; the names are matched to ISO 3166 alpha-2 codes with the CORDIS country table
  plus a small table of the spellings the documents use ("Türkiye", "Congo (Republic)", "Kosovo*" …);
* the countries excluded from participating in any capacity (Russia, Belarus …), parsed from their heading;
* the participation rules (consortium composition, CSA, training and mobility, associated partners,
  affiliated entities, international organisations, exceptional funding, MSCA and ERC specifics …), each
  located by searching the text for its statement (whitespace and line breaks do not matter), never by page
  number;
* topics of the work programmes that make legal entities of named countries "exceptionally eligible for
  funding" (call/topic conditions), with the topic identifier;
* the pages on which each country is named in the rule documents.

The result, ``EligibilityRules``, turns into plain JSON-able data (``to_dict``) that the pure verdict logic in
``assistant/eligibility.py`` takes.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

Pages = list[tuple[int, str]]

# The documents, by their role; the file names are those of the shared corpus.
GENERAL_ANNEXES = "general_annexes"
REGULATION = "regulation"
PROGRAMME_GUIDE = "programme_guide"
MGA = "mga"
MSCA = "msca"
ERC = "erc"
DEFAULT_FILES = {
    GENERAL_ANNEXES: "horizon_europe_rules/wp-15-general-annexes_horizon-2026-2027_en.pdf",
    REGULATION: "horizon_europe_rules/regulation-eu-2021-695-horizon-europe_en.pdf",
    PROGRAMME_GUIDE: "horizon_europe_rules/programme-guide_horizon_en.pdf",
    MGA: "horizon_europe_rules/general-mga_horizon-euratom_en.pdf",
    MSCA: "horizon_europe_work_programmes/wp-2-marie-sklodowska-curie-actions_horizon-2026-2027_en.pdf",
    ERC: "horizon_europe_work_programmes/wp_horizon-erc-2026_en.pdf",
}
CORDIS_COUNTRIES = "cordis/cordisref-countries.csv"
WORK_PROGRAMMES_DIR = "horizon_europe_work_programmes"

LIST_KINDS = ("member_state", "oct", "associated", "associated_negotiating", "low_middle_income")


class EligibilityParseError(ValueError):
    """The documents could not be read into rules (a list or a statement was not found, a name not matched)."""


# ---------------------------------------------------------------------------------------------------------
# Country names
# ---------------------------------------------------------------------------------------------------------

# Spellings the documents (and users) write differently from the CORDIS table. Keys are matched after
# normalise_name, values are ISO 3166 alpha-2 codes (XK for Kosovo, as the EU uses it).
ALIASES: dict[str, str] = {
    # General Annexes spellings
    "Czechia": "CZ",
    "Faroe Islands": "FO",
    "Bonaire": "BQ",
    "Saba": "BQ",
    "Sint Eustatius": "BQ",
    "French Southern and Antarctic Territories": "TF",
    "Wallis and Futuna Islands": "WF",
    "St. Pierre and Miquelon": "PM",
    "Arab Republic of Egypt": "EG",
    "Egypt (Arab Republic)": "EG",
    "Republic of Korea": "KR",
    "Korea (Republic)": "KR",
    "Korea (Democratic People's Republic)": "KP",
    "Democratic People's Republic of Korea": "KP",
    "Türkiye": "TR",
    "Republic of Türkiye": "TR",
    "Republic of Moldova": "MD",
    "North Macedonia": "MK",
    "Republic of North Macedonia": "MK",
    "Kosovo*": "XK",
    "Congo (Democratic Republic)": "CD",
    "Congo (Republic)": "CG",
    "Republic of the Congo": "CG",
    "Côte d'Ivoire": "CI",
    "Ivory Coast": "CI",
    "Iran (Islamic Republic)": "IR",
    "Islamic Republic of Iran": "IR",
    "Kyrgyz Republic": "KG",
    "Lao (People's Democratic Republic)": "LA",
    "Lao People's Democratic Republic": "LA",
    "Micronesia (Federated States)": "FM",
    "Federated States of Micronesia": "FM",
    "Syrian Arab Republic": "SY",
    "Venezuela (Bolivarian Republic)": "VE",
    "Bolivarian Republic of Venezuela": "VE",
    "Yemen Republic": "YE",
    "Republic of Yemen": "YE",
    "Cabo Verde": "CV",
    "Eswatini": "SZ",
    "Gambia": "GM",
    "Viet Nam": "VN",
    "Tanzania, United Republic of": "TZ",
    "United Republic of Tanzania": "TZ",
    "State of Palestine": "PS",
    "Russian Federation": "RU",
    "Republic of Belarus": "BY",
    # English forms users type
    "USA": "US",
    "United States of America": "US",
    "UK": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Holland": "NL",
    "The Netherlands": "NL",
    "Czech Republic": "CZ",
    # Spanish forms users type
    "Mexico": "MX",
    "Estados Unidos de America": "US",
    "EEUU": "US",
    "EE UU": "US",
    "Gran Bretaña": "GB",
    "Inglaterra": "GB",
    "Holanda": "NL",
    "República Checa": "CZ",
    "Macedonia del Norte": "MK",
    "Esuatini": "SZ",
    "República de Corea": "KR",
    "Costa de Marfil": "CI",
    "Curazao": "CW",
    "Turquia": "TR",
    "Rusia": "RU",
    "Bielorrusia": "BY",
    "Belarus": "BY",
}

# Display names where the CORDIS table is out of date or awkward.
DISPLAY_EN = {
    "MK": "North Macedonia",
    "SZ": "Eswatini",
    "CZ": "Czechia",
    "TR": "Türkiye",
    "CV": "Cabo Verde",
    "BQ": "Bonaire, Sint Eustatius and Saba",
    "SX": "Sint Maarten",
    "CW": "Curaçao",
    "GM": "Gambia",
}
DISPLAY_ES = {
    "MK": "Macedonia del Norte",
    "SZ": "Esuatini",
    "BQ": "Bonaire, San Eustaquio y Saba",
    "CW": "Curazao",
    "SX": "Sint Maarten",
}

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})


def normalise_name(text: str) -> str:
    """A country name as a lookup key: accents, case, punctuation and "St." / "Saint" do not matter."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ")
    text = re.sub(r"[^0-9a-z]+", " ", text).strip()
    words = ["saint" if w in ("st", "ste") else w for w in text.split()]
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    return " ".join(words)


@dataclass
class CountryNames:
    """Names → ISO codes (English and Spanish names from CORDIS, the aliases, the codes themselves)."""

    lookup: dict[str, str] = field(default_factory=dict)  # normalised name -> code
    display: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> {"en": .., "es": ..}
    eu_codes: dict[str, str] = field(default_factory=dict)  # CORDIS euCode (UK, EL) -> ISO code
    ambiguous: set[str] = field(default_factory=set)

    @classmethod
    def from_cordis(cls, path: str | Path, languages: Sequence[str] = ("en", "es")) -> CountryNames:
        rows: list[tuple[str, str, str]] = []
        with open(path, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f, delimiter=";"):
                eu = (row.get("euCode") or "").strip()
                iso = (row.get("isoCode") or "").strip()
                code = iso if iso and iso.upper() != "NULL" else eu
                if not code:
                    continue
                rows.append(
                    (
                        code.upper(),
                        eu.upper(),
                        (row.get("name") or "").strip(),
                        (row.get("language") or "").strip(),
                    )
                )
        return cls.from_rows(rows, languages)

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[str, str, str, str]], languages: Sequence[str] = ("en", "es")
    ) -> CountryNames:
        """rows: (iso code, EU code, name, language)."""
        names = cls()
        by_key: dict[str, set[str]] = {}
        for code, eu, name, lang in rows:
            if eu and eu != code:
                names.eu_codes[eu] = code
            if lang in languages and name:
                names.display.setdefault(code, {}).setdefault(lang, name)
                # "Myanmar/Burma": the whole and each part
                for variant in [name] + (
                    [part for part in name.split("/") if part.strip()] if "/" in name else []
                ):
                    by_key.setdefault(normalise_name(variant), set()).add(code)
        for key, codes in by_key.items():
            if len(codes) == 1:
                names.lookup[key] = next(iter(codes))
            else:
                names.ambiguous.add(key)
        for alias, code in ALIASES.items():  # the aliases decide where CORDIS names collide
            names.lookup[normalise_name(alias)] = code
            names.ambiguous.discard(normalise_name(alias))
        for code, name in DISPLAY_EN.items():
            names.display.setdefault(code, {})["en"] = name
        for code, name in DISPLAY_ES.items():
            names.display.setdefault(code, {})["es"] = name
        return names

    def resolve(self, name: str) -> str | None:
        """The ISO code of a country name as a document writes it (or an ISO/EU code), else None."""
        raw = name.strip()
        if re.fullmatch(r"[A-Za-z]{2}", raw):
            code = raw.upper()
            code = self.eu_codes.get(code, code)
            if code in self.display:
                return code
        return self.lookup.get(normalise_name(raw))

    def to_dict(self) -> dict:
        codes = sorted(self.display)
        return {
            "display": {c: self.display[c] for c in codes},
            "lookup": dict(sorted(self.lookup.items())),
            "eu_codes": dict(sorted(self.eu_codes.items())),
        }


# ---------------------------------------------------------------------------------------------------------
# Page text helpers
# ---------------------------------------------------------------------------------------------------------

# A "DRAFT" watermark may come out as its own line, as single letters, or glued to a word.
_WATERMARK_LINE = re.compile(r"^\s*(?:DRAFT|[DRAFT])(?:\s*(?:DRAFT|[DRAFT]))*\s*$")
_FOOTNOTE_START = re.compile(r"^(\d{1,3})(?:\s+\S.*)?$")
_BULLET = re.compile(r"^\s*[–—−•●▪\-]\s+(?P<rest>.*)$")


def collapse(text: str) -> str:
    """Whitespace collapsed to single spaces (the form quotes are checked in)."""
    return " ".join(text.split())


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", collapse(line))


def furniture(pages: Pages) -> set[str]:
    """Running headers and footers: lines (digits ignored) among the first five or last three of a page that
    recur on at least 30% of the pages; watermark lines are matched separately."""
    counts: Counter[str] = Counter()
    for _, text in pages:
        lines = [line for line in text.split("\n") if line.strip()]
        counts.update({_shape(line) for line in lines[:5] + lines[-3:]})
    threshold = max(3, int(0.3 * len(pages)))
    return {shape for shape, n in counts.items() if n >= threshold and shape}


def _is_furniture(line: str, shapes: set[str]) -> bool:
    return bool(_WATERMARK_LINE.match(line)) or _shape(line) in shapes


def body_lines(text: str, shapes: set[str]) -> list[str]:
    """A page's lines without running headers/footers, watermark lines and the footnote block at its end.

    The footnote block is found from the last line that starts with a number: footnotes are numbered
    consecutively, so the block starts at the earliest line of the chain n, n-1, n-2 … above it."""
    lines = [line.rstrip() for line in text.split("\n")]
    lines = [line for line in lines if line.strip() and not _is_furniture(line, shapes)]
    starts = [
        (i, int(m.group(1))) for i, line in enumerate(lines) if (m := _FOOTNOTE_START.match(line.strip()))
    ]
    if not starts:
        return lines
    i, n = starts[-1]
    block = i
    for j, k in reversed(starts[:-1]):
        if j < block and k == n - 1:
            block, n = j, k
    return lines[:block]


def _body_start(text: str, shapes: set[str]) -> int:
    """Offset in collapse(text) where the page's body begins (after leading headers and watermark lines)."""
    lines = [line for line in text.split("\n") if line.strip()]
    skipped = []
    for line in lines:
        if _is_furniture(line, shapes):
            skipped.append(collapse(line))
        else:
            break
    if not skipped:
        return 0
    head = " ".join(skipped)
    flat = collapse(text)
    return len(head) + 1 if flat.startswith(head) else 0


# ---------------------------------------------------------------------------------------------------------
# Country lists
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    document: str
    page: int
    quote: str


@dataclass
class ListEntry:
    code: str
    name: str  # as the document writes it (footnote markers removed)
    page: int
    quote: str  # the visual line(s) holding the name, verbatim


@dataclass
class CountryList:
    kind: str
    document: str
    page: int  # page of the heading
    heading: str  # verbatim heading of the list
    pages: list[int]
    entries: list[ListEntry]

    @property
    def codes(self) -> list[str]:
        seen: list[str] = []
        for e in self.entries:
            if e.code not in seen:
                seen.append(e.code)
        return seen


def classify_heading(heading: str) -> str | None:
    h = heading.casefold()
    if "overseas" in h or "octs" in h:
        return "oct"
    if "negotiat" in h:
        return "associated_negotiating"
    if "associated" in h:
        return "associated"
    if "income" in h and ("low" in h or "middle" in h):
        return "low_middle_income"
    if "member state" in h:
        return "member_state"
    return None


_ABBREVIATIONS = {"st", "ste", "is", "rep", "dem", "fed", "isl", "no"}
_LIST_INTRO = re.compile(
    r"must\s+be\s+established\s+in\s+one\s+of\s+the\s+following\s+countries", re.IGNORECASE
)
_LEAD = re.compile(r"^[\s\d.;:]*")
_LIST_END = re.compile(r"not\s+listed\s+above", re.IGNORECASE)


def _terminal_period(text: str) -> int:
    """Index of the full stop that ends a list, skipping abbreviations such as "St."; -1 if none."""
    for m in re.finditer(r"\.(?!\d)", text):  # not the dots of a date or a number
        before = re.search(r"([A-Za-z]+)\s*$", text[: m.start()])
        word = before.group(1) if before else ""
        if word.casefold() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
            continue
        return m.start()
    return -1


def _strip_watermark(name: str) -> list[str]:
    """Candidate readings of a name that a watermark letter may have got into."""
    out = []
    tokens = [t for t in name.split() if t not in ("DRAFT",) and not re.fullmatch(r"[DRAFT]", t)]
    out.append(" ".join(tokens))
    out.append(re.sub(r"(?<=[a-z])(?:DRAFT|[DRAFT])+\b", "", name))
    out.append(re.sub(r"\b(?:DRAFT|[DRAFT])(?=[A-Z][a-z])", "", name))
    return [c for c in out if c and c != name]


def _clean_item(item: str) -> str:
    item = item.replace("\ufffe", "-").replace("\u00ad", "-")
    item = re.sub(r"^\s*(?:and|or)\s+", "", item.strip())
    item = re.sub(r"\d+", "", item)  # footnote markers: "Kosovo28", "United Kingdom 29"
    item = item.replace("*", " ")
    item = re.sub(r"-\s+(?=[a-z])", "", item)  # a word hyphenated over a line break
    return collapse(item).strip(" ,;:")


_LIST_LOWER_WORDS = {"and", "of", "the", "de", "da", "del", "et"}


def _list_like(line: str) -> bool:
    """Whether a line reads as part of a list of country names (capitalised names, commas, footnote markers),
    not as running text: no lower-case word but "and", "of", "the" …, no numbers but footnote markers."""
    text = collapse(line.replace("\ufffe", "-"))
    end = _terminal_period(text)
    text = text[:end] if end >= 0 else text  # the last line of a list may go on with a sentence
    if not text or re.search(r"\d[.,/]\d|\d{4}", text):
        return False
    words = re.findall(r"[^\W\d_][\w'’.-]*", text)
    if not words:
        return False
    return all(w[0].isupper() or w.casefold() in _LIST_LOWER_WORDS or re.match(r"[dl]['’]", w) for w in words)


def _names_line(line: str, names: CountryNames) -> bool:
    """Whether a line can carry on a list after a comma: it reads as a list and names at least one country."""
    if not _list_like(line):
        return False
    text = collapse(line)
    end = _terminal_period(text)
    text = text[:end] if end >= 0 else text
    return any(_resolve_listed(_clean_item(seg), names)[0] for seg in text.split(",") if _clean_item(seg))


def _resolve_listed(name: str, names: CountryNames) -> tuple[str | None, str]:
    """A listed name's code, trying the name as written, without a linked Member State's code ("Aruba (NL)"),
    and without letters of a watermark; returns the code (or None) and the name that matched."""
    plain = [name]
    if m := re.fullmatch(r"(.+?)\s*\(([A-Z]{2})\)", name):
        plain.append(m.group(1))
    for c in plain:
        if (code := names.resolve(c)) is not None:
            return code, name
    for c in plain:
        for stripped in (_clean_item(x) for x in _strip_watermark(c)):
            if stripped and (code := names.resolve(stripped)) is not None:
                return code, stripped
    return None, name


def parse_country_lists(pages: Pages, document: str, names: CountryNames) -> list[CountryList]:
    """The lists of countries whose entities are eligible for funding, read from the General Annexes."""
    shapes = furniture(pages)
    # the body as one stream of (page, line) so that a list may run over a page break
    stream: list[tuple[int, str]] = []
    for page_no, text in pages:
        stream.extend((page_no, line) for line in body_lines(text, shapes))
    start = next((i for i, (_, line) in enumerate(stream) if _LIST_INTRO.search(line)), None)
    if start is None:  # the sentence may be broken over lines: search the joined text
        joined = [collapse(" ".join(line for _, line in stream[i : i + 3])) for i in range(len(stream))]
        start = next((i for i, text in enumerate(joined) if _LIST_INTRO.search(text)), None)
    if start is None:
        raise EligibilityParseError(
            f"{document}: the sentence introducing the lists of countries eligible for funding was not found"
        )
    lists: list[CountryList] = []
    i = start + 1
    while i < len(stream):
        page_no, line = stream[i]
        if _LIST_END.search(line):
            break
        m = _BULLET.match(line)
        if not m:
            i += 1
            continue
        # the heading runs to the first ':' or ';' (possibly over lines)
        heading_lines = [m.group("rest")]
        j = i
        while not re.search(r"[:;]", " ".join(heading_lines)) and j + 1 < len(stream) and j - i < 3:
            j += 1
            heading_lines.append(stream[j][1])
        heading_text = collapse(" ".join(heading_lines))
        hm = re.search(r"[:;]", heading_text)
        if not hm:
            break
        heading = re.sub(r"\d+\s*$", "", heading_text[: hm.start()]).rstrip()
        kind = classify_heading(heading)
        if kind is None:
            break
        quote_heading = (
            heading_text[: hm.end()] if not re.search(r"\d\s*[:;]$", heading_text[: hm.end()]) else heading
        )
        rest_first = heading_text[hm.end() :]
        # collect the items up to the full stop that ends the list
        # the list's text, line after line, and where each line sits in it: (offset, length, page, raw line)
        items_text = rest_first
        positions: list[tuple[int, int, int, str]] = [(0, len(rest_first), page_no, stream[j][1])]
        k = j + 1
        while True:
            lead = _LEAD.match(items_text).end()  # a footnote marker and a stray '.' before the first name
            end = _terminal_period(items_text[lead:])
            if end >= 0:
                end += lead
                break
            if k >= len(stream) or _BULLET.match(stream[k][1]) or _LIST_END.search(stream[k][1]):
                raise EligibilityParseError(f"{document}: the list '{heading}' has no end")
            pending = items_text[lead:].rstrip()
            if (not pending or pending.endswith(",")) and not _names_line(stream[k][1], names):
                k += 1  # between two names: a footnote or page furniture the page split left in
                continue
            if items_text:
                items_text += " "
            positions.append((len(items_text), len(stream[k][1]), stream[k][0], stream[k][1]))
            items_text += stream[k][1]
            k += 1
        entries: list[ListEntry] = []
        unresolved: list[str] = []
        offset = lead
        for raw_item in items_text[lead:end].split(","):
            first = offset + len(raw_item) - len(raw_item.lstrip())
            last = offset + len(raw_item.rstrip())
            offset += len(raw_item) + 1
            name = _clean_item(raw_item)
            if not name:
                continue
            code, name = _resolve_listed(name, names)
            if code is None:
                unresolved.append(name)
                continue
            # the visual line(s) the item spans, on the page where it starts
            spans = [p for p in positions if p[0] < last and p[0] + p[1] > first] or [positions[-1]]
            page = spans[0][2]
            entries.append(
                ListEntry(
                    code=code,
                    name=name,
                    page=page,
                    quote=collapse(" ".join(p[3] for p in spans if p[2] == page)),
                )
            )
        if unresolved:
            raise EligibilityParseError(
                f"{document}: names in the list '{heading}' match no country: {unresolved} (add them to ALIASES)"
            )
        lists.append(
            CountryList(
                kind=kind,
                document=document,
                page=page_no,
                heading=quote_heading,
                pages=sorted({page_no} | {e.page for e in entries}),
                entries=entries,
            )
        )
        i = k
    if not lists:
        raise EligibilityParseError(f"{document}: no list of countries eligible for funding was found")
    return lists


# ---------------------------------------------------------------------------------------------------------
# Statements (rules)
# ---------------------------------------------------------------------------------------------------------

_HYPHEN = "[-\ufffe\u00ad\u2010\u2011]"
_QUOTE_CHARS = "[‘’'\"“”]"


def phrase(text: str) -> str:
    """A regex for a phrase as the documents write it: any whitespace (line breaks) between words, any
    hyphen or quote mark form, '…' for a gap of up to 250 characters."""
    parts = []
    for chunk in re.split(r"\s*…\s*", text):
        words = []
        for word in chunk.split():
            w = ""
            for ch in word:
                if ch in "-\u2010\u2011":
                    w += _HYPHEN + r"\s*"
                elif ch in "‘’'\"“”":
                    w += _QUOTE_CHARS
                elif ch in "–—":
                    w += "[–—-]"
                else:
                    w += re.escape(ch)
            words.append(w)
        parts.append(r"\s+".join(words))
    return r".{0,250}?".join(parts)


@dataclass(frozen=True)
class Anchor:
    """Where a statement is: a regex (see ``phrase``), optionally searched only after another regex
    (a section heading), and how far the quote runs: to the end of the sentence, or of the clause."""

    pattern: str
    after: str | None = None
    end: str = "sentence"  # "sentence" | "clause" (also stops at ':') | "match"


@dataclass(frozen=True)
class RuleSpec:
    id: str
    source: str
    topic: str
    anchors: tuple[Anchor, ...]


def A(text: str, after: str | None = None, end: str = "sentence", regex: bool = False) -> Anchor:
    return Anchor(text if regex else phrase(text), phrase(after) if after else None, end)


MSCA_DN = "Given the specific nature of MSCA Doctoral Networks"
MSCA_PF = "Given the specific nature of MSCA Postdoctoral Fellowships"
MSCA_SE = "Given the specific nature of MSCA Staff Exchanges"

RULE_SPECS: tuple[RuleSpec, ...] = (
    # General Annexes (WP 2026-2027)
    RuleSpec(
        "ga_scope",
        GENERAL_ANNEXES,
        "The General Annexes do not cover ERC calls",
        (A("calls launched by the European Research Council (ERC)"),),
    ),
    RuleSpec(
        "beneficiary_needs_funding",
        GENERAL_ANNEXES,
        "Beneficiaries must be eligible for funding",
        (A("To become a beneficiary, legal entities must be eligible for funding"),),
    ),
    RuleSpec(
        "funding_countries",
        GENERAL_ANNEXES,
        "Countries whose entities are eligible for funding",
        (
            A(
                "To be eligible for funding, applicants must be established in one of the following countries",
                end="match",
            ),
        ),
    ),
    RuleSpec(
        "associated_negotiating",
        GENERAL_ANNEXES,
        "Countries negotiating association",
        (
            A(
                "applicants established in other third countries negotiating association to Horizon Europe will be treated as entities established in an Associated Country"
            ),
        ),
    ),
    RuleSpec(
        "associated_list_position",
        GENERAL_ANNEXES,
        "The list of Associated Countries may change",
        (A("up-to-date information on the current list and on the position for Associated Countries"),),
    ),
    RuleSpec(
        "uk_association",
        GENERAL_ANNEXES,
        "United Kingdom: association and its exception",
        (
            A(
                "The United Kingdom is associated to the entire Horizon Europe Programme, with the only exception of the EIC fund"
            ),
        ),
    ),
    RuleSpec(
        "non_listed_funding",
        GENERAL_ANNEXES,
        "Entities from non-listed countries: funding by exception",
        (
            A(
                "established in countries not listed above will be eligible for funding if provided for in the specific call/topic conditions … considered essential"
            ),
        ),
    ),
    RuleSpec(
        "affiliated_entities",
        GENERAL_ANNEXES,
        "Affiliated entities",
        (
            A(
                "Affiliated entities are eligible for funding if they are established in one of the countries listed above"
            ),
        ),
    ),
    RuleSpec(
        "associated_partners",
        GENERAL_ANNEXES,
        "Associated partners",
        (A("Entities not eligible for funding … may participate as associated partners"),),
    ),
    RuleSpec(
        "csa_beneficiaries",
        GENERAL_ANNEXES,
        "CSA: beneficiaries from Member States or Associated Countries",
        (
            A(
                "To be eligible to participate as beneficiaries (or affiliated entities) in ‘Coordination and support’ actions, legal entities must be established in a Member State or Associated Country"
            ),
        ),
    ),
    RuleSpec(
        "csa_associated_partners",
        GENERAL_ANNEXES,
        "CSA: third-country entities as associated partners",
        (
            A(
                "Legal entities established in a non-associated third country may, however, participate in ‘Coordination and support’ actions as associated partners"
            ),
        ),
    ),
    RuleSpec(
        "international_organisations",
        GENERAL_ANNEXES,
        "International organisations",
        (
            A("International European research organisations are eligible to receive funding"),
            A(
                "International organisations with headquarters in a Member State or Associated Country are eligible to receive funding for ‘Training and mobility’ actions"
            ),
            A("Other international organisations are not eligible to receive funding, unless"),
        ),
    ),
    RuleSpec(
        "consortium_composition",
        GENERAL_ANNEXES,
        "Minimum consortium composition",
        (
            A(
                "only legal entities forming a consortium are eligible to participate in actions provided that the consortium includes, as beneficiaries, three legal entities independent from each other"
            ),
            A(
                "at least one independent legal entity established in a Member State; and … at least two other independent legal entities, each established in different Member States or Associated Countries"
            ),
        ),
    ),
    RuleSpec(
        "affiliated_not_counted",
        GENERAL_ANNEXES,
        "Affiliated entities do not count for the composition",
        (
            A(
                "affiliated entities do not sign the grant agreement, they do not count towards the minimum eligibility criteria for consortium composition"
            ),
        ),
    ),
    RuleSpec(
        "deemed_member_state",
        GENERAL_ANNEXES,
        "JRC, international European research organisations and EU bodies",
        (
            A(
                "The Joint Research Centre, international European research organisations and legal entities created under EU law are deemed to be established in a Member State"
            ),
        ),
    ),
    RuleSpec(
        "training_mobility_single",
        GENERAL_ANNEXES,
        "Training and mobility, co-fund: one or more entities",
        (
            A(
                "Applications for ‘Training and mobility’ actions and for ‘Programme co-fund’ actions may be submitted by one or more legal entities"
            ),
        ),
    ),
    RuleSpec(
        "csa_single",
        GENERAL_ANNEXES,
        "CSA: one or more entities",
        (
            A(
                "Applications for ‘Coordination and support’ actions may be submitted by one or more legal entities"
            ),
        ),
    ),
    RuleSpec(
        "gender_equality_plan",
        GENERAL_ANNEXES,
        "Gender equality plan",
        (
            A(
                "to be eligible, legal entities from Member States and Associated Countries that are public bodies, research organisations or higher education establishments",
                end="clause",
            ),
        ),
    ),
    RuleSpec(
        "excluded_countries",
        GENERAL_ANNEXES,
        "Countries excluded from participation",
        (
            A(r"Legal\s+entities\s+established\s+in\s+[^.]{3,200}?\s+[—–]\s+Given", regex=True),
            A("such legal entities are not eligible to participate in any capacity"),
            A(
                "Exceptions may be granted on a case-by-case basis for justified reasons",
                after="such legal entities are not eligible to participate in any capacity",
            ),
        ),
    ),
    RuleSpec(
        "china_innovation_actions",
        GENERAL_ANNEXES,
        "Entities controlled by China in Innovation Actions",
        (
            A(
                "controlled by China or by a legal entity established in China are not eligible to participate in Innovation Actions"
            ),
        ),
    ),
    # Regulation (EU) 2021/695
    RuleSpec(
        "reg_art22_participation",
        REGULATION,
        "Art. 22(1): any legal entity may participate",
        (
            A(
                "Any legal entity, regardless of its place of establishment … may participate in actions under the Programme"
            ),
        ),
    ),
    RuleSpec(
        "reg_art22_consortium",
        REGULATION,
        "Art. 22(2): minimum consortium",
        (
            A(
                "legal entities forming a consortium shall be eligible for participation in actions under the Programme provided that the consortium includes"
            ),
        ),
    ),
    RuleSpec(
        "reg_art22_single",
        REGULATION,
        "Art. 22(3): ERC, training and mobility by one or more entities",
        (
            A(
                "ERC frontier research actions, EIC actions, training and mobility actions or programme co-fund actions may be implemented by one or more legal entities"
            ),
        ),
    ),
    RuleSpec(
        "reg_art22_csa",
        REGULATION,
        "Art. 22(4): CSA by one or more entities",
        (A("Coordination and support actions may be implemented by one or more legal entities"),),
    ),
    RuleSpec(
        "reg_art23_funding",
        REGULATION,
        "Art. 23(1): entities eligible for funding",
        (
            A(
                "Legal entities shall be eligible for funding if they are established in a Member State or an associated country"
            ),
        ),
    ),
    RuleSpec(
        "reg_art23_third_countries",
        REGULATION,
        "Art. 23(2): non-associated third countries",
        (
            A(
                "Legal entities established in a non-associated third country shall bear the cost of their participation"
            ),
            A(
                "a legal entity established in low to middle income non-associated third countries … shall be eligible for funding in an action if"
            ),
        ),
    ),
    RuleSpec(
        "reg_art23_affiliated",
        REGULATION,
        "Art. 23(3): affiliated entities",
        (
            A(
                "Affiliated entities are eligible for funding in an action if they are established in a Member State, an associated country or in a third country identified in the work programme"
            ),
        ),
    ),
    # Programme Guide
    RuleSpec(
        "pg_oct",
        PROGRAMME_GUIDE,
        "OCT entities: as Member State entities",
        (
            A(
                "Legal entities from OCTs can participate and receive funding under equivalent conditions as legal entities from Member States"
            ),
        ),
    ),
    RuleSpec(
        "pg_own_cost",
        PROGRAMME_GUIDE,
        "Non-listed countries: own cost by default",
        (
            A(
                "are not automatically eligible for funding and therefore by default have to participate at their own cost"
            ),
            A("These participants should explain in the proposal how their funding will be secured"),
        ),
    ),
    RuleSpec(
        "pg_exceptional_funding",
        PROGRAMME_GUIDE,
        "Exceptional funding",
        (
            A("They can however receive exceptional funding, if", end="clause"),
            A(
                "considers that their participation as a beneficiary is essential for implementing the project",
                end="clause",
            ),
        ),
    ),
    RuleSpec(
        "pg_national_cofunding",
        PROGRAMME_GUIDE,
        "National co-funding mechanisms of third countries",
        (
            A(
                "have made specific provisions for national financing mechanisms for their participants in Horizon Europe projects"
            ),
            A("see Horizon Europe Complementary funding mechanisms in third countries"),
        ),
    ),
    # Model Grant Agreement
    RuleSpec(
        "mga_associated_partners",
        MGA,
        "Associated partners in the grant agreement",
        (
            A(
                "Associated partners (AP) — Entities which participate in the action, but without the right to charge costs or claim contributions"
            ),
            A(
                "They may not charge costs or contributions to the action and the costs for their tasks are not eligible"
            ),
        ),
    ),
    RuleSpec(
        "mga_affiliated_entities",
        MGA,
        "Affiliated entities in the grant agreement",
        (
            A(
                "Affiliated entities (AE) — Entities affiliated to a beneficiary … right to charge costs and claim contributions"
            ),
        ),
    ),
    # MSCA work programme
    RuleSpec(
        "msca_associated_partners",
        MSCA,
        "MSCA associated partners",
        (
            A(
                "'Associated partners' are entities which participate in the action, but without the right to charge costs or claim contributions"
            ),
            A("Associated partners may not employ the researchers under the action"),
        ),
    ),
    RuleSpec(
        "msca_academic_sector",
        MSCA,
        "MSCA academic sector",
        (A("'Academic sector' means public or private higher education establishments"),),
    ),
    RuleSpec(
        "msca_dn_open",
        MSCA,
        "Doctoral Networks open to third countries",
        (A("Doctoral Networks are indeed open to the participation of organisations from third countries"),),
    ),
    RuleSpec(
        "msca_dn_consortium",
        MSCA,
        "Doctoral Networks: consortium",
        (
            A(
                "Applications must be submitted by a consortium including at least three independent legal entities, each established in a different EU Member State or Horizon Europe Associated Country",
                after=MSCA_DN,
            ),
        ),
    ),
    RuleSpec(
        "msca_dn_affiliated",
        MSCA,
        "Doctoral Networks: no affiliated entities",
        (
            A(
                "Affiliated entities are not allowed to participate as they cannot claim costs in MSCA Doctoral Networks"
            ),
        ),
    ),
    RuleSpec(
        "msca_dn_third_country_beneficiaries",
        MSCA,
        "Doctoral Networks: beneficiaries in non-associated third countries",
        (
            A(
                "where researchers are recruited by beneficiaries established in non-associated third countries"
            ),
        ),
    ),
    RuleSpec(
        "msca_pf_single",
        MSCA,
        "Postdoctoral Fellowships: one beneficiary in a Member State or Associated Country",
        (
            A(
                "Applications must be submitted by a single independent legal entity, established in an EU Member State or Horizon Europe Associated Country",
                after=MSCA_PF,
            ),
            A("This is a mono-beneficiary action", after=MSCA_PF),
        ),
    ),
    RuleSpec(
        "msca_pf_affiliated",
        MSCA,
        "Postdoctoral Fellowships: no affiliated entities",
        (
            A(
                "Affiliated entities are not allowed to participate as they cannot claim costs in MSCA Postdoctoral Fellowships"
            ),
        ),
    ),
    RuleSpec(
        "msca_pf_global",
        MSCA,
        "Global Postdoctoral Fellowships",
        (
            A("European Postdoctoral Fellowships are open to researchers of any nationality"),
            A("Global Postdoctoral Fellowships are open to European nationals or long-term residents"),
            A(
                "The associated partner hosting the outgoing phase in Global Postdoctoral Fellowships must include a letter of commitment",
                after=MSCA_PF,
            ),
        ),
    ),
    RuleSpec(
        "msca_se_consortium",
        MSCA,
        "Staff Exchanges: consortium",
        (
            A(
                "Applications must be submitted by a consortium including at least three independent legal entities in three different countries",
                after=MSCA_SE,
            ),
        ),
    ),
    RuleSpec(
        "msca_se_sectors",
        MSCA,
        "Staff Exchanges: academic and non-academic sectors",
        (
            A(
                "The consortium must include participating organisations from both academic and non-academic sectors",
                after=MSCA_SE,
            ),
        ),
    ),
    RuleSpec(
        "msca_se_beneficiaries",
        MSCA,
        "Staff Exchanges: who can be a beneficiary",
        (
            A(
                "Only legal entities that are established in EU Member States or Horizon Europe Associated Countries can be beneficiaries",
                after=MSCA_SE,
            ),
        ),
    ),
    RuleSpec(
        "msca_se_affiliated",
        MSCA,
        "Staff Exchanges: no affiliated entities",
        (
            A(
                "Affiliated entities are not allowed to participate as they cannot claim costs in MSCA Staff Exchanges"
            ),
        ),
    ),
    RuleSpec(
        "msca_se_third_countries",
        MSCA,
        "Staff Exchanges: third-country organisations",
        (
            A(
                "International cooperation through the participation of organisations from non-associated third countries is strongly encouraged"
            ),
            A("secondments between non-associated third countries are not eligible", end="clause"),
        ),
    ),
    # ERC work programme 2026
    RuleSpec(
        "erc_pi",
        ERC,
        "ERC: Principal Investigators of any nationality",
        (A("ERC grant schemes are open to researchers of any age and nationality"),),
    ),
    RuleSpec(
        "erc_host_any_type",
        ERC,
        "ERC: any type of legal entity can host",
        (
            A(
                "Any type of legal entity, public or private, including a university, a research organisation, or an undertaking can host a Principal Investigator"
            ),
        ),
    ),
    RuleSpec(
        "erc_host_ms_ac",
        ERC,
        "ERC: Host Institution in a Member State or Associated Country",
        (
            A(
                "the Host Institution must be established either in an EU Member State or an Associated Country",
                end="clause",
            ),
        ),
    ),
    RuleSpec(
        "erc_synergy_third",
        ERC,
        "ERC Synergy: one Host Institution outside",
        (
            A(
                "In a Synergy Grant, one Host Institution, except the Corresponding Host Institution, may be an international organisation or a legal entity established outside"
            ),
        ),
    ),
    RuleSpec(
        "erc_team_members",
        ERC,
        "ERC: team members hosted anywhere",
        (
            A(
                "additional team members may be hosted by other legal entities … which may be established anywhere"
            ),
        ),
    ),
    RuleSpec(
        "erc_associated_countries",
        ERC,
        "ERC: the Portal's list of Associated Countries",
        (A("provides up-to-date information on the countries associated to Horizon Europe"),),
    ),
    RuleSpec(
        "erc_gender_equality_plan",
        ERC,
        "ERC: gender equality plan",
        (
            A(
                "legal entities from an EU Member State or an Associated Country that are public bodies, research organisations, or higher education institutions",
                end="sentence",
            ),
        ),
    ),
    RuleSpec(
        "erc_third_funding",
        ERC,
        "ERC: funding of entities outside the EU and Associated Countries",
        (
            A(
                "Legal entities outside the European Union or Associated Countries are eligible for funding in the following cases"
            ),
        ),
    ),
)

_START_BOUNDARY = re.compile(r"(?:[.;!?]|:(?=\s+[A-Z‘'“•●▪–—−]))\d{0,3}\s+(?=[A-Z‘'“•●▪–—−\d])|\s(?=[•●▪]\s)")
_END_BOUNDARY_SENTENCE = re.compile(r"[.;!?]\d{0,3}(?=\s+[A-Z‘'“•●▪–—−(\d]|\s*$)")
_END_BOUNDARY_CLAUSE = re.compile(r"[.;:!?]\d{0,3}(?=\s+[A-Z‘'“•●▪–—−(\d]|\s*$)|:")
MAX_QUOTE = 900


@dataclass
class PageView:
    """A page's text with whitespace collapsed (the form quotes are taken from and checked in), where its body
    begins, and the offsets of lines that start a paragraph after a heading line (a short line ending without
    punctuation, followed by a line starting with a capital)."""

    flat: str
    body_start: int
    para_starts: list[int]
    line_starts: list[tuple[int, str]]  # (offset in flat, line)

    @classmethod
    def of(cls, text: str, shapes: set[str]) -> PageView:
        flat = collapse(text)
        lines = [line for line in text.split("\n") if line.strip()]
        offsets: list[tuple[int, str]] = []
        cursor = 0
        for line in lines:
            piece = collapse(line)
            at = flat.find(piece, cursor)
            if at < 0:
                at = cursor
            offsets.append((at, line))
            cursor = at + len(piece)
        lengths = sorted(len(collapse(line)) for line in lines) or [0]
        typical = lengths[len(lengths) * 3 // 4]
        para = []
        for (at, line), (prev_at, prev) in zip(offsets[1:], offsets[:-1]):
            p = collapse(prev)
            if (
                p
                and len(p) < 0.75 * typical
                and not re.search(r"[.,;:(\-–—]$", p)
                and re.match(r"[A-Z‘'“]", collapse(line))
            ):
                para.append(at)
        return cls(flat, _body_start(text, shapes), para, offsets)

    def expand(self, start: int, end: int, mode: str = "sentence") -> str:
        """The sentence (or clause) holding flat[start:end], verbatim."""
        flat = self.flat
        s = self.body_start
        for m in _START_BOUNDARY.finditer(flat, self.body_start):
            if m.end() > start:
                break
            s = m.end()
        for at in self.para_starts:
            if s < at <= start:
                s = at
        if mode == "match":
            e = end
        else:
            boundary = _END_BOUNDARY_CLAUSE if mode == "clause" else _END_BOUNDARY_SENTENCE
            m = boundary.search(flat, max(end - 1, s))
            e = m.end() if m else len(flat)
        quote = flat[s:e]
        if len(quote) > MAX_QUOTE:  # keep the matched statement
            quote = flat[start:end] if end - start <= MAX_QUOTE else flat[start : start + MAX_QUOTE]
        quote = re.sub(r"^(?:\d{1,3}\s+|[•●▪–—−]\s+)", "", quote.strip())
        return quote.strip()


def find_statement(
    pages: Pages, anchor: Anchor, document: str, shapes: set[str] | None = None
) -> Citation | None:
    """The first place a statement occurs (after its section heading, if any), quoted verbatim from its page:
    the whole sentence (or clause) the match lies in, whitespace collapsed."""
    shapes = furniture(pages) if shapes is None else shapes
    pattern = re.compile(anchor.pattern, re.IGNORECASE | re.DOTALL)
    after = re.compile(anchor.after, re.IGNORECASE | re.DOTALL) if anchor.after else None
    started = after is None
    for page_no, text in pages:
        view = PageView.of(text, shapes)
        pos = view.body_start
        if not started:
            m = after.search(view.flat)
            if not m:
                continue
            started, pos = True, m.end()
        m = pattern.search(view.flat, pos)
        if m:
            return Citation(document, page_no, view.expand(m.start(), m.end(), anchor.end))
    return None


@dataclass
class Rule:
    id: str
    topic: str
    citations: list[Citation]


def parse_rules(
    sources: dict[str, tuple[str, Pages]], specs: Sequence[RuleSpec] = RULE_SPECS
) -> tuple[dict[str, Rule], list[str]]:
    """Every rule whose statements are all found, and the ids of those not found (with what was missing)."""
    shapes = {key: furniture(pages) for key, (_, pages) in sources.items()}
    rules: dict[str, Rule] = {}
    missing: list[str] = []
    for spec in specs:
        if spec.source not in sources:
            missing.append(f"{spec.id} (no {spec.source} document)")
            continue
        document, pages = sources[spec.source]
        citations = []
        for anchor in spec.anchors:
            citation = find_statement(pages, anchor, document, shapes[spec.source])
            if citation is None:
                missing.append(f"{spec.id}: {anchor.pattern[:80]}")
                break
            citations.append(citation)
        else:
            rules[spec.id] = Rule(spec.id, spec.topic, citations)
    return rules, missing


def parse_excluded(rule: Rule, names: CountryNames) -> tuple[list[str], list[str]]:
    """Countries whose entities may not participate in any capacity, read from the heading "Legal entities
    established in Russia, Belarus, or in non-government controlled territories of Ukraine — …": the codes,
    and the parts of the heading that are not whole countries (kept as notes)."""
    m = re.search(r"Legal\s+entities\s+established\s+in\s+(.+?)\s+[—–]\s", rule.citations[0].quote)
    if not m:
        return [], []
    codes, notes = [], []
    for part in re.split(r",\s*|\s+or\s+", m.group(1)):
        part = re.sub(r"^(?:or|and)\s+", "", part.strip())
        part = re.sub(r"^in\s+", "", part)
        if not part:
            continue
        code = names.resolve(part)
        if code:
            codes.append(code)
        else:
            notes.append(part)
    return codes, notes


# ---------------------------------------------------------------------------------------------------------
# Topic conditions naming countries ("exceptionally eligible for funding")
# ---------------------------------------------------------------------------------------------------------

_TOPIC_ID = re.compile(r"^\s*(HORIZON-[A-Z0-9]+(?:-[A-Z0-9]+){2,})\s*:")
_TYPE_OF_ACTION = re.compile(r"Type\s+of\s+Action\s+(.{3,60}?Actions?)\b", re.IGNORECASE)
_EXCEPTIONAL = re.compile(r"exceptionally\s+eligible\s+for\s+(?:Union\s+)?funding", re.IGNORECASE)
_ESTABLISHED_IN = re.compile(r"legal\s+entities\s+established\s+in\s+", re.IGNORECASE)
_ELIGIBILITY_ON = re.compile(r"Eligibility\s+conditions\s+The\s+conditions\s+are\s+described", re.IGNORECASE)
_ELIGIBILITY_OFF = re.compile(r"Award\s+criteria\s+The\s+criteria\s+are\s+described", re.IGNORECASE)
_OTHER_ACTIONS = re.compile(r"Other\s+Actions\s+not\s+subject\s+to\s+calls\s+for\s+proposals", re.IGNORECASE)
_NON_ASSOCIATED = re.compile(
    r"(?:all\s+)?non[-\ufffe\u00ad]?\s*associated\s+third\s+countries", re.IGNORECASE
)
ACTION_TYPES = (
    ("research and innovation action", "RIA"),
    ("coordination and support action", "CSA"),
    ("innovation action", "IA"),
)
ALL_NON_ASSOCIATED = "non_associated_third_countries"


@dataclass
class TopicException:
    """A topic's condition making entities of named countries (scope "countries") or of every non-associated
    third country (scope ALL_NON_ASSOCIATED) exceptionally eligible for funding."""

    document: str
    topic: str
    page: int
    quote: str
    codes: list[str]
    scope: str = "countries"
    action: str = ""  # RIA | IA | CSA | the work programme's words | "" if not found


def _action_code(words: str) -> str:
    w = collapse(words).casefold()
    return next((code for key, code in ACTION_TYPES if key in w), collapse(words))


def parse_topic_exceptions(document: str, pages: Pages, names: CountryNames) -> list[TopicException]:
    """Topics whose conditions make legal entities established in named countries (or in every
    non-associated third country) exceptionally eligible for funding. The topic is the last topic heading
    ("HORIZON-…:") above the sentence, the action its last "Type of Action" above it; only sentences in a
    call topic's "Eligibility conditions" count (not those of the "Other actions not subject to calls for
    proposals", grants to identified beneficiaries). Conditions naming
    regions ("all African Union member states", "these regions") are not resolved to countries and are
    left out."""
    shapes = furniture(pages)
    out: list[TopicException] = []
    topic, action, in_eligibility = "", "", False
    for page_no, text in pages:
        view = PageView.of(text, shapes)
        flat = view.flat
        marks = [(at, "topic", m.group(1)) for at, line in view.line_starts if (m := _TOPIC_ID.match(line))]
        marks += [(m.start(), "action", _action_code(m.group(1))) for m in _TYPE_OF_ACTION.finditer(flat)]
        marks += [(m.start(), "on", "") for m in _ELIGIBILITY_ON.finditer(flat)]
        marks += [(m.start(), "off", "") for m in _ELIGIBILITY_OFF.finditer(flat)]
        marks += [(m.start(), "reset", "") for m in _OTHER_ACTIONS.finditer(flat)]
        marks.sort()
        for m in _EXCEPTIONAL.finditer(flat):
            state = (topic, action, in_eligibility)
            for mark in marks:
                if mark[0] <= m.start():
                    state = _advance(state, mark)
            current_topic, current_action, eligible_part = state
            quote = view.expand(m.start(), m.end())
            est = _ESTABLISHED_IN.search(quote)
            if not est or not current_topic or not eligible_part:
                continue
            rest = quote[est.end() :]
            if _NON_ASSOCIATED.match(rest):
                out.append(
                    TopicException(
                        document, current_topic, page_no, quote, [], ALL_NON_ASSOCIATED, current_action
                    )
                )
                continue
            codes: list[str] = []
            for item in re.split(r",\s*|\s+and\s+", rest):
                code = names.resolve(_clean_item(item))
                if code is None:
                    break
                codes.append(code)
            if codes:
                out.append(
                    TopicException(
                        document, current_topic, page_no, quote, codes, "countries", current_action
                    )
                )
        for mark in marks:
            topic, action, in_eligibility = _advance((topic, action, in_eligibility), mark)
    return out


def _advance(state: tuple[str, str, bool], mark: tuple[int, str, str]) -> tuple[str, str, bool]:
    """(topic, action, inside its eligibility conditions) after a mark on the page."""
    topic, action, inside = state
    kind, value = mark[1], mark[2]
    if kind == "topic":
        return value, "", False
    if kind == "reset":  # grants to identified beneficiaries follow: no call topic
        return "", "", False
    if kind == "action":
        return topic, value, inside
    return topic, action, kind == "on"


# ---------------------------------------------------------------------------------------------------------
# Where each country is named
# ---------------------------------------------------------------------------------------------------------


def country_mentions(
    sources: dict[str, tuple[str, Pages]], names: CountryNames
) -> dict[str, list[tuple[str, int]]]:
    """For each country code, the (document, page) pairs where one of its English or Spanish names (or an
    alias) appears as a whole phrase."""
    keys = sorted((k for k in names.lookup if len(k) > 3), key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")\b")
    found: dict[str, set[tuple[str, int]]] = {}
    for document, pages in sources.values():
        for page_no, text in pages:
            for m in pattern.finditer(normalise_name(text)):
                found.setdefault(names.lookup[m.group(1)], set()).add((document, page_no))
    return {code: sorted(v, key=lambda x: (x[0], x[1])) for code, v in sorted(found.items())}


# ---------------------------------------------------------------------------------------------------------
# Everything together
# ---------------------------------------------------------------------------------------------------------


@dataclass
class EligibilityRules:
    documents: dict[str, str]  # role -> document name
    country_lists: list[CountryList]
    rules: dict[str, Rule]
    excluded: list[str]
    excluded_notes: list[str]
    topic_exceptions: list[TopicException]
    names: CountryNames
    mentions: dict[str, list[tuple[str, int]]]
    missing: list[str] = field(default_factory=list)

    def list_of(self, kind: str) -> CountryList | None:
        return next((lst for lst in self.country_lists if lst.kind == kind), None)

    def to_dict(self) -> dict:
        return {
            "version": 1,
            "documents": dict(self.documents),
            "country_lists": [
                {
                    **{k: v for k, v in asdict(lst).items() if k != "entries"},
                    "codes": lst.codes,
                    "entries": [asdict(e) for e in lst.entries],
                }
                for lst in self.country_lists
            ],
            "rules": {
                rid: {"id": r.id, "topic": r.topic, "citations": [asdict(c) for c in r.citations]}
                for rid, r in self.rules.items()
            },
            "excluded": {
                "codes": list(self.excluded),
                "notes": list(self.excluded_notes),
                "rule": "excluded_countries",
            },
            "topic_exceptions": [asdict(t) for t in self.topic_exceptions],
            "countries": self.names.to_dict(),
            "mentions": {code: [list(x) for x in pairs] for code, pairs in self.mentions.items()},
            "missing": list(self.missing),
        }


REQUIRED_KINDS = ("member_state", "associated", "low_middle_income")


def build_rules(
    sources: dict[str, tuple[str, Pages]],
    names: CountryNames,
    work_programmes: Sequence[tuple[str, Pages]] = (),
    strict: bool = True,
) -> EligibilityRules:
    """Read everything. ``sources`` maps a role (GENERAL_ANNEXES, REGULATION, …) to (document name, pages).
    With ``strict`` a rule whose statement is not found, or a missing list kind, raises EligibilityParseError:
    a changed document must be looked at, not silently answered from."""
    if GENERAL_ANNEXES not in sources:
        raise EligibilityParseError("the General Annexes are needed for the lists of countries")
    ga_name, ga_pages = sources[GENERAL_ANNEXES]
    lists = parse_country_lists(ga_pages, ga_name, names)
    rules, missing = parse_rules(sources)
    kinds = {lst.kind for lst in lists}
    missing += [f"list:{k}" for k in REQUIRED_KINDS if k not in kinds]
    if strict and missing:
        raise EligibilityParseError("statements not found in the documents: " + "; ".join(missing))
    excluded, notes = (
        parse_excluded(rules["excluded_countries"], names) if "excluded_countries" in rules else ([], [])
    )
    topics: list[TopicException] = []
    for document, pages in work_programmes:
        topics.extend(parse_topic_exceptions(document, pages, names))
    return EligibilityRules(
        documents={role: doc for role, (doc, _) in sources.items()},
        country_lists=lists,
        rules=rules,
        excluded=excluded,
        excluded_notes=notes,
        topic_exceptions=topics,
        names=names,
        mentions=country_mentions(sources, names),
        missing=missing,
    )


def pdf_pages(path: str | Path) -> Pages:
    """Page text with PDFium: 1-based page numbers, one line per visual line."""
    import pypdfium2 as pdfium  # only for reading PDFs; the parsing above takes text

    doc = pdfium.PdfDocument(str(path))
    try:
        pages = []
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            pages.append((i + 1, textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")))
            textpage.close()
            page.close()
        return pages
    finally:
        doc.close()


def load_from_corpus(raw_dir: str | Path, with_topics: bool = True, strict: bool = True) -> EligibilityRules:
    """The rules from a corpus laid out as the shared corpus (raw/horizon_europe_rules, …)."""
    raw = Path(raw_dir)
    sources = {
        role: (Path(rel).name, pdf_pages(raw / rel))
        for role, rel in DEFAULT_FILES.items()
        if (raw / rel).exists()
    }
    names = CountryNames.from_cordis(raw / CORDIS_COUNTRIES)
    wps: list[tuple[str, Pages]] = []
    if with_topics and (raw / WORK_PROGRAMMES_DIR).is_dir():
        skip = {Path(rel).name for rel in DEFAULT_FILES.values()}
        for pdf in sorted((raw / WORK_PROGRAMMES_DIR).glob("*.pdf")):
            if pdf.name not in skip:
                wps.append((pdf.name, pdf_pages(pdf)))
    return build_rules(sources, names, wps, strict=strict)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Read the Horizon Europe eligibility rules from the corpus into JSON."
    )
    parser.add_argument("raw_dir", help="the corpus's raw/ folder (holding horizon_europe_rules/, cordis/ …)")
    parser.add_argument("-o", "--output", help="JSON file to write (default: standard output)")
    parser.add_argument(
        "--no-topics", action="store_true", help="do not scan the work programmes for topic exceptions"
    )
    args = parser.parse_args(argv)
    try:
        data = load_from_corpus(args.raw_dir, with_topics=not args.no_topics).to_dict()
    except EligibilityParseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(data, ensure_ascii=False, indent=1)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
