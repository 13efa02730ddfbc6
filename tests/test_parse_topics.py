"""Topic records from the real Horizon Europe 2026-2027 work programmes (PDFium page text).

The sample values below were read by hand from the printed pages (overview tables and topic
conditions), not from this parser's output.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from assistant.types import CallTopic as Topic
from ingestion.parse_topics import _parse_values, normalise, parse_topics

FOLDER = "horizon_europe_work_programmes"
DOCUMENTS = {
    "2": "wp-2-marie-sklodowska-curie-actions_horizon-2026-2027_en.pdf",
    "3": "wp-3-research-infrastructures_horizon-2026-2027_en.pdf",
    "4": "wp-4-health_horizon-2026-2027_en.pdf",
    "5": "wp-5-culture-creativity-and-inclusive-society_horizon-2026-2027_en.pdf",
    "6": "wp-6-civil-security-for-society_horizon-2026-2027_en.pdf",
    "7": "wp-7-digital-industry-and-space_horizon-2026-2027_en.pdf",
    "8": "wp-8-climate-energy-and-mobility_horizon-2026-2027_en.pdf",
    "9": "wp-9-food-bioeconomy-natural-resources-agriculture-and-environment_horizon-2026-2027_en.pdf",
    "10": "wp-10-european-innovation-ecosystems_horizon-2026-2027_en.pdf",
    "11": "wp-11-widening-participation-and-strengthening-the-european-research-area_horizon-2026-2027_en.pdf",
    "12": "wp-12-missions_horizon-2026-2027_en.pdf",
    "ERC": "wp_horizon-erc-2026_en.pdf",
}
# Topics per part: the headings followed by "Call:" / "Specific conditions" / "Expected Outcome:"
# (counted by hand with grep on the page text), ERC: the columns of its two call tables.
EXPECTED_COUNTS = {
    "2": 10, "3": 22, "4": 38, "5": 54, "6": 45, "7": 78, "8": 94, "9": 108, "10": 5, "11": 23, "12": 56, "ERC": 7,
}  # fmt: skip

CODE_AT_LINE_START = re.compile(r"(?m)^(HORIZON(?:-(?:[ \t]*\n[ \t]*)?[A-Za-z0-9]+)+)[ \t]*:")


def pdfium_pages(path: Path) -> list[tuple[int, str]]:
    """(1-based page number, text) for every page, as the project's PDFium parser reads them."""
    document = pdfium.PdfDocument(str(path))
    try:
        return [
            (i + 1, document[i].get_textpage().get_text_range().replace("\r\n", "\n"))
            for i in range(len(document))
        ]
    finally:
        document.close()


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> dict[str, tuple[list[tuple[int, str]], list[Topic]]]:
    """Every work programme part read once: part -> (pages, topics)."""
    out = {}
    for part, name in DOCUMENTS.items():
        pages = pdfium_pages(corpus_dir / FOLDER / name)
        out[part] = (pages, parse_topics(f"{FOLDER}/{name}", pages))
    return out


def by_code(corpus: dict, code: str) -> Topic:
    found = [t for _, topics in corpus.values() for t in topics if t.code == code]
    assert len(found) == 1, (code, len(found))
    return found[0]


