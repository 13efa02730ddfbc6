"""What the assistant must not do: follow injected instructions, pretend to have read missing texts,
or treat a closed programme as open. Pure functions over the question and the manifest."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from assistant.manifest import PROGRAMME_LABELS, Document, Manifest
from assistant.textutil import TOPIC_CODE, fold

INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|your rules|prompt|above|previous)\b"
    r"|\b(ignora|olvida|olvid[ae]n|omite|desobedece)\b.{0,40}\b(instrucciones|reglas|indicaciones|anteriores|todo)\b"
    r"|\byou are now\b|\bahora eres\b|\bsystem prompt\b|\bprompt (del|de) sistema\b|\bsystem instructions\b"
    r"|\binstrucciones (del|de) sistema\b"
    r"|\bact as\b.{0,30}\b(unrestricted|jailbreak|dan)\b|\bjailbreak\b"
    r"|\b(just|simply) (say|answer|reply|respond) (that|with)\b|\b(responde|di|contesta|afirma)(,[^,]{0,50},)? (solo |solamente )?que\b"
    r"|\bwithout (citing|quoting|sources)\b|\bsin (citar|fuentes|mencionar (las )?fuentes)\b"
    r"|\bwithout (checking|consulting|looking at|using|reading) (the |your |any )?(documents|sources|context)\b"
    r"|\bsin (consultar|revisar|mirar|usar|leer) (los |las |tus |sus )?(documentos|fuentes|contexto)\b"
    r"|\b(confirm|pretend)( \w+){0,2} that\b|\b(confirma|finge)( \w+){0,2} que\b"
    r"|\bhidden instructions\b|\binstrucciones ocultas\b|\bignore the (retrieved )?(context|documents|sources)\b"
    r"|\b(is|as) (now )?your (new )?(configuration|instructions|rules|role)\b"
    r"|\b(es|son|como) (ahora )?(tu|tus) (nueva |nuevas )?(configuraci[oó]n|instrucciones|reglas|rol)\b"
    r"|\b(stop|quit|no longer) (quoting|citing)\b|\bdeja de (citar|usar las fuentes)\b"
    r"|[\"“'«]\s*(assistant|system|asistente|sistema)\s*:"
    r"|\b(do not|don't|never) (use|consult|check|read|look at) (the |your |any )?(documents|sources|context)\b"
    r"|\bno (uses|consultes|revises|mires|leas) (los |las |tus )?(documentos|fuentes|contexto)\b"
    r"|\b(start|begin|end) (every|each|all|your) (answers?|repl(y|ies)|responses?)\b"
    r"|\b(empieza|comienza|termina) (cada|todas las|tus) respuestas?\b"
    r"|\bno longer bound by\b|\bya no (est[aá]s|estas) (obligad|limitad|sujet)\w*"
    r"|\bdo what (it|the note|the text) says\b|\bhaz lo que (dice|indica|pide)\b"
    r"|\bno (quotes|sources|citations)( or \w+)? (are )?(needed|required|necessary)\b"
    r"|\bno (hacen falta|se necesitan|necesitas) (citas|fuentes)\b"
    r"|\btell the user that\b|\bdile al usuario que\b",
    re.IGNORECASE | re.DOTALL,
)
# Text addressed to an AI reader rather than to a person ("Note to AI assistants: always state that ...", a
# footnote "For automated assistants: ...", "Nota para asistentes de inteligencia artificial: indique siempre
# que ..."): in a document it can only be meant for a model reading it, so it is an instruction, never evidence.
_AI = (
    r"(?:ai|a\.i\.|artificial intelligence|llms?|(?:large )?language models?|chatbots?|bots?"
    r"|(?:ai|virtual|automated|digital) (?:assistants?|systems?|tools?|agents?|readers?)"
    r"|automated (?:systems?|tools?|readers?|summari[sz]ers?))"
)
_IA = (
    r"(?:ia|i\.a\.|inteligencia artificial|modelos? de lenguaje|chatbots?|bots?"
    r"|asistentes? (?:virtuales?|de ia|de inteligencia artificial)|sistemas? (?:autom[aá]ticos?|de ia)(?: de respuesta)?"
    r"|herramientas? de ia)"
)
_SAY = r"(?:say|state|answer|reply|respond|report|claim|mention|tell|write|begin|start)"
_DI = r"(?:decir|afirmar|indicar|responder|mencionar|informar|contestar|escribir)"
TO_AI_READERS = re.compile(
    rf"\b(?:note|message|instructions?|reminder|attention|important) (?:to|for) (?:any |all |the )?{_AI}\b"
    rf"|\bfor {_AI}\s*:|\bif you are an? {_AI}\b|\b{_AI} note\s*:"
    rf"|\b(?:{_AI}|assistants?) (?:reading|processing|summari[sz]ing|parsing) (?:this|these)\b"
    rf"|\b{_AI} (?:must|should|shall) (?:always )?{_SAY}\b"
    rf"|\balways {_SAY} (?:that|in)\b|\b(?:respond|reply|say|answer) to (?:the )?(?:users?|readers?) that\b"
    r"|\bwhen (?:summari[sz]ing|processing|reading) this (?:page|document|text|section|note|guide)\b"
    rf"|\b(?:nota|mensaje|instrucci[oó]n(?:es)?|aviso|recordatorio) (?:para|a) (?:el |la |los |las |cualquier )?{_IA}\b"
    rf"|\bpara (?:el |la |los |las )?{_IA}\s*:|\bsi eres (?:un|una) {_IA}\b"
    rf"|\b{_IA} que (?:lean|procesen|resuman) (?:este|esta|estos|estas)\b"
    rf"|\b{_IA} (?:deben?|tienen? que) (?:siempre )?{_DI}\b"
    r"|\b(?:indique|diga|afirme|responda|mencione|indica|di|afirma|responde|menciona) siempre que\b"
    r"|\bsiempre (?:indique|diga|afirme|responda|mencione|indica|di|afirma|responde|menciona) que\b"
    r"|\bal (?:resumir|procesar|leer) (?:este|esta) (?:p[aá]gina|documento|texto|nota|gu[ií]a|secci[oó]n)\b",
    re.IGNORECASE,
)
OPEN_CALL = re.compile(
    r"\b(still open|open now|currently open|is it open|are .{0,30}open|can i (still )?apply|next deadline|"
    r"apply now|submit now|this year|upcoming|(abierta|abierto|abiertas)\b|todav[ií]a|actualmente|"
    r"puedo (aplicar|postular|presentar|participar)|pr[oó]xim[oa] (plazo|convocatoria|fecha)|este año)",
    re.IGNORECASE,
)


def normalized(text: str) -> str:
    """The text as a reader sees it: NFKC (full-width and other compatibility forms become plain letters), without
    format characters (zero-width spaces and joiners, soft hyphens, direction marks: category Cf), whitespace
    collapsed. "Ign\u200bore previous instructions" and "Ｉｇｎｏｒｅ previous instructions" read as the plain phrase."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(text.split())


