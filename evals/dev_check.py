"""Measure the answering pipeline on the development set against the targets of issue 3.

    python -m evals.dev_check [--dataset evals/datasets/dev.jsonl] [--out FILE.jsonl]

Runs every question through the same Assistant the channels use and reports:
right document+page in the top 5 contexts (per language), citation quotes found verbatim on the
cited page, refusals on unanswerable and answerable questions, and warm latency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from assistant.answer import build_assistant
from assistant.citations import normalise
from assistant.config import load_settings
from assistant.models import Hit

ROOT = Path(__file__).resolve().parents[1]


def context_matches(hits: list[Hit], refs: list[dict], k: int = 5) -> bool:
    """Is one of the reference pages (or records) among the first k retrieved passages?"""
    for hit in hits[:k]:
        c = hit.chunk
        for ref in refs:
            if ref["document"] != c.document:
                continue
            if ref.get("page") is not None and c.page_start is not None:
                if c.page_start <= ref["page"] <= (c.page_end or c.page_start):
                    return True
            elif ref.get("locator") and c.locator and ref["locator"].split()[-1] in c.locator:
                return True
    return False


def quote_on_page(assistant, citation) -> bool:  # type: ignore[no-untyped-def]
    doc = assistant.manifest.by_path(citation.document)
    if citation.page is not None and doc is not None:
        text = assistant.index.catalog.page_text(doc.id, citation.page) or ""
    else:
        chunk = assistant.index.catalog.chunks_by_id([citation.chunk_id]).get(citation.chunk_id)
        text = chunk.text if chunk else ""
    return normalise(citation.quote) in normalise(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "datasets" / "dev.jsonl")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    items = [json.loads(line) for line in args.dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    assistant = build_assistant(load_settings())
    assistant.retriever.ensure_ready()
    assistant.ask("warm-up question about evaluation thresholds")

    rows = []
    for item in items:
        answer = assistant.ask(item["user_input"], lang="auto")
        rows.append(
            {
                "id": item["id"],
                "language": item["language"],
                "answerable": item["answerable"],
                "abstained": answer.abstained,
                "answer_language": answer.language,
                "top5": context_matches(assistant.retrieve(item["user_input"]), item.get("reference_contexts", []))
                if item["answerable"]
                else None,
                "citations": len(answer.citations),
                "verified": sum(quote_on_page(assistant, c) for c in answer.citations),
                "cites_reference": any(
                    c.document == r["document"] and (r.get("page") is None or c.page == r["page"])
                    for c in answer.citations
                    for r in item.get("reference_contexts", [])
                ),
                "ms": answer.timings_ms.get("total", 0.0),
                "answer": answer.answer,
            }
        )
    if args.out:
        args.out.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")

    def share(values: list[bool]) -> str:
        return f"{sum(values)}/{len(values)} = {sum(values) / max(1, len(values)):.2f}"

    print("Development set:", args.dataset)
    for lang in ("en", "es"):
        sel = [r["top5"] for r in rows if r["answerable"] and r["language"] == lang]
        print(f"  right document+page in top 5 ({lang}): {share(sel)}")
    cites = sum(r["citations"] for r in rows)
    print(f"  citation quotes verbatim on the cited page: {sum(r['verified'] for r in rows)}/{cites}")
    print(f"  unanswerable refused: {share([r['abstained'] for r in rows if not r['answerable']])}")
    print(f"  answerable refused:   {share([r['abstained'] for r in rows if r['answerable']])}")
    print(f"  answers citing a reference page: {share([r['cites_reference'] for r in rows if r['answerable']])}")
    print(f"  answer language = question language: {share([r['answer_language'] == r['language'] for r in rows])}")
    ms = sorted(r["ms"] for r in rows)
    print(f"  latency ms (warm, extractive): p50 {statistics.median(ms):.0f}, p95 {ms[int(0.95 * (len(ms) - 1))]:.0f}")
    sys.exit(0)


if __name__ == "__main__":
    main()
