"""Eligibility verdicts as answers: the direct verdict first ("Not automatically: …"), then each reason with
its citation (document, page, a quote checked against the stored page), and as JSON for the API and CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.citations import normalise, on_page
from assistant.eligibility import checker
from assistant.eligibility.checker import ConsortiumVerdict, EntityVerdict, Reason
from assistant.index.catalog import Catalog
from assistant.manifest import Manifest
from assistant.types import Answer, Citation

HEADINGS = {
    "en": {
        "why": "Why",
        "how": "How it could still be funded",
        "notes": "Note",
        "roles": "Roles",
        "participation": "May it take part?",
        "funding": "Is it funded?",
        "fix": "What would fix it",
        "partners": "Partners",
        "conditions": "Conditions",
    },
    "es": {
        "why": "Por qué",
        "how": "Cómo podría financiarse aun así",
        "notes": "Nota",
        "roles": "Funciones",
        "participation": "¿Puede participar?",
        "funding": "¿Recibe financiación?",
        "fix": "Qué lo arreglaría",
        "partners": "Socios",
        "conditions": "Condiciones",
    },
}


@dataclass
class _Cites:
    manifest: Manifest
    catalog: Catalog
    first: int = 1
    items: list[Citation] = field(default_factory=list)

    def markers(self, reason: Reason) -> str:
        """' [n][m]' for the reason's verified citations."""
        numbers = [n for n in (self.add(c) for c in reason.citations) if n]
        return "".join(f" [{n}]" for n in dict.fromkeys(numbers))

    def add(self, cited: checker.Citation) -> int | None:
        doc = self.manifest.by_path(cited.document)
        if doc is None or not on_page(self.catalog, doc.id, cited.page, cited.quote):
            return None
        for c in self.items:
            if (
                c.document == cited.document
                and c.page == cited.page
                and normalise(c.quote) == normalise(cited.quote)
            ):
                return c.n
        n = self.first + len(self.items)
        self.items.append(
            Citation(
                n=n,
                document=cited.document,
                title=doc.title,
                page=cited.page,
                locator=None,
                quote=" ".join(cited.quote.split()),
                url=doc.url,
                programme=doc.programme,
                period=doc.period,
                kind=doc.kind,
            )
        )
        return n


# The reasons whose citations state each lead's rule (the lead carries their markers)
LEAD_REASONS = {
    "coordinator": ("topic_coordinator",),
    "associated_partner": ("beneficiary_needs_funding", "csa", "msca_ap", "participation"),
    "host": ("erc_host",),
    "erc_synergy": ("erc_outside", "erc_host"),
    "automatic": ("not_listed", "listed"),
    "participation": ("participation",),
}


def _lead(v: EntityVerdict, aspect: str) -> str | None:
    """A first line answering what the question asked when it is not the funding verdict itself."""
    if v.may_participate is None:
        return None
    role = v.roles.get("associated_partner")
    if aspect == "coordinator" and v.coordinator:
        return v.coordinator
    if aspect == "associated_partner" and role in (checker.YES, checker.NO) and v.may_participate:
        return checker._t("l_associated_partner_" + role, v.lang, c=v.country_name)
    if aspect == "host" and v.action == "ERC":  # a Starting, Consolidator or Advanced Grant's one host
        return v.participation if v.funded_automatically else checker._t("l_erc_host_no", v.lang, c=v.country_name)
    if aspect == "erc_synergy" and v.action == "ERC":
        return v.participation
    if aspect == "automatic" and v.funded_automatically is False and v.may_participate:
        return checker._t("l_not_automatic", v.lang)
    if aspect == "participation":
        return v.participation
    return None


def _lead_reason(v: EntityVerdict, aspect: str) -> Reason | None:
    """The reason whose citations state the lead's rule."""
    reasons = {r.code: r for r in [*v.notes, *v.reasons]}
    return next((reasons[code] for code in LEAD_REASONS.get(aspect, ()) if code in reasons), None)


