"""Every quotable sentence the parser gives, over the whole real corpus, is on its page for poppler too.

An answer quotes the parser's page text; a person checks the quote by searching it in the PDF. So each
sentence of 6-60 words of every parsed page (tables of contents aside: they are never quoted) is looked
up in an independent extraction of the same page, poppler's ``pdftotext`` (``evals/independent_text.py``:
its reading order or its drawing order, allowing for the line-end hyphens and the spaces around
footnote marks that pdftotext drops or adds). A word broken by a space ("s ections") is counted apart.

Each PDF is parsed once and read by pdftotext once per mode, documents in two processes (~30 s).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from evals.independent_text import SentenceStats, check_pages, poppler_readings
from ingestion.parse_pdf import read_pdf

MIN_FOUND = 0.995
MAX_BROKEN = 0.001


def corpus_pdfs(corpus_dir: Path) -> list[str]:
    """The PDFs SOURCES.tsv lists (paths relative to the corpus directory)."""
    rows = (corpus_dir / "SOURCES.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [row.split("\t")[0] for row in rows if row.split("\t")[0].lower().endswith(".pdf")]


def check_document(job: tuple[Path, str]) -> tuple[str, int, SentenceStats]:
    """Worker: parse one PDF, read it with pdftotext, look up each quotable sentence."""
    corpus_dir, document = job
    path = corpus_dir / document
    pages = read_pdf(path, document)
    toc = frozenset(p.page for p in pages if p.toc)
    return (
        document,
        len(pages),
        check_pages([p.text for p in pages], poppler_readings(path), skip=toc, keep=5),
    )


@pytest.fixture(scope="module")
def corpus_check(corpus_dir: Path) -> dict[str, tuple[int, SentenceStats]]:
    documents = corpus_pdfs(corpus_dir)
    assert len(documents) >= 20, f"SOURCES.tsv lists only {len(documents)} PDFs"
    # Largest first, so that the two workers finish together.
    jobs = sorted(((corpus_dir, d) for d in documents), key=lambda job: -(job[0] / job[1]).stat().st_size)
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        return {document: (n, stats) for document, n, stats in pool.map(check_document, jobs)}


def test_quotable_sentences_are_found_by_pdftotext(
    corpus_check: dict[str, tuple[int, SentenceStats]], capsys: pytest.CaptureFixture[str]
) -> None:
    total = SentenceStats()
    for _, stats in corpus_check.values():
        total.merge(stats)
    pages = sum(n for n, _ in corpus_check.values())
    misses = [(doc, page, s) for doc, (_, stats) in corpus_check.items() for page, s in stats.misses]
    broken = [(doc, page, s) for doc, (_, stats) in corpus_check.items() for page, s in stats.broken_examples]
    report = [
        f"{len(corpus_check)} PDFs, {pages} pages, {total.sentences} quotable sentences:",
        (
            f"  found by pdftotext {total.share(total.found):.4f} (reading order only, as is: "
            f"{total.share(total.strict):.4f}; ignoring all whitespace: {total.share(total.squashed):.4f})"
        ),
        f"  with a word broken by a space {total.share(total.broken):.4f}",
        *(f"  miss {doc} p{page}: {sentence[:160]}" for doc, page, sentence in misses[:8]),
        *(f"  broken {doc} p{page}: {pieces}" for doc, page, pieces in broken[:5]),
    ]
    with capsys.disabled():
        print("\n" + "\n".join(report))
    assert total.sentences > 40_000, "the corpus should give some 44,000 quotable sentences"
    assert total.share(total.found) >= MIN_FOUND, "\n".join(report)
    assert total.share(total.broken) <= MAX_BROKEN, "\n".join(report)


def test_every_document_is_mostly_found(corpus_check: dict[str, tuple[int, SentenceStats]]) -> None:
    """No document hides behind the corpus average. The lowest is the H2020 proposal template (~96%):
    its submission forms are field labels that pdftotext reads interleaved with the forms' running
    header ("Page 4 of 11", "Last saved 19/12/2013"), which the parser removes."""
    worst = {doc: round(stats.share(stats.found), 4) for doc, (_, stats) in corpus_check.items()}
    assert {doc: share for doc, share in worst.items() if share < 0.95} == {}
