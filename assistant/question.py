"""Reading a question, once: its language, identifiers, the filters it implies, and where it goes.

    reader = QuestionReader(manifest, partner_tables, catalog)
    reading = reader.read(question, history, lang, rewrite)   # -> Reading (raises QuestionError)
    query = read_query(text, manifest)                        # -> Query: what retrieval reads in a text

Every later stage takes the :class:`Reading` (or its :class:`Query`) instead of parsing the text again, so
"why did this question go to the partner search?" is answered here: :func:`is_partner_question`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from assistant.conversation import Turn, condense
from assistant.errors import QuestionError
from assistant.guard import (
    absent_programme,
    asks_if_open,
    is_injection,
    later_period,
    named_documents,
    named_missing_documents,
)
from assistant.language import detect_language, resolve_language
from assistant.manifest import Manifest
from assistant.phrases import t
from assistant.textutil import HE_CODE, TOPIC_CODE
from assistant.types import DOCUMENTS, PROJECTS, TOPICS

if TYPE_CHECKING:
    from assistant.index.catalog import Catalog
    from assistant.index.partner_tables import PartnerIndex

MAX_QUESTION_CHARS = 2000

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


# --- where a question goes: the partner search (CORDIS data) or the documents -----------------------------
# Asking about the data (who took part, which projects, a project's figures) - not about rules that
# happen to mention partners ("may partners from third countries take part?").
ORGS = (r"(organi[sz]ations?|organizaciones|institutions?|instituciones|instituci[oó]n|universit(y|ies)|"
        r"universidad(es)?|compan(y|ies)|empresas|entities|entidades|partners|socios|groups|grupos)")
ORG_QUESTION = re.compile(
    rf"\b((which|what) ([\w-]+ ){{0,2}}{ORGS}|(qu[eé]|cu[aá]les) ([\w-]+ ){{0,2}}{ORGS})\b", re.IGNORECASE
)
DATA_VERB = re.compile(
    r"\b(took part|participated|participate in|participates in|participaron|particip[oó]|participan? en|"
    r"worked|trabajaron|coordinated|coordin[oó]|coordinaron|received|recibi[oó]|recibieron|aparecen?|appears?)\b",
    re.IGNORECASE,
)
PARTNER_INTENT = re.compile(
    r"\b(who (coordinated|took part|participated|led)|qui[eé]n(es)? (coordin[oó]|coordinaron|particip[oó]|participaron|"
    r"lider[oó]|lideraron)|(find|suggest|potential|possible) (\w+ )?partners|"
    r"(busca\w*|encontrar|sugiere\w*|posibles|potenciales) (\w+ )?socios|"
    r"partner search|b[uú]squeda de socios|took part in|participated in|participaron en|particip[oó] en|participa en el|"
    r"how much eu (funding|money|contribution) did|eu money did|"
    r"cu[aá]nto (recibi[oó]|aport[oó])|cordis|participante en|participant in|as a participant|como participante)",
    re.IGNORECASE,
)
# Words that also come up in questions about what a call, a topic or the law says ("projects funded under
# the same topic", "the EU contribution", "who coordinates the Council"): they make a partner question
# only when nothing in the question asks what a text says (TEXT_INTENT, RULES_INTENT).
PROJECTS_MENTIONED = re.compile(
    r"\b(qui[eé]n(es)? (coordin|particip|lider)\w*|(which|what) ([\w-]+ )?projects|(qu[eé]|cu[aá]les) ([\w-]+ )?proyectos|"
    r"projects? (on|about|that|funded) |proyectos? (sobre|que|financiados) |eu contribution|contribuci[oó]n de la ue)",
    re.IGNORECASE,
)
TEXT_INTENT = re.compile(
    r"\b(must|have to|has to|had to|should|could|can|may|debe\w*|deb[ií]a\w*|hay que|hab[ií]a que|tienen? que|"
    r"ten[ií]an? que|se pod[ií]a|pueden?|max(imum)?|m[aá]xim[oa]s?|minimum|m[ií]nim[oa]s?|suggest\w*|sugier\w*|"
    r"ley|law|consejo nacional)\b",
    re.IGNORECASE,
)
RULES_INTENT = re.compile(
    r"\b(eligib\w*|elegib\w*|rules?|reglas?|requisit\w*|requirements?|conditions?|condiciones|costs?|costes?|"
    r"costos?|evaluat\w*|evalua\w*|criteri\w*|how (do|can|should) (we|i) (apply|submit)|c[oó]mo (solicit|present)\w*|"
    r"funding rate|tasa de financiaci[oó]n|receive (eu )?funding|recibir financiaci[oó]n|may (we|i)|can (we|i)|"
    r"podemos|puedo|pueden recibir|page limits?|l[ií]mite de p[aá]ginas|"
    r"(can|may|could) [\w ]{0,40}(receive|get|obtain) (eu )?(funding|money)|"
    r"pueden? [\w ]{0,40}recibir (financiaci[oó]n|fondos))\b",
    re.IGNORECASE,
)
PROJECT_NUMBER = re.compile(r"\b(?:project|proyecto)\s+(?:n[ºo°.]?\s*)?(\d{6,9})\b", re.I)
# Without the partner tables, a question with these words also searches the CORDIS project records.
PARTNER_WORDS = re.compile(
    r"\b(projects?|proyectos?|partners?|socios?|consorcios?|organi[sz]ations?|organizaci[oó]n(es)?|"
    r"instituci[oó]n(es)?|universit(y|ies)|universidad(es)?|coordinat\w*|coordin\w*|"
    r"cordis|eu contribution|contribuci[oó]n)",
    re.IGNORECASE,
)
TOPIC_WORDS = re.compile(r"\b(call topics?|topics?|temas?|convocatorias? (espec[ií]fica|sobre|de))\b", re.IGNORECASE)


def is_partner_question(question: str | Query, tables: PartnerIndex | None = None) -> bool:
    """A question about who took part, which projects, or a named project's data."""
    text = question.text if isinstance(question, Query) else question
    if PARTNER_INTENT.search(text) or (ORG_QUESTION.search(text) and DATA_VERB.search(text)):
        return True
    if PROJECTS_MENTIONED.search(text) and not (TEXT_INTENT.search(text) or RULES_INTENT.search(text)):
        return True
    if tables is None:
        return False
    named = question.acronyms if isinstance(question, Query) else acronyms(text)
    return any(tables.by_acronym(name) for name in named if len(name) >= 4) or bool(PROJECT_NUMBER.search(text))


