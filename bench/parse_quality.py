"""How faithful is each PDF text extractor to the page, as a person searching the PDF would see it?

    python bench/parse_quality.py [--docs PATTERN] [--candidates read_pdf,pypdf,...] [--corpus DIR]
                                  [--jobs N] [--misses N] [--json FILE]

For every corpus PDF (SOURCES.tsv) and every candidate extractor, each page is extracted, cleaned
(``ingestion.parse_pdf.clean_pages``: running headers/footers, page numbers, hyphenation) and split
into quotable sentences (6-60 words; tables of contents left out), which are looked up in poppler's
``pdftotext`` text of the same page (``evals.independent_text``):

- *found*: the whitespace-normalised sentence is in the whitespace-normalised reading-order text;
- *found w/o spaces*: the same once all whitespace is removed on both sides;
- *found, either reading*: in the reading-order or the raw (drawing-order) text, allowing for the
  line-end hyphens pdftotext drops and the spaces it puts around footnote marks (what
  ``tests/test_quotes_corpus.py`` holds the parser to);
- *broken-word*: the sentence has a word broken by a space ("s ections").

Speed is the extraction + cleaning time per page, one process per document.

Candidates: ``read_pdf`` (the project's parser as it is now; ``read_pdf@REV`` as it was at a git
revision, e.g. ``read_pdf@d267d06``, the pypdf parser), ``pypdf`` (``extract_text()``),
``pypdf-layout`` (``extraction_mode="layout"``), ``pdfium`` (pypdfium2 ``get_text_range()``) and
``pdfminer`` (pdfminer.six, when installed: it is not a project dependency).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.independent_text import check_pages, poppler_readings


def _pypdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


def _pypdf_layout(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text(extraction_mode="layout") or "" for page in PdfReader(path).pages]


def _pdfium(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        out = []
        for i in range(len(pdf)):
            text = pdf[i].get_textpage().get_text_range()
            # PDFium writes a line-end hyphen it judged a word break as U+FFFE and joins the lines.
            out.append(text.replace("\r\n", "\n").replace("\ufffe", "-\n"))
        return out
    finally:
        pdf.close()


def _pdfminer(path: Path) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer

    return [
        "".join(el.get_text() for el in page if isinstance(el, LTTextContainer))
        for page in extract_pages(path)
    ]


RAW: dict[str, Callable[[Path], list[str]]] = {
    "pypdf": _pypdf,
    "pypdf-layout": _pypdf_layout,
    "pdfium": _pdfium,
    "pdfminer": _pdfminer,
}
CANDIDATES = ["read_pdf", *RAW]


def _parser_at(revision: str) -> ModuleType:
    """``ingestion/parse_pdf.py`` as it was at a git revision (``read_pdf@d267d06``: the pypdf parser)."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:ingestion/parse_pdf.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = ModuleType(f"parse_pdf_{revision}")
    exec(compile(source, f"{revision}:ingestion/parse_pdf.py", "exec"), module.__dict__)  # noqa: S102
    return module


def extract(candidate: str, path: Path, document: str) -> tuple[list[str], frozenset[int]]:
    """Cleaned page texts of one document by one candidate, and its table-of-contents pages."""
    if candidate.startswith("read_pdf"):
        if "@" in candidate:
            read_pdf = _parser_at(candidate.partition("@")[2]).read_pdf
        else:
            from ingestion.parse_pdf import read_pdf

        pages = read_pdf(path, document)
        return [p.text for p in pages], frozenset(p.page for p in pages if p.toc)
    from ingestion.parse_pdf import clean_pages, is_toc_page

    raw = RAW[candidate](path)
    return clean_pages(raw), frozenset(n for n, text in enumerate(raw, start=1) if is_toc_page(text))


