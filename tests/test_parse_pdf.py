"""PDF parsing: real corpus pages, cleaning rules, and files a user may have broken."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader, PdfWriter

from assistant.errors import ParseError
from assistant.types import Page
from ingestion.parse_pdf import clean_pages, read_pdf

WP1820 = "h2020_work_programmes/h2020-wp1820-food_en.pdf"
LAW = "mexico_programmes/LGMHCTI_ley-general-humanidades-ciencias-tecnologias-innovacion_2023.pdf"
EVALUATION_FORM = "h2020_rules/h2020-evaluation-form-ria-einfra.pdf"
# Stamped DRAFT: the General Annexes on their cover, the MSCA part on every page.
GENERAL_ANNEXES = "horizon_europe_rules/wp-15-general-annexes_horizon-2026-2027_en.pdf"
MSCA = "horizon_europe_work_programmes/wp-2-marie-sklodowska-curie-actions_horizon-2026-2027_en.pdf"
MGA = "horizon_europe_rules/general-mga_horizon-euratom_en.pdf"
ERC = "horizon_europe_work_programmes/wp_horizon-erc-2026_en.pdf"

SAMPLE_PAGES = [
    "Alpha introduces the call.\nEligible partners are listed here.",
    "Beta describes the funding rates.\nSeventy percent for innovation actions.",
    "Gamma covers deadlines and timing.",
    "Delta ends with the contacts.",
]


def normalise(text: str) -> str:
    return " ".join(text.split())


def pages_containing(pages: list[Page], passage: str) -> list[int]:
    needle = normalise(passage)
    return [p.page for p in pages if needle in normalise(p.text)]


# --- the real corpus --------------------------------------------------------------------------


@functools.cache
def parsed_corpus_pdf(corpus_dir: Path, name: str) -> tuple[Page, ...]:
    """``read_pdf`` of one real corpus PDF, done once per test session.

    The 215-page work programme takes 10-15 s to parse, so tests/test_chunk.py imports this too.
    """
    return tuple(read_pdf(corpus_dir / name, name))


@pytest.fixture(scope="module")
def real_pages(corpus_dir: Path) -> dict[str, list[Page]]:
    """The three PDFs these tests read."""
    return {name: list(parsed_corpus_pdf(corpus_dir, name)) for name in (WP1820, LAW, EVALUATION_FORM)}


@pytest.mark.parametrize(
    ("document", "page", "passage"),
    [
        (EVALUATION_FORM, 3, "The threshold for individual criteria is 3."),
        (
            WP1820,
            90,
            "SFS-33-2018 Due to the specific challenge of this topic, in addition to the minimum number of "
            "participants set out in the General Annexes, proposals shall include at least eight "
            "participants from Africa.",
        ),
        (
            LAW,
            31,
            "Artículo 62. El Consejo Nacional de Humanidades, Ciencias y Tecnologías es un organismo público "
            "descentralizado de la Administración Pública Federal",
        ),
    ],
    ids=["evaluation-threshold", "sfs-33-2018-africa", "articulo-62"],
)
def test_passage_is_on_its_pdf_page_and_nowhere_else(
    real_pages: dict[str, list[Page]], document: str, page: int, passage: str
) -> None:
    pages = real_pages[document]
    assert pages_containing(pages, passage) == [page]
    assert pages[page - 1].page == page
    assert pages[page - 1].document == document


@pytest.mark.parametrize(("document", "count"), [(WP1820, 215), (LAW, 52), (EVALUATION_FORM, 4)])
def test_page_count_and_numbering(real_pages: dict[str, list[Page]], document: str, count: int) -> None:
    pages = real_pages[document]
    assert len(pages) == count
    assert [p.page for p in pages] == list(range(1, count + 1))


@pytest.mark.parametrize(
    ("document", "page", "header"),
    [
        (WP1820, 90, "Part 9 - Page 90 of 215"),
        (WP1820, 90, "Horizon 2020 - Work Programme 2018-2020"),
        (LAW, 31, "31 de 52"),
        (LAW, 31, "Secretaría de Servicios Parlamentarios"),
        (LAW, 31, "CÁMARA DE DIPUTADOS DEL H. CONGRESO DE LA UNIÓN"),
    ],
)
def test_running_header_is_removed(
    corpus_dir: Path, real_pages: dict[str, list[Page]], document: str, page: int, header: str
) -> None:
    raw = PdfReader(corpus_dir / document).pages[page - 1].extract_text()
    assert header in normalise(raw), "the raw page should have the header, or this test proves nothing"
    assert header not in normalise(real_pages[document][page - 1].text)


@pytest.mark.parametrize(
    ("document", "pattern"),
    [(WP1820, r"Part 9 - Page \d+ of 215"), (LAW, r"(?m)^\d+ de 52$")],
)
def test_no_page_keeps_its_page_number_line(
    real_pages: dict[str, list[Page]], document: str, pattern: str
) -> None:
    assert [p.page for p in real_pages[document] if re.search(pattern, p.text)] == []


def test_cleaned_pages_keep_body_text_at_page_edges(real_pages: dict[str, list[Page]]) -> None:
    """Header removal must not eat the first or last body line of a page."""
    page_90 = real_pages[WP1820][89].text.split("\n")
    assert page_90[0] == "Indicative timetable for evaluation and grant agreement signature:"
    page_31 = real_pages[LAW][30].text.split("\n")
    assert page_31[0].startswith("Asimismo, podrá establecer repositorios temáticos")
    assert page_31[-1] == "innovación abierta;"


# --- stamps, running headers and words on real Horizon Europe pages ----------------------------

STAMP_PIECES = re.compile(r"\bDRAFT\b|\bDR\b|\bAF\b|\bT AF DR\b")


def diagonal_text(path: Path, page: int) -> str:
    """The page's characters that PDFium reports turned off the page's axes (a stamp), in order."""
    pdf = pdfium.PdfDocument(path)
    try:
        textpage = pdf[page - 1].get_textpage()
        text = textpage.get_text_range()
        return "".join(
            char
            for i, char in enumerate(text)
            if not char.isspace()
            and abs(
                (a := pdfium.raw.FPDFText_GetCharAngle(textpage.raw, i)) / (math.pi / 2)
                - round(a / (math.pi / 2))
            )
            > 0.05
        )
    finally:
        pdf.close()


def raw_pdfium_text(path: Path, page: int) -> str:
    pdf = pdfium.PdfDocument(path)
    try:
        return normalise(pdf[page - 1].get_textpage().get_text_range())
    finally:
        pdf.close()


@pytest.fixture(scope="module")
def draft_pages(corpus_dir: Path) -> dict[str, list[Page]]:
    return {name: list(parsed_corpus_pdf(corpus_dir, name)) for name in (GENERAL_ANNEXES, MSCA, MGA, ERC)}


@pytest.mark.parametrize(("document", "page"), [(GENERAL_ANNEXES, 1), (MSCA, 2), (MSCA, 10), (MSCA, 111)])
def test_draft_stamp_is_dropped(
    corpus_dir: Path, draft_pages: dict[str, list[Page]], document: str, page: int
) -> None:
    assert "DRAFT" in diagonal_text(corpus_dir / document, page), "the page should carry the stamp"
    assert "DRAFT" in raw_pdfium_text(corpus_dir / document, page)
    assert not STAMP_PIECES.search(draft_pages[document][page - 1].text)


def test_no_page_of_the_stamped_documents_keeps_the_stamp(draft_pages: dict[str, list[Page]]) -> None:
    stamped = {
        name: [p.page for p in draft_pages[name] if STAMP_PIECES.search(p.text)]
        for name in (GENERAL_ANNEXES, MSCA)
    }
    assert stamped == {GENERAL_ANNEXES: [], MSCA: []}
    assert len(draft_pages[MSCA]) == 112


def test_the_word_draft_in_the_text_is_kept(draft_pages: dict[str, list[Page]]) -> None:
    """The Model Grant Agreement's history of changes lists DRAFT versions: that is text, not a stamp."""
    lines = draft_pages[MGA][1].text.split("\n")
    assert "1.0 DRAFT 25.02.2021 ▪ Initial version." in lines


