"""CORDIS data files -> one :class:`Record` per project.

Reads the H2020 project list (xlsx), the participation files (``,`` or ``;`` separated, UTF-8
or Latin-1), the topic and type-of-action reference lists, and joins them: a project record
names its acronym, title, topic code and title, type of action, EU contribution and, where the
participation files have them, its participants. Every record has a locator (project id, file,
row) instead of a page.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ParseError
from assistant.textutil import euro
from assistant.types import Record

log = logging.getLogger(__name__)

MAX_LISTED_PARTICIPANTS = 40


@dataclass
class Table:
    """A parsed table: header and rows (each row a dict), with 1-based spreadsheet row numbers."""

    name: str
    header: list[str]
    rows: list[dict[str, str]]
    line_numbers: list[int] | None = None  # file line/row of each row; default: header is row 1, no gaps

    def row_number(self, i: int) -> int:
        return self.line_numbers[i] if self.line_numbers else i + 2


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def read_table(path: Path, document: str) -> Table:
    """Read an xlsx sheet or a delimited text file into a Table; ParseError when unreadable."""
    if not path.is_file():
        raise ParseError(document, f"file not found at {path}")
    if path.stat().st_size == 0:
        raise ParseError(document, "the file is empty (0 bytes)")
    if path.suffix.lower() in SPREADSHEETS:
        return _read_sheet(path, document)
    text = _decode(path.read_bytes())
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count)
    if first.count(delimiter) == 0:
        raise ParseError(document, "no delimiter (`,`, `;` or tab) in the header line - not a table?")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, lines = [], []
    try:
        header = [h.strip() for h in next(reader)]
        for row in reader:
            if any(row):
                rows.append(dict(zip(header, (v.strip() for v in row), strict=False)))
                lines.append(reader.line_num)
    except csv.Error as exc:
        raise ParseError(document, f"malformed delimited text near line {reader.line_num}: {exc}") from exc
    return Table(document, header, rows, line_numbers=lines)


SPREADSHEETS = {".xlsx", ".xlsm", ".xls", ".ods"}
CHILD_TIMEOUT_S = 600.0


def read_table_isolated(path: Path, document: str, memory_mb: int = 4096, timeout_s: float = CHILD_TIMEOUT_S) -> Table:
    """:func:`read_table`, with a spreadsheet read in a child process (``python -m ingestion.parse_cordis``) that
    may take at most ``memory_mb`` of memory and ``timeout_s`` seconds: a hostile file (a 1.6 kB xlsx with cells
    A1 and XFD1048576 makes the spreadsheet library allocate 512 GiB and abort the whole process) fails as a
    ParseError naming the file, and the ingestion goes on with the others. Delimited text is read here (the csv
    module cannot crash the interpreter)."""
    if path.suffix.lower() not in SPREADSHEETS or not path.is_file():
        return read_table(path, document)
    import os
    import pickle
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ingestion.parse_cordis", str(path), document, str(memory_mb)],
            capture_output=True, timeout=timeout_s, env=env, stdin=subprocess.DEVNULL, check=False,
        )
    except subprocess.TimeoutExpired:
        raise ParseError(document, f"the spreadsheet parser did not finish in {timeout_s:.0f} s (stopped)") from None
    if done.returncode != 0 or not done.stdout:
        how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit code {done.returncode}"
        first = done.stderr.decode(errors="replace").strip().splitlines()[:1]
        log.warning("%s: the spreadsheet parser failed (%s): %s", document, how, first[0] if first else "")
        raise ParseError(
            document,
            f"the spreadsheet parser crashed ({how}): the file is malformed or needs more than {memory_mb} MiB "
            "(EUMEX_PARSE_MEMORY_MB) - cells far apart make the library allocate the whole rectangle between them",
        )
    outcome = pickle.loads(done.stdout)  # written by our own child process just now
    if isinstance(outcome, str):
        raise ParseError(document, outcome)
    return outcome  # type: ignore[no-any-return]


def _child(path: str, document: str, memory_mb: int) -> None:
    """In the child: cap the address space, read the table, write it (or the ParseError's reason) pickled to
    stdout."""
    import pickle
    import sys

    try:
        import resource

        limit = memory_mb * 1024 * 1024 + _mapped_bytes()  # on top of what the interpreter has mapped already
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on Linux: the child still keeps a crash away from the job
        pass
    try:
        outcome: Table | str = read_table(Path(path), document)
    except ParseError as exc:
        outcome = exc.reason
    except MemoryError:
        outcome = f"the spreadsheet needs more than {memory_mb} MiB to read (EUMEX_PARSE_MEMORY_MB)"
    except Exception as exc:  # noqa: BLE001 - any library failure on a hostile file is that file's failure
        outcome = f"unexpected error while reading the spreadsheet: {type(exc).__name__}: {exc}"
    sys.stdout.buffer.write(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.flush()


def _mapped_bytes() -> int:
    try:
        return int(Path("/proc/self/statm").read_text().split()[0]) * 4096
    except (OSError, ValueError, IndexError):
        return 0


def _read_sheet(path: Path, document: str) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError, IndexError) as exc:
        raise ParseError(document, f"unreadable spreadsheet: {exc}") from exc
    if not sheet:
        raise ParseError(document, "the spreadsheet has no rows")
    header = [str(h).strip() for h in sheet[0]]

    def cell(v: object) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return "" if v is None else str(v).strip()

    rows = [dict(zip(header, (cell(v) for v in row), strict=False)) for row in sheet[1:]]
    return Table(document, header, rows)


def _require(table: Table, columns: set[str]) -> None:
    missing = columns - set(table.header)
    if missing:
        raise ParseError(table.name, f"missing columns {sorted(missing)}; found {table.header[:12]}")


def _num(value: str) -> float | None:
    try:
        return float(value) if value not in {"", "NA", "."} else None
    except ValueError:
        return None


@dataclass
class Participation:
    project_id: str
    organisation: str
    short_name: str
    country_code: str
    country: str
    role: str
    activity_type: str
    contribution: float | None
    document: str
    row: int
    acronym: str = ""
    title: str = ""
    topic_code: str = ""
    topic_title: str = ""
    framework: str = ""
    funding_scheme: str = ""
    start_date: str = ""
    end_date: str = ""
    url: str = ""
    cells: dict[str, str] = field(default_factory=dict)  # the row as read: what partner quotes are checked against


def read_participations(table: Table) -> list[Participation]:
    """Participation rows of either schema (CORDIS+ merge, or Horizon Dashboard export)."""
    _require(table, {"project_id", "legal_name", "country_code", "partner_role"})
    out = []
    for i, r in enumerate(table.rows):
        contribution = _num(r.get("ec_contribution") or r.get("eu_contribution", ""))
        out.append(
            Participation(
                project_id=r["project_id"],
                organisation=r["legal_name"],
                short_name=r.get("legal_short_name", "") if r.get("legal_short_name") != "NA" else "",
                country_code=r["country_code"],
                country=r.get("country", ""),
                role=r["partner_role"].capitalize(),
                activity_type=r.get("legal_entity_type", ""),
                contribution=contribution,
                document=table.name,
                row=table.row_number(i),
                acronym=r.get("project_acronym", ""),
                title=r.get("project_title", ""),
                topic_code=r.get("topic_code", ""),
                topic_title=r.get("topic_description") or r.get("topic_descr", ""),
                framework=r.get("framework_programme", "") if r.get("framework_programme") != "NA" else "",
                funding_scheme=r.get("funding_scheme") or r.get("simplified_type_of_action", ""),
                start_date=r.get("start_date") or r.get("project_start_date", ""),
                end_date=r.get("end_date") or r.get("project_end_date", ""),
                url=r.get("cordis_link", ""),
                cells=r,
            )
        )
    return out


def read_topics(table: Table) -> dict[str, tuple[str, str]]:
    """Topic code -> (title, programme division)."""
    _require(table, {"CD_TOPIC", "LB_TOPIC_DESC"})
    return {r["CD_TOPIC"]: (r["LB_TOPIC_DESC"], r.get("LB_DIVISION_DESC", "")) for r in table.rows}


def topic_records(table: Table) -> list[Record]:
    """One record per call topic: code, title and the parts of the programme it belongs to."""
    _require(table, {"CD_TOPIC", "LB_TOPIC_DESC"})
    first_row: dict[str, int] = {}
    titles: dict[str, str] = {}
    divisions: dict[str, list[str]] = defaultdict(list)
    for i, r in enumerate(table.rows):
        code = r["CD_TOPIC"]
        if not code:
            continue
        first_row.setdefault(code, table.row_number(i))
        titles.setdefault(code, r["LB_TOPIC_DESC"])
        division = r.get("LB_DIVISION_DESC", "")
        if division and division not in divisions[code]:
            divisions[code].append(division)
    out = []
    for code, row in first_row.items():
        title, parts = titles[code], divisions[code]
        text = f"{title} | Programme part: {'; '.join(parts)}" if parts else title
        out.append(
            Record(
                document=table.name,
                locator=f"topic {code} ({Path(table.name).name}, row {row})",
                key=code,
                text=f"{text}\nH2020 call topic {code}: {title}.",
                fields={"topic_code": code, "topic_title": title, "division": "; ".join(parts), "heading": code},
            )
        )
    return out


def read_code_labels(table: Table) -> dict[str, dict[str, str]]:
    """CORDIS reference table (``code;title|name;...;language``) -> code -> {language: label}.

    Used for country names (English, Spanish and other languages), funding schemes and
    organisation activity types.
    """
    code_col = next((c for c in ("Code", "code", "euCode", "isoCode") if c in table.header), None)
    label_col = next((c for c in ("Title", "title", "name") if c in table.header), None)
    if code_col is None or label_col is None or "language" not in table.header:
        raise ParseError(table.name, f"expected code, title/name and language columns; found {table.header[:8]}")
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for r in table.rows:
        if r[code_col] and r[label_col]:
            out[r[code_col]].setdefault(r["language"] or "en", r[label_col])
    return dict(out)


def read_action_types(table: Table) -> dict[str, str]:
    """Type-of-action code -> label (e.g. RIA -> Research and Innovation action)."""
    _require(table, {"CD_ACTION_TYPE", "LB_ACTION_TYPE"})
    return {r["CD_ACTION_TYPE"]: r["LB_ACTION_TYPE"] for r in table.rows}


@dataclass
class Project:
    project_id: str
    acronym: str
    title: str
    topic_code: str
    topic_title: str
    division: str
    action_type: str
    contribution: float | None
    n_participations: str
    framework: str
    url: str
    document: str
    rows: list[int] = field(default_factory=list)
    start_date: str = ""
    end_date: str = ""
    participants: list[Participation] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)  # the source row (projects list) as read


def read_projects(table: Table) -> list[Project]:
    """Projects of the Horizon Dashboard export (one row each)."""
    _require(table, {"Project Nbr", "Project Acronym", "Project Title"})
    out = []
    for i, r in enumerate(table.rows):
        pid = r["Project Nbr"]
        if not pid:
            continue
        out.append(
            Project(
                project_id=pid,
                acronym=r["Project Acronym"],
                title=r["Project Title"],
                topic_code=r.get("Topic Code", ""),
                topic_title=r.get("Topic description", ""),
                division=r.get("Thema", ""),
                action_type=r.get("ToA", ""),
                contribution=_num(r.get("H2020 EU Contribution (EUR)", "")),
                n_participations=r.get("H2020 Participations", ""),
                framework="H2020",
                url=r.get("CORDIS link", "").replace("http://", "https://"),
                document=table.name,
                rows=[table.row_number(i)],
                cells=r,
            )
        )
    return out


def join_projects(
    projects: list[Project],
    participations: list[Participation],
    topics: dict[str, tuple[str, str]],
    action_types: dict[str, str],
) -> list[Project]:
    """Attach participants to projects; projects only known from participation files are added."""
    by_id = {p.project_id: p for p in projects}
    grouped: dict[str, list[Participation]] = defaultdict(list)
    for part in participations:
        grouped[part.project_id].append(part)
    for pid, parts in grouped.items():
        project = by_id.get(pid)
        if project is None:
            first = parts[0]
            topic_title, division = topics.get(first.topic_code, (first.topic_title, ""))
            project = Project(
                project_id=pid,
                acronym=first.acronym,
                title=first.title,
                topic_code=first.topic_code,
                topic_title=first.topic_title or topic_title,
                division=division,
                action_type=action_types.get(first.funding_scheme, first.funding_scheme),
                contribution=None,
                n_participations=str(len({p.organisation for p in parts})),
                framework=first.framework or "H2020",
                url=first.url or (f"https://cordis.europa.eu/project/id/{pid}" if pid.isdigit() else ""),
                document=first.document,
                rows=[p.row for p in parts],
                start_date=first.start_date,
                end_date=first.end_date,
            )
            by_id[pid] = project
            projects.append(project)
        seen = {(p.organisation, p.role) for p in project.participants}
        for part in parts:
            if (part.organisation, part.role) not in seen:
                project.participants.append(part)
                seen.add((part.organisation, part.role))
    for project in projects:
        if project.topic_code in topics and not project.topic_title:
            project.topic_title = topics[project.topic_code][0]
        if project.topic_code in topics and not project.division:
            project.division = topics[project.topic_code][1]
    return projects


def project_record(project: Project) -> Record:
    """The project as one focused text; its first line is what gets embedded."""
    first = f"{project.acronym} — {project.title}" if project.title else project.acronym
    if project.topic_title and project.topic_title != project.topic_code:
        first += f" | Topic: {project.topic_title}"
    lines = [
        first,
        f"{project.framework} project {project.project_id}. Topic code: {project.topic_code or 'not given'}."
        + (f" Programme part: {project.division}." if project.division else "")
        + (f" Type of action: {project.action_type}." if project.action_type else "")
        + (f" EU contribution: {euro(project.contribution)}." if project.contribution is not None else "")
        + (f" Participations: {project.n_participations}." if project.n_participations else ""),
    ]
    if project.participants:
        shown = sorted(project.participants, key=lambda p: (p.role != "Coordinator", p.organisation))
        names = [
            f"{p.organisation} ({p.country or p.country_code}, {p.role.lower()}"
            + (f", {euro(p.contribution)}" if p.contribution else "")
            + ")"
            for p in shown[:MAX_LISTED_PARTICIPANTS]
        ]
        more = len(shown) - MAX_LISTED_PARTICIPANTS
        lines.append("Participants: " + "; ".join(names) + (f"; and {more} more." if more > 0 else "."))
    def rows_of(rows: list[int]) -> str:
        rows = sorted(set(rows))
        if len(rows) == 1:
            return f"row {rows[0]}"
        if rows[-1] - rows[0] == len(rows) - 1:
            return f"rows {rows[0]}-{rows[-1]}"
        listed = ", ".join(map(str, rows[:5]))
        return f"rows {listed}" + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")

    locator = f"project {project.project_id} ({Path(project.document).name}, {rows_of(project.rows)}"
    by_file: dict[str, list[int]] = defaultdict(list)
    for part in project.participants:
        if part.document != project.document:
            by_file[part.document].append(part.row)
    for file, rows in sorted(by_file.items()):
        locator += f"; participants: {Path(file).name}, {rows_of(rows)}"
    locator += ")"
    return Record(
        document=project.document,
        locator=locator,
        key=project.project_id,
        text="\n".join(lines),
        fields={
            "project_id": project.project_id,
            "acronym": project.acronym,
            "title": project.title,
            "topic_code": project.topic_code,
            "topic_title": project.topic_title,
            "action_type": project.action_type,
            "eu_contribution": project.contribution,
            "framework": project.framework,
            "url": project.url,
            "participants": len(project.participants),
            "heading": f"{project.acronym} ({project.topic_code})" if project.topic_code else project.acronym,
        },
    )


def cordis_records(
    projects: list[Project],
    participations: list[Participation],
    topics: dict[str, tuple[str, str]],
    action_types: dict[str, str],
) -> Iterator[Record]:
    """Join everything and yield one record per project."""
    for project in join_projects(projects, participations, topics, action_types):
        yield project_record(project)


if __name__ == "__main__":  # the child of read_table_isolated
    import sys as _sys

    from ingestion import parse_cordis as _module  # noqa: PLW0406 - Table pickles under its importable name

    _module._child(_sys.argv[1], _sys.argv[2], int(_sys.argv[3]))