def measure(job: tuple[str, Path, str]) -> dict[str, object]:
    candidate, path, document = job
    t0 = time.perf_counter()
    try:
        pages, toc = extract(candidate, path, document)
    except Exception as exc:  # noqa: BLE001 - a candidate that fails on a file is reported, not fatal
        return {"candidate": candidate, "document": document, "error": f"{type(exc).__name__}: {exc}"}
    seconds = time.perf_counter() - t0
    stats = check_pages(pages, poppler_readings(path), skip=toc, keep=5)
    return {
        "candidate": candidate,
        "document": document,
        "pages": len(pages),
        "seconds": seconds,
        "sentences": stats.sentences,
        "strict": stats.strict,
        "found": stats.found,
        "squashed": stats.squashed,
        "broken": stats.broken,
        "misses": stats.misses,
        "broken_examples": stats.broken_examples,
    }


def corpus_pdfs(corpus: Path) -> list[str]:
    rows = (
        line.split("\t")[0] for line in (corpus / "SOURCES.tsv").read_text(encoding="utf-8").splitlines()[1:]
    )
    return [r for r in rows if r.lower().endswith(".pdf")]


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:6.2f}" if d else "     -"


def row(name: str, r: dict[str, object]) -> str:
    s = int(r["sentences"])  # type: ignore[arg-type]
    speed = int(r["pages"]) / float(r["seconds"]) if float(r["seconds"]) else 0.0  # type: ignore[arg-type]
    return (
        f"| {name} | {r['pages']} | {s} | {pct(int(r['strict']), s)} | {pct(int(r['squashed']), s)} "  # type: ignore[arg-type]
        f"| {pct(int(r['found']), s)} "  # type: ignore[arg-type]
        f"| {pct(int(r['broken']), s)} | {speed:7.1f} |"  # type: ignore[arg-type]
    )


HEADER = (
    "| {} | pages | sentences | found % | found w/o spaces % | found, either reading % "
    "| broken-word % | pages/s |\n|---|---:|---:|---:|---:|---:|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_corpus = os.environ.get("EUMEX_TEST_CORPUS") or str(ROOT.parent / "shared" / "corpus" / "raw")
    parser.add_argument("--corpus", type=Path, default=Path(default_corpus))
    parser.add_argument("--docs", default="*", help="glob (or substring) of the documents to measure")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--misses", type=int, default=0, help="print up to N missed sentences per document")
    parser.add_argument("--json", type=Path, help="write the per-document results here")
    args = parser.parse_args()

    docs = [d for d in corpus_pdfs(args.corpus) if fnmatch.fnmatch(d, args.docs) or args.docs.strip("*") in d]
    candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
    unknown = {c for c in candidates if not c.startswith("read_pdf@")} - set(CANDIDATES)
    if unknown:
        raise SystemExit(f"unknown candidates {sorted(unknown)}; choose from {CANDIDATES}")
    jobs = [(c, args.corpus / d, d) for c in candidates for d in docs]
    # Biggest documents first, so the two workers finish together.
    jobs.sort(key=lambda j: -j[1].stat().st_size)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(measure, jobs))

    by_candidate: dict[str, list[dict[str, object]]] = {c: [] for c in candidates}
    for r in results:
        by_candidate[str(r["candidate"])].append(r)
    totals = {}
    for candidate, rows in by_candidate.items():
        rows.sort(key=lambda r: docs.index(str(r["document"])))
        print(f"\n## {candidate}\n")
        print(HEADER.format("document"))
        total: dict[str, object] = dict.fromkeys(
            ["pages", "seconds", "sentences", "strict", "found", "squashed", "broken"], 0
        )
        for r in rows:
            if "error" in r:
                print(f"| {r['document']} | error: {r['error']} |")
                continue
            print(row(str(r["document"]), r))
            for key in total:
                total[key] += r[key]  # type: ignore[operator]
        print(row("**all**", total))
        totals[candidate] = total
        if args.misses:
            for r in rows:
                for page, sentence in list(r.get("misses", []))[: args.misses]:  # type: ignore[call-overload]
                    print(f"  miss {r['document']} p{page}: {sentence}")
                for page, pieces in list(r.get("broken_examples", []))[: args.misses]:  # type: ignore[call-overload]
                    print(f"  broken {r['document']} p{page}: {pieces}")

    print("\n## overall\n")
    print(HEADER.format("candidate"))
    for candidate, total in totals.items():
        print(row(candidate, total))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "totals": totals}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
