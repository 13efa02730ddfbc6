"""Chunking: page-aware, heading-aware chunks of the real corpus, with stable ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.manifest import Document, Manifest
from assistant.types import DOCUMENTS, PROJECTS, TOPICS, Chunk, Page, Record
from ingestion.chunk import chunk_pages, chunk_records, heading_of
from ingestion.parse_pdf import read_pdf
from tests.test_parse_pdf import EVALUATION_FORM, LAW, WP1820, normalise, parsed_corpus_pdf

CHUNK_CHARS = Settings.model_fields["chunk_chars"].default
OVERLAP = Settings.model_fields["chunk_overlap"].default


@pytest.fixture(scope="module")
def corpus_pages(corpus_dir: Path) -> dict[str, list[Page]]:
    return {name: list(parsed_corpus_pdf(corpus_dir, name)) for name in (WP1820, LAW, EVALUATION_FORM)}


@pytest.fixture(scope="module")
def corpus_chunks(corpus_pages: dict[str, list[Page]], manifest: Manifest) -> dict[str, list[Chunk]]:
    return {
        name: chunk_pages(pages, manifest.get(name), CHUNK_CHARS, OVERLAP)
        for name, pages in corpus_pages.items()
    }


def pages_text(pages: list[Page], chunk: Chunk) -> str:
    """The whitespace-normalised text of the pages a chunk claims to come from."""
    assert chunk.page_start is not None
    assert chunk.page_end is not None
    return normalise(" ".join(p.text for p in pages[chunk.page_start - 1 : chunk.page_end]))


# --- where chunk text comes from ----------------------------------------------------------------


@pytest.mark.parametrize("document", [WP1820, LAW, EVALUATION_FORM])
def test_chunk_pages_are_valid(
    corpus_pages: dict[str, list[Page]], corpus_chunks: dict[str, list[Chunk]], document: str
) -> None:
    n_pages = len(corpus_pages[document])
    chunks = corpus_chunks[document]
    assert chunks
    for chunk in chunks:
        assert chunk.page_start is not None
        assert chunk.page_end is not None
        assert 1 <= chunk.page_start <= chunk.page_end <= min(chunk.page_start + 1, n_pages), chunk.id
    assert sorted(c.page_start for c in chunks) == [c.page_start for c in chunks], "chunks are in page order"


@pytest.mark.parametrize("document", [WP1820, LAW, EVALUATION_FORM])
def test_every_chunk_line_is_on_its_pages(
    corpus_pages: dict[str, list[Page]], corpus_chunks: dict[str, list[Chunk]], document: str
) -> None:
    pages = corpus_pages[document]
    misplaced = [
        (chunk.id, line)
        for chunk in corpus_chunks[document]
        for line in chunk.text.split("\n")
        if normalise(line) not in pages_text(pages, chunk)
    ]
    assert misplaced == []


@pytest.mark.parametrize(
    "document",
    [
        WP1820,
        LAW,
        EVALUATION_FORM,
    ],
)
def test_every_chunk_text_is_found_on_its_pages(
    corpus_pages: dict[str, list[Page]], corpus_chunks: dict[str, list[Chunk]], document: str
) -> None:
    pages = corpus_pages[document]
    not_found = [c.id for c in corpus_chunks[document] if normalise(c.text) not in pages_text(pages, c)]
    assert not_found == []


def test_short_tail_is_merged_without_repeating_the_overlap(manifest: Manifest) -> None:
    doc = manifest.get(WP1820)
    lines = [f"Sentence number {n:02d} explains one more rule of the call in plain words." for n in range(11)]
    (chunk,) = chunk_pages([Page(doc.path, 1, "\n".join(lines))], doc, CHUNK_CHARS, OVERLAP)
    assert chunk.text.split("\n") == lines


@pytest.mark.parametrize(("chunk_chars", "overlap"), [(300, 50), (CHUNK_CHARS, OVERLAP), (1200, 200)])
def test_no_chunk_is_much_longer_than_chunk_chars(
    corpus_pages: dict[str, list[Page]], manifest: Manifest, chunk_chars: int, overlap: int
) -> None:
    chunks = chunk_pages(corpus_pages[WP1820], manifest.get(WP1820), chunk_chars, overlap)
    too_long = [(c.id, len(c.text)) for c in chunks if len(c.text) > 1.6 * chunk_chars]
    assert too_long == []
    assert all(c.text.strip() for c in chunks)


# --- ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("document", [WP1820, LAW])
def test_chunk_ids_are_unique_and_name_doc_and_page(
    corpus_chunks: dict[str, list[Chunk]], manifest: Manifest, document: str
) -> None:
    chunks = corpus_chunks[document]
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids))
    doc_id = manifest.get(document).id
    assert all(c.id.startswith(f"{doc_id}:p{c.page_start}:") for c in chunks)


def test_chunk_ids_are_stable_across_runs(
    corpus_pages: dict[str, list[Page]], corpus_chunks: dict[str, list[Chunk]], manifest: Manifest
) -> None:
    again = chunk_pages(corpus_pages[WP1820], manifest.get(WP1820), CHUNK_CHARS, OVERLAP)
    assert [c.id for c in again] == [c.id for c in corpus_chunks[WP1820]]


def test_chunk_ids_are_stable_across_fresh_parses(corpus_dir: Path, manifest: Manifest) -> None:
    doc = manifest.get(EVALUATION_FORM)
    runs = [chunk_pages(read_pdf(corpus_dir / doc.path, doc.path), doc) for _ in range(2)]
    assert [c.id for c in runs[0]] == [c.id for c in runs[1]]
    assert [c.text for c in runs[0]] == [c.text for c in runs[1]]


def test_chunk_id_changes_with_its_text(manifest: Manifest) -> None:
    doc = manifest.get(EVALUATION_FORM)
    before = chunk_pages([Page(doc.path, 1, "The threshold for individual criteria is 3.")], doc)
    after = chunk_pages([Page(doc.path, 1, "The threshold for individual criteria is 4.")], doc)
    assert len(before) == len(after) == 1
    assert before[0].id != after[0].id


# --- headings -----------------------------------------------------------------------------------


def test_chunks_on_page_90_sit_under_the_call_conditions(corpus_chunks: dict[str, list[Chunk]]) -> None:
    on_page = [c for c in corpus_chunks[WP1820] if c.page_start == 90]
    assert on_page
    assert all(c.heading.startswith("Conditions for the Call") for c in on_page), {c.heading for c in on_page}
    assert any("at least eight participants from Africa" in normalise(c.text) for c in on_page)


def test_article_62_has_its_own_chunk(corpus_chunks: dict[str, list[Chunk]]) -> None:
    matches = [c for c in corpus_chunks[LAW] if c.page_start == 31 and c.heading == "Artículo 62"]
    assert len(matches) == 1
    assert matches[0].text.startswith("Artículo 62. El Consejo Nacional de Humanidades")
    assert "Artículo 63." not in matches[0].text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("LC-SFS-34-2019: Title here", ("LC-SFS-34-2019: Title here", True)),
        ("BG-12-2014/2015: Title", ("BG-12-2014/2015: Title", True)),
        (
            "SFS-35-2019-2020: Sustainable Intensification in Africa",
            ("SFS-35-2019-2020: Sustainable Intensification in Africa", True),
        ),
        ("CE-SFS-25-2018: Integrated approaches", ("CE-SFS-25-2018: Integrated approaches", True)),
        ("Artículo 62. El Consejo", ("Artículo 62", True)),
        ("Artículo 12 Bis. Las entidades", ("Artículo 12 Bis", True)),
        ("Artículo 7o. Texto", ("Artículo 7o", True)),
        ("1.1 Objectives", ("1.1 Objectives", True)),
        ("2. Scope of the call", ("2. Scope of the call", True)),
        (
            "Conditions for the Call - Sustainable Food Security",
            ("Conditions for the Call - Sustainable Food Security", True),
        ),
        ("TÍTULO QUINTO", ("TÍTULO QUINTO", False)),
        ("Capítulo IV", ("Capítulo IV", False)),
        ("The threshold for individual criteria is 3.", None),
        ("Artículo 62 de la presente Ley establece", None),
        ("LC-SFS-34-2019 Due to the specific challenge of this topic", None),
        ("SFS-33-2018: x", None),
        ("H2020-EINFRA-2014-1: calls", None),
        ("", None),
    ],
)
def test_heading_of(line: str, expected: tuple[str, bool] | None) -> None:
    assert heading_of(line) == expected


def test_heading_carries_to_the_next_page(manifest: Manifest) -> None:
    doc = manifest.get(WP1820)
    body = "Scope: proposals should build networks of farmers and researchers across Europe. " * 3
    pages = [
        Page(doc.path, 1, f"SFS-01-2018: Biodiversity in action\n{body}"),
        Page(doc.path, 2, f"{body}\nExpected Impact: more resilient farms."),
    ]
    chunks = chunk_pages(pages, doc)
    assert {c.page_start for c in chunks} == {1, 2}
    assert {c.heading for c in chunks} == {"SFS-01-2018: Biodiversity in action"}


# --- chunks that span two pages ------------------------------------------------------------------


def test_spanning_chunks_really_cross_the_page_boundary(
    corpus_pages: dict[str, list[Page]], corpus_chunks: dict[str, list[Chunk]]
) -> None:
    spanning = [
        (name, c) for name, chunks in corpus_chunks.items() for c in chunks if c.page_end != c.page_start
    ]
    assert spanning, "some chunk should carry a short page tail over to the next page"
    for name, chunk in spanning:
        pages = corpus_pages[name]
        assert chunk.page_end == chunk.page_start + 1
        lines = [normalise(line) for line in chunk.text.split("\n") if line.strip()]
        first, last = normalise(pages[chunk.page_start - 1].text), normalise(pages[chunk.page_end - 1].text)
        assert lines[0] in first, chunk.id
        assert lines[-1] in last, chunk.id
        assert normalise(chunk.text) not in first, chunk.id
        assert normalise(chunk.text) not in last, chunk.id


def test_short_page_tail_joins_the_next_page(manifest: Manifest) -> None:
    doc = manifest.get(WP1820)
    long_text = "\n".join(
        f"Line {chr(65 + n)} of the scope explains what proposals should address." for n in range(18)
    )
    pages = [
        Page(doc.path, 1, f"SFS-01-2018: Biodiversity in action\n{long_text}\n\nA short tail."),
        Page(doc.path, 2, "The tail continues on the next page with more words of the scope."),
    ]
    chunks = chunk_pages(pages, doc)
    (spanning,) = [c for c in chunks if c.page_start != c.page_end]
    assert (spanning.page_start, spanning.page_end) == (1, 2)
    assert (
        normalise(spanning.text)
        == "A short tail. The tail continues on the next page with more words of the scope."
    )


# --- metadata -----------------------------------------------------------------------------------


def test_chunks_carry_their_document_metadata(
    corpus_chunks: dict[str, list[Chunk]], manifest: Manifest
) -> None:
    doc = manifest.get(LAW)
    chunk = corpus_chunks[LAW][0]
    assert (chunk.doc_id, chunk.document, chunk.collection) == (doc.id, doc.path, DOCUMENTS)
    assert (chunk.language, chunk.programme, chunk.kind, chunk.period) == ("es", "mexico", "law", "2023")
    assert chunk.title == doc.label
    meta = chunk.metadata()
    assert None not in meta.values()
    assert (meta["page_start"], meta["page_end"]) == (chunk.page_start, chunk.page_end)


@pytest.mark.parametrize("texts", [[], [""], ["   \n  "]])
def test_no_text_gives_no_chunks(manifest: Manifest, texts: list[str]) -> None:
    doc = manifest.get(WP1820)
    pages = [Page(doc.path, n, t) for n, t in enumerate(texts, start=1)]
    assert chunk_pages(pages, doc) == []


# --- dataset records ------------------------------------------------------------------------------


@pytest.fixture
def project_document(manifest: Manifest) -> Document:
    return manifest.get("cordis-h2020-projects")


def project_record(text: str, key: str = "731505") -> Record:
    return Record(
        document="cordis/h2020-projects_dashboard-export.xlsx",
        locator=f"project {key} (h2020-projects_dashboard-export.xlsx, row 721)",
        key=key,
        text=text,
        fields={"heading": "BELLA-S1 (GEANT-CABLE-2015)"},
    )


def test_chunk_records_ids_follow_the_text(project_document: Document) -> None:
    text = "BELLA-S1 — Building Europe Link with Latin America\nH2020 project 731505."
    same = chunk_records([project_record(text)], project_document)
    again = chunk_records([project_record(text)], project_document)
    changed = chunk_records([project_record(text + " Participations: 42.")], project_document)
    assert same[0].id == again[0].id
    assert changed[0].id != same[0].id
    assert same[0].id.startswith("cordis-h2020-projects:731505:")


def test_chunk_records_keep_locator_and_heading(project_document: Document) -> None:
    records = [project_record("first project", "731505"), project_record("second project", "727550")]
    chunks = chunk_records(records, project_document)
    assert [c.locator for c in chunks] == [r.locator for r in records]
    assert {c.heading for c in chunks} == {"BELLA-S1 (GEANT-CABLE-2015)"}
    assert {c.collection for c in chunks} == {PROJECTS}
    assert all(c.page_start is None and "page_start" not in c.metadata() for c in chunks)
    assert len({c.id for c in chunks}) == 2


def test_chunk_records_collection_can_be_chosen(project_document: Document) -> None:
    (chunk,) = chunk_records([project_record("a topic")], project_document, TOPICS)
    assert chunk.collection == TOPICS
