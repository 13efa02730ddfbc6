"""What retrieval reads in a text, once: its language, identifiers, the programmes it is about, the documents
it implies or rules out.

    query = read_query(text, manifest)  -> Query
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.guard import asks_if_open, named_documents
from assistant.language import detect_language
from assistant.manifest import Manifest
from assistant.textutil import HE_CODE, TOPIC_CODE

# --- identifiers -------------------------------------------------------------------------------------
# An article (Artículo 62 of the law, Article 22 of the Regulation), or a numbered part of one (Art. 6.2 of
# the Model Grant Agreement).
ARTICLE = re.compile(r"\b(?:art[íi]culos?|articles?|art\.)\s*(\d{1,3})(?:\.(\d{1,2}))?\b", re.IGNORECASE)
# Project acronyms: at least two capitals anywhere (BELLA-S1, GEMex, ZikaPLAN, ENERXICO).
ACRONYM = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*[A-Z])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b")
COMMON_UPPER = {"EU", "UE", "H2020", "RIA", "IA", "CSA", "MSCA", "ERC", "SME", "PDF", "NCP", "EUR", "THE", "AND", "PhD"}
RARE = 10  # an acronym found in at most this many passages is an exact hit in the documents (CELAC)


def identifiers(text: str) -> list[str]:
    """Identifiers worth an exact lookup: topic and call codes, articles, project acronyms."""
    found: list[str] = [code.upper() for code in dict.fromkeys(HE_CODE.findall(text))]
    found += TOPIC_CODE.findall(text)
    for number, _part in ARTICLE.findall(text):
        found.append(f"Artículo {number}.")  # the Mexican law's articles
        found.append(f"Article {number}")  # the EU texts' (the Regulation, the Model Grant Agreement)
    for token in ACRONYM.findall(text):
        if token in COMMON_UPPER or token in found or any(token in f for f in found) or _compound_name(token):
            continue
        found.append(token)
    return found


def _compound_name(token: str) -> bool:
    """A name such as "EU-China" or "UE-México": common abbreviations and capitalised words joined by
    hyphens, not an acronym to look up (it made the heading "EU-China cooperation on soil." an answer)."""
    parts = token.split("-")
    return len(parts) > 1 and all(p in COMMON_UPPER or re.fullmatch(r"[A-Z][a-z]+", p) for p in parts)


def is_code(ident: str) -> bool:
    """A topic or call code or an article, as opposed to an acronym."""
    return bool(TOPIC_CODE.fullmatch(ident) or HE_CODE.fullmatch(ident)) or ident.startswith(("Artículo", "Article "))


def sections(text: str) -> list[str]:
    """Numbered parts of articles a text names ("Art. 6.2" -> "6.2"): headings to look for."""
    return [f"{number}.{part}" for number, part in ARTICLE.findall(text) if part]


# --- what a text implies about the documents ------------------------------------------------------------
PERIOD = re.compile(r"\b20(14|16|18)\s*[-–/]\s*(?:20)?(15|17|20)\b")
LAW = re.compile(r"\b(ley|law|mexican science law|ley general|lgmhcti)\b", re.IGNORECASE)
# Names of the EU programme's instruments: a question naming one (and not the law) asks about EU rules,
# not about the Mexican law, however Mexican its other words are.
EU_PROGRAMME = re.compile(
    r"\b(h2020|horizon(?:te)?\s*(?:2020|europe|europa)|ria|csa|msca|marie\s+(?:sk[lł]odowska[- ])?curie|erc|"
    r"research and innovation actions?|innovation actions?|acci[oó]n(?:es)? de (?:investigaci[oó]n e )?innovaci[oó]n|"
    r"work programmes?|programas? de trabajo|(?:model )?grant agreements?|acuerdos? de subvenci[oó]n)\b",
    re.IGNORECASE,
)
# A question about Mexico that says nothing of the EU asks about Mexican rules: the law is the corpus's one
# Mexican text ("Do private companies receiving Mexican public R&D support have to put in their own money?").
MEXICO = re.compile(r"\b(m[eé]xico|mexican[oa]?s?)\b", re.IGNORECASE)
EU_CONTEXT = re.compile(
    r"\b(eu|ue|europ\w*|comisi[oó]n|commission|proposals?|propuestas?|consorti\w*|calls?|convocatorias?)\b",
    re.IGNORECASE,
)
# The law's own name: every page of it says "Humanidades, Ciencias, Tecnologías e Innovación", so the name
# picks out the law (the prior below does that) but says nothing about which of its pages answers.
LAW_TITLE = re.compile(
    r"\b(?:general law|ley general)\b[^?.;]{0,25}?\bhuman\w*,?\s+(?:sciences?|ciencias?),?\s+"
    r"(?:technolog\w*|tecnolog\w*),?\s+(?:and|e|y)\s+(?:innovation|innovaci[oó]n)\b"
    r"|\b(?:mexican|mexico's) (?:science|research) law\b|\bley general de hcti\b|\blgmhcti\b",
    re.IGNORECASE,
)
MEXICAN_LAW = {"programme": "mexico", "kind": "law"}
H2020, HORIZON_EUROPE = "h2020", "horizon-europe"
# A programme named outright, or implied by an identifier or a period of its own.
PROGRAMME_NAMES = {
    H2020: re.compile(r"\b(h2020|horizon(?:te)?[\s-]*2020|fp8)\b", re.IGNORECASE),
    HORIZON_EUROPE: re.compile(r"\b(hori[sz]on(?:te)?[\s-]*europ[ae]|heu)\b", re.IGNORECASE),
}
# A question that compares the programmes may be answered from both.
COMPARISON = re.compile(
    r"\b(compar\w*|differ\w*|diferen\w*|versus|vs\.?|than (?:in|under)|que en|respecto (?:a|de)|"
    r"chang\w*|cambi\w*|successor|sucesor\w*|predecessor|predecesor\w*|antecesor\w*)\b",
    re.IGNORECASE,
)


def without_law_title(text: str) -> str:
    """The text without the law's name (the keyword and e5 searches use this; the main dense model
    measured better with the whole question)."""
    return LAW_TITLE.sub(" ", text)


def document_priors(text: str) -> dict[str, str]:
    """Documents a question implies, as soft preferences: a work-programme period, or the Mexican law; and
    when it names no programme (and not the law), the current one, Horizon Europe."""
    found: dict[str, str] = {}
    if m := PERIOD.search(text):
        found["period"] = f"20{m.group(1)}-20{m.group(2)}"
    if LAW.search(text) or _about_mexico_alone(text):
        found["kind"] = "law"
    elif not programmes_named(text):
        found["programme"] = HORIZON_EUROPE
    return found


def _about_mexico_alone(text: str) -> bool:
    """A question about Mexico that names nothing of the EU (no EU word, instrument or topic code)."""
    return bool(MEXICO.search(text)) and not any(p.search(text) for p in (EU_CONTEXT, EU_PROGRAMME, TOPIC_CODE))


def programmes_named(text: str) -> frozenset[str]:
    """The EU programmes a text is about: named ("H2020", "Horizonte Europa"), or implied by a topic code
    (SFS-33-2018, HORIZON-CL6-2027-01-BIODIV-01) or an H2020 work-programme period. (A bare year is not
    enough: "the 2023 law" is Mexican, and a 2026 deadline may be asked of either programme.)"""
    named = {programme for programme, pattern in PROGRAMME_NAMES.items() if pattern.search(text)}
    if PERIOD.search(text) or any(int(code[-4:]) <= 2020 for code in TOPIC_CODE.findall(text)):
        named.add(H2020)
    if HE_CODE.search(text):
        named.add(HORIZON_EUROPE)
    return frozenset(named)


def implied_exclusions(text: str) -> tuple[dict[str, str], ...]:
    """The passages a question rules out (each dict: those with all of its values).

    A question about an EU programme that does not name a law is not about the Mexican law (an English
    question about "a Mexican university in an H2020 action" otherwise gets the law's articles on Mexican
    universities from every list). A question about one programme is not answered from the other's texts
    (H2020's rules are not Horizon Europe's), unless it compares them."""
    found: list[dict[str, str]] = []
    if EU_PROGRAMME.search(text) and not LAW.search(text):
        found.append(dict(MEXICAN_LAW))
    programmes = programmes_named(text)
    if len(programmes) == 1 and not COMPARISON.search(text):
        other = HORIZON_EUROPE if H2020 in programmes else H2020
        found.append({"programme": other})
    return tuple(found)


@dataclass(frozen=True)
class Query:
    """A text as retrieval reads it (the standalone question, or a search box's text)."""

    text: str
    language: str  # of the text itself (an answer's language may be fixed by the user instead)
    identifiers: tuple[str, ...]
    topic_codes: tuple[str, ...]
    unnamed: str  # without the Mexican law's name
    asks_if_open: bool
    priors: dict[str, str] = field(default_factory=dict)  # documents the text implies (period, the law)
    exclusions: tuple[dict[str, str], ...] = ()  # documents it rules out (each: all of these values)
    programmes: frozenset[str] = frozenset()  # the EU programmes it names or implies
    named_documents: frozenset[str] = frozenset()  # ids of the documents it names

    @property
    def acronyms(self) -> list[str]:
        """The acronyms among the identifiers (project names, CELAC): not topic codes or articles."""
        return [ident for ident in self.identifiers if not is_code(ident)]


def acronyms(text: str) -> list[str]:
    """The acronyms a text names (see :attr:`Query.acronyms`)."""
    return [ident for ident in identifiers(text) if not is_code(ident)]


def read_query(text: str, manifest: Manifest | None = None) -> Query:
    """Read a text for retrieval: its language, identifiers, implied documents and exclusions."""
    return Query(
        text=text,
        language=detect_language(text),
        identifiers=tuple(identifiers(text)),
        topic_codes=tuple(TOPIC_CODE.findall(text)),
        unnamed=without_law_title(text),
        asks_if_open=asks_if_open(text),
        priors=document_priors(text),
        exclusions=implied_exclusions(text),
        programmes=programmes_named(text),
        named_documents=frozenset(named_documents(text, manifest)) if manifest is not None else frozenset(),
    )
