"""Partner search on the real CORDIS files: questions in English and Spanish, filters, coverage,
and every cited dataset row checked against the file it names."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest

from assistant.answer import Assistant
from bots.web.app import create_app
from assistant.citations import row_quote, row_quote_verified
from assistant.types import Answer
from assistant.partners.search import PartnerSearch
from assistant.question import is_partner_question, needs_rules_too
from ingestion.parse_cordis import read_table
from tests.support import run_cli

PARTICIPATION_FILES = (
    "cordis/h2020-participations_start-year-2014_cordis-plus.csv",
    "cordis/h2020-participations_start-year-2022_cordis-plus.csv",
    "cordis/h2020-participations_dashboard-export-2021.csv",
)
PROJECTS_FILE = "cordis/h2020-projects_dashboard-export.xlsx"


@pytest.fixture(scope="session")
def partners(assistant: Assistant) -> PartnerSearch:
    assert assistant.partner_search is not None, "the full index must have the partner tables"
    return assistant.partner_search


def raw_line(corpus_dir: Path, document: str, row: int) -> str:
    """The text of the file at `row` (CSV line number as the parser counts them)."""
    text = (corpus_dir / document).read_bytes().decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if text.count(";") > text.count(",") else ",")
    for fields in reader:
        if reader.line_num == row:
            return " ".join(fields)
    raise AssertionError(f"{document} has no row {row}")


def assert_citations_verified(answer: Answer, partners: PartnerSearch, corpus_dir: Path) -> None:
    """Every partner citation: a dataset row whose cells hold the quote, and the file's row holds the cells."""
    assert answer.citations
    for c in answer.citations:
        if c.page is not None:
            continue  # a document citation (rules part)
        assert c.locator and c.url and c.url.startswith("https://cordis.europa.eu/project/id/")
        row = int(c.locator.rsplit("row ", 1)[1].rstrip(")"))
        if c.document.endswith(".csv"):
            line = raw_line(corpus_dir, c.document, row)
            for part in c.quote.split(" | "):
                assert part.split(": ", 1)[1] in line, (c.quote, line)
        else:
            project_id = c.locator.split()[1]
            table = read_table(corpus_dir / c.document, c.document)
            assert table.rows[row - 2]["Project Nbr"] == project_id
            assert row_quote_verified(table.rows[row - 2], c.quote)
        assert f"[{c.n}]" in answer.answer


# --- questions --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("What was BELLA-S1's EU contribution?", "en"),
        ("¿Cuánto recibió de la UE el proyecto BELLA-S1?", "es"),
    ],
)
def test_bella_s1_from_english_and_spanish(assistant: Assistant, partners: PartnerSearch, corpus_dir: Path,
                                           question: str, lang: str) -> None:
    answer = assistant.ask(question)
    assert answer.mode == "partners" and answer.language == lang and not answer.abstained
    first = answer.citations[0]
    assert "731505" in first.locator and "BELLA-S1" in first.quote
    assert "H2020 EU Contribution (EUR): 10000000" in first.quote
    assert "10,000,000" in answer.answer
    assert ("contribución de la UE" if lang == "es" else "EU contribution") in answer.answer
    assert_citations_verified(answer, partners, corpus_dir)


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Which H2020 projects built Zika research networks with Latin American partners?", "en"),
        ("¿Qué proyectos trabajaron en redes de investigación sobre el virus del Zika con socios latinoamericanos?", "es"),
    ],
)
def test_zika_networks_from_english_and_spanish(assistant: Assistant, partners: PartnerSearch, corpus_dir: Path,
                                                question: str, lang: str) -> None:
    answer = assistant.ask(question)
    assert answer.mode == "partners" and answer.language == lang
    top = answer.answer.split("\n\n")[0]
    assert "ZIKAlliance" in top and "ZikaPLAN" in top
    assert {"734548", "734584"} <= {c.locator.split()[1] for c in answer.citations}
    assert_citations_verified(answer, partners, corpus_dir)