M = 1e6
SAMPLE = [
    # code, title (start), part, call_id, type (short), opening, deadlines, stages, budget, contribution, projects
    (
        "HORIZON-CL6-2026-01-BIODIV-01", "Understanding and tackling the decline of insects", "9",
        "HORIZON-CL6-2026-01", "RIA", "2026-04-17", ("2026-09-17",), (None,), 13.00 * M, (6.50 * M, 6.50 * M), 2,
    ),
    (
        # the overview row's code breaks across a page: "…-CIRCBIO-01-two-" / "stage: Deploying …"
        "HORIZON-CL6-2027-01-CIRCBIO-01-two-stage", "Deploying circular systemic solutions through living labs", "9",
        "HORIZON-CL6-2027-01-two-stage", "IA", "2027-02-04", ("2027-04-08", "2027-09-16"),
        ("First Stage", "Second Stage"), 10.00 * M, (5.00 * M, 5.00 * M), 2,
    ),
    (
        # two sub-schemes: EUR 339.19 million (European) + 59.86 million (Global Fellowships)
        "HORIZON-MSCA-2026-PF-01-01", "MSCA Postdoctoral Fellowships 2026", "2",
        "HORIZON-MSCA-2026-PF-01", "MSCA-PF", "2026-04-09", ("2026-09-09",), (None,), 399.05 * M, (None, None), None,
    ),
    (
        "HORIZON-MSCA-2027-CITIZENS-01-01", "MSCA and Citizens 2027", "2",
        "HORIZON-MSCA-2027-CITIZENS-01", "CSA", "2027-03-09", ("2027-06-08",), (None,), 15.71 * M,
        (0.10 * M, 0.35 * M), 50,
    ),
    (
        "HORIZON-INFRA-2026-DEV-01-01", "Research infrastructure concept development including major upgrades", "3",
        "HORIZON-INFRA-2026-01", "RIA", "2026-03-10", ("2026-06-16",), (None,), 10.00 * M, (2.00 * M, 3.00 * M), 4,
    ),
    (
        # the overview row breaks across pages 15-16: "RIA 38.00 Around 4" / "health and care systems 10.00"
        "HORIZON-HLTH-2026-01-CARE-03", "Identifying and addressing low-value care in health and care systems", "4",
        "HORIZON-HLTH-2026-01", "RIA", "2026-02-10", ("2026-04-16",), (None,), 38.00 * M, (10.00 * M, 10.00 * M), 4,
    ),
    (
        "HORIZON-CL2-2027-02-TRANSFO-09-two-stage", "Improving socio-economic outcomes for persons with dementia",
        "5", "HORIZON-CL2-2027-02-TWO-STAGE", "RIA", "2027-03-02", ("2027-05-04", "2027-09-30"),
        ("First Stage", "Second Stage"), 16.00 * M, (3.20 * M, 3.20 * M), 5,
    ),
    (
        # ECCC table: "RIA 20 3-4 4-5", dates with full month names, no "Call:" line
        "HORIZON-CL3-2026-02-CS-ECCC-01", "Approaches and tools for security in software and hardware", "6",
        "HORIZON-CL3-2026-02-CS-ECCC", "RIA", "2026-03-03", ("2026-09-15",), (None,), 20 * M, (3 * M, 4 * M), 4,
    ),
    (
        # the call (HORIZON-CL4-2026-03) is not a prefix of the topic code
        "HORIZON-CL4-2026-SPACE-03-11", "Reinforcing EU autonomous access to space through EU-based spaceports", "7",
        "HORIZON-CL4-2026-03", "IA", "2026-03-10", ("2026-09-03",), (None,), 22.59 * M, (10.00 * M, 15.00 * M), 2,
    ),
    (
        # the topic text says "between EUR 0.80 and 1.00 million" (its table row: "0.80 to 0.98")
        "HORIZON-2027-EUSPA-SPACE-51", "Galileo and Copernicus contribution to the EU Preparedness Union Strategy",
        "7", "HORIZON-CL4-2027-EUSPA-SPACE", "IA", "2026-10-14", ("2027-02-17",), (None,), 0.98 * M,
        (0.80 * M, 1.00 * M), 1,
    ),
    (
        "HORIZON-CL5-2027-02-D3-10", "Renewable Energy Valleys in Africa to increase energy security", "8",
        "HORIZON-CL5-2027-02", "IA", "2026-12-03", ("2027-03-31",), (None,), 9.00 * M, (4.50 * M, 4.50 * M), 2,
    ),
    (
        "HORIZON-EIE-2026-02-CONNECT-01", "European Startup and Scaleup Hubs pilot", "10",
        "HORIZON-EIE-2026-02", "COFUND", "2025-12-11", ("2026-03-10",), (None,), 20.00 * M, (20.00 * M, 20.00 * M), 1,
    ),
    (
        # budgets in two year columns: 223.00 (2026) + 41.50 (2027) = EUR 264.50 million in the topic text
        "HORIZON-WIDERA-2026-02-WIDENING-01", "Twinning", "11",
        "HORIZON-WIDERA-2026-02", "CSA", "2026-01-08", ("2026-04-09",), (None,), 264.50 * M, (0.80 * M, 1.50 * M), 210,
    ),
    (
        # the call identifier is printed "HORIZON-MISS-2026-1"; the row's contribution is on the next page
        "HORIZON-MISS-2026-01-CLIMA-04", "Bridging the gap between disaster risk management and climate adaptation",
        "12", "HORIZON-MISS-2026-1", "CSA", "2026-02-04", ("2026-09-23",), (None,), 5.00 * M, (5.00 * M, 5.00 * M), 1,
    ),
    (
        "ERC-2026-StG", "Starting Grant", "ERC",
        "ERC-2026-StG", "ERC-StG", "2025-07-09", ("2025-10-14",), (None,), 705 * M, (None, 1_500_000), 450,
    ),
    (
        # two cut-off dates in one cell of the transposed table
        "ERC-2026-PoC", "Proof of Concept Grant", "ERC",
        "ERC-2026-PoC", "ERC-PoC", "2026-01-17", ("2026-03-17", "2026-09-17"), (None, None), 60_000_000,
        (None, 150_000), 400,
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "code",
        "title",
        "part",
        "call_id",
        "short",
        "opening",
        "deadlines",
        "stages",
        "budget",
        "contribution",
        "n",
    ),
    SAMPLE,
    ids=[row[0] for row in SAMPLE],
)
def test_hand_checked_topics(corpus, code, title, part, call_id, short, opening, deadlines, stages, budget,
                             contribution, n):  # fmt: skip
    topic = by_code(corpus, code)
    assert topic.title.startswith(title)
    assert topic.part == part
    assert topic.document == f"{FOLDER}/{DOCUMENTS[part]}"
    assert topic.call_id == call_id
    assert topic.type_of_action_short == short
    assert topic.opening_date == opening
    assert topic.deadlines == deadlines
    assert topic.deadline_stages == stages
    assert topic.budget_eur == pytest.approx(budget)
    assert (topic.contribution_min_eur, topic.contribution_max_eur) == pytest.approx(contribution)
    assert topic.projects == n


