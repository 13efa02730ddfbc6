"""CORDIS data: reading the real tables, joining them into project records, and refusing bad files."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from assistant.errors import ParseError
from assistant.types import Record
from ingestion import parse_cordis
from ingestion.parse_cordis import Participation, Table, read_table

PROJECTS_XLSX = "cordis/h2020-projects_dashboard-export.xlsx"
TOPICS_TXT = "cordis/h2020-topics_dataesr.txt"
ACTION_TYPES_TXT = "cordis/h2020-action-types_dataesr.txt"
COUNTRIES_CSV = "cordis/cordisref-countries.csv"
PARTICIPATIONS_2014 = "cordis/h2020-participations_start-year-2014_cordis-plus.csv"
PARTICIPATIONS_2022 = "cordis/h2020-participations_start-year-2022_cordis-plus.csv"
PARTICIPATIONS_2021 = "cordis/h2020-participations_dashboard-export-2021.csv"
PARTICIPATION_FILES = (PARTICIPATIONS_2014, PARTICIPATIONS_2022, PARTICIPATIONS_2021)


@pytest.fixture(scope="module")
def cordis_tables(corpus_dir: Path) -> dict[str, Table]:
    names = (PROJECTS_XLSX, TOPICS_TXT, ACTION_TYPES_TXT, *PARTICIPATION_FILES)
    return {name: read_table(corpus_dir / name, name) for name in names}


@pytest.fixture(scope="module")
def participations(cordis_tables: dict[str, Table]) -> list[Participation]:
    return [p for name in PARTICIPATION_FILES for p in parse_cordis.read_participations(cordis_tables[name])]


@pytest.fixture(scope="module")
def project_records(
    cordis_tables: dict[str, Table], participations: list[Participation]
) -> dict[str, Record]:
    records = parse_cordis.cordis_records(
        parse_cordis.read_projects(cordis_tables[PROJECTS_XLSX]),
        participations,
        parse_cordis.read_topics(cordis_tables[TOPICS_TXT]),
        parse_cordis.read_action_types(cordis_tables[ACTION_TYPES_TXT]),
    )
    by_key: dict[str, Record] = {}
    for record in records:
        assert record.key not in by_key, f"two records for project {record.key}"
        by_key[record.key] = record
    return by_key


@pytest.fixture(scope="module")
def projects_sheet(corpus_dir: Path) -> list[list[object]]:
    """The projects workbook read directly with calamine, as an independent check of row numbers."""
    sheet = CalamineWorkbook.from_path(str(corpus_dir / PROJECTS_XLSX)).get_sheet_by_index(0)
    return sheet.to_python(skip_empty_area=False)


def row_of(locator: str) -> int:
    match = re.search(r"\.(?:xlsx|txt|csv), row (\d+)[;)]", locator)
    assert match, f"no single row number in {locator!r}"
    return int(match.group(1))


# --- reading the real tables -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("GEANT-2016", "Research and Education Networking – GÉANT"),
        ("FCH-02.9-2015", "Large scale demonstration of µCHP fuel cells"),
        ("ICT-32-2018", "STARTS – The Arts stimulating innovation"),
        ("LCE-23-2016", "International Cooperation with Mexico on geothermal energy"),
    ],
)
def test_latin1_topic_file_decodes_accents(cordis_tables: dict[str, Table], code: str, title: str) -> None:
    table = cordis_tables[TOPICS_TXT]
    assert table.header == ["CD_TOPIC", "LB_TOPIC_DESC", "CD_DIVISION", "LB_DIVISION_DESC"]
    assert [r["LB_TOPIC_DESC"] for r in table.rows if r["CD_TOPIC"] == code] == [title]


def test_topic_file_has_every_topic(cordis_tables: dict[str, Table]) -> None:
    table = cordis_tables[TOPICS_TXT]
    assert len(table.rows) == 3112
    assert not any("\ufffd" in value or "Ã" in value for row in table.rows for value in row.values())


def test_utf8_bom_file_header_and_accents(corpus_dir: Path) -> None:
    table = read_table(corpus_dir / COUNTRIES_CSV, COUNTRIES_CSV)
    assert table.header == ["euCode", "isoCode", "name", "language"]
    assert {"isoCode": "MX", "name": "México", "language": "es", "euCode": "MX"} in table.rows


@pytest.mark.parametrize(
    ("name", "n_rows", "columns"),
    [
        (
            PARTICIPATIONS_2014,
            12584,
            {"project_id", "legal_name", "country_code", "partner_role", "ec_contribution"},
        ),
        (
            PARTICIPATIONS_2022,
            2023,
            {"project_id", "legal_name", "country_code", "partner_role", "ec_contribution"},
        ),
        (
            PARTICIPATIONS_2021,
            2570,
            {"project_id", "legal_name", "country_code", "partner_role", "eu_contribution"},
        ),
        (PROJECTS_XLSX, 35381, {"Project Nbr", "Project Acronym", "Project Title", "Topic Code", "ToA"}),
        (ACTION_TYPES_TXT, 78, {"CD_ACTION_TYPE", "LB_ACTION_TYPE"}),
    ],
)
def test_real_table_shape(cordis_tables: dict[str, Table], name: str, n_rows: int, columns: set[str]) -> None:
    table = cordis_tables[name]
    assert len(table.rows) == n_rows
    assert columns <= set(table.header)
    assert all(set(row) == set(table.header) for row in table.rows[:50])


def test_csv_participation_row_number_is_the_file_line(
    corpus_dir: Path, participations: list[Participation]
) -> None:
    (udg,) = [p for p in participations if p.organisation == "UNIVERSIDAD DE GUADALAJARA"]
    assert (udg.document, udg.row, udg.project_id, udg.country_code) == (
        PARTICIPATIONS_2022,
        34,
        "101019318",
        "MX",
    )
    line = (corpus_dir / udg.document).read_text(encoding="utf-8").splitlines()[udg.row - 1]
    assert line.startswith("101019318,")
    assert "UNIVERSIDAD DE GUADALAJARA" in line


def test_xlsx_numbers_are_plain_integers(cordis_tables: dict[str, Table]) -> None:
    (row,) = [r for r in cordis_tables[PROJECTS_XLSX].rows if r["Project Acronym"] == "BELLA-S1"]
    assert row["Project Nbr"] == "731505"
    assert row["H2020 Participations"] == "42"
    assert row["H2020 EU Contribution (EUR)"] == "10000000"


# --- project records -----------------------------------------------------------------------------


def test_bella_s1_record_and_locator(
    project_records: dict[str, Record], projects_sheet: list[list[object]]
) -> None:
    record = project_records["731505"]
    assert record.text.startswith("BELLA-S1 — BELLA-S1 Building Europe Link with Latin America")
    assert "731505" in record.locator
    assert "h2020-projects_dashboard-export.xlsx" in record.locator
    assert record.locator == "project 731505 (h2020-projects_dashboard-export.xlsx, row 721)"
    assert record.fields["acronym"] == "BELLA-S1"
    assert record.fields["url"] == "https://cordis.europa.eu/project/id/731505"


@pytest.mark.parametrize("project_id", ["633053", "731505", "727550", "101019318"])
def test_xlsx_locator_row_holds_the_project(
    project_records: dict[str, Record], projects_sheet: list[list[object]], project_id: str
) -> None:
    record = project_records[project_id]
    assert PROJECTS_XLSX.split("/")[1] in record.locator
    row = projects_sheet[row_of(record.locator) - 1]
    column = projects_sheet[0].index("Project Nbr")
    assert str(row[column]) in {project_id, f"{project_id}.0"}
    assert str(row[projects_sheet[0].index("Project Acronym")]) == record.fields["acronym"]


def test_mexican_participants_are_named_in_their_project(
    participations: list[Participation], project_records: dict[str, Record]
) -> None:
    mexican = [p for p in participations if p.country_code == "MX"]
    assert {p.organisation for p in mexican} >= {"UNIVERSIDAD DE GUADALAJARA"}
    for part in mexican:
        lines = project_records[part.project_id].text.split("\n")
        (participants,) = [line for line in lines if line.startswith("Participants: ")]
        assert f"{part.organisation} (" in participants, (part.project_id, part.organisation)


def test_regfut_lists_universidad_de_guadalajara(project_records: dict[str, Record]) -> None:
    record = project_records["101019318"]
    assert record.fields["acronym"] == "REGFUT"
    assert "UNIVERSIDAD DE GUADALAJARA (Mexico, participant" in record.text
    assert record.fields["participants"] == 4


def test_project_known_only_from_participations_has_row_range(
    corpus_dir: Path, project_records: dict[str, Record]
) -> None:
    record = project_records["611517"]  # CONECTA 2020 (FP7): not in the H2020 projects export
    assert record.fields["acronym"] == "CONECTA 2020"
    match = re.search(
        r"h2020-participations_start-year-2014_cordis-plus\.csv, rows (\d+)-(\d+)\)", record.locator
    )
    assert match, record.locator
    first, last = int(match.group(1)), int(match.group(2))
    lines = (corpus_dir / PARTICIPATIONS_2014).read_text(encoding="utf-8").splitlines()
    assert lines[first - 1].startswith("611517,")
    assert lines[last - 1].startswith("611517,")
    assert "INSTITUTO TECNOLOGICO Y DE ESTUDIOS SUPERIORES DE MONTERREY" in record.text


def test_topic_record_for_mexico_geothermal_call(corpus_dir: Path, cordis_tables: dict[str, Table]) -> None:
    records = {r.key: r for r in parse_cordis.topic_records(cordis_tables[TOPICS_TXT])}
    record = records["LCE-23-2016"]
    assert record.text.startswith("International Cooperation with Mexico on geothermal energy")
    assert (
        "H2020 call topic LCE-23-2016: International Cooperation with Mexico on geothermal energy."
        in record.text
    )
    assert record.fields["topic_title"] == "International Cooperation with Mexico on geothermal energy"
    assert record.locator.startswith("topic LCE-23-2016 (h2020-topics_dataesr.txt, row ")
    line = (corpus_dir / TOPICS_TXT).read_bytes().decode("cp1252").splitlines()[row_of(record.locator) - 1]
    assert line.startswith('"LCE-23-2016";')


# --- generated files -----------------------------------------------------------------------------


def test_generated_latin1_semicolon_file_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "topics.txt"
    title = "Cooperación científica con México: año de la innovación"
    path.write_bytes(f'"CD_TOPIC";"LB_TOPIC_DESC"\n"MX-01-2020";"{title}"\n'.encode("latin-1"))
    table = read_table(path, "topics.txt")
    assert table.header == ["CD_TOPIC", "LB_TOPIC_DESC"]
    assert table.rows == [{"CD_TOPIC": "MX-01-2020", "LB_TOPIC_DESC": title}]


@pytest.mark.parametrize(
    ("delimiter", "encoding"), [(",", "utf-8"), (";", "utf-8-sig"), ("\t", "cp1252"), (";", "latin-1")]
)
def test_generated_table_delimiters_and_encodings(tmp_path: Path, delimiter: str, encoding: str) -> None:
    header = ["project_id", "legal_name", "country_code", "partner_role"]
    row = ["101019318", "Universidad Autónoma de México, Señal Ü", "MX", "participant"]
    if delimiter == ",":
        row[1] = f'"{row[1]}"'
    path = tmp_path / "participations.csv"
    path.write_bytes(f"{delimiter.join(header)}\n{delimiter.join(row)}\n".encode(encoding))
    (part,) = parse_cordis.read_participations(read_table(path, "participations.csv"))
    assert part.organisation == "Universidad Autónoma de México, Señal Ü"
    assert (part.country_code, part.role, part.row) == ("MX", "Participant", 2)


def _random_bytes_xlsx(path: Path) -> None:
    path.write_bytes(random.Random(20240601).randbytes(4096))


def _zip_header_only_xlsx(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)


def _empty_csv(path: Path) -> None:
    path.write_bytes(b"")


def _one_column_text(path: Path) -> None:
    path.write_text("This is a note and not a table\nsecond line\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "write", "keyword"),
    [
        ("projects.xlsx", _random_bytes_xlsx, "unreadable spreadsheet"),
        ("projects.xlsx", _zip_header_only_xlsx, "unreadable spreadsheet"),
        ("participations.csv", _empty_csv, "empty"),
        ("projects.xlsx", _empty_csv, "empty"),
        ("topics.txt", _one_column_text, "no delimiter"),
    ],
)
def test_broken_file_raises_parse_error(
    tmp_path: Path, name: str, write: Callable[[Path], None], keyword: str
) -> None:
    path = tmp_path / name
    write(path)
    with pytest.raises(ParseError) as caught:
        read_table(path, f"cordis/{name}")
    assert keyword in caught.value.reason
    assert caught.value.document == f"cordis/{name}"


def test_missing_file_raises_parse_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="not found"):
        read_table(tmp_path / "nowhere.csv", "cordis/nowhere.csv")


@pytest.mark.parametrize(
    ("reader", "header", "missing"),
    [
        (parse_cordis.read_participations, ["project_id", "legal_name"], ["country_code", "partner_role"]),
        (parse_cordis.read_topics, ["CD_TOPIC", "TITLE"], ["LB_TOPIC_DESC"]),
        (parse_cordis.topic_records, ["code", "title"], ["CD_TOPIC", "LB_TOPIC_DESC"]),
        (parse_cordis.read_action_types, ["CD_ACTION_TYPE", "level"], ["LB_ACTION_TYPE"]),
        (
            parse_cordis.read_projects,
            ["Project Nbr", "Acronym", "Title"],
            ["Project Acronym", "Project Title"],
        ),
    ],
)
def test_table_missing_required_columns_names_them(
    tmp_path: Path, reader: Callable[[Table], object], header: list[str], missing: list[str]
) -> None:
    path = tmp_path / "table.csv"
    path.write_text(";".join(header) + "\n" + ";".join("x" for _ in header) + "\n", encoding="utf-8")
    with pytest.raises(ParseError) as caught:
        reader(read_table(path, "cordis/table.csv"))
    assert f"missing columns {missing}" in caught.value.reason
    assert caught.value.document == "cordis/table.csv"


def test_row_numbers_survive_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "participations.csv"
    path.write_text(
        "project_id;legal_name;country_code;partner_role\n"
        "1;UNIVERSIDAD AUTONOMA;MX;coordinator\n"
        "\n"
        "2;INSTITUT X;ES;participant\n",
        encoding="utf-8",
    )
    parts = parse_cordis.read_participations(read_table(path, "participations.csv"))
    assert [(p.organisation, p.row) for p in parts] == [("UNIVERSIDAD AUTONOMA", 2), ("INSTITUT X", 4)]
