"""Call topics in words: cards with dates, money and the quoted reasons (English or Spanish), the JSON of
`eumex topics --json` and `GET /api/topics`, and an iCalendar file of deadlines.

Every fact on a card is cited to the page that states it, with a quote checked against the stored page text;
a fact whose quote does not check out is shown without a citation number only if it is a field of the record
(code, title), never a sentence of the topic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from assistant.citations import normalise, on_page
from assistant.index.catalog import Catalog
from assistant.manifest import Manifest
from assistant.topics.finder import CLOSED, FORTHCOMING, OPEN, TopicMatch, status_of
from assistant.types import Answer, CallTopic, Citation

PORTAL = (
    "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/{code}"
)
MONTHS = {
    "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(),
    "es": "ene feb mar abr may jun jul ago sep oct nov dic".split(),
}
WORDS = {
    "en": {
        "opens": "opens",
        "deadline": "deadline",
        "deadlines": "deadlines",
        "stage": "stage",
        OPEN: "open",
        FORTHCOMING: "not yet open",
        CLOSED: "closed",
        "today": "today is {d}",
        "budget": "topic budget EUR {m} million",
        "per_project": "EUR {m} million per project",
        "projects": "{n} project(s)",
        "trl": "TRL {t}",
        "lump": "lump sum",
        "why": "Why it fits",
        "non_eu": "Non-EU participants",
        "none_found": "I found no Horizon Europe topic that fits this in my sources "
        "(the work programmes 2026-2027 and the ERC work programme 2026).",
        "found": "Horizon Europe topics that fit ({n} shown, best first):",
        "call": "call",
        "portal": "Funding & Tenders portal",
        "lead_closed": "{topic} closed on {d}",
        "lead_open": "{topic} is open: deadline {d}",
        "lead_forthcoming": "{topic} opens on {o} and closes on {d}",
        "unknown": "I have no topic {code} in the work programmes I have read "
        "(2026-2027 parts 2-12, ERC 2026); check the code.",
    },
    "es": {
        "opens": "abre",
        "deadline": "cierre",
        "deadlines": "cierres",
        "stage": "fase",
        OPEN: "abierta",
        FORTHCOMING: "aún no abre",
        CLOSED: "cerrada",
        "today": "hoy es {d}",
        "budget": "presupuesto del tema EUR {m} millones",
        "per_project": "EUR {m} millones por proyecto",
        "projects": "{n} proyecto(s)",
        "trl": "TRL {t}",
        "lump": "suma global (lump sum)",
        "why": "Por qué encaja",
        "non_eu": "Participantes de fuera de la UE",
        "none_found": "No encontré en mis fuentes ningún tema de Horizonte "
        "Europa que encaje con esto (los programas de trabajo 2026-2027 y el del ERC 2026).",
        "found": "Temas de Horizonte Europa que encajan (se muestran {n}, el mejor primero):",
        "call": "convocatoria",
        "portal": "portal Funding & Tenders",
        "lead_closed": "{topic} cerró el {d}",
        "lead_open": "{topic} está abierta: cierra el {d}",
        "lead_forthcoming": "{topic} abre el {o} y cierra el {d}",
        "unknown": "No tengo el tema {code} en los programas de trabajo que he leído "
        "(2026-2027 partes 2-12, ERC 2026); revisa el código.",
    },
}


def day(iso: str, lang: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day} {MONTHS[lang][d.month - 1]} {d.year}"


def millions(eur: float) -> str:
    return f"{eur / 1e6:.2f}"


def portal_url(code: str) -> str:
    return PORTAL.format(code=code.lower())


@dataclass
class _Cites:
    """Citations collected while writing one answer, numbered from ``first``."""

    writer: TopicWriter
    first: int = 1
    items: list[Citation] = field(default_factory=list)

    def __call__(self, topic: CallTopic, page: int | None, quote: str | None) -> str:
        """' [n]' for a verified quote of the topic's document, '' otherwise."""
        if page is None or not quote:
            return ""
        doc = self.writer.manifest.by_path(topic.document)
        if doc is None or not on_page(self.writer.catalog, doc.id, page, quote):
            return ""
        key = (topic.document, page, normalise(quote))
        for c in self.items:
            if (c.document, c.page, normalise(c.quote)) == key:
                return f" [{c.n}]"
        n = self.first + len(self.items)
        self.items.append(
            Citation(
                n=n,
                document=topic.document,
                title=doc.title,
                page=page,
                locator=None,
                quote=" ".join(quote.split()),
                url=doc.url,
                programme=doc.programme,
                period=doc.period,
                kind=doc.kind,
            )
        )
        return f" [{n}]"


