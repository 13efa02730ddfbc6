"""Partner results in words and JSON: the cited text answer, the coverage note, the API's JSON.

Every project and organisation shown is cited by its dataset row (file + row), with a quote of that
row's cells that is checked against the stored cells before it is shown. Every answer says what the
participation data covers: the files list organisations for some start years only, so counts are never
presented as complete.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.citations import row_quote, row_quote_verified
from assistant.index.partner_tables import ParticipationRow
from assistant.manifest import Manifest
from assistant.partners.filters import PartnerFilters
from assistant.partners.search import (
    COUNTRIES,
    MENTIONS,
    NAMED,
    ORGANISATION,
    TITLE,
    TOPIC,
    TOPIC_RECORD,
    PartnerResult,
    PartnerSearch,
    Reason,
)
from assistant.phrases import t
from assistant.textutil import euro
from assistant.types import Answer, Citation

PROJECT_COLUMNS = ("Project Acronym", "Project Nbr", "Topic Code", "ToA", "H2020 EU Contribution (EUR)")
PARTICIPATION_PROJECT_COLUMNS = ("project_acronym", "project_id", "topic_code", "funding_scheme")
PARTICIPATION_COLUMNS = ("legal_name", "country_code", "partner_role", "ec_contribution", "eu_contribution", "project_acronym")
GROUP_LABELS = {"europe": ("Europe", "Europa"), "latin-america": ("Latin America", "América Latina")}


@dataclass(frozen=True)
class PartnerAnswer:
    """The cited answer, and which citation backs which dataset row ((document, row) -> number)."""

    answer: Answer
    cited: dict[tuple[str, int], int]


class PartnerWriter:
    """Words the partner search's results in English or Spanish, citing each dataset row."""

    def __init__(self, search: PartnerSearch, manifest: Manifest) -> None:
        self.search = search
        self.manifest = manifest

    # --- filters and reasons ---------------------------------------------------------------------
    def country_label(self, filters: PartnerFilters, lang: str) -> str:
        labels = [
            GROUP_LABELS[value][lang == "es"] if kind == "group" else self.search.country_name(value, lang)
            for kind, value in filters.label_parts
        ]
        return ", ".join(labels if filters.explicit_country else dict.fromkeys(labels))

    def describe(self, filters: PartnerFilters, lang: str) -> str:
        parts = []
        if label := self.country_label(filters, lang):
            parts.append(("country: " if lang == "en" else "país: ") + label)
        if filters.topic:
            parts.append(("topic " if lang == "en" else "tema ") + filters.topic)
        if filters.action:
            parts.append(("type of action: " if lang == "en" else "tipo de acción: ") + filters.action)
        if filters.role:
            parts.append("role: coordinator" if lang == "en" else "rol: coordinador")
        return "; ".join(parts)

    def reason(self, reason: Reason, filters: PartnerFilters, lang: str) -> str:
        es = lang == "es"
        if reason.kind == NAMED:
            return "nombrado en la pregunta" if es else "named in the question"
        if reason.kind == TOPIC:
            return f"tema {reason.value}" if es else f"topic {reason.value}"
        if reason.kind == ORGANISATION:
            return f"participa una organización «{reason.value}»" if es else f"an organisation matching '{reason.value}' took part"
        if reason.kind == TITLE:
            return "el título o el tema coinciden" if es else "title or topic matches your question"
        if reason.kind == TOPIC_RECORD:
            return f"tema {reason.value}: {reason.detail}" if es else f"topic {reason.value}: {reason.detail}"
        label = self.country_label(filters, lang)
        if reason.kind == COUNTRIES:
            return f"participantes de {label}" if es else f"participants from {label}"
        if reason.kind == MENTIONS:
            return f"el título o el tema mencionan {label}" if es else f"title or topic mentions {label}"
        raise ValueError(f"Unknown kind of reason '{reason.kind}'")

    # --- the answer --------------------------------------------------------------------------------
    def answer(self, result: PartnerResult, lang: str, first_n: int = 1) -> PartnerAnswer:
        """The result as an answer: projects and organisations, each with a verified citation."""
        es = lang == "es"
        lines: list[str] = []
        citations: list[Citation] = []
        cited: dict[tuple[str, int], int] = {}

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
            cited[(document, row)] = n
            return f" [{n}]"

        described = self.describe(result.filters, lang)
        if result.unknown_topic:
            lines.append(t(lang, "partners_unknown_topic", topic=result.filters.topic))
            lines.append(self.coverage_note(result, lang))
            return PartnerAnswer(Answer(" ".join(lines), lang, True, (), mode="partners"), cited)
        if not result.projects:
            lines.append(t(lang, "partners_none", filters=described or "—"))
            lines.append(self.coverage_note(result, lang))
            return PartnerAnswer(Answer("\n\n".join(lines), lang, True, (), mode="partners"), cited)

        header = t(lang, "partners_header", shown=len(result.projects), total=result.total_projects)
        if described:
            header += f" ({described})"
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
                reasons = [self.reason(r, result.filters, lang) for r in m.reasons]
                lines.append(("   Por qué: " if es else "   Why: ") + "; ".join(reasons) + ".")
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
                country = self.search.country_name(org.country_code, lang)
                lines.append(f"- {org.name} ({country}): {', '.join(bits)}{extra}")
        lines.append("")
        lines.append(self.coverage_note(result, lang))
        return PartnerAnswer(Answer("\n".join(lines), lang, False, tuple(citations), mode="partners"), cited)

    def coverage_note(self, result: PartnerResult, lang: str) -> str:
        """What the participation files cover: said with every partner answer."""
        parts = []
        for c in result.coverage:
            doc = self.manifest.by_path(c.document)
            name = (doc.short_title or doc.title) if doc else c.document
            years = ", ".join(c.start_years)
            parts.append(t(lang, "partners_file", name=name, rows=f"{c.rows:,}", projects=f"{c.projects:,}", years=years))
        counts = self.search.tables.counts()
        return t(
            lang,
            "partners_coverage",
            files="; ".join(parts),
            with_parts=f"{counts['projects_with_participants']:,}",
            projects=f"{counts['projects']:,}",
        )

    # --- JSON ---------------------------------------------------------------------------------------
    def as_json(self, result: PartnerResult, lang: str = "en") -> dict[str, object]:
        """The shape `eumex partners --json` prints and `GET /api/partners` returns."""
        written = self.answer(result, lang)
        country_name = self.search.country_name

        def participation(p: ParticipationRow) -> dict[str, object]:
            return {
                "citation": written.cited.get((p.document, p.row)),
                "organisation": p.organisation,
                "country": p.country_code,
                "country_name": country_name(p.country_code, lang),
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
                    "why": [self.reason(r, result.filters, lang) for r in m.reasons],
                    "citation": written.cited.get((m.project.document, m.project.row)),
                    "participants": [participation(p) for p in m.participants],
                }
                for m in result.projects
            ],
            "organisations": [
                {
                    "name": o.name,
                    "country": o.country_code,
                    "country_name": country_name(o.country_code, lang),
                    "activity_type": o.activity_type,
                    "projects": [
                        {
                            "project_id": pr.project_id,
                            "acronym": pr.acronym,
                            "role": p.role,
                            "eu_contribution": p.contribution,
                            "citation": written.cited.get((p.document, p.row)),
                        }
                        for p, pr in o.participations
                    ],
                }
                for o in result.organisations
            ],
            "coverage": {
                "note": self.coverage_note(result, lang),
                "files": [
                    {"document": c.document, "rows": c.rows, "projects": c.projects, "start_years": list(c.start_years)}
                    for c in result.coverage
                ],
            },
            "answer": written.answer.answer,
            "citations": [c.as_json() for c in written.answer.citations],
        }