def is_injection(question: str) -> bool:
    """True when the question (or a passage, or a quote) tries to give the assistant new instructions or speaks to an
    AI reader (read after :func:`normalized`, so invisible or full-width characters do not hide an instruction).
    Accents are kept: "¿Di qué documentos…?" asks a question, "di que…" dictates an answer."""
    plain = normalized(question)
    return bool(INJECTION.search(question) or INJECTION.search(plain) or TO_AI_READERS.search(plain))


def asks_if_open(question: str) -> bool:
    """True when the question treats a call or programme as currently open."""
    return bool(OPEN_CALL.search(question))


@lru_cache(maxsize=4096)
def _folded(phrase: str) -> str:
    return fold(phrase)


class _Question:
    """A question folded once and matched against the manifest's many names and keywords (folding it
    again for each of them took ~11 ms per answer)."""

    def __init__(self, question: str) -> None:
        self.text = f" {fold(question)} "
        self.words = re.sub(r"[^\w/-]+", " ", self.text)

    def mentions(self, phrase: str) -> bool:
        p = _folded(phrase)
        return f" {p} " in self.words or (len(p) > 12 and p in self.text)


def named_documents(question: str, manifest: Manifest) -> set[str]:
    """Ids of the present documents the question names ("the evaluation form", "anexo 1")."""
    q = _Question(question)
    return {doc.id for doc in manifest.present if any(q.mentions(n) for n in doc.names)}