def test_hand_checked_details(corpus):
    twinning = by_code(corpus, "HORIZON-WIDERA-2026-02-WIDENING-01")
    assert twinning.budget_by_year == ((2026, 223_000_000.0), (2027, 41_500_000.0))
    assert twinning.type_of_action == "Coordination and Support Actions"
    assert twinning.lump_sum
    assert twinning.call_table_page == 9
    assert twinning.destination == "Widening participation and spreading excellence"
    assert any("Widening countries" in c for c in twinning.conditions)

    eccc = by_code(corpus, "HORIZON-CL3-2026-02-CS-ECCC-01")
    assert eccc.projects_max == 5
    assert any("Member States and Associated Countries" in c for c in eccc.conditions)

    space = by_code(corpus, "HORIZON-CL4-2026-SPACE-03-11")
    assert space.trl == "8"
    euspa = by_code(corpus, "HORIZON-2027-EUSPA-SPACE-51")
    assert euspa.trl == "7-9"
    # The document disagrees with itself: the conditions say "between EUR 0.80 and 1.00 million",
    # the overview table "0.80 to 0.98"; the record keeps the conditions and says so.
    assert euspa.discrepancies == (
        "contribution: conditions EUR 0.8-1 million, overview table (page 288) EUR 0.8-0.98 million",
    )
    assert by_code(corpus, "HORIZON-CL3-2027-02-CS-ECCC-02").discrepancies == (
        "contribution: conditions EUR 3-4 million, overview table (page 165) EUR 4-5 million",
    )
    assert sum(bool(t.discrepancies) for _, topics in corpus.values() for t in topics) == 2
    assert by_code(corpus, "HORIZON-CL6-2027-01-CIRCBIO-01-two-stage").trl == "6-8"

    africa = by_code(corpus, "HORIZON-CL5-2027-02-D3-10")
    assert {"Africa", "African Union"} <= set(africa.regions)
    assert any("African Union member states are exceptionally eligible" in c for c in africa.conditions)
    assert africa.destination == "Sustainable, secure and competitive energy supply"

    insects = by_code(corpus, "HORIZON-CL6-2026-01-BIODIV-01")
    assert insects.pages == (48, 50)
    assert insects.call_table_page == 20
    assert insects.call_title == "Call 01 - single stage (2026)"
    assert insects.destination == "Biodiversity and ecosystem services"
    assert insects.expected_outcome.startswith(
        "Project results are expected to contribute to all of the following"
    )
    assert insects.scope.startswith("Insects play a vital role")
    assert insects.scope.endswith("International cooperation is encouraged.")
    assert "International cooperation is encouraged." in insects.conditions

    msca = by_code(corpus, "HORIZON-MSCA-2026-PF-01-01")
    assert msca.type_of_action == (
        "TMA Postdoctoral Fellowships - European Fellowships; TMA Postdoctoral Fellowships - Global Fellowships"
    )
    assert any(m.startswith("contribution:") for m in msca.missing)

    stg = by_code(corpus, "ERC-2026-StG")
    assert stg.lump_sum is False and by_code(corpus, "ERC-2026-AdG").lump_sum is True
    assert stg.scope.startswith("The Starting Grant supports excellent Principal Investigators")


