"""Partner search: who took part in which projects, from the CORDIS data, with evidence.

    PartnerSearch.search(query, countries=(), topic=None, action=None, role=None) -> PartnerResult
    PartnerSearch.answer(query, lang) -> Answer          (what `ask`, the web and the bot show)

Candidates come from four places: projects named in the question (acronym or number), projects
under a call topic, the hybrid retriever over topic records (dense, cross-lingual) and project
records (keyword), and organisation names. Filters (country, topic, type of action, role) are
given explicitly or read from the question. Every project and organisation shown is cited by its
dataset row (file + row), with a quote of that row's cells that is checked against the stored
cells before it is shown. Every result says what the participation data covers: the files list
organisations for some start years only, so counts are never presented as complete.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.citations import row_quote, row_quote_verified
from assistant.manifest import Manifest
from assistant.messages import t
from assistant.models import PROJECTS, TOPICS, Answer, Citation
from assistant.partner_index import Coverage, ParticipationRow, PartnerIndex, ProjectRow, names_organisation
from assistant.retrieve import TOPIC_CODE, Retriever, acronyms
from assistant.textutil import content_words, euro, fold, stem, translate_terms

# --- what a question implies ---------------------------------------------------------------------
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
DEMONYMS = {
    "MX": r"mexic\w*|mexican\w*|mexicano\w*|mexicana\w*|m[eé]xico",
    "CN": r"chin(a|ese)|chin[oa]s?",
    "IN": r"indian?s?\b|indi[oa]s?\b",
    "ZA": r"south african?",
    "ES": r"spanish|espa[nñ]ol\w*",
    "DE": r"german\w*|alem[aá]n\w*",
    "FR": r"french|franc[eé]s\w*",
    "IT": r"italian\w*|italian[oa]s?",
    "BR": r"brazil\w*|brasil\w*",
    "CO": r"colombian\w*",
    "AR": r"argentin\w*",
    "CL": r"chilean\w*|chilen\w*",
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


CAPITALISED = re.compile(r"(?<![\w-])([A-ZÁÉÍÓÚÑ][a-záéíóúñ]{3,}|[A-Z]{4,})(?![\w-])")


def proper_nouns(question: str) -> list[str]:
    """Capitalised words after the first word (names of places or organisations)."""
    words = CAPITALISED.findall(question)
    first = re.match(r"\W*(\w+)", question)
    skip = {first.group(1)} if first else set()
    return [w for w in dict.fromkeys(words) if w not in skip and fold(w) not in GENERIC]


@dataclass(frozen=True)
class Filters:
    countries: tuple[str, ...] = ()
    country_label: str = ""
    topic: str | None = None
    action: str | None = None
    role: str | None = None
    explicit_country: bool = False

    def describe(self, lang: str) -> str:
        parts = []
        if self.country_label:
            parts.append(("country: " if lang == "en" else "país: ") + self.country_label)
        if self.topic:
            parts.append(("topic " if lang == "en" else "tema ") + self.topic)
        if self.action:
            parts.append(("type of action: " if lang == "en" else "tipo de acción: ") + self.action)
        if self.role:
            parts.append("role: coordinator" if lang == "en" else "rol: coordinador")
        return "; ".join(parts)


@dataclass
class ProjectMatch:
    project: ProjectRow
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    participants: list[ParticipationRow] = field(default_factory=list)
    named: bool = False  # the question names the project (acronym or number)
    by_organisation: bool = False  # an organisation the question names took part
    by_topic: bool = False  # under the topic code the question gives


@dataclass(frozen=True)
class OrganisationMatch:
    name: str
    country_code: str
    activity_type: str
    participations: tuple[tuple[ParticipationRow, ProjectRow], ...]

    @property
    def coordinated(self) -> int:
        return sum(p.role == "Coordinator" for p, _ in self.participations)

    @property
    def contribution(self) -> float:
        return sum(p.contribution or 0 for p, _ in self.participations)


@dataclass(frozen=True)
class PartnerResult:
    query: str
    filters: Filters
    projects: tuple[ProjectMatch, ...]
    organisations: tuple[OrganisationMatch, ...]
    coverage: tuple[Coverage, ...]
    unknown_topic: bool = False
    total_projects: int = 0
    total_organisations: int = 0


def place_finder(labels: dict[str, dict[str, str]]) -> Callable[[str], set[str]]:
    """text -> the country codes it names (English/Spanish country names, a few demonyms): a dictionary
    lookup of the text's 1-3 word phrases, then one small regular expression for the demonyms."""
    names: dict[str, str] = {}
    for code, by_lang in labels.items():
        for lang in ("en", "es"):
            name = fold(by_lang.get(lang, ""))
            if len(name) >= 4 and re.fullmatch(r"[A-Z]{2}", code):
                names.setdefault(name, code)
    longest = max((len(n.split()) for n in names), default=1)
    demonyms = re.compile("|".join(f"(?P<{code}>\\b(?:{p}))" for code, p in DEMONYMS.items()), re.IGNORECASE)
    word = re.compile(r"[\w'-]+")

    def find(text: str) -> set[str]:
        words = word.findall(fold(text))
        found = {m.lastgroup for m in demonyms.finditer(text) if m.lastgroup}
        for n in range(1, min(longest, 3) + 1):
            for i in range(len(words) - n + 1):
                code = names.get(" ".join(words[i : i + n]))
                if code:
                    found.add(code)
        return found

    return find


