"""The partner index: CORDIS projects and participations as SQLite tables, for filters and counts.

Written by the ingestion job in the same transaction as the CORDIS chunks (so the keyword index
and the tables always describe the same files); read by :mod:`assistant.partners`. Every row
keeps its source cells verbatim (``cells``, JSON) so that a partner answer can quote a dataset row
and the quote can be checked against what the file says.

    projects        one per project (H2020 list, or only known from a participation file)
    participations  organisation x project, with country, role, activity type, EU contribution
    codes           reference labels: countries (EN/ES/...), funding schemes, activity types, topics
    coverage        per participation file: rows, projects, start years, frameworks
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.textutil import fold

SCHEMA = """
CREATE TABLE IF NOT EXISTS partner_projects (
    project_id TEXT PRIMARY KEY,
    acronym TEXT NOT NULL,
    title TEXT NOT NULL,
    topic_code TEXT NOT NULL,
    topic_title TEXT NOT NULL,
    division TEXT NOT NULL,
    action_type TEXT NOT NULL,
    framework TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    contribution REAL,
    n_participations TEXT NOT NULL,
    url TEXT NOT NULL,
    document TEXT NOT NULL,
    row INTEGER NOT NULL,
    cells TEXT NOT NULL
);
DROP INDEX IF EXISTS partner_projects_topic;
CREATE INDEX IF NOT EXISTS partner_projects_topic_nocase ON partner_projects(topic_code COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS partner_projects_acronym ON partner_projects(acronym COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS partner_participations (
    project_id TEXT NOT NULL,
    organisation TEXT NOT NULL,
    short_name TEXT NOT NULL,
    country_code TEXT NOT NULL,
    role TEXT NOT NULL,
    activity_type TEXT NOT NULL,
    contribution REAL,
    document TEXT NOT NULL,
    row INTEGER NOT NULL,
    cells TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS partner_participations_project ON partner_participations(project_id);
CREATE INDEX IF NOT EXISTS partner_participations_country ON partner_participations(country_code);
CREATE TABLE IF NOT EXISTS partner_codes (
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    language TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (kind, code, language)
);
CREATE TABLE IF NOT EXISTS partner_coverage (
    document TEXT PRIMARY KEY,
    rows INTEGER NOT NULL,
    projects INTEGER NOT NULL,
    start_years TEXT NOT NULL,
    frameworks TEXT NOT NULL
);
"""

YEAR = re.compile(r"\b(19|20)(\d\d)\b")


@dataclass
class PartnerData:
    """Everything the ingestion job writes into the partner tables (built from the parsed CORDIS files)."""

    projects: list[Any] = field(default_factory=list)  # ingestion.parse_cordis.Project (participants attached)
    codes: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # kind -> code -> lang -> label


@dataclass(frozen=True)
class ProjectRow:
    project_id: str
    acronym: str
    title: str
    topic_code: str
    topic_title: str
    division: str
    action_type: str
    framework: str
    start_date: str
    end_date: str
    contribution: float | None
    n_participations: str
    url: str
    document: str
    row: int
    cells: dict[str, str]


@dataclass(frozen=True)
class ParticipationRow:
    project_id: str
    organisation: str
    short_name: str
    country_code: str
    role: str
    activity_type: str
    contribution: float | None
    document: str
    row: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Coverage:
    document: str
    rows: int
    projects: int
    start_years: tuple[str, ...]
    frameworks: tuple[str, ...]


def create_tables(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


def write_partner_tables(db: sqlite3.Connection, data: PartnerData) -> None:
    """Replace the partner tables' contents (called inside the catalog's write transaction)."""
    for table in ("partner_projects", "partner_participations", "partner_codes", "partner_coverage"):
        db.execute(f"DELETE FROM {table}")
    project_rows, participation_rows = [], []
    coverage_rows: dict[str, list[int]] = defaultdict(list)
    coverage_projects: dict[str, set[str]] = defaultdict(set)
    coverage_years: dict[str, set[str]] = defaultdict(set)
    coverage_frameworks: dict[str, set[str]] = defaultdict(set)
    for p in data.projects:
        start = p.start_date or next((x.start_date for x in p.participants if x.start_date), "")
        project_rows.append(
            (
                p.project_id, p.acronym, p.title, p.topic_code, p.topic_title, p.division, p.action_type,
                p.framework, start, p.end_date, p.contribution, p.n_participations, p.url, p.document,
                min(p.rows) if p.rows else 0, json.dumps(p.cells or _cells_of_first(p), ensure_ascii=False),
            )
        )
        for x in p.participants:
            participation_rows.append(
                (
                    p.project_id, x.organisation, x.short_name, x.country_code, x.role, x.activity_type,
                    x.contribution, x.document, x.row, json.dumps(x.cells, ensure_ascii=False),
                )
            )
            coverage_rows[x.document].append(x.row)
            coverage_projects[x.document].add(p.project_id)
            coverage_frameworks[x.document].add(x.framework or p.framework)
            year = x.cells.get("start_year") or _year(x.start_date)
            if year:
                coverage_years[x.document].add(year)
    db.executemany(f"INSERT OR REPLACE INTO partner_projects VALUES ({','.join('?' * 16)})", project_rows)
    db.executemany(f"INSERT INTO partner_participations VALUES ({','.join('?' * 10)})", participation_rows)
    db.executemany(
        "INSERT OR REPLACE INTO partner_codes(kind, code, language, label) VALUES (?,?,?,?)",
        [
            (kind, code, lang, label)
            for kind, by_code in data.codes.items()
            for code, by_lang in by_code.items()
            for lang, label in by_lang.items()
        ],
    )
    db.executemany(
        "INSERT INTO partner_coverage VALUES (?,?,?,?,?)",
        [
            (
                doc,
                len(rows),
                len(coverage_projects[doc]),
                ",".join(sorted(coverage_years[doc])),
                ",".join(sorted(f for f in coverage_frameworks[doc] if f)),
            )
            for doc, rows in coverage_rows.items()
        ],
    )


def _year(date: str) -> str:
    m = YEAR.search(date or "")
    return m.group(0) if m else ""


def _cells_of_first(project: Any) -> dict[str, str]:
    """A project only known from participation files: its first participation row is its source."""
    return project.participants[0].cells if project.participants else {}


def _organisation_named(word: str) -> tuple[str, list[str]]:
    """An SQL condition on a participation row: its organisation is named by this word. An acronym (all
    capitals: "UNAM") is the organisation's short name or a whole word of its name, since as a substring it
    names others too (UNAMUR is the University of Namur); another word ("Monterrey", "Fraunhofer") may be
    part of either."""
    if word.isupper():
        return "(short_name = ? COLLATE NOCASE OR ' ' || organisation || ' ' LIKE ?)", [word, f"% {word} %"]
    return "(organisation LIKE ? OR short_name LIKE ?)", [f"%{word}%", f"%{word}%"]


def names_organisation(word: str, row: ParticipationRow) -> bool:
    """The rule of :func:`_organisation_named` for a row already read (accents aside)."""
    folded, name, short = fold(word), fold(row.organisation), fold(row.short_name)
    if word.isupper():
        return short == folded or f" {folded} " in f" {name} "
    return folded in name or folded in short


class PartnerIndex:
    """Read access to the partner tables (a view over the catalog's SQLite connection)."""

    def __init__(self, db_provider: Any) -> None:
        self._catalog = db_provider  # assistant.index.catalog.Catalog (thread-local connections)

    @property
    def db(self) -> sqlite3.Connection:
        return self._catalog.db

    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM partner_projects LIMIT 1").fetchone() is None

    # --- projects --------------------------------------------------------------------------
    def projects(self, ids: Iterable[str]) -> dict[str, ProjectRow]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, ProjectRow] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            sql = f"SELECT * FROM partner_projects WHERE project_id IN ({','.join('?' * len(part))})"
            for r in self.db.execute(sql, part):
                out[r[0]] = _project(r)
        return out

    def by_acronym(self, acronym: str) -> list[ProjectRow]:
        rows = self.db.execute(
            "SELECT * FROM partner_projects WHERE acronym = ? COLLATE NOCASE OR project_id = ?", (acronym, acronym)
        ).fetchall()
        return [_project(r) for r in rows]

    def by_topic(self, topic_code: str, limit: int = 500) -> list[ProjectRow]:
        rows = self.db.execute(
            "SELECT * FROM partner_projects WHERE topic_code = ? COLLATE NOCASE ORDER BY contribution DESC LIMIT ?",
            (topic_code, limit),
        ).fetchall()
        return [_project(r) for r in rows]

    def topic_exists(self, topic_code: str) -> bool:
        hit = self.db.execute(
            "SELECT 1 FROM partner_projects WHERE topic_code = ? COLLATE NOCASE UNION ALL "
            "SELECT 1 FROM partner_codes WHERE kind = 'topic' AND code = ? COLLATE NOCASE LIMIT 1",
            (topic_code, topic_code),
        ).fetchone()
        return hit is not None

    def projects_titled(
        self, concepts: Sequence[set[str]], action: Sequence[str] = (), limit: int = 200
    ) -> list[ProjectRow]:
        """Projects whose acronym, title or topic title contain, for every concept, one of its stems
        (case-insensitive), optionally of a type of action (LIKE patterns)."""
        if not concepts:
            return []
        where, params = [], []
        for stems in concepts:
            alts = []
            for s in sorted(stems):
                alts.append("(acronym LIKE ? OR title LIKE ? OR topic_title LIKE ?)")
                params += [f"%{s}%"] * 3
            where.append("(" + " OR ".join(alts) + ")")
        if action:
            alts = []
            for pattern in action:
                if pattern.startswith("%"):  # anywhere in the type of action or the topic code (ERC-2020-ADG)
                    alts.append("(action_type LIKE ? OR topic_code LIKE ?)")
                    params += [pattern, pattern]
                else:
                    alts.append("action_type LIKE ?")
                    params.append(pattern)
            where.append("(" + " OR ".join(alts) + ")")
        sql = f"SELECT * FROM partner_projects WHERE {' AND '.join(where)} ORDER BY contribution DESC LIMIT ?"
        return [_project(r) for r in self.db.execute(sql, [*params, limit])]

    # --- participations --------------------------------------------------------------------
    def participations(
        self,
        project_ids: Iterable[str] | None = None,
        countries: Sequence[str] = (),
        role: str | None = None,
        organisation_words: Sequence[str] = (),
        limit: int = 5000,
    ) -> list[ParticipationRow]:
        where, params = [], []
        if project_ids is not None:
            ids = list(dict.fromkeys(project_ids))
            if not ids:
                return []
            where.append(f"project_id IN ({','.join('?' * len(ids))})")
            params += ids
        if countries:
            where.append(f"country_code IN ({','.join('?' * len(countries))})")
            params += list(countries)
        if role:
            where.append("role = ? COLLATE NOCASE")
            params.append(role)
        for word in organisation_words:
            condition, values = _organisation_named(word)
            where.append(condition)
            params += values
        sql = "SELECT * FROM partner_participations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY project_id, role != 'Coordinator', organisation LIMIT ?"
        return [_participation(r) for r in self.db.execute(sql, [*params, limit])]

    def count_organisations_matching(self, word: str) -> int:
        """How many organisations :meth:`participations` finds for this word."""
        condition, values = _organisation_named(word)
        return self.db.execute(
            f"SELECT count(DISTINCT organisation) FROM partner_participations WHERE {condition}", values
        ).fetchone()[0]

    # --- reference data --------------------------------------------------------------------
    def labels(self, kind: str) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for code, lang, label in self.db.execute(
            "SELECT code, language, label FROM partner_codes WHERE kind = ?", (kind,)
        ):
            out[code][lang] = label
        return dict(out)

    def coverage(self) -> list[Coverage]:
        rows = self.db.execute("SELECT * FROM partner_coverage ORDER BY document").fetchall()
        return [
            Coverage(r[0], r[1], r[2], tuple(y for y in r[3].split(",") if y), tuple(f for f in r[4].split(",") if f))
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        """The tables' totals (said with every partner answer): counted once per change of the index
        (35 ms each time, docs/benchmarks.md)."""
        return dict(self._catalog.per_generation("partner counts", self._count))

    def _count(self) -> dict[str, int]:
        db = self.db
        return {
            "projects": db.execute("SELECT count(*) FROM partner_projects").fetchone()[0],
            "participations": db.execute("SELECT count(*) FROM partner_participations").fetchone()[0],
            "organisations": db.execute(
                "SELECT count(DISTINCT organisation) FROM partner_participations"
            ).fetchone()[0],
            "projects_with_participants": db.execute(
                "SELECT count(DISTINCT project_id) FROM partner_participations"
            ).fetchone()[0],
        }


def _project(r: Sequence[Any]) -> ProjectRow:
    return ProjectRow(*r[:15], cells=json.loads(r[15]))


def _participation(r: Sequence[Any]) -> ParticipationRow:
    return ParticipationRow(*r[:9], cells=json.loads(r[9]))