def test_geothermal_with_mexico_in_spanish_puts_gemex_first(assistant: Assistant) -> None:
    answer = assistant.ask("¿Qué proyectos H2020 trabajaron en energía geotérmica con México?")
    assert answer.mode == "partners" and answer.language == "es"
    assert answer.answer.split("\n")[1].startswith("1. GEMex")
    assert "Qué cubren los datos" in answer.answer


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Which Mexican organisations took part in aquaculture projects?", "en"),
        ("¿Qué organizaciones mexicanas participaron en proyectos sobre acuicultura?", "es"),
    ],
)
def test_a_spanish_subject_word_finds_the_english_titles(partners: PartnerSearch, question: str, lang: str) -> None:
    """The glossary gives "acuicultura" its English word; before, the Spanish question listed gender-equality
    projects that merely had a Mexican participant."""
    result = partners.search(question)
    shown = result.projects[:10]
    assert len(shown) >= 5
    assert all("aquacult" in f"{m.project.title} {m.project.topic_title}".lower() for m in shown), [
        m.project.title for m in shown
    ]


def test_projects_about_none_of_the_subject_are_not_listed(assistant: Assistant) -> None:
    """No project is about "lombricultura". Before, the Mexican participants of projects whose topic
    title says "organisations" were listed: the word was taken for a match of an organisation named in
    the question, and the country's participants lifted them."""
    answer = assistant.ask("¿Qué organizaciones mexicanas participaron en proyectos sobre lombricultura?")
    assert answer.mode == "partners" and answer.language == "es"
    assert answer.abstained and not answer.citations, answer.answer
    assert "No encontré ningún proyecto" in answer.answer


def test_every_mexican_participant_is_found_by_the_country_filter(partners: PartnerSearch, corpus_dir: Path) -> None:
    expected = set()
    for document in PARTICIPATION_FILES:
        table = read_table(corpus_dir / document, document)
        expected |= {(r["legal_name"], r["project_id"]) for r in table.rows if r["country_code"] == "MX"}
    assert len(expected) >= 4  # UNAM, ITESM, QoS Labs, Universidad de Guadalajara
    result = partners.search("", countries=("MX",), limit=200)
    found = {(o.name, p.project_id) for o in result.organisations for _, p in o.participations}
    assert found == expected
    assert all(o.country_code == "MX" for o in result.organisations)


def test_mexican_organisations_question_lists_them_with_coverage(assistant: Assistant, partners: PartnerSearch,
                                                                  corpus_dir: Path) -> None:
    answer = assistant.ask("Which Mexican organisations took part in H2020 projects?")
    for name in ("UNIVERSIDAD DE GUADALAJARA", "UNIVERSIDAD NACIONAL AUTONOMA DE MEXICO",
                 "INSTITUTO TECNOLOGICO Y DE ESTUDIOS SUPERIORES DE MONTERREY"):
        assert name in answer.answer
    # honest coverage: how many projects have participants, and that counts are not complete
    assert "not complete" in answer.answer and "4,354" not in answer.answer.split("What the data covers")[0]
    assert "projects starting 2014" in answer.answer
    assert_citations_verified(answer, partners, corpus_dir)


def test_tec_de_monterrey_in_spanish(assistant: Assistant) -> None:
    answer = assistant.ask("¿El Tec de Monterrey aparece como participante en algún proyecto europeo en los datos de CORDIS?")
    organisations = answer.answer.split("Organizaciones")[1]
    assert organisations.split("\n")[1].startswith("- INSTITUTO TECNOLOGICO Y DE ESTUDIOS SUPERIORES DE MONTERREY")
    assert "CONECTA 2020" in answer.answer


# --- filters ------------------------------------------------------------------------------------------
def test_topic_filter_returns_every_project_of_the_topic(partners: PartnerSearch, corpus_dir: Path) -> None:
    table = read_table(corpus_dir / PROJECTS_FILE, PROJECTS_FILE)
    expected = {r["Project Nbr"] for r in table.rows if r["Topic Code"] == "SC5-13-2018-2019"}
    result = partners.search("Who coordinated projects under topic SC5-13-2018-2019?", limit=200)
    assert result.filters.topic == "SC5-13-2018-2019" and result.filters.role == "Coordinator"
    assert {m.project.project_id for m in result.projects} == expected
    assert all(m.project.topic_code == "SC5-13-2018-2019" for m in result.projects)


def test_action_filter_keeps_only_that_type_of_action(partners: PartnerSearch) -> None:
    result = partners.search("Find European partners with experience in agri-food ERA-NETs", limit=50)
    assert result.filters.action == "ERA-NET" and result.projects
    assert all("ERA-NET" in m.project.action_type for m in result.projects)
    acronyms = {m.project.acronym for m in result.projects}
    assert "ICT-AGRI-FOOD" in acronyms