def is_partner_question(question: str, index: PartnerIndex | None = None) -> bool:
    """A question about who took part, which projects, or a named project's data."""
    if PARTNER_INTENT.search(question) or (ORG_QUESTION.search(question) and DATA_VERB.search(question)):
        return True
    if PROJECTS_MENTIONED.search(question) and not (TEXT_INTENT.search(question) or RULES_INTENT.search(question)):
        return True
    if index is None:
        return False
    names = [i for i in acronyms(question) if len(i) >= 4]
    return any(index.by_acronym(name) for name in names) or bool(PROJECT_NUMBER.search(question))


def needs_rules_too(question: str) -> bool:
    """A partner question that also asks about rules (eligibility, costs, evaluation...)."""
    return bool(RULES_INTENT.search(question))


class PartnerSearch:
    """Searches the partner index; one instance shared by every request."""

    def __init__(self, index: PartnerIndex, retriever: Retriever | None, manifest: Manifest) -> None:
        self.index = index
        self.retriever = retriever
        self.manifest = manifest
        self._countries: dict[str, dict[str, str]] | None = None

    # --- filters ---------------------------------------------------------------------------
    @property
    def countries(self) -> dict[str, dict[str, str]]:
        if self._countries is None:
            self._countries = self.index.labels("country")
        return self._countries

    def country_name(self, code: str, lang: str) -> str:
        names = self.countries.get(code, {})
        return names.get(lang) or names.get("en") or code

    def implied_filters(self, query: str, lang: str = "en") -> Filters:
        countries: list[str] = []
        labels: list[str] = []
        for name, (pattern, codes) in GROUPS.items():
            if pattern.search(query):
                countries += codes
                labels.append(
                    {"europe": ("Europe", "Europa"), "latin-america": ("Latin America", "América Latina")}[name][
                        lang == "es"
                    ]
                )
        folded = f" {fold(query)} "
        for code, pattern in DEMONYMS.items():
            if re.search(rf"\b({pattern})\b", folded, re.I) and code not in countries:
                countries.append(code)
                labels.append(self.country_name(code, lang))
        for code, names in self.countries.items():
            if code in countries or code in {"EU", "IN", "IT", "AS", "TO", "BY", "NO", "IS", "ME", "AN"}:
                continue  # codes that are also common words are matched by name only, below
            for name in {names.get("en", ""), names.get("es", "")}:
                if len(name) >= 4 and f" {fold(name)} " in folded:
                    countries.append(code)
                    labels.append(self.country_name(code, lang))
                    break
        topic = next(iter(TOPIC_CODE.findall(query)), None)
        action = next((name for name, (pattern, _) in ACTIONS.items() if pattern.search(query)), None)
        role = "Coordinator" if ROLE_COORDINATOR.search(query) else None
        return Filters(tuple(dict.fromkeys(countries)), ", ".join(dict.fromkeys(labels)), topic, action, role)

    # --- search ----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        countries: tuple[str, ...] = (),
        topic: str | None = None,
        action: str | None = None,
        role: str | None = None,
        lang: str = "en",
        limit: int = 10,
    ) -> PartnerResult:
        implied = self.implied_filters(query, lang)
        explicit_countries = tuple(c.upper() for c in countries if c)
        filters = Filters(
            countries=explicit_countries or implied.countries,
            country_label=", ".join(self.country_name(c, lang) for c in explicit_countries)
            if explicit_countries
            else implied.country_label,
            topic=topic or implied.topic,
            action=action or implied.action,
            role=role or implied.role,
            explicit_country=bool(explicit_countries),
        )
        coverage = tuple(self.index.coverage())
        if filters.topic and not self.index.topic_exists(filters.topic):
            return PartnerResult(query, filters, (), (), coverage, unknown_topic=True)

        matches: dict[str, ProjectMatch] = {}

        def add(
            project: ProjectRow, score: float, reason: str, named: bool = False, by_organisation: bool = False,
            by_topic: bool = False,
        ) -> None:
            m = matches.setdefault(project.project_id, ProjectMatch(project))
            m.score += score
            m.named |= named
            m.by_organisation |= by_organisation
            m.by_topic |= by_topic
            if reason and reason not in m.reasons:
                m.reasons.append(reason)

        es = lang == "es"
        # 1. projects named in the question
        candidates = acronyms(query)
        names = []
        for name in [*candidates, *PROJECT_NUMBER.findall(query)]:
            for project in self.index.by_acronym(name):
                add(project, 10.0, "nombrado en la pregunta" if es else "named in the question", named=True)
                names.append(name)
        # 2. projects under the topic
        if filters.topic:
            for project in self.index.by_topic(filters.topic):
                add(project, 5.0, (f"tema {project.topic_code}" if es else f"topic {project.topic_code}"), by_topic=True)
        # the subject of the search: the question without partner words, filters and rule words
        subject_text = RULES_INTENT.sub(" ", query)
        subject = [w for w in content_words(subject_text) if w not in GENERIC and not TOPIC_CODE.fullmatch(w.upper())]
        subject = [w for w in subject if not any(w in fold(n) for n in names)]
        # organisations named in the question (proper nouns such as "Monterrey", "Fraunhofer" or "UNAM"); an
        # organisation's acronym says who took part, not what a project is about (as part of a title word,
        # UNAM found TSuNAMI), while a word such as "Zika" may be both
        organisations = [] if names else [
            w for w in proper_nouns(query) if 0 < self.index.count_organisations_matching(w) <= 20
        ]
        subject = [w for w in subject if w not in {fold(o) for o in organisations if o.isupper()}]
        concepts = [
            {x for x in (stem(w), *(stem(y) for tr in translate_terms(w) for y in content_words(tr))) if len(x) >= 3}
            for w in subject
        ]
        concepts = [c for c in concepts if c]
        for word in organisations:
            parts = self.index.participations(organisation_words=[word], limit=50)
            for project in self.index.projects(p.project_id for p in parts).values():
                add(project, 3.0, (f"participa una organización «{word}»" if es
                                   else f"an organisation matching '{word}' took part"), by_organisation=True)
        # 3. lexical: titles and topic titles that mention every concept of the question (any language
        #    through the glossary), then semantic and keyword search over topic and project records
        if concepts and not names:
            for project in self.index.projects_titled(concepts, action=ACTIONS[filters.action][1] if filters.action else ()):
                add(project, 1.5, "el título o el tema coinciden" if es else "title or topic matches your question")
        if concepts and self.retriever is not None and not names:
            hits = self.retriever.search(query, k=20, collections=(TOPICS, PROJECTS))
            for rank, hit in enumerate(hits):
                weight = 1.0 / (rank + 2)
                chunk = hit.chunk
                if chunk.collection == TOPICS:
                    code = chunk.heading or chunk.locator or ""
                    code = code.split()[1] if code.startswith("topic ") else code
                    for project in self.index.by_topic(code, limit=50):
                        add(project, weight, (f"tema {code}: {project.topic_title}" if es
                                              else f"topic {code}: {project.topic_title}"))
                elif (m := re.search(r"project (\S+)", chunk.locator or "")) is not None:
                    for project in self.index.projects([m.group(1)]).values():
                        add(project, weight * 1.5, "el título o el tema coinciden" if es
                            else "title or topic matches your question")
            # re-rank by how many of the question's concepts the project's own words cover
            for m in matches.values():
                words = {stem(w) for w in content_words(f"{m.project.acronym} {m.project.title} {m.project.topic_title}")}
                covered = sum(bool(c & words) for c in concepts) / len(concepts)
                m.score += 2.0 * covered
                if covered == 0 and not (m.named or m.by_organisation or m.by_topic):
                    m.score = -math.inf  # about none of the question's subject: no later bonus (a country's) lifts it
        # 4. a country-only question: every participation of that country
        structured_only = not subject and not names and not filters.topic and not organisations
        if filters.countries and structured_only:
            parts = self.index.participations(countries=filters.countries, role=filters.role)
            for project in self.index.projects(p.project_id for p in parts).values():
                add(project, 1.0, "")

        # filters on projects
        # filters narrow the search; a project the question names is kept whatever its type or topic
        named = {pid for pid, m in matches.items() if m.named}
        if filters.action:
            patterns = ACTIONS[filters.action][1]
            matches = {
                k: m for k, m in matches.items()
                if k in named or _action_matches(m.project.action_type, patterns, m.project.topic_code)
            }
        if filters.topic:
            matches = {
                k: m for k, m in matches.items()
                if k in named or m.project.topic_code.upper() == filters.topic.upper()
            }

        # participants, and the country filter
        all_parts = self.index.participations(project_ids=list(matches))
        by_project: dict[str, list[ParticipationRow]] = defaultdict(list)
        for p in all_parts:
            by_project[p.project_id].append(p)
        for pid, m in matches.items():
            m.participants = by_project.get(pid, [])
        if filters.countries:
            wanted = set(filters.countries)
            mentions = [
                rf"\b{re.escape(fold(self.country_name(c, lang_)))}\b"
                for c in filters.countries
                for lang_ in ("en", "es")
                if len(self.country_name(c, lang_)) >= 4
            ]
            if set(EUROPE) <= wanted:
                mentions.append(r"\beurop")
            if set(LATIN_AMERICA) <= wanted:
                mentions += [r"\blatin americ", r"\blatinoameric", r"\bamerica latina"]
            mentioned = re.compile("|".join(mentions)) if mentions else None
            for m in matches.values():
                from_country = [p for p in m.participants if p.country_code in wanted]
                text = fold(f"{m.project.title} {m.project.topic_title}")
                if from_country:
                    m.score += 1.0
                    m.reasons.append(
                        (f"participantes de {filters.country_label}" if es else f"participants from {filters.country_label}")
                    )
                elif mentioned is not None and mentioned.search(text):
                    m.score += 0.8
                    m.reasons.append(
                        (f"el título o el tema mencionan {filters.country_label}" if es
                         else f"title or topic mentions {filters.country_label}")
                    )
                elif filters.explicit_country:
                    m.score = -1
            matches = {k: m for k, m in matches.items() if m.score >= 0}

        ranked = sorted(
            (m for m in matches.values() if m.score > 0),
            key=lambda m: (-m.score, -(m.project.contribution or 0)),
        )
        organisations = self._organisations(ranked, filters, proper_nouns(query))
        return PartnerResult(
            query,
            filters,
            tuple(ranked[:limit]),
            tuple(organisations[: limit * 2]),
            coverage,
            total_projects=len(ranked),
            total_organisations=len(organisations),
        )

    def _organisations(
        self, ranked: list[ProjectMatch], filters: Filters, named_words: list[str]
    ) -> list[OrganisationMatch]:
        grouped: dict[str, list[tuple[ParticipationRow, ProjectRow]]] = defaultdict(list)
        for m in ranked:
            for p in m.participants:
                if filters.countries and p.country_code not in filters.countries:
                    continue
                if filters.role and p.role != filters.role:
                    continue
                grouped[p.organisation].append((p, m.project))
        out = [
            OrganisationMatch(name, rows[0][0].country_code, rows[0][0].activity_type, tuple(rows))
            for name, rows in grouped.items()
        ]
        # organisations named in the question first, then those in more of the matching projects,
        # coordinators first, then in the order of their best project
        order = {m.project.project_id: i for i, m in enumerate(ranked)}
        out.sort(
            key=lambda o: (
                not any(names_organisation(w, row) for w in named_words for row, _ in o.participations),
                -len(o.participations),
                -o.coordinated,
                min(order[p.project_id] for _, p in o.participations),
            )
        )
        return out

    # --- the answer ----------------------------------------------------------------------------
    def answer(
        self,
        question: str,
        lang: str,
        first_n: int = 1,
        result: PartnerResult | None = None,
    ) -> Answer:
        """The partner search as an answer: projects and organisations, each with a verified citation."""
        result = result or self.search(question, lang=lang)
        es = lang == "es"
        lines: list[str] = []
        citations: list[Citation] = []

        def cite(document: str, row: int, project_id: str, cells: dict[str, str], columns: tuple[str, ...],
                 url: str) -> str:
            quote = row_quote(cells, columns)
            if not quote or not row_quote_verified(cells, quote):
                return ""
            n = first_n + len(citations)
            doc = self.manifest.by_path(document)
            citations.append(
                Citation(
                    n=n,
                    document=document,
                    title=doc.title if doc else document,
                    page=None,
                    locator=f"project {project_id} ({document.rsplit('/', 1)[-1]}, row {row})",
                    quote=quote,
                    url=(url.replace("http://", "https://") if url else None)
                    or (f"https://cordis.europa.eu/project/id/{project_id}" if project_id.isdigit() else None),
                    programme=doc.programme if doc else "h2020",
                    period=doc.period if doc else "",
                    kind=doc.kind if doc else "dataset",
                )
            )
            return f" [{n}]"

        if result.unknown_topic:
            lines.append(t(lang, "partners_unknown_topic", topic=result.filters.topic))
            lines.append(self.coverage_note(result, lang))
            return Answer(" ".join(lines), lang, True, (), mode="partners")
        if not result.projects:
            lines.append(t(lang, "partners_none", filters=result.filters.describe(lang) or "—"))
            lines.append(self.coverage_note(result, lang))
            return Answer("\n\n".join(lines), lang, True, (), mode="partners")

        header = t(lang, "partners_header", shown=len(result.projects), total=result.total_projects)
        if result.filters.describe(lang):
            header += f" ({result.filters.describe(lang)})"
        lines.append(header + ":")
        for i, m in enumerate(result.projects, 1):
            p = m.project
            marker = cite(p.document, p.row, p.project_id, p.cells, PROJECT_COLUMNS + PARTICIPATION_PROJECT_COLUMNS,
                          p.url)
            facts = [f"{p.framework or 'H2020'} {'proyecto' if es else 'project'} {p.project_id}"]
            if p.topic_code:
                facts.append((f"tema {p.topic_code}" if es else f"topic {p.topic_code}")
                             + (f" «{p.topic_title}»" if es and p.topic_title else f" “{p.topic_title}”" if p.topic_title else ""))
            if p.action_type:
                facts.append(p.action_type)
            if p.contribution is not None:
                facts.append(("contribución de la UE " if es else "EU contribution ") + euro(p.contribution))
            name = f"{p.acronym} — {p.title}" if p.title and p.title != p.acronym else p.acronym
            lines.append(f"{i}. {name} ({'; '.join(facts)}){marker}")
            if m.reasons:
                lines.append(("   Por qué: " if es else "   Why: ") + "; ".join(m.reasons) + ".")
            if not m.participants and any(x.participants for x in result.projects):
                lines.append("   " + t(lang, "partners_no_participants"))
        if not result.organisations and not any(m.participants for m in result.projects):
            lines.append("")
            lines.append(t(lang, "partners_see_cordis"))
        if result.organisations:
            lines.append("")
            lines.append(t(lang, "partners_orgs", shown=len(result.organisations), total=result.total_organisations) + ":")
            for org in result.organisations:
                bits = []
                for part, project in org.participations[:4]:
                    marker = cite(part.document, part.row, project.project_id, part.cells, PARTICIPATION_COLUMNS, project.url)
                    role = part.role.lower()
                    if es:
                        role = {"coordinator": "coordinador", "participant": "participante"}.get(role, role)
                    money = f", {euro(part.contribution)}" if part.contribution else ""
                    bits.append(f"{project.acronym} ({role}{money}){marker}")
                more = len(org.participations) - 4
                extra = (f" y {more} más" if es else f" and {more} more") if more > 0 else ""
                country = self.country_name(org.country_code, lang)
                lines.append(f"- {org.name} ({country}): {', '.join(bits)}{extra}")
        lines.append("")
        lines.append(self.coverage_note(result, lang))
        return Answer("\n".join(lines), lang, False, tuple(citations), mode="partners")

    def coverage_note(self, result: PartnerResult, lang: str) -> str:
        """What the participation files cover: said with every partner answer."""
        parts = []
        for c in result.coverage:
            doc = self.manifest.by_path(c.document)
            name = (doc.short_title or doc.title) if doc else c.document
            years = ", ".join(c.start_years)
            parts.append(t(lang, "partners_file", name=name, rows=f"{c.rows:,}", projects=f"{c.projects:,}", years=years))
        counts = self.index.counts()
        return t(
            lang,
            "partners_coverage",
            files="; ".join(parts),
            with_parts=f"{counts['projects_with_participants']:,}",
            projects=f"{counts['projects']:,}",
        )


