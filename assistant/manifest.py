"""The corpus manifest: what the assistant has read, and what it knows it has not."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from assistant.errors import CorpusError

PROGRAMMES = {"h2020", "horizon-europe", "mexico", "eu-mexico"}
KINDS = {"work-programme", "rules", "template", "guidance", "law", "agreement", "dataset", "reference-data"}
PARSERS = {
    "pdf",
    "cordis-projects",
    "cordis-participations",
    "cordis-topics",
    "cordis-action-types",
    "cordis-countries",
    "cordis-activity-types",
    "cordis-funding-schemes",
    "none",
}
ELIGIBILITY_ROLES = {"general_annexes", "regulation", "programme_guide", "mga", "msca", "erc"}
PROGRAMME_LABELS = {
    "h2020": ("Horizon 2020", "Horizonte 2020"),
    "horizon-europe": ("Horizon Europe", "Horizonte Europa"),
    "mexico": ("Mexico", "México"),
    "eu-mexico": ("EU–Mexico", "UE–México"),
}
KIND_LABELS = {
    "work-programme": ("work programme", "programa de trabajo"),
    "rules": ("rules", "reglas"),
    "template": ("template", "plantilla"),
    "guidance": ("guidance", "guía"),
    "law": ("law", "ley"),
    "agreement": ("agreement", "acuerdo"),
    "dataset": ("dataset", "datos"),
    "reference-data": ("reference data", "datos de referencia"),
}


@dataclass(frozen=True)
class Document:
    """One manifest entry."""

    id: str
    path: str
    title: str
    programme: str
    kind: str
    language: str
    period: str
    parser: str
    present: bool = True
    url: str | None = None
    short_title: str = ""
    sha256: str | None = None
    size_bytes: int | None = None
    mirror_url: str | None = None
    licence: str = ""
    publisher: str = ""
    covers: str = ""
    covers_es: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)  # phrases of questions that need this text
    names: tuple[str, ...] = field(default_factory=tuple)  # phrases that name this text explicitly
    # What the eligibility check reads here (ingestion/parse_eligibility.py): general_annexes (the country
    # lists), regulation, programme_guide, mga, msca, erc. A newer edition takes over by carrying the role.
    eligibility_role: str = ""

    @property
    def label(self) -> str:
        return self.short_title or self.title

    def describe(self, lang: str = "en") -> str:
        """Programme, kind and period, e.g. 'Horizon 2020 work programme 2018-2020'."""
        i = 1 if lang == "es" else 0
        prog = PROGRAMME_LABELS.get(self.programme, (self.programme, self.programme))[i]
        kind = KIND_LABELS.get(self.kind, (self.kind, self.kind))[i]
        return f"{prog} {kind} {self.period}".strip() if i == 0 else f"{kind} {prog} {self.period}".strip()

    @property
    def ingestible(self) -> bool:
        return self.present and self.parser != "none"


@dataclass(frozen=True)
class Manifest:
    """All documents, present and missing."""

    documents: tuple[Document, ...]
    source: Path

    @cached_property
    def _by_path(self) -> dict[str, Document]:
        return {d.path: d for d in self.documents}

    @cached_property
    def _by_id(self) -> dict[str, Document]:
        return {d.id: d for d in self.documents}

    @property
    def present(self) -> list[Document]:
        return [d for d in self.documents if d.present]

    @property
    def missing(self) -> list[Document]:
        return [d for d in self.documents if not d.present]

    def by_path(self, path: str) -> Document | None:
        return self._by_path.get(path)

    def by_id(self, doc_id: str) -> Document | None:
        return self._by_id.get(doc_id)

    def get(self, key: str) -> Document:
        """Find a document by id or by relative path."""
        doc = self._by_id.get(key) or self._by_path.get(key)
        if doc is None:
            raise CorpusError(f"Unknown document '{key}'. See `eumex corpus status` for the list.")
        return doc


def load_manifest(path: Path) -> Manifest:
    """Read and validate the manifest; every problem is reported with the entry it concerns."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CorpusError(f"Manifest not found at {path} - set EUMEX_MANIFEST") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CorpusError(f"Manifest {path} is not valid TOML: {exc}") from exc

    docs: list[Document] = []
    problems: list[str] = []
    known = set(Document.__dataclass_fields__)
    entries = raw.get("document", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CorpusError(f"Manifest {path}: documents must be an array of tables, written [[document]]")
    adapter = TypeAdapter(Document)
    for i, entry in enumerate(entries, start=1):
        where = entry.get("id") or f"entry {i}"
        unknown = set(entry) - known
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
            continue
        try:
            # JSON mode keeps strict types (no "false" for a bool, no string for a list) for TOML values.
            doc = adapter.validate_json(json.dumps(entry, default=str), strict=True)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(x) for x in err["loc"])
                problems.append(f"{where}: {field}: {err['msg']}")
            continue
        doc = replace(doc, keywords=tuple(k.lower() for k in doc.keywords), names=tuple(k.lower() for k in doc.names))
        if doc.programme not in PROGRAMMES:
            problems.append(f"{where}: programme '{doc.programme}' not in {sorted(PROGRAMMES)}")
        if doc.kind not in KINDS:
            problems.append(f"{where}: kind '{doc.kind}' not in {sorted(KINDS)}")
        if doc.parser not in PARSERS:
            problems.append(f"{where}: parser '{doc.parser}' not in {sorted(PARSERS)}")
        if doc.eligibility_role and doc.eligibility_role not in ELIGIBILITY_ROLES:
            problems.append(f"{where}: eligibility_role '{doc.eligibility_role}' not in {sorted(ELIGIBILITY_ROLES)}")
        if doc.present and not doc.sha256:
            problems.append(f"{where}: a present document needs its sha256")
        if Path(doc.path).is_absolute() or ".." in Path(doc.path).parts:
            problems.append(f"{where}: path must be relative to the corpus directory")
        docs.append(doc)
    ids = [d.id for d in docs]
    paths = [d.path for d in docs]
    problems += [f"duplicate id '{x}'" for x in sorted({x for x in ids if ids.count(x) > 1})]
    problems += [f"duplicate path '{x}'" for x in sorted({x for x in paths if paths.count(x) > 1})]
    roles = [d.eligibility_role for d in docs if d.eligibility_role and d.present]
    problems += [f"two present documents with eligibility_role '{x}'" for x in sorted({x for x in roles if roles.count(x) > 1})]
    if problems:
        raise CorpusError(f"Manifest {path} has problems:\n  - " + "\n  - ".join(problems))
    if not docs:
        raise CorpusError(f"Manifest {path} lists no documents")
    return Manifest(documents=tuple(docs), source=path)
