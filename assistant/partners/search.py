"""Partner search: who took part in which projects, from the CORDIS data, with the reasons each was found.

    PartnerSearch.search(query, countries=(), topic=None, action=None, role=None) -> PartnerResult

Candidates come from four places: projects named in the question (acronym or number), projects
under a call topic, the hybrid retriever over topic records (dense, cross-lingual) and project
records (keyword), and organisation names. Filters (country, topic, type of action, role) are
given explicitly or read from the question (:mod:`assistant.partners.filters`). The result is data:
each match carries structured :class:`Reason` values, worded in the answer's language by
:mod:`assistant.partners.render`.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from assistant.countries import CountryFinder
from assistant.index.partner_tables import (
    Coverage,
    ParticipationRow,
    PartnerIndex,
    ProjectRow,
    names_organisation,
)
from assistant.partners.filters import (
    ACTIONS,
    EUROPE,
    LATIN_AMERICA,
    PartnerFilters,
    filters_from,
    proper_nouns,
    subject_words,
)
from assistant.query import Query, read_query
from assistant.question import PROJECT_NUMBER
from assistant.retrieve import Retriever
from assistant.textutil import content_words, fold, stem, translate_terms
from assistant.types import PROJECTS, TOPICS

# Kinds of reasons a project matches (worded by assistant.partners.render).
NAMED, TOPIC, ORGANISATION, TITLE, TOPIC_RECORD, COUNTRIES, MENTIONS = (
    "named", "topic", "organisation", "title", "topic-record", "countries", "mentions"
)


@dataclass(frozen=True)
class Reason:
    """Why a project matches: its kind, and the value it names (a topic code, an organisation word)."""

    kind: str
    value: str = ""
    detail: str = ""  # a topic record's title


@dataclass
class ProjectMatch:
    project: ProjectRow
    score: float = 0.0
    reasons: list[Reason] = field(default_factory=list)
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
    filters: PartnerFilters
    projects: tuple[ProjectMatch, ...]
    organisations: tuple[OrganisationMatch, ...]
    coverage: tuple[Coverage, ...]
    unknown_topic: bool = False
    total_projects: int = 0
    total_organisations: int = 0


class PartnerSearch:
    """Searches the partner tables; one instance shared by every request."""

    def __init__(self, tables: PartnerIndex, retriever: Retriever | None, words: frozenset[str] = frozenset()) -> None:
        self.tables = tables
        self.retriever = retriever
        self._countries: dict[str, dict[str, str]] | None = None
        self._finder: CountryFinder | None = None
        self.words = words  # the documents' ordinary lowercase words: no place is named by one

    @property
    def countries(self) -> dict[str, dict[str, str]]:
        """Country code -> {"en": name, "es": name} (CORDIS reference data)."""
        if self._countries is None:
            self._countries = self.tables.labels("country")
        return self._countries

    @property
    def finder(self) -> CountryFinder:
        """The countries a question names, by CORDIS's codes (UK, EL)."""
        if self._finder is None:
            self._finder = CountryFinder(self.countries, words=self.words)
        return self._finder

    def country_name(self, code: str, lang: str) -> str:
        names = self.countries.get(code, {})
        return names.get(lang) or names.get("en") or code

    def search(
        self,
        query: Query | str,
        countries: tuple[str, ...] = (),
        topic: str | None = None,
        action: str | None = None,
        role: str | None = None,
        limit: int = 10,
    ) -> PartnerResult:
        """The projects (and their organisations) that match the question and the filters, best first."""
        if isinstance(query, str):
            query = read_query(query, self.retriever.manifest if self.retriever else None)
        text = query.text
        implied = filters_from(text, self.finder)
        explicit = tuple(c.upper() for c in countries if c)
        filters = PartnerFilters(
            countries=explicit or implied.countries,
            label_parts=tuple(("country", c) for c in explicit) if explicit else implied.label_parts,
            topic=topic or implied.topic,
            action=action or implied.action,
            role=role or implied.role,
            explicit_country=bool(explicit),
        )
        coverage = tuple(self.tables.coverage())
        if filters.topic and not self.tables.topic_exists(filters.topic):
            return PartnerResult(text, filters, (), (), coverage, unknown_topic=True)

        matches: dict[str, ProjectMatch] = {}

        def add(
            project: ProjectRow, score: float, reason: Reason | None, named: bool = False,
            by_organisation: bool = False, by_topic: bool = False,
        ) -> None:
            m = matches.setdefault(project.project_id, ProjectMatch(project))
            m.score += score
            m.named |= named
            m.by_organisation |= by_organisation
            m.by_topic |= by_topic
            if reason and reason not in m.reasons:
                m.reasons.append(reason)

        # 1. projects named in the question
        names = []
        for name in [*query.acronyms, *PROJECT_NUMBER.findall(text)]:
            for project in self.tables.by_acronym(name):
                add(project, 10.0, Reason(NAMED), named=True)
                names.append(name)
        # 2. projects under the topic
        if filters.topic:
            for project in self.tables.by_topic(filters.topic):
                add(project, 5.0, Reason(TOPIC, project.topic_code), by_topic=True)
        # the subject of the search: the question without partner words, filters and rule words
        subject = [w for w in subject_words(text) if not any(w in fold(n) for n in names)]
        # organisations named in the question (proper nouns such as "Monterrey", "Fraunhofer" or "UNAM"); an
        # organisation's acronym says who took part, not what a project is about (as part of a title word,
        # UNAM found TSuNAMI), while a word such as "Zika" may be both
        organisations = [] if names else [
            w for w in proper_nouns(text) if 0 < self.tables.count_organisations_matching(w) <= 20
        ]
        subject = [w for w in subject if w not in {fold(o) for o in organisations if o.isupper()}]
        concepts = [
            {x for x in (stem(w), *(stem(y) for tr in translate_terms(w) for y in content_words(tr))) if len(x) >= 3}
            for w in subject
        ]
        concepts = [c for c in concepts if c]
        for word in organisations:
            parts = self.tables.participations(organisation_words=[word], limit=50)
            for project in self.tables.projects(p.project_id for p in parts).values():
                add(project, 3.0, Reason(ORGANISATION, word), by_organisation=True)
        # 3. lexical: titles and topic titles that mention every concept of the question (any language
        #    through the glossary), then semantic and keyword search over topic and project records
        if concepts and not names:
            titled = self.tables.projects_titled(concepts, action=ACTIONS[filters.action][1] if filters.action else ())
            for project in titled:
                add(project, 1.5, Reason(TITLE))
        if concepts and self.retriever is not None and not names:
            hits = self.retriever.search(query, k=20, collections=(TOPICS, PROJECTS))
            for rank, hit in enumerate(hits):
                weight = 1.0 / (rank + 2)
                chunk = hit.chunk
                if chunk.collection == TOPICS:
                    code = chunk.heading or chunk.locator or ""
                    code = code.split()[1] if code.startswith("topic ") else code
                    for project in self.tables.by_topic(code, limit=50):
                        add(project, weight, Reason(TOPIC_RECORD, code, project.topic_title))
                elif (m := re.search(r"project (\S+)", chunk.locator or "")) is not None:
                    for project in self.tables.projects([m.group(1)]).values():
                        add(project, weight * 1.5, Reason(TITLE))
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
            parts = self.tables.participations(countries=filters.countries, role=filters.role)
            for project in self.tables.projects(p.project_id for p in parts).values():
                add(project, 1.0, None)

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
        by_project: dict[str, list[ParticipationRow]] = defaultdict(list)
        for p in self.tables.participations(project_ids=list(matches)):
            by_project[p.project_id].append(p)
        for pid, m in matches.items():
            m.participants = by_project.get(pid, [])
        if filters.countries:
            self._country_filter(matches, filters)
            matches = {k: m for k, m in matches.items() if m.score >= 0}

        ranked = sorted(
            (m for m in matches.values() if m.score > 0),
            key=lambda m: (-m.score, -(m.project.contribution or 0)),
        )
        organisations_found = self._organisations(ranked, filters, proper_nouns(text))
        return PartnerResult(
            text,
            filters,
            tuple(ranked[:limit]),
            tuple(organisations_found[: limit * 2]),
            coverage,
            total_projects=len(ranked),
            total_organisations=len(organisations_found),
        )

    def _country_filter(self, matches: dict[str, ProjectMatch], filters: PartnerFilters) -> None:
        """Score projects with participants from the countries asked for, or whose title or topic names
        them; with an explicit country, the others are left out (score -1)."""
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
                m.reasons.append(Reason(COUNTRIES))
            elif mentioned is not None and mentioned.search(text):
                m.score += 0.8
                m.reasons.append(Reason(MENTIONS))
            elif filters.explicit_country:
                m.score = -1

    def _organisations(
        self, ranked: list[ProjectMatch], filters: PartnerFilters, named_words: list[str]
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
