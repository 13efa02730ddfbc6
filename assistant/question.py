"""Reading a question, once, and deciding where it goes.

    reader = QuestionReader(manifest, partner_tables, catalog, call_topics, places, intent, embed)
    reading = reader.read(question, history, lang, rewrite)   # -> Reading (raises QuestionError)

The routes, in order: a refusal decided before any search (an injection; a text we do not have); the partner
search over the CORDIS data (:func:`is_partner_question`); the eligibility check (a country and a question of
who may take part or be funded, :func:`eligibility_ask`); a Horizon Europe topic the question names by its
code; the topic finder (calls or topics about a subject); the documents. Every later stage takes the
:class:`Reading` (and its :class:`assistant.query.Query`) instead of parsing the text again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from assistant.conversation import Turn, condense
from assistant.errors import QuestionError
from assistant.guard import absent_programme, is_injection, later_period, named_missing_documents
from assistant.language import resolve_language
from assistant.manifest import Manifest
from assistant.phrases import t
from assistant.query import H2020, RARE, Query, acronyms, read_query
from assistant.types import DOCUMENTS, PROJECTS, TOPICS

if TYPE_CHECKING:
    import numpy as np

    from assistant.index.call_topics import CallTopicTable
    from assistant.index.catalog import Catalog
    from assistant.index.partner_tables import PartnerIndex
    from assistant.intent import IntentModel

MAX_QUESTION_CHARS = 2000

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


# --- the eligibility check and the topic finder --------------------------------------------------------
# Who may take part, or be funded: asked with a country (or a consortium's countries), as a question of
# possibility ("can a Mexican university be funded…", "¿pueden participar…?"), not of amounts ("how
# much…"). Read by assistant.intent, a model learned from questions: the question's vector, and whether it
# uses the usual wording below (one feature among the vector's; phrasings nobody listed are read too).
ELIGIBILITY_WORDING = re.compile(
    r"\b(eligib\w*|elegib\w*|"
    r"(can|could|may|might|is|are|am|do|does)\b[^?.;]{0,60}?\b(take part|participate|join|apply|"
    r"be (a |the |an )?(partner|beneficiar\w*|coordinator|host)|(be|get|receive|obtain)\b[^?.;]{0,20}?"
    r"(fund\w*|financ\w*|money|grants?))|"
    r"(puede|pueden|podemos|puedo|podr[ií]a\w*|es posible|se puede)\b[^?.;]{0,60}?\b(participar|unirse|sumarse|"
    r"postular|aplicar|ser (socio|beneficiari\w*|coordinador\w*|anfitri[oó]n\w*)|(recibir|obtener|tener)\b[^?.;]{0,20}?"
    r"(financ\w*|fondos|dinero|apoyos?))|"
    r"(are|is) [^?.;]{0,40}\bfunded|reciben (fondos|financiaci[oó]n|financiamiento))\b",
    re.IGNORECASE,
)
AMOUNT = re.compile(r"\b(how much|how many|cu[aá]nt[oa]s?)\b", re.IGNORECASE)
ENTITY_TYPES = (  # (type, pattern): higher and secondary education, research, private for-profit, public
    ("HES", re.compile(r"\b(universit\w*|universidad\w*|college|facultad|higher education)\b", re.I)),
    ("REC", re.compile(r"\b(research (centre|center|institute|organi[sz]ation)s?|centros? (p[uú]blicos? )?de "
                       r"investigaci[oó]n|institutos? de investigaci[oó]n|laborator\w*)\b", re.I)),
    ("PRC", re.compile(r"\b(compan(y|ies)|empresas?|sme|pymes?|start-?ups?|firms?|business\w*|industr\w*)\b", re.I)),
    ("PUB", re.compile(r"\b(ministr\w*|secretar[ií]a|government|gobierno|public (body|authority)|"
                       r"autoridad p[uú]blica|municipal\w*|agenc\w*)\b", re.I)),
)
ACTIONS = (  # (type of action, pattern), most specific first
    ("MSCA-DN", re.compile(r"\b(doctoral networks?|redes? doctorales?|msca[- ]dn)\b", re.I)),
    ("MSCA-PF", re.compile(r"\b(postdoctoral fellowships?|becas? postdoctoral\w*|msca[- ]pf)\b", re.I)),
    ("MSCA-SE", re.compile(r"\b(staff exchanges?|intercambios? de personal|msca[- ]se)\b", re.I)),
    ("ERC", re.compile(r"\b(erc|european research council|consejo europeo de investigaci[oó]n)\b", re.I)),
    ("CSA", re.compile(r"\b(csas?|coordination and support actions?|acci[oó]n(es)? de coordinaci[oó]n y apoyo)\b", re.I)),
    ("IA", re.compile(r"(?<!research and )\b(IAs?|innovation actions?|acci[oó]n(es)? de innovaci[oó]n)\b", re.I)),
    ("RIA", re.compile(r"\b(rias?|research and innovation actions?|acci[oó]n(es)? de investigaci[oó]n e "
                       r"innovaci[oó]n)\b", re.I)),
)
# A consortium's composition is asked about ("we have partners from ...: are we eligible?"), not each
# partner's own case ("can partners from Switzerland and Canada be funded?")
CONSORTIUM = re.compile(r"\b(consorti\w*|consorci\w*|we have|we are|tenemos|somos)\b", re.I)
# Two countries make a consortium question only when its composition is asked about ("is that enough?"); a
# consortium's minimum is three partners, so a question naming two is usually about one of them ("a Dutch
# university invited our Toronto company: can we be funded?").
COMPOSITION = re.compile(r"\b(enough|suficientes?|minim\w*|m[ií]nim\w*|composition|composici[oó]n)\b", re.I)
# Which part of the verdict the question asks for, so that the answer leads with it: a role ("as an
# associated partner", "coordinate"), whether funding is automatic, or taking part without funding.
ASPECTS = (
    ("associated_partner", re.compile(r"\b(associated partners?|socios? asociad[oa]s?)\b", re.I)),
    ("coordinator", re.compile(r"\b(coordinators?|coordinate|coordinar|coordinador\w*)\b", re.I)),
    ("erc_synergy", re.compile(r"\bsynergy\b", re.I)),
    ("host", re.compile(r"\b(host institutions?|host|hosted|anfitri[oó]n\w*|instituci[oó]n de acogida)\b", re.I)),
    ("automatic", re.compile(r"\b(automatic\w*|autom[aá]tic\w*)\b", re.I)),
    ("funding", re.compile(r"\b(fund\w*|financ\w*|money|dinero|fondos|beneficiar\w*|budget|presupuesto|"
                           r"costs?|costes?|costos?|grants?)\b", re.I)),
    ("participation", re.compile(r"\b(take part|participat\w*|join|be part|be involved|participar|"
                                 r"formar parte|entrar|unirse|sumarse|integrarse)\b", re.I)),
)
# A question about a call's dates: the answer leads with the named topic's deadline (assistant/topics/render.py).
ASKS_DATES = re.compile(
    r"\b(when|deadlines?|clos\w*|opens?|opening|cu[aá]ndo|plazos?|fechas?|cierr\w*|cierra|abre|apertura)\b",
    re.IGNORECASE,
)
# Calls or topics about a subject: the topic finder.
TOPIC_INTENT = re.compile(
    r"\b((which|what) (calls?|topics?|funding opportunit\w*)|qu[eé] (convocatorias?|temas?|llamados?)|"
    r"(calls?|topics?) (on|about|for|related to|that (mention|fit))|convocatorias? (sobre|de|para|que)|"
    r"temas? (sobre|que)|(fit|fits|match) (my|our)|encaj\w*|could (we|i) apply|podr[ií]amos (aplicar|postular))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class EligibilityAsk:
    """What an eligibility question asks about: the countries (ISO codes), the type of entity and action."""

    countries: tuple[str, ...]
    entity_type: str
    action: str
    consortium: bool  # several partners: the consortium's composition is asked about
    aspect: str = "funding"  # what the answer leads with: funding | automatic | participation | a role


def _first_match(table: Sequence[tuple[str, re.Pattern[str]]], text: str, default: str) -> str:
    """The name of the first (name, pattern) of a table whose pattern occurs in the text."""
    return next((name for name, pattern in table if pattern.search(text)), default)


def eligibility_ask(text: str, countries: Sequence[str], asks: bool) -> EligibilityAsk | None:
    """An eligibility question: countries named, and who may take part or be funded asked (``asks``: the
    intent model's reading of the question)."""
    if not countries or not asks or AMOUNT.search(text):
        return None
    entity = _first_match(ENTITY_TYPES, text, "OTH")
    action = _first_match(ACTIONS, text, "RIA")
    consortium = bool(CONSORTIUM.search(text)) and (
        len(countries) > 2 or (len(countries) == 2 and bool(COMPOSITION.search(text)))
    )
    aspect = _first_match(ASPECTS, text, "funding")
    return EligibilityAsk(tuple(countries), entity, action, consortium, aspect)


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
    eligibility: EligibilityAsk | None = None  # who may take part or be funded: the eligibility check
    topic_codes: tuple[str, ...] = ()  # Horizon Europe topics it names (that the index holds)
    asks_for_topics: bool = False  # which calls or topics fit a subject: the topic finder
    asks_for_dates: bool = False  # when a call opens or closes


class QuestionReader:
    """Reads questions against what the index holds (the manifest, the partner tables, the passages, the
    call topics, the country names)."""

    def __init__(
        self,
        manifest: Manifest,
        partner_tables: PartnerIndex | None = None,
        catalog: Catalog | None = None,
        call_topics: CallTopicTable | None = None,
        places: Callable[[str], set[str]] | None = None,
        intent: IntentModel | None = None,
        embed: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        self.manifest = manifest
        self.partner_tables = partner_tables  # None: the index has no CORDIS data
        self.catalog = catalog
        self.call_topics = call_topics  # None: the index has no Horizon Europe topics
        self.places = places  # text -> the country codes it names (None: no country names known)
        self.intent = intent  # does a question ask who may take part or be funded (None: never routed)
        self.embed = embed  # the question's vector (retrieval's, remembered: the question is embedded once)

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
            or later_period(standalone, self.manifest)
        ):
            refusal = MISSING  # a text we do not have: say so rather than answer from its neighbours
        query = self.query(standalone)
        about_partners = self.partner_tables is not None and is_partner_question(query, self.partner_tables)
        current = H2020 not in query.programmes  # Horizon Europe's tools answer for the current programme
        codes = tuple(c for c in query.identifiers if self.call_topics is not None and self.call_topics.get(c))
        countries = sorted(self.places(standalone)) if self.places is not None and current else []
        asks = bool(countries) and self.intent is not None and self.embed is not None and (
            self.intent.asks_eligibility(self.embed(standalone), bool(ELIGIBILITY_WORDING.search(standalone)))
        )
        return Reading(
            question=question,
            standalone=standalone,
            language=language,
            query=query,
            refusal=refusal,
            about_partners=about_partners,
            needs_rules=about_partners and needs_rules_too(standalone),
            collections=self._collections(query),
            eligibility=eligibility_ask(standalone, countries, asks) if current else None,
            topic_codes=codes,
            asks_for_topics=current and self.call_topics is not None and bool(TOPIC_INTENT.search(standalone)),
            asks_for_dates=bool(ASKS_DATES.search(standalone)),
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