PROJECT_COLUMNS = ("Project Acronym", "Project Nbr", "Topic Code", "ToA", "H2020 EU Contribution (EUR)")
PARTICIPATION_PROJECT_COLUMNS = ("project_acronym", "project_id", "topic_code", "funding_scheme")
PARTICIPATION_COLUMNS = ("legal_name", "country_code", "partner_role", "ec_contribution", "eu_contribution", "project_acronym")


def _action_matches(action_type: str, patterns: tuple[str, ...], topic_code: str = "") -> bool:
    """LIKE-style patterns: ``%X%`` anywhere in the type of action or the topic code (ERC-2020-ADG is an
    ERC grant whose type says "Advanced Grant"); otherwise the exact type of action."""
    value = action_type.lower()
    for pattern in patterns:
        p = pattern.lower()
        if p.startswith("%") and p.endswith("%"):
            if p.strip("%") in value or p.strip("%") in topic_code.lower():
                return True
        elif value == p:
            return True
    return False


def result_json(result: PartnerResult, search: PartnerSearch, lang: str = "en") -> dict[str, object]:
    """The shape `eumex partners --json` prints and `GET /api/partners` returns."""
    answer = search.answer(result.query, lang, result=result)
    # which citation backs which project or participation: (file name, row) -> citation number
    cited = {
        (m.group(1), int(m.group(2))): c.n
        for c in answer.citations
        if c.locator and (m := re.search(r"\(([^,]+), row (\d+)\)", c.locator))
    }

    def citation_of(document: str, row: int) -> int | None:
        return cited.get((document.rsplit("/", 1)[-1], row))

    def participation(p: ParticipationRow) -> dict[str, object]:
        return {
            "citation": citation_of(p.document, p.row),
            "organisation": p.organisation,
            "country": p.country_code,
            "country_name": search.country_name(p.country_code, lang),
            "role": p.role,
            "activity_type": p.activity_type,
            "eu_contribution": p.contribution,
            "document": p.document,
            "row": p.row,
        }

    return {
        "query": result.query,
        "filters": {
            "countries": list(result.filters.countries),
            "topic": result.filters.topic,
            "action": result.filters.action,
            "role": result.filters.role,
        },
        "unknown_topic": result.unknown_topic,
        "total_projects": result.total_projects,
        "total_organisations": result.total_organisations,
        "projects": [
            {
                "project_id": m.project.project_id,
                "acronym": m.project.acronym,
                "title": m.project.title,
                "framework": m.project.framework,
                "topic_code": m.project.topic_code,
                "topic_title": m.project.topic_title,
                "action_type": m.project.action_type,
                "eu_contribution": m.project.contribution,
                "url": m.project.url.replace("http://", "https://") or None,
                "document": m.project.document,
                "row": m.project.row,
                "why": m.reasons,
                "citation": citation_of(m.project.document, m.project.row),
                "participants": [participation(p) for p in m.participants],
            }
            for m in result.projects
        ],
        "organisations": [
            {
                "name": o.name,
                "country": o.country_code,
                "country_name": search.country_name(o.country_code, lang),
                "activity_type": o.activity_type,
                "projects": [
                    {
                        "project_id": pr.project_id,
                        "acronym": pr.acronym,
                        "role": p.role,
                        "eu_contribution": p.contribution,
                        "citation": citation_of(p.document, p.row),
                    }
                    for p, pr in o.participations
                ],
            }
            for o in result.organisations
        ],
        "coverage": {
            "note": search.coverage_note(result, lang),
            "files": [
                {"document": c.document, "rows": c.rows, "projects": c.projects, "start_years": list(c.start_years)}
                for c in result.coverage
            ],
        },
        "answer": answer.answer,
        "citations": [c.as_json() for c in answer.citations],
    }