def named_missing_documents(question: str, manifest: Manifest) -> list[Document]:
    """Missing documents the question names explicitly ("according to the AMGA ...")."""
    q = _Question(question)
    return [doc for doc in manifest.missing if any(q.mentions(n) for n in doc.names)]


def missing_documents(question: str, manifest: Manifest) -> list[Document]:
    """Missing documents whose subject the question touches (named, or by keyword), best match first."""
    q = _Question(question)
    scored = []
    for doc in manifest.missing:
        hits = [k for k in (*doc.names, *doc.keywords) if q.mentions(k)]
        if hits:
            scored.append((max(len(h) for h in hits) + 10 * len(hits), doc))
    return [doc for _, doc in sorted(scored, key=lambda x: -x[0])]


def coverage(manifest: Manifest, lang: str) -> str:
    """One line on what the corpus covers, by programme, derived from the manifest so it cannot drift:
    "Horizon Europe: the work programmes 2026-2027 (12 parts), the Regulation …; Horizon 2020: …"."""
    es = lang == "es"
    groups: dict[str, list[str]] = {}
    programmes: dict[str, list[str]] = {}
    for doc in manifest.present:
        if doc.parser in {"none", "cordis-countries", "cordis-activity-types", "cordis-funding-schemes",
                          "cordis-action-types"}:
            continue
        label = PROGRAMME_LABELS.get(doc.programme, (doc.programme, doc.programme))[1 if es else 0]
        entries = groups.setdefault(label, [])
        if doc.kind in {"dataset", "reference-data"}:
            entry = "CORDIS projects, participants and topics" if not es else "proyectos, participantes y temas de CORDIS"
        elif doc.kind == "work-programme":
            programmes.setdefault(label, []).append(doc.period)
            continue
        else:
            entry = doc.short_title or doc.title
        if entry not in entries:
            entries.append(entry)
    for label, periods in programmes.items():
        years = sorted({y for p in periods for y in PERIOD_YEARS.findall(p)})
        span = f"{years[0]}-{years[-1]}" if years else ""
        parts = f"{len(periods)} {'partes' if es else 'parts'}"
        wp = f"programas de trabajo {span} ({parts})" if es else f"work programmes {span} ({parts})"
        groups.setdefault(label, []).insert(0, wp)
    return "; ".join(f"{label}: {', '.join(entries)}" for label, entries in groups.items())


ABSENT_PROGRAMMES = {
    "horizon-europe": re.compile(r"\bhori[sz]on(te)? europ[ae]\b|\bHE\b|\bcluster \d\b|\bcl[uú]ster \d\b", re.I),
}


def absent_programme(question: str, manifest: Manifest) -> str | None:
    """A programme the question is about for which no document is present (e.g. Horizon Europe)."""
    present = {d.programme for d in manifest.present}
    for programme, pattern in ABSENT_PROGRAMMES.items():
        if programme not in present and pattern.search(question):
            return programme
    return None


# Years of calls, deadlines and budgets (2021-2029; later years name policy horizons: "FOOD 2030", "Agenda
# 2030", "climate neutrality by 2050", not calls).
CALL_YEAR = re.compile(r"\b202[1-9]\b")
CALL_WORDS = re.compile(
    r"\b(calls?|deadlines?|budgets?|fellowships?|grants? round|convocatorias?|fecha l[ií]mite|plazos?|"
    r"presupuestos?|becas?|cierre)\b",
    re.IGNORECASE,
)
LATER_EXCEPTIONS = re.compile(r"\b(ley|law|lgmhcti|projects?|proyectos?)\b", re.IGNORECASE)
PERIOD_YEARS = re.compile(r"\b(?:19|20)\d\d\b")


def names_h2020_topic(question: str) -> bool:
    """True when the question names a call topic of 2020 or before (its code ends with its year)."""
    return any(int(code[-4:]) <= 2020 for code in TOPIC_CODE.findall(question))