def needs_rules_too(question: str) -> bool:
    """A partner question that also asks about rules (eligibility, costs, evaluation...)."""
    return bool(RULES_INTENT.search(question))


# --- the reading -----------------------------------------------------------------------------------------
INJECTION, MISSING = "injection", "missing"  # the refusals decided before any search


@dataclass(frozen=True)
class Reading:
    """Everything the pipeline needs to know about one question, worked out once."""

    question: str  # as asked, whitespace collapsed
    standalone: str  # with a follow-up's earlier question folded in
    language: str  # of the answer
    query: Query  # the standalone question, as retrieval reads it
    refusal: str | None  # INJECTION or MISSING: refused before any search
    about_partners: bool  # who took part, which projects: the partner search over the CORDIS tables
    needs_rules: bool  # a partner question that also asks about rules
    collections: tuple[str, ...]  # where a documents search looks


class QuestionReader:
    """Reads questions against what the index holds (the manifest, the partner tables, the passages)."""

    def __init__(
        self, manifest: Manifest, partner_tables: PartnerIndex | None = None, catalog: Catalog | None = None
    ) -> None:
        self.manifest = manifest
        self.partner_tables = partner_tables  # None: the index has no CORDIS data
        self.catalog = catalog

    def query(self, text: str) -> Query:
        return read_query(text, self.manifest)

    @staticmethod
    def checked(question: str, lang: str | None = "auto") -> tuple[str, str]:
        """The question with whitespace collapsed, and the answer's language; QuestionError (in that
        language) when it is empty or too long."""
        question = " ".join((question or "").split())
        language = resolve_language(lang, question)
        if not question:
            raise QuestionError(t(language, "empty"))
        if len(question) > MAX_QUESTION_CHARS:
            raise QuestionError(t(language, "too_long", length=len(question), limit=MAX_QUESTION_CHARS))
        return question, language

    @staticmethod
    def language(lang: str | None, text: str) -> str:
        """The answer language: ``lang`` when it is "en" or "es", else the text's."""
        return resolve_language(lang, text)

    def read(
        self,
        question: str,
        history: Sequence[Turn] = (),
        lang: str | None = "auto",
        rewrite: Callable[..., str | None] | None = None,
    ) -> Reading:
        """Validate and read a question; ``rewrite(question, earlier, language=...)`` (the LLM's, when one
        is configured) may make a follow-up standalone."""
        question, language = self.checked(question, lang)
        injection = is_injection(question)
        rewriter = None if injection or rewrite is None else partial(rewrite, language=language)
        standalone = condense(question, list(history), rewriter)
        refusal = None
        if injection:
            refusal = INJECTION
        elif (
            named_missing_documents(standalone, self.manifest)
            or absent_programme(standalone, self.manifest)
            or later_period(standalone)
        ):
            refusal = MISSING  # a text we do not have: say so rather than answer from its neighbours
        query = self.query(standalone)
        about_partners = self.partner_tables is not None and is_partner_question(query, self.partner_tables)
        return Reading(
            question=question,
            standalone=standalone,
            language=language,
            query=query,
            refusal=refusal,
            about_partners=about_partners,
            needs_rules=about_partners and needs_rules_too(standalone),
            collections=self._collections(query),
        )

    def _collections(self, query: Query) -> tuple[str, ...]:
        """Documents always; project records when the question names a project or asks about partners;
        topic records when it asks about call topics."""
        named = query.acronyms
        if self.partner_tables is not None:  # only acronyms of projects in the data (not e.g. "CELAC") ...
            named = [a for a in named if self.partner_tables.by_acronym(a)]
        # ... that the documents do not use as their own vocabulary (there are projects called SC2 and TRL;
        # searching 38k project records costs 100-180 ms and brings them into a work-programme answer)
        if self.catalog is not None:
            named = [a for a in named if len(self.catalog.find_exact(a, RARE + 1, DOCUMENTS)) <= RARE]
        if named or (self.partner_tables is None and PARTNER_WORDS.search(query.text)):
            return (DOCUMENTS, TOPICS, PROJECTS)
        if TOPIC_WORDS.search(query.text):
            return (DOCUMENTS, TOPICS)
        return (DOCUMENTS,)