def test_country_filter_with_a_subject_is_strict(partners: PartnerSearch) -> None:
    result = partners.search("solar energy", countries=("ES",), limit=50)
    assert result.projects
    for m in result.projects:
        assert any(p.country_code == "ES" for p in m.participants)
    assert all(o.country_code == "ES" for o in result.organisations)


def test_unknown_topic_code_says_there_are_no_records(assistant: Assistant) -> None:
    answer = assistant.ask("Who coordinated projects under topic XYZ-99-2099?")
    assert answer.abstained and not answer.citations
    assert "no records for the topic code XYZ-99-2099" in answer.answer
    es = assistant.ask("¿Quién coordinó proyectos del tema XYZ-99-2099?")
    assert es.abstained and "No hay registros del código de tema XYZ-99-2099" in es.answer


# --- routing ------------------------------------------------------------------------------------------
def test_routing_separates_rules_and_partners(assistant: Assistant) -> None:
    assert is_partner_question("Which Mexican organisations took part in H2020 projects?")
    assert not is_partner_question("What is the threshold for individual evaluation criteria?")
    assert needs_rules_too("Can Mexican universities receive EU funding, and which organisations took part?")
    answer = assistant.ask("Are Mexican entities eligible for funding, and which Mexican organisations took part in projects?")
    assert answer.mode == "rules+partners"
    rules, partners_part = answer.answer.split("\n\nPartners (CORDIS data):\n")
    assert rules.startswith("Rules (documents):")
    numbers = [c.n for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    assert "UNIVERSIDAD DE GUADALAJARA" in partners_part


@pytest.mark.parametrize(
    "question",
    [
        # a rules question that mentions projects, the EU contribution or who coordinates something
        "Several topics suggest coordinating with other projects funded under the same topic: is that time eligible?",
        "What was the maximum EU contribution for the 2018 aquaculture topic?",
        "Which projects had to include a clustering task with projects of RUR-09-2018?",
        "¿Qué proyectos deben someterse a una evaluación por pares según la ley?",
        "¿Quién coordina el Órgano Interno Consultivo y qué perfil debe tener?",
        "¿Cuál era la contribución de la UE máxima por propuesta en ese tema?",
    ],
)
def test_a_question_about_what_a_text_says_is_not_a_partner_question(question: str) -> None:
    assert not is_partner_question(question)


@pytest.mark.parametrize(
    "question",
    [
        "What projects were funded under SFS-33-2018?",
        "Which projects on aquaculture had Mexican participants?",
        "¿Qué proyectos sobre el virus del Zika hay?",
        "¿Quién coordinó el proyecto sobre geotermia con México?",
        "¿Cuál fue la contribución de la UE al proyecto 828947?",
    ],
)
def test_a_question_about_the_projects_data_is_a_partner_question(assistant: Assistant, question: str) -> None:
    assert is_partner_question(question, assistant.partner_search.tables)


def test_a_rules_question_that_mentions_projects_is_answered_from_the_documents(assistant: Assistant) -> None:
    answer = assistant.ask(
        "In the 2016-2017 work programme, some topics ask proposals to coordinate with other projects funded "
        "under the same topic. Is the time spent on that coordination eligible?"
    )
    assert answer.mode == "extractive" and not answer.abstained
    assert answer.citations and all(c.page is not None for c in answer.citations)


# --- the quote check itself ----------------------------------------------------------------------------
def test_row_quote_verification_rejects_a_changed_cell() -> None:
    cells = {"legal_name": "UNIVERSIDAD DE GUADALAJARA", "country_code": "MX", "ec_contribution": "159690"}
    quote = row_quote(cells, ("legal_name", "country_code", "ec_contribution"))
    assert quote == "legal_name: UNIVERSIDAD DE GUADALAJARA | country_code: MX | ec_contribution: 159690"
    assert row_quote_verified(cells, quote)
    assert not row_quote_verified(cells, quote.replace("159690", "1596900"))
    assert not row_quote_verified(cells, quote + " | role: coordinator")
    assert not row_quote_verified(cells, "")


# --- channels ------------------------------------------------------------------------------------------
def test_cli_partners_json(full_index) -> None:  # type: ignore[no-untyped-def]
    env, _ = full_index
    result = run_cli(["partners", "--country", "MX", "--json"], env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    names = {o["name"] for o in data["organisations"]}
    assert "UNIVERSIDAD DE GUADALAJARA" in names
    assert data["filters"]["countries"] == ["MX"]
    assert "not complete" in data["coverage"]["note"]
    assert all(c["locator"] and c["page"] is None for c in data["citations"])
    usage = run_cli(["partners"], env)
    assert usage.returncode == 2 and "--country" in usage.stderr


@pytest.mark.asyncio
async def test_api_partners(assistant: Assistant, full_settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(full_settings.model_copy(update={"rate_limit_per_minute": 10_000}), assistant=assistant)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://eumex.test") as client:
        r = await client.get("/api/partners", params={"q": "zika", "country": "BR", "lang": "es"})
        assert r.status_code == 200, r.text
        data = r.json()
        assert all(o["country"] == "BR" for o in data["organisations"])
        assert "Qué cubren los datos" in data["coverage"]["note"]
        r = await client.get("/api/partners", params={"topic": "NOPE-1-2020"})
        assert r.status_code == 200 and r.json()["unknown_topic"] is True
        r = await client.get("/api/partners")
        assert r.status_code == 422


def test_a_named_project_survives_an_implied_filter(assistant: Assistant) -> None:
    # "ERC" implies a type-of-action filter; REGFUT (ERC-2020-ADG, "Advanced Grant") is named: it stays
    answer = assistant.ask("¿Qué institución mexicana participa en el proyecto ERC REGFUT y cuánto recibe?")
    assert not answer.abstained and answer.mode == "partners"
    assert "- UNIVERSIDAD DE GUADALAJARA (México): REGFUT (participante, EUR 159,690)" in answer.answer


def test_partner_answers_carry_the_project_records_as_contexts(assistant: Assistant) -> None:
    answer = assistant.ask("What was BELLA-S1's EU contribution?")
    assert answer.contexts and answer.contexts[0].chunk.locator.startswith("project 731505 (")
    hits = assistant.retrieve("Which Mexican organisations took part in H2020 projects?")
    assert {h.chunk.locator.split()[1] for h in hits} == {"101019318", "609837", "611517"}
    assert all(h.chunk.collection == "projects" for h in hits)


def test_project_records_are_found_by_their_exact_id(assistant: Assistant) -> None:
    """A project's record is looked up by its locator's start through an index (GLOB): the id is matched
    literally, so a wildcard in it finds nothing, and one project's id does not find another's."""
    catalog = assistant.index.catalog
    found = catalog.project_chunks(["633053", "807097", "63305*", "8070?7", "80709"])
    assert sorted(found) == ["633053", "807097"]
    assert found["633053"].locator.startswith("project 633053 (h2020-projects_dashboard-export.xlsx, row 2")


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("¿Qué proyectos de CORDIS tienen participantes de la UNAM?", "es"),
        ("Which projects in the CORDIS data has UNAM taken part in?", "en"),
    ],
)
def test_an_organisation_named_by_its_acronym(assistant: Assistant, partners: PartnerSearch, corpus_dir: Path,
                                              question: str, lang: str) -> None:
    """"UNAM" is an organisation's short name: its projects are found through its participation rows and it
    is listed (and cited) first, not projects whose titles merely contain the letters (TSuNAMI, DUNAMICS) nor
    the organisations whose short names start with them (UNAMUR, the University of Namur)."""
    expected = set()
    for document in PARTICIPATION_FILES:
        table = read_table(corpus_dir / document, document)
        expected |= {r["project_id"] for r in table.rows if r.get("legal_short_name", "").upper() == "UNAM"}
    assert expected
    answer = assistant.ask(question)
    assert answer.mode == "partners" and answer.language == lang
    projects = {c.locator.split()[1] for c in answer.citations if c.locator and c.n <= len(expected)}
    assert projects == expected, answer.answer
    assert "TSuNAMI" not in answer.answer and "NAMUR" not in answer.answer
    organisations = answer.answer.split("\n\n")[1].split("\n")
    assert organisations[1].startswith("- UNIVERSIDAD NACIONAL AUTONOMA DE MEXICO"), organisations[:3]
    assert_citations_verified(answer, partners, corpus_dir)