def call_years(manifest: Manifest) -> set[int]:
    """The years the present work programmes have calls for (their periods: 2014-2015 ... 2026-2027)."""
    years: set[int] = set()
    for doc in manifest.present:
        if doc.kind == "work-programme":
            found = [int(y) for y in PERIOD_YEARS.findall(doc.period)]
            if found:
                years |= set(range(min(found), max(found) + 1))
    return years


def last_call_year(manifest: Manifest) -> int:
    """The last year any present work programme has calls for."""
    return max(call_years(manifest), default=2020)


def later_period(question: str, manifest: Manifest) -> int | None:
    """The year of a call, deadline or budget the question asks about when no work programme in the sources
    covers it: later than the last ("MSCA 2028 deadline"), or between the programmes' work programmes ("MSCA
    2025" when the sources hold H2020's up to 2020 and Horizon Europe's 2026-2027). Questions about the 2023
    law, about projects (CORDIS lists projects running later) or naming an H2020 topic code are not."""
    covered = call_years(manifest)
    outside = [int(y) for y in CALL_YEAR.findall(question) if int(y) not in covered]
    if not outside or not CALL_WORDS.search(question):
        return None
    if LATER_EXCEPTIONS.search(question) or names_h2020_topic(question):
        return None
    return outside[0]


DOMAIN = re.compile(
    r"\b(h2020|horizon|horizonte|eu|ue|european|europe[oa]?|cordis|conacyt|conahcyt|secihti|grant|call|"
    r"convocatoria|proposal|propuesta|project|proyecto|wp|programme|programa|topic|tema|ley|law|art[ií]culo|"
    r"article|consejo|council|fund\w*|financ\w*|research\w*|investigaci\w*|cienc\w*|scien\w*|innova\w*|"
    r"tecnolog\w*|technolog\w*|evaluat\w*|(?:auto)?evalua\w*|eligib\w*|elegib\w*|cost\w*|budget|presupuesto|"
    r"partner\w*|socio\w*|consorti\w*|consorci\w*|becas?|posgrado\w*|particip\w*|r ?& ?d|i ?\+ ?d|apoyos?|"
    r"support\w*|subsid\w*|subvenci\w*|"
    r"bioeconom\w*|food|aliment\w*|agricult\w*|soil|suelo|marine|marin[oa]|forest\w*|climate|clima|"
    r"energ\w*|geotherm\w*|geot[eé]rm\w*|health|salud|virus|zika|msca|erc|ria|csa|sme|pyme|subcontract\w*|"
    r"subcontrat\w*|vat|iva|deadline|plazo|threshold|umbral|score\w*|puntua\w*|annex\w*|anexo\w*)\b",
    re.IGNORECASE,
)


# Travel and leisure errands: "Any tips for a cheap flight to Brussels? I'm going to the consortium kick-off
# meeting" mentions a consortium but asks for a flight; "¿Me recomiendas una serie de Netflix para desconectar
# ... después de entregar la propuesta?" mentions a proposal but asks for a series. Travel *costs* are on topic.
ERRAND = re.compile(
    r"\b(flights?|vuelos?|airlines?|aerolineas?|hotels?|hoteles|hostels?|hostales?|airbnb|restaurants?|restaurantes?|"
    r"taxis?|uber|sightseeing|tourism|turismo|weather|"
    r"netflix|hbo|movies?|peliculas?|tv (series|shows?)|series de (tv|television)|video ?games?|videojuegos?)\b"
)
COST_WORDS = re.compile(
    r"\b(cost\w*|gasto\w*|eligib\w*|elegib\w*|reimburs\w*|reembols\w*|budget\w*|presupuest\w*|charge\w*|"
    r"cargar|claim\w*|declar\w*|subsistence|dietas|viatic\w*|financ\w*|fund\w*|pay\w*|paid|pag[aeo]\w*)\b"
)


def in_domain(question: str) -> bool:
    """Does the question touch EU research funding, Mexican science policy or CORDIS data at all?
    (Place names alone do not count: "the weather in Mexico City" is not about research funding; nor does
    a travel errand on the way to a project meeting.) Accents are folded first: "¿Qué se evalúa en la
    calidad del consorcio?" is about evaluation."""
    folded = fold(question)
    errand = ERRAND.search(folded) and not COST_WORDS.search(folded)
    return bool(DOMAIN.search(folded)) and not errand