def test_a_dash_pdfium_reports_tilted_is_kept(draft_pages: dict[str, list[Page]]) -> None:
    """PDFium gives this em dash an angle of 0.32 rad: one odd character is not a stamp."""
    assert "ARTICLE 17 — COMMUNICATION, DISSEMINATION AND VISIBILITY" in draft_pages[MGA][48].text.split("\n")


@pytest.mark.parametrize(
    ("document", "page", "furniture", "first_line"),
    [
        (
            GENERAL_ANNEXES,
            5,
            ["Horizon Europe - Work programme 2026-2027", "General Annexes", "Part 15 - Page 5 of 46"],
            "If an application exceeds the limits, there will be an automatic warning and invitation to resubmit",
        ),
        (
            MSCA,
            10,
            ["Page 10 of 112"],
            "3. Strengthening Human Capital and Skills Development across the European Research",
        ),
        (MSCA, 111, ["Part 2 - Page 111 of 112"], "KG 87,7%"),
    ],
)
def test_running_headers_of_the_stamped_documents_are_removed(
    corpus_dir: Path,
    draft_pages: dict[str, list[Page]],
    document: str,
    page: int,
    furniture: list[str],
    first_line: str,
) -> None:
    raw = raw_pdfium_text(corpus_dir / document, page)
    lines = draft_pages[document][page - 1].text.split("\n")
    for line in furniture:
        assert line in raw, "the raw page should have the header, or this test proves nothing"
        assert line not in lines
    assert lines[0] == first_line


