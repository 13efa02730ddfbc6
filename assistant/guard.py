"""What the assistant must not do: follow injected instructions, pretend to have read missing texts,
or treat a closed programme as open. Pure functions over the question and the manifest."""

from __future__ import annotations

import re
import unicodedata

from assistant.manifest import Document, Manifest

INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|prompt|above|previous)\b"
    r"|\b(ignora|olvida|olvid[ae]n|omite|desobedece)\b.{0,40}\b(instrucciones|reglas|indicaciones|anteriores|todo)\b"
    r"|\byou are now\b|\bahora eres\b|\bsystem prompt\b|\bprompt del sistema\b"
    r"|\bact as\b.{0,30}\b(unrestricted|jailbreak|dan)\b|\bjailbreak\b"
    r"|\b(just|simply) (say|answer|reply|respond) (that|with)\b|\b(responde|di|contesta|afirma) (solo |solamente )?que\b",
    re.IGNORECASE | re.DOTALL,
)
OPEN_CALL = re.compile(
    r"\b(still open|open now|currently open|is it open|are .{0,30}open|can i (still )?apply|next deadline|"
    r"apply now|submit now|this year|upcoming|(abierta|abierto|abiertas)\b|todav[ií]a|actualmente|"
    r"puedo (aplicar|postular|presentar|participar)|pr[oó]xim[oa] (plazo|convocatoria|fecha)|este año)",
    re.IGNORECASE,
)


def fold(text: str) -> str:
    """Lowercase without accents, for matching phrases typed with or without them."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def is_injection(question: str) -> bool:
    """True when the question tries to give the assistant new instructions."""
    return bool(INJECTION.search(question))


def asks_if_open(question: str) -> bool:
    """True when the question treats a call or programme as currently open."""
    return bool(OPEN_CALL.search(question))


def missing_documents(question: str, manifest: Manifest) -> list[Document]:
    """Missing manifest documents whose keywords the question mentions, best match first."""
    q = f" {fold(question)} "
    scored = []
    for doc in manifest.missing:
        hits = [k for k in doc.keywords if f" {fold(k)} " in q or (len(k) > 12 and fold(k) in q)]
        if hits:
            scored.append((max(len(h) for h in hits) + 10 * len(hits), doc))
    return [doc for _, doc in sorted(scored, key=lambda x: -x[0])]


def coverage(manifest: Manifest, lang: str) -> str:
    """One line on what the corpus covers, derived from the manifest so it cannot drift."""
    groups: dict[str, list[str]] = {}
    for doc in manifest.present:
        if doc.parser in {"none", "cordis-countries", "cordis-activity-types", "cordis-funding-schemes",
                          "cordis-action-types"}:
            continue
        label = doc.describe(lang)
        groups.setdefault(doc.kind, [])
        if doc.kind in {"dataset", "reference-data"}:
            entry = "CORDIS H2020 projects, participants and topics" if lang == "en" else (
                "proyectos, participantes y temas H2020 de CORDIS"
            )
        else:
            entry = doc.short_title or label
        if entry not in groups[doc.kind]:
            groups[doc.kind].append(entry)
    return "; ".join(e for entries in groups.values() for e in entries)