class VerdictWriter:
    """Writes verdicts as cited answers."""

    def __init__(self, manifest: Manifest, catalog: Catalog) -> None:
        self.manifest = manifest
        self.catalog = catalog

    def entity_answer(self, v: EntityVerdict, first: int = 1, aspect: str = "funding") -> Answer:
        """The verdict as a cited answer, led by the part the question asks for (``aspect``: funding,
        automatic, participation, associated_partner, coordinator; see assistant.question.ASPECTS)."""
        h = HEADINGS[v.lang]
        cites = _Cites(self.manifest, self.catalog, first)
        lead = _lead(v, aspect)
        lines = [v.funding]
        if lead is not None:  # the rule it states is cited on the line itself
            reason = _lead_reason(v, aspect)
            lines.insert(0, lead + (cites.markers(reason) if reason else ""))
        if v.participation not in (v.funding, lead):
            lines.append(f"{h['participation']} {v.participation}")
        if v.may_participate is not None:
            roles = ", ".join(
                f"{checker._t('role_' + r, v.lang)}: {checker._t('v_' + s, v.lang)}"
                for r, s in v.roles.items()
            )
            lines.append(f"{h['roles']}: {roles}.")
        for title, reasons in ((h["why"], v.reasons), (h["how"], v.how_funded), (h["notes"], v.notes)):
            if reasons:
                lines.append(f"{title}:")
                lines += [f"- {r.text}{cites.markers(r)}" for r in reasons]
        return Answer("\n".join(lines), v.lang, False, tuple(cites.items), mode="eligibility")

    def consortium_answer(self, v: ConsortiumVerdict, first: int = 1) -> Answer:
        h = HEADINGS[v.lang]
        cites = _Cites(self.manifest, self.catalog, first)
        summary = v.summary
        if v.meets_minimum is not None:  # the direct answer first: "Yes: meets …" / "No: does not meet …"
            verdict = checker._t("v_yes" if v.meets_minimum else "v_no", v.lang).capitalize()
            summary = f"{verdict}: {summary[:1].lower()}{summary[1:]}"
        lines = [summary, f"{h['partners']}:"]
        for p in v.partners:
            problems = "".join(f" {r.text}{cites.markers(r)}" for r in p.problems)
            lines.append(
                f"- {p.name or p.country} ({p.country}, {p.entity_type}): {p.verdict.funding}{problems}"
            )
        lines.append(f"{h['conditions']}:")
        for c in v.conditions:
            mark = "✓" if c.met else "✗"
            lines.append(f"- {mark} {c.text}{cites.markers(Reason(c.code, c.text, c.citations))}")
        if v.fixes:
            lines.append(f"{h['fix']}:")
            lines += [f"- {r.text}{cites.markers(r)}" for r in v.fixes]
        if v.notes:
            lines.append(f"{h['notes']}:")
            lines += [f"- {r.text}{cites.markers(r)}" for r in v.notes]
        return Answer("\n".join(lines), v.lang, False, tuple(cites.items), mode="eligibility")

    def entity_json(self, v: EntityVerdict) -> dict[str, object]:
        answer = self.entity_answer(v)
        return {
            "country": v.country,
            "country_name": v.country_name,
            "status": v.status,
            "entity_type": v.entity_type,
            "action": v.action,
            "programme": v.programme,
            "may_participate": v.may_participate,
            "funded_automatically": v.funded_automatically,
            "roles": dict(v.roles),
            "participation": v.participation,
            "funding": v.funding,
            "reasons": [r.text for r in v.reasons],
            "how_funded": [r.text for r in v.how_funded],
            "notes": [r.text for r in v.notes],
            "answer": answer.answer,
            "citations": [c.as_json() for c in answer.citations],
        }

    def consortium_json(self, v: ConsortiumVerdict) -> dict[str, object]:
        answer = self.consortium_answer(v)
        return {
            "action": v.action,
            "programme": v.programme,
            "meets_minimum": v.meets_minimum,
            "summary": v.summary,
            "partners": [
                {
                    "name": p.name,
                    "country": p.country,
                    "entity_type": p.entity_type,
                    "role": p.role,
                    "funded": p.funded,
                    "counts_for_composition": p.counts_for_composition,
                    "funding": p.verdict.funding,
                    "problems": [r.text for r in p.problems],
                }
                for p in v.partners
            ],
            "conditions": [{"code": c.code, "met": c.met, "text": c.text} for c in v.conditions],
            "fixes": [r.text for r in v.fixes],
            "notes": [r.text for r in v.notes],
            "answer": answer.answer,
            "citations": [c.as_json() for c in answer.citations],
        }