@pytest.mark.parametrize(
    ("document", "pattern"),
    [(GENERAL_ANNEXES, r"Part 15 - Page \d+ of 46|Work programme 2026-2027"), (MSCA, r"Page \d+ of 112")],
)
def test_no_page_of_the_stamped_documents_keeps_its_header(
    draft_pages: dict[str, list[Page]], document: str, pattern: str
) -> None:
    assert [p.page for p in draft_pages[document] if re.search(pattern, p.text)] == []


@pytest.mark.parametrize(
    ("document", "page", "passage"),
    [
        # A raised footnote mark breaks PDFium's line ("organisations4" / ") is eligible"): one line again.
        (GENERAL_ANNEXES, 5, "international European research organisations4) is eligible to participate"),
        (GENERAL_ANNEXES, 5, "laid down in the Horizon Europe Regulation5 have been met"),
        # Drawn 2 points apart without a space character: two words.
        (ERC, 67, "The research proposed addresses topics in critical technology areas"),
        # A line-end hyphen of a compound the document writes whole elsewhere stays.
        (MSCA, 10, "through international, inter-sectoral and interdisciplinary mobility"),
    ],
)
def test_words_and_marks_as_on_the_page(
    draft_pages: dict[str, list[Page]], document: str, page: int, passage: str
) -> None:
    assert passage in normalise(draft_pages[document][page - 1].text)


# --- clean_pages rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "Proposals must be sent before the submis-\nsion deadline of the call.",
            "Proposals must be sent before the submission deadline of the call.",
            id="hyphenated-word-joined",
        ),
        pytest.param(
            "La convoca-\ntoria apoya la investiga-\nción científica.",
            "La convocatoria apoya la investigación científica.",
            id="spanish-hyphenation-joined",
        ),
        pytest.param(
            "These forms are for the calls H2020-\nEINFRA-2014-1 and H2020-\nEINFRA-2015-1 only.",
            "These forms are for the calls H2020-EINFRA-2014-1 and H2020-EINFRA-2015-1 only.",
            id="identifier-kept-whole",
        ),
        pytest.param(
            "Cooperation under the EU-\nMexico agreement.",
            "Cooperation under the EU-Mexico agreement.",
            id="hyphen-before-capital-kept",
        ),
        pytest.param(
            "Budget 2019 -\nsee the table below.",
            "Budget 2019 - see the table below.",
            id="free-standing-dash-kept",
        ),
        pytest.param(
            "Table of contents\nIntroduction ........................ 5\n"
            "2. Call - Sustainable Food Security . . . . . . . . . 12\nEnd of contents.",
            "Table of contents Introduction 2. Call - Sustainable Food Security End of contents.",
            id="dot-leaders-removed",
        ),
        pytest.param(
            "12\nPage 3\n- 4 -\nThe body of the page.",
            "The body of the page.",
            id="page-number-lines-removed",
        ),
        pytest.param(
            "\uf0b7 first bullet\n\uf0a7 second bullet",
            "• first bullet ▪ second bullet",
            id="symbol-font-bullets-mapped",
        ),
    ],
)
def test_clean_single_page(raw: str, expected: str) -> None:
    (cleaned,) = clean_pages([raw])
    assert normalise(cleaned) == expected