def test_every_heading_has_one_record(corpus):
    for part, (pages, topics) in corpus.items():
        codes = [t.code for t in topics]
        assert len(codes) == len(set(codes)), f"part {part}: duplicate records"
        assert len(codes) == EXPECTED_COUNTS[part], f"part {part}: {len(codes)} topics"
        if part == "ERC":
            continue
        text = "\n".join(t for _, t in pages).replace("\ufffe", "-")
        headings, toc = set(), set()
        for m in CODE_AT_LINE_START.finditer(text):
            code = re.sub(r"\s+", "", m.group(1))
            after = text[m.end() : m.end() + 1500].split("\n")
            if re.search(r"\.{5,}\s*\d+\s*$", "\n".join(after[:3]).split("\nHORIZON-")[0], re.M):
                toc.add(code)  # a table-of-contents entry
                continue
            for line in after[1:9]:  # the code's own lines, up to the next code
                if line.startswith("HORIZON-"):
                    break
                if re.match(r"\s*(?:Call\s*:|Specific conditions|Expected Outcome\s*:)", line, re.I):
                    headings.add(code)
                    break
        assert headings, part
        assert headings <= set(codes), f"part {part}: no record for {sorted(headings - set(codes))}"
        assert toc <= set(codes), f"part {part}: no record for {sorted(toc - set(codes))}"


def test_every_record_has_deadlines_and_type_or_says_why(corpus):
    for _, topics in corpus.values():
        for topic in topics:
            assert topic.deadlines, topic.code
            assert len(topic.deadline_stages) == len(topic.deadlines)
            assert all(
                re.fullmatch(r"20\d\d-\d\d-\d\d", d)
                for d in topic.deadlines + (topic.opening_date or "2000-01-01",)
            )
            assert topic.type_of_action or topic.type_of_action_short, topic.code
            if not topic.type_of_action:
                assert any(m.startswith("type_of_action:") for m in topic.missing), topic.code
            for name in ("budget_eur", "contribution", "projects", "trl", "destination", "scope"):
                value = (
                    (topic.contribution_min_eur, topic.contribution_max_eur) != (None, None)
                    if name == "contribution"
                    else getattr(topic, name) is not None
                )
                assert value or any(m.startswith(name + ":") for m in topic.missing), (topic.code, name)
            assert topic.pages[0] <= topic.pages[1]


def test_quotes_are_verbatim_page_text(corpus):
    for _, (pages, topics) in corpus.items():
        text = {number: normalise(page) for number, page in pages}
        for topic in topics:
            assert topic.source_quotes, topic.code
            fields = {q.field for q in topic.source_quotes}
            for name in ("code", "opening_date", "deadlines", "budget_eur", "projects"):
                assert name in fields or getattr(topic, name) in (None, ()), (topic.code, name)
            if topic.type_of_action:
                assert "type_of_action" in fields, topic.code
            for quote in topic.source_quotes:
                assert quote.text and normalise(quote.text) in text[quote.page], (topic.code, quote)


