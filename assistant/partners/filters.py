"""What a partner question asks for: countries, a call topic, a type of action, a role, and its subject.

    filters_from(text, finder) -> PartnerFilters    (finder: an assistant.countries.CountryFinder on CORDIS's labels)
    subject_words(text)                             (the words that say what projects were about)

Filters hold codes only; their wording (a country's name in English or Spanish) is rendered by
:mod:`assistant.partners.render`, so a search gives the same result whatever the answer's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.countries import CountryFinder
from assistant.question import RULES_INTENT
from assistant.textutil import TOPIC_CODE, content_words, fold

EUROPE = (
    "AT BE BG HR CY CZ DK EE FI FR DE EL GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE UK GB NO IS CH LI"
).split()
LATIN_AMERICA = "MX BR AR CL CO PE EC UY PY BO VE CR PA GT HN SV NI CU DO".split()
GROUPS = {
    "europe": (
        re.compile(
            r"\b(european (partners?|organi[sz]ations?|universit(y|ies)|compan(y|ies)|institutions?|countries|"
            r"researchers?|teams?|groups?)|(socios?|organizaciones|universidades|empresas|instituciones|pa[ií]ses|"
            r"grupos|equipos) europe[oa]s|(from|in) europe|(de|en) europa|eu (partners|organi[sz]ations)|"
            r"socios de la ue)\b",
            re.I,
        ),
        EUROPE,
    ),
    "latin-america": (re.compile(r"\b(latin americ\w*|latinoameric\w*|am[eé]rica latina)\b", re.I), LATIN_AMERICA),
}
ROLE_COORDINATOR = re.compile(r"\b(coordinat\w*|coordin[oóa]\w*|coordinador\w*|lead(s|ing)? partner)\b", re.I)
ACTIONS: dict[str, tuple[re.Pattern[str], tuple[str, ...]]] = {
    "ERA-NET": (re.compile(r"\bera-?nets?\b", re.I), ("%ERA-NET%",)),
    "RIA": (re.compile(r"\b(RIAs?|research and innovation actions?|acci[oó]n(es)? de investigaci[oó]n e innovaci[oó]n)\b", re.I), ("Research and Innovation action", "%RIA%")),
    "CSA": (re.compile(r"\b(CSAs?|coordination and support actions?|acci[oó]n(es)? de coordinaci[oó]n y apoyo)\b", re.I), ("%Coordination and support%", "%CSA%")),
    "MSCA": (re.compile(r"\b(MSCA|marie (sk[lł]odowska[- ])?curie)\b", re.I), ("%MSCA%", "%Marie%")),
    "ERC": (re.compile(r"\bERC\b"), ("%ERC%",)),
    "IA": (re.compile(r"(?<!research and )\b(IAs?|innovation actions?)\b(?! program)", re.I), ("Innovation action", "IA")),
}
# Words that ask for partners rather than carry the subject of the search.
GENERIC = set(
    fold(w)
    for w in (
        "partner partners socio socios organisation organisations organization organizations organización "
        "organizaciones organisaciones institution institutions institución instituciones entity entities entidad "
        "entidades company companies empresa empresas university universities universidad universidades project "
        "projects proyecto proyectos took part participated participaron participó participa participan "
        "participar participate participating participant participants participante participantes appear appears "
        "aparece aparecen any algún alguna find encontrar busca buscar buscamos "
        "experience experiencia experienced with con who quién quiénes coordinated coordinator coordinators "
        "coordinó coordinaron coordinador coordinadores coordinate topic topics tema temas under bajo call "
        "convocatoria cordis data datos eu ue european europeos europeas europeo europea mexican mexicans "
        "mexicano mexicanos mexicana mexicanas mexico méxico latin america american latinoamericanos "
        "latinoamericanas américa latina worked trabajaron work trabajo funded financiados financiado "
        "financed h2020 fp7 horizon horizonte 2020 list lista give dame show muestra suggest sugiere could "
        "podríamos podemos we nosotros us nos our nuestro nuestra possible posibles potential potenciales "
        "era net nets era-net action actions acción acciones type tipo in en de of on sobre about ria csa ia "
        "msca erc much how cuánto contribution contribución funding financiación money dinero received recibió "
        "get got obtuvo what qué which cuál cuáles countries country país países did hizo was fue"
    ).split()
)
CAPITALISED = re.compile(r"(?<![\w-])([A-ZÁÉÍÓÚÑ][a-záéíóúñ]{3,}|[A-Z]{4,})(?![\w-])")


@dataclass(frozen=True)
class PartnerFilters:
    """What the projects must match. ``label_parts`` say how the countries were asked for, in order:
    ("group", "europe"|"latin-america") or ("country", code), rendered in the answer's language."""

    countries: tuple[str, ...] = ()
    label_parts: tuple[tuple[str, str], ...] = ()
    topic: str | None = None
    action: str | None = None
    role: str | None = None
    explicit_country: bool = False


def filters_from(text: str, finder: CountryFinder) -> PartnerFilters:
    """The filters a question implies: country groups, the countries it names (names, demonyms, short forms,
    English or Spanish, in the order it names them), a topic code, a type of action, the coordinator role."""
    codes: list[str] = []
    parts: list[tuple[str, str]] = []
    for name, (pattern, group) in GROUPS.items():
        if pattern.search(text):
            codes += group
            parts.append(("group", name))
    for code in finder.ordered(text):
        if code not in codes:
            codes.append(code)
            parts.append(("country", code))
    topic = next(iter(TOPIC_CODE.findall(text)), None)
    action = next((name for name, (pattern, _) in ACTIONS.items() if pattern.search(text)), None)
    role = "Coordinator" if ROLE_COORDINATOR.search(text) else None
    return PartnerFilters(tuple(dict.fromkeys(codes)), tuple(parts), topic, action, role)


def proper_nouns(text: str) -> list[str]:
    """Capitalised words after the first word (names of places or organisations)."""
    words = CAPITALISED.findall(text)
    first = re.match(r"\W*(\w+)", text)
    skip = {first.group(1)} if first else set()
    return [w for w in dict.fromkeys(words) if w not in skip and fold(w) not in GENERIC]


def subject_words(text: str) -> list[str]:
    """What the projects should be about: the question's content words without partner words, rule words
    and topic codes."""
    return [
        w for w in content_words(RULES_INTENT.sub(" ", text)) if w not in GENERIC and not TOPIC_CODE.fullmatch(w.upper())
    ]