def test_repeated_header_lines_are_removed_and_unique_lines_kept() -> None:
    raw = [
        f"Horizon 2020 - Work Programme 2018-2020\nPart 9 - Page {n} of 5\n{body}\nSecretaría General"
        for n, body in enumerate(
            [
                "Alpha body line.",
                "Beta body line.",
                "SFS-33-2018: A unique topic heading",
                "Delta body.",
                "End.",
            ],
            start=1,
        )
    ]
    assert [normalise(p) for p in clean_pages(raw)] == [
        "Alpha body line.",
        "Beta body line.",
        "SFS-33-2018: A unique topic heading",
        "Delta body.",
        "End.",
    ]


@pytest.mark.parametrize(
    ("n_pages", "header_removed"),
    [(3, False), (4, True), (10, True)],
)
def test_header_needs_at_least_four_pages_of_evidence(n_pages: int, header_removed: bool) -> None:
    raw = [f"Running Header Text\nBody of page number {chr(65 + n)}." for n in range(n_pages)]
    cleaned = clean_pages(raw)
    assert len(cleaned) == n_pages
    assert all(("Running Header Text" in page) is not header_removed for page in cleaned)
    assert all(f"Body of page number {chr(65 + n)}." in cleaned[n] for n in range(n_pages))


def test_line_repeated_in_the_middle_of_long_pages_is_kept() -> None:
    """Only lines near a page's top or bottom can be boilerplate."""
    filler_top = [f"Top line {chr(65 + i)} of text." for i in range(10)]
    filler_bottom = [f"Bottom line {chr(75 + i)} of text." for i in range(10)]
    repeated = "Type of Action: Research and Innovation action"
    raw = ["\n".join([*filler_top, repeated, *filler_bottom]) for _ in range(6)]
    assert all(repeated in page.split("\n") for page in clean_pages(raw))


def test_page_boundaries_are_kept() -> None:
    assert clean_pages(["one", "", "three"]) == ["one", "", "three"]


# --- generated PDFs ---------------------------------------------------------------------------


def test_generated_pdf_is_read_page_by_page(make_pdf: Callable[..., Path]) -> None:
    path = make_pdf([*SAMPLE_PAGES, "Artículo 62. El Consejo Nacional – señal"])
    pages = read_pdf(path, "generated.pdf")
    assert [p.page for p in pages] == [1, 2, 3, 4, 5]
    assert [normalise(p.text) for p in pages] == [normalise(t) for t in SAMPLE_PAGES] + [
        "Artículo 62. El Consejo Nacional – señal"
    ]
    assert {p.document for p in pages} == {"generated.pdf"}


def test_pdf_with_only_an_owner_password_is_read(make_pdf: Callable[..., Path], tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=make_pdf(SAMPLE_PAGES))
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="RC4-128")
    path = tmp_path / "restricted.pdf"
    writer.write(path)
    assert PdfReader(path).is_encrypted
    assert [normalise(p.text) for p in read_pdf(path, "restricted.pdf")] == [
        normalise(t) for t in SAMPLE_PAGES
    ]


def _empty_file(tmp_path: Path, make_pdf: Callable[..., Path]) -> Path:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    return path