def test_quotes_hold_the_values(corpus):
    """The quote given for a date or an amount shows it as printed."""
    insects = by_code(corpus, "HORIZON-CL6-2026-01-BIODIV-01")
    quotes = {q.field: q for q in insects.source_quotes}
    assert quotes["deadlines"].page == 20 and "17 Sep 2026" in quotes["deadlines"].text
    assert quotes["opening_date"].text == "Opening: 17 Apr 2026"
    assert quotes["budget_eur"].page == 48 and "EUR 13.00 million" in quotes["budget_eur"].text
    assert "around EUR 6.50" in quotes["contribution"].text


def perturbed(pages: list[tuple[int, str]], seed: int) -> list[tuple[int, str]]:
    """Another parser's rendering of the same pages: CRLF line ends, running headers moved to the
    bottom, extra and trailing spaces, and the letters of a DRAFT watermark on lines of their own."""
    rnd = random.Random(seed)
    out = []
    for number, text in pages:
        lines = text.split("\n")
        k = next((i + 1 for i, ln in enumerate(lines[:4]) if re.search(r"Page \d+ of \d+", ln)), 0)
        head, body = lines[:k], lines[k:]
        body = [ln.replace(" ", "  ") + (" " * rnd.randint(0, 2)) for ln in body]
        for letter in "DRAFT":
            body.insert(rnd.randint(0, len(body)), letter)
        out.append((number, "\r\n".join(body + head)))
    return out


@pytest.mark.parametrize("part", ["2", "12", "6"])
def test_tolerates_other_layouts_of_the_same_text(corpus, part):
    pages, topics = corpus[part]
    noisy = perturbed(pages, seed=int(part))
    again = parse_topics(topics[0].document, noisy)
    assert [t.code for t in again] == [t.code for t in topics]
    keys = ("title", "call_id", "type_of_action", "opening_date", "deadlines", "budget_eur", "contribution_min_eur",
            "contribution_max_eur", "projects", "trl", "lump_sum", "destination", "pages")  # fmt: skip
    for before, after in zip(topics, again):
        assert {k: getattr(after, k) for k in keys} == {k: getattr(before, k) for k in keys}, before.code
        text = {number: normalise(page) for number, page in noisy}
        for quote in after.source_quotes:
            assert normalise(quote.text) in text[quote.page], (after.code, quote)


@pytest.mark.parametrize(
    ("values", "years", "noise", "expected"),
    [
        ("13.00 Around 6.50 2", 1, set(), ([13.0], (6.5, 6.5), (2, None))),
        ("11.00 5.00 to 6.00 2", 1, set(), ([11.0], (5.0, 6.0), (2, None))),
        ("223.00 41.50 0.80 to 1.50 210", 2, set(), ([223.0, 41.5], (0.8, 1.5), (210, None))),
        ("22.00 16.00 Around 38.00 1", 2, set(), ([22.0, 16.0], (38.0, 38.0), (1, None))),
        ("20 3-4 4-5", 1, set(), ([20.0], (3.0, 4.0), (4, 5))),
        ("4 4 1-2", 1, set(), ([4.0], (4.0, 4.0), (1, 2))),
        ("0.98 189 0.80 to 0.98 1", 1, {189}, ([0.98], (0.8, 0.98), (1, None))),
        ("593.03 Not relevant", 1, set(), ([593.03], (None, None), (None, None))),
        ("8.00 50", 1, set(), ([8.0], (None, None), (50, None))),
        # a row broken by a page: "CSA 5.00 Around 1" … "5.00"
        ("5.00 Around 1 5.00", 1, set(), ([5.0], (5.0, 5.0), (1, None))),
    ],
)
def test_overview_row_values(values, years, noise, expected):
    assert _parse_values(values, years, noise) == expected