class TopicWriter:
    """Writes topic cards and answers; every fact cited to its page."""

    def __init__(self, manifest: Manifest, catalog: Catalog, today: Callable[[], date] = date.today) -> None:
        self.manifest = manifest
        self.catalog = catalog
        self.today = today

    def _quote(self, topic: CallTopic, field_name: str) -> tuple[int | None, str | None]:
        found = next((q for q in topic.source_quotes if q.field == field_name), None)
        return (found.page, found.text) if found else (None, None)

    def card(self, topic: CallTopic, lang: str, cite: _Cites, match: TopicMatch | None = None) -> list[str]:
        """The lines of one topic's card."""
        w = WORDS[lang]
        doc = self.manifest.by_path(topic.document)
        lines = [f"{topic.code} — {topic.title}{cite(topic, *self._quote(topic, 'title'))}"]
        where = [doc.label if doc else topic.document]
        if topic.call_id:
            where.append(f"{w['call']} {topic.call_id}")
        if topic.type_of_action_short or topic.type_of_action:
            where.append(topic.type_of_action_short or topic.type_of_action or "")
        if topic.lump_sum:
            where.append(w["lump"])
        lines.append("   " + " · ".join(where))
        status, _next = status_of(topic, self.today())
        dates = []
        if topic.opening_date:
            dates.append(
                f"{w['opens']} {day(topic.opening_date, lang)}{cite(topic, *self._quote(topic, 'opening_date'))}"
            )
        if topic.deadlines:
            stages = [
                f"{day(d, lang)}" + (f" ({s})" if s else "")
                for d, s in zip(topic.deadlines, topic.deadline_stages, strict=False)
            ]
            label = w["deadlines"] if len(stages) > 1 else w["deadline"]
            dates.append(f"{label} {', '.join(stages)}{cite(topic, *self._quote(topic, 'deadlines'))}")
        today = w["today"].format(d=day(self.today().isoformat(), lang))
        lines.append("   " + "; ".join(dates) + f" — {w[status]} ({today})")
        money = []
        if topic.budget_eur:
            money.append(
                w["budget"].format(m=millions(topic.budget_eur))
                + cite(topic, *self._quote(topic, "budget_eur"))
            )
        if topic.contribution_max_eur:
            low, high = topic.contribution_min_eur or topic.contribution_max_eur, topic.contribution_max_eur
            amount = millions(high) if low == high else f"{millions(low)}-{millions(high)}"
            money.append(w["per_project"].format(m=amount) + cite(topic, *self._quote(topic, "contribution")))
        if topic.projects:
            n = f"{topic.projects}-{topic.projects_max}" if topic.projects_max else str(topic.projects)
            money.append(w["projects"].format(n=n))
        if topic.trl:
            money.append(w["trl"].format(t=topic.trl) + cite(topic, *self._quote(topic, "trl")))
        if money:
            lines.append("   " + "; ".join(money))
        if match is not None:
            reasons = [f"“{e.sentence}”{cite(topic, e.page, e.sentence)}" for e in match.why]
            reasons = [r for r in reasons if r.endswith("]")]
            if reasons:
                lines.append(f"   {w['why']}: " + " ".join(reasons))
        abroad = [q for q in topic.source_quotes if q.field == "conditions" and _about_abroad(q.text)]
        if abroad:
            lines.append(f"   {w['non_eu']}: “{abroad[0].text}”{cite(topic, abroad[0].page, abroad[0].text)}")
        lines.append(f"   {w['portal']}: {portal_url(topic.code)}")
        return lines

    def topic_answer(self, topic: CallTopic | None, code: str, lang: str) -> Answer:
        """A direct answer about one topic: its card."""
        if topic is None:
            return Answer(WORDS[lang]["unknown"].format(code=code), lang, True, (), mode="topics")
        cite = _Cites(self)
        text = "\n".join(self.card(topic, lang, cite))
        return Answer(text, lang, False, tuple(cite.items), mode="topics")

    def dates_lead(self, topic: CallTopic, lang: str, cite: _Cites) -> str | None:
        """One sentence with the topic's dates and whether it is open today, cited; None without a deadline."""
        if not topic.deadlines:
            return None
        w = WORDS[lang]
        status, _next = status_of(topic, self.today())
        opening = ""
        if status == FORTHCOMING and topic.opening_date:
            opening = day(topic.opening_date, lang) + cite(topic, *self._quote(topic, "opening_date"))
        deadlines = ", ".join(
            day(d, lang) + (f" ({s})" if s else "") for d, s in zip(topic.deadlines, topic.deadline_stages, strict=False)
        ) + cite(topic, *self._quote(topic, "deadlines"))
        name = f"{topic.code} ({topic.title})"
        if opening:
            text = w["lead_forthcoming"].format(topic=name, o=opening, d=deadlines)
        else:
            text = w["lead_open" if status == OPEN else "lead_closed"].format(topic=name, d=deadlines)
        return f"{text} — {w['today'].format(d=day(self.today().isoformat(), lang))}."

    def matches_answer(self, matches: Sequence[TopicMatch], lang: str, dates_of: CallTopic | None = None) -> Answer:
        """The topic finder's results as an answer: cards, best first. With ``dates_of`` (the topic a question
        about a call's dates names), the answer first gives that topic's dates."""
        if not matches:
            return Answer(WORDS[lang]["none_found"], lang, True, (), mode="topics")
        cite = _Cites(self)
        lines = []
        lead = self.dates_lead(dates_of, lang, cite) if dates_of else None
        if lead:
            lines += [lead, ""]
        lines.append(WORDS[lang]["found"].format(n=len(matches)))
        for i, match in enumerate(matches, 1):
            card = self.card(match.topic, lang, cite, match)
            lines.append(f"{i}. {card[0]}")
            lines += card[1:]
        return Answer("\n".join(lines), lang, False, tuple(cite.items), mode="topics")

    def as_json(self, query: str, matches: Sequence[TopicMatch], lang: str) -> dict[str, object]:
        """The shape of `eumex topics --json` and `GET /api/topics`."""
        answer = self.matches_answer(matches, lang)
        return {
            "query": query,
            "today": self.today().isoformat(),
            "topics": [
                {
                    "code": m.topic.code,
                    "title": m.topic.title,
                    "call": m.topic.call_id,
                    "call_title": m.topic.call_title,
                    "destination": m.topic.destination,
                    "part": m.topic.part,
                    "document": m.topic.document,
                    "pages": list(m.topic.pages),
                    "type_of_action": m.topic.type_of_action,
                    "action": m.topic.type_of_action_short,
                    "opening_date": m.topic.opening_date,
                    "deadlines": list(m.topic.deadlines),
                    "deadline_stages": list(m.topic.deadline_stages),
                    "status": m.status,
                    "next_deadline": m.next_deadline,
                    "budget_eur": m.topic.budget_eur,
                    "contribution_min_eur": m.topic.contribution_min_eur,
                    "contribution_max_eur": m.topic.contribution_max_eur,
                    "projects": m.topic.projects,
                    "trl": m.topic.trl,
                    "lump_sum": m.topic.lump_sum,
                    "regions": list(m.topic.regions),
                    "non_eu": [
                        q.text
                        for q in m.topic.source_quotes
                        if q.field == "conditions" and _about_abroad(q.text)
                    ],
                    "why": [
                        {"sentence": e.sentence, "page": e.page, "similarity": round(e.similarity, 4)}
                        for e in m.why
                    ],
                    "score": round(m.score, 6),
                    "portal_url": portal_url(m.topic.code),
                }
                for m in matches
            ],
            "answer": answer.answer,
            "citations": [c.as_json() for c in answer.citations],
        }