def _text_file(tmp_path: Path, make_pdf: Callable[..., Path]) -> Path:
    path = tmp_path / "notes.pdf"
    path.write_text("These are meeting notes saved with a .pdf name.\n", encoding="utf-8")
    return path


def _html_error_page(tmp_path: Path, make_pdf: Callable[..., Path]) -> Path:
    path = tmp_path / "download.pdf"
    path.write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>", encoding="utf-8")
    return path


def _truncated_pdf(fraction: float) -> Callable[[Path, Callable[..., Path]], Path]:
    def build(tmp_path: Path, make_pdf: Callable[..., Path]) -> Path:
        data = make_pdf(SAMPLE_PAGES, name="full.pdf").read_bytes()
        path = tmp_path / "truncated.pdf"
        path.write_bytes(data[: int(len(data) * fraction)])
        return path

    return build


def _garbage_after_header(tmp_path: Path, make_pdf: Callable[..., Path]) -> Path:
    path = tmp_path / "garbage.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    return path


def _encrypted_pdf(tmp_path: Path, make_pdf: Callable[..., Path]) -> Path:
    writer = PdfWriter(clone_from=make_pdf(SAMPLE_PAGES, name="plain.pdf"))
    writer.encrypt(user_password="user-secret", owner_password="owner-secret", algorithm="RC4-128")
    path = tmp_path / "encrypted.pdf"
    writer.write(path)
    return path


def _blank_page(tmp_path: Path, make_pdf: Callable[..., Path]) -> Path:
    return make_pdf([""], name="blank.pdf")


def _blank_pages_pypdf(tmp_path: Path, make_pdf: Callable[..., Path]) -> Path:
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(595, 842)
    path = tmp_path / "scanned.pdf"
    writer.write(path)
    return path


def _missing_file(tmp_path: Path, make_pdf: Callable[..., Path]) -> Path:
    return tmp_path / "never-downloaded.pdf"


@pytest.mark.parametrize(
    ("build", "keyword"),
    [
        pytest.param(_empty_file, "empty", id="empty-file"),
        pytest.param(_text_file, "not a pdf", id="text-file"),
        pytest.param(_html_error_page, "not a pdf", id="html-error-page"),
        pytest.param(_truncated_pdf(0.4), "truncated", id="truncated-40pct"),
        pytest.param(_truncated_pdf(0.95), "truncated", id="truncated-95pct"),
        pytest.param(_garbage_after_header, "unreadable", id="garbage-after-header"),
        pytest.param(_encrypted_pdf, "encrypted", id="encrypted"),
        pytest.param(_blank_page, "no extractable text", id="blank-page"),
        pytest.param(_blank_pages_pypdf, "no extractable text", id="three-blank-pages"),
        pytest.param(_missing_file, "not found", id="missing-file"),
    ],
)
def test_bad_file_raises_parse_error_with_reason(
    tmp_path: Path, make_pdf: Callable[..., Path], build: Callable[..., Path], keyword: str
) -> None:
    path = build(tmp_path, make_pdf)
    with pytest.raises(ParseError) as caught:
        read_pdf(path, "h2020_rules/broken.pdf")
    assert keyword in caught.value.reason.lower()
    assert caught.value.document == "h2020_rules/broken.pdf"
    assert str(caught.value).startswith("h2020_rules/broken.pdf: ")


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9, 0.99])
def test_truncated_real_pdf_is_refused_not_half_read(
    corpus_dir: Path, tmp_path: Path, fraction: float
) -> None:
    data = (corpus_dir / EVALUATION_FORM).read_bytes()
    path = tmp_path / "evaluation-form.pdf"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ParseError, match="truncated"):
        read_pdf(path, EVALUATION_FORM)


def test_short_numbered_pages_keep_their_text(make_pdf: Callable[..., Path]) -> None:
    path = make_pdf([f"Section {n}\nRule number {n} applies to every applicant." for n in range(1, 6)])
    pages = read_pdf(path, "numbered.pdf")
    assert [normalise(p.text) for p in pages] == [
        f"Section {n} Rule number {n} applies to every applicant." for n in range(1, 6)
    ]