def _about_abroad(text: str) -> bool:
    """A condition that says something about participants from outside the EU."""
    from assistant.topics.finder import INTERNATIONAL

    return bool(INTERNATIONAL.search(text)) or "eligible for funding" in text.lower()


def calendar(topics: Sequence[CallTopic], now: datetime | None = None) -> str:
    """An iCalendar (RFC 5545) file with one all-day event per deadline of these topics."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//EUMEX Assistant//Horizon Europe deadlines//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    for topic in topics:
        for deadline, stage in zip(topic.deadlines, topic.deadline_stages, strict=False):
            d = date.fromisoformat(deadline)
            summary = f"Deadline {topic.code}" + (f" ({stage})" if stage else "")
            lines += [
                "BEGIN:VEVENT",
                f"UID:{topic.code}-{d:%Y%m%d}@eumex",
                f"DTSTAMP:{stamp}",
                f"DTSTART;VALUE=DATE:{d:%Y%m%d}",
                f"SUMMARY:{_ics_text(summary)}",
                f"DESCRIPTION:{_ics_text(topic.title + ' - ' + portal_url(topic.code))}",
                f"URL:{portal_url(topic.code)}",
                "END:VEVENT",
            ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def _ics_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 5545 3.1)."""
    out, current = [], ""
    for ch in line:
        if len((current + ch).encode()) > 75:
            out.append(current)
            current = " " + ch
        else:
            current += ch
    out.append(current)
    return "\r\n".join(out)
