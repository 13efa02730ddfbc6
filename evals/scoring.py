"""Run a dataset through the answering pipeline and score every question.

    rows = evaluate(assistant, items, baselines=[...], scorer=Scorer(...))
    summary = summarise(rows, ...)

Each question goes through ``assistant.ask`` exactly as a channel sends it (no conversation, language
auto-detected). Retrieval metrics use ``assistant.retrieve(question, k=10)``: the same routing and
retriever ``ask`` uses, ten deep (``ask`` reads the first eight, the same ranking).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

from assistant.answer import Assistant
from assistant.citations import normalise, row_quote_verified
from assistant.types import Chunk, Citation
from evals.metrics import Passage, Ref, matches, mean, percentile, ratio, retrieval_scores
from evals.ragas_scores import JUDGE_METRICS, OFFLINE_METRICS, Scorer

RETRIEVAL_METRICS = ("hit@1", "hit@5", "hit@10", "recall@1", "recall@5", "recall@10", "mrr", "ndcg@10")
DEPTH = 10
WARM_UP = "warm-up question about evaluation thresholds"


ROW = re.compile(r"\brow (\d+)\)?$")


def _row_cells(catalog: Any, document: str, row: int) -> list[dict[str, str]]:
    """The stored source cells of a CORDIS dataset row (partner tables), for checking a row quote."""
    out = []
    for table in ("partner_projects", "partner_participations"):
        try:
            found = catalog.db.execute(f"SELECT cells FROM {table} WHERE document = ? AND row = ?", (document, row))
            out += [json.loads(r[0]) for r in found]
        except sqlite3.OperationalError:  # an index built before the partner tables existed
            pass
    return out


def quote_on_page(assistant: Assistant, citation: Citation) -> bool:
    """Is the citation's quote verbatim (whitespace and typography normalised) where it points?

    PDFs: on the cited page's stored text. Dataset rows cited by the partner search (``row N`` in the
    locator, no chunk): every ``column: value`` equals that row's stored cell. Other records: in the chunk.
    """
    catalog = assistant.index.catalog
    doc = assistant.manifest.by_path(citation.document)
    quote = normalise(citation.quote).strip(' ."')
    if citation.page is not None and doc is not None:
        text = catalog.page_text(doc.id, citation.page) or ""
    elif not citation.chunk_id and citation.locator and (m := ROW.search(citation.locator)):
        cells = _row_cells(catalog, citation.document, int(m.group(1)))
        return any(row_quote_verified(c, citation.quote) for c in cells)
    else:
        chunk = catalog.chunks_by_id([citation.chunk_id]).get(citation.chunk_id)
        text = chunk.text if chunk else ""
    return len(quote) >= 8 and quote in normalise(text)


def cites(citation: Citation, ref: Ref) -> bool:
    """Does the citation point at the reference page (or record)?"""
    return matches(Passage(citation.document, citation.page, citation.page, citation.locator), ref)


def _passage_json(chunk: Chunk, text: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "chunk_id": chunk.id,
        "document": chunk.document,
        "page_start": chunk.page_start,
        "page_end": chunk.page_end,
        "locator": chunk.locator,
    }
    if text:
        data["text"] = chunk.text
    return data


def evaluate_one(
    assistant: Assistant, item: dict[str, Any], baselines: Sequence[Any] = (), scorer: Scorer | None = None
) -> dict[str, Any]:
    """Ask one question and score the answer, its contexts, and the baselines' retrieval."""
    refs = [Ref.from_json(r) for r in item.get("reference_contexts") or []]
    answer = assistant.ask(item["user_input"], lang="auto")
    question = answer.standalone_question or item["user_input"]
    retrieved = [hit.chunk for hit in assistant.retrieve(question, k=DEPTH)]
    citations = []
    for c in answer.citations:
        citations.append({**c.as_json(), "verified": quote_on_page(assistant, c),
                          "on_reference": any(cites(c, r) for r in refs)})
    scores: dict[str, Any] = {
        "quotes": len(citations),
        "quotes_verified": sum(c["verified"] for c in citations),
        "language_match": answer.language == item["language"],
    }
    if refs:
        scores.update(retrieval_scores([Passage.of(c) for c in retrieved], refs))
        scores["cites_reference"] = any(c["on_reference"] for c in citations)
    if scorer is not None:
        contexts = [hit.chunk for hit in answer.contexts]
        scores.update(
            scorer.score(
                question=item["user_input"],
                answer=answer.answer,
                abstained=answer.abstained,
                contexts=[c.text for c in contexts],
                context_ids=[i for c in contexts for i in Passage.of(c).ids()],
                reference=item.get("reference") if refs else None,
                reference_quotes=[r.get("quote") or "" for r in item.get("reference_contexts") or []],
                reference_ids=[r.id for r in refs],
            )
        )
    row: dict[str, Any] = {
        "id": item["id"],
        "question": item["user_input"],
        "language": item["language"],
        "answerable": bool(item["answerable"]),
        "category": item.get("category"),
        "reference": item.get("reference"),
        "reference_contexts": [{"document": r.document, "page": r.page, "locator": r.locator} for r in refs],
        "answer": answer.answer,
        "answer_language": answer.language,
        "abstained": answer.abstained,
        "mode": answer.mode,
        "citations": citations,
        "contexts": [_passage_json(h.chunk, text=True) | {"score": round(h.score, 5), "sources": list(h.sources)}
                     for h in answer.contexts],
        "retrieved": [_passage_json(c) for c in retrieved],
        "timings_ms": {k: round(v, 2) for k, v in answer.timings_ms.items()},
        "scores": scores,
        "baselines": {},
    }
    for baseline in baselines:
        found = baseline.search(question, k=DEPTH)
        row["baselines"][baseline.name] = {
            "retrieved": [c.id for c in found],
            "scores": retrieval_scores([Passage.of(c) for c in found], refs) if refs else {},
        }
    return row


def evaluate(
    assistant: Assistant,
    items: Sequence[dict[str, Any]],
    baselines: Sequence[Any] = (),
    scorer: Scorer | None = None,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Every question in turn, after one warm-up question (so model loading is not timed)."""
    assistant.ensure_ready()
    assistant.ask(WARM_UP)
    rows = []
    for n, item in enumerate(items, start=1):
        rows.append(evaluate_one(assistant, item, baselines, scorer))
        if progress:
            progress(n, len(items), rows[-1])
    return rows


def _by_language(rows: Sequence[dict[str, Any]], metric: str, source: str = "ours") -> dict[str, float | None]:
    def value(row: dict[str, Any]) -> Any:
        scores = row["scores"] if source == "ours" else row["baselines"].get(source, {}).get("scores", {})
        return scores.get(metric)

    out: dict[str, float | None] = {"all": mean(value(r) for r in rows)}
    for lang in ("en", "es"):
        out[lang] = mean(value(r) for r in rows if r["language"] == lang)
    return {k: None if v is None else round(v, 4) for k, v in out.items()}


def summarise(rows: Sequence[dict[str, Any]], baselines: Sequence[str] = (), judged: bool = False) -> dict[str, Any]:
    """Aggregate per-question rows into the run's summary (shares keep their counts)."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    retrieval: dict[str, Any] = {}
    for source in ("ours", *baselines):
        retrieval[source] = {m: _by_language(answerable, m, source) for m in RETRIEVAL_METRICS}
    ratios: dict[str, Any] = {}
    for source in baselines:
        ratios[source] = {}
        for m in RETRIEVAL_METRICS:
            ratios[source][m] = {}
            for lang, ours in retrieval["ours"][m].items():
                base = retrieval[source][m][lang]
                ratios[source][m][lang] = round(ours / base, 3) if ours is not None and base else None
    ragas_names = OFFLINE_METRICS + (JUDGE_METRICS if judged else ())
    ragas = {m: _by_language(rows, m) for m in ragas_names if any(m in r["scores"] for r in rows)}
    stages = sorted({k for r in rows for k in r["timings_ms"]})
    latency = {}
    for stage in stages:
        values = [r["timings_ms"][stage] for r in rows if stage in r["timings_ms"]]
        latency[stage] = {"n": len(values), "p50": round(percentile(values, 50) or 0, 1),
                          "p95": round(percentile(values, 95) or 0, 1)}
    quotes = sum(r["scores"]["quotes"] for r in rows)
    return {
        "questions": {"total": len(rows), "answerable": len(answerable), "unanswerable": len(unanswerable),
                      "en": sum(r["language"] == "en" for r in rows), "es": sum(r["language"] == "es" for r in rows)},
        "retrieval": retrieval,
        "ratios": ratios,
        "ragas": ragas,
        "citations": {
            "quotes_verbatim": ratio(sum(r["scores"]["quotes_verified"] for r in rows), quotes),
            "answers_citing_reference": ratio(sum(bool(r["scores"].get("cites_reference")) for r in answerable),
                                              len(answerable)),
        },
        "abstention": {
            "unanswerable_refused": ratio(sum(r["abstained"] for r in unanswerable), len(unanswerable)),
            "answerable_refused": ratio(sum(r["abstained"] for r in answerable), len(answerable)),
        },
        "language_match": ratio(sum(r["scores"]["language_match"] for r in rows), len(rows)),
        "latency_ms": latency,
    }


def flatten(summary: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a summary as ``a.b.c`` keys; a share ``{n, of, value}`` becomes its value."""
    out: dict[str, float] = {}
    for key, value in summary.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and set(value) == {"n", "of", "value"}:
            if value["value"] is not None:
                out[path] = float(value["value"])
        elif isinstance(value, dict):
            out.update(flatten(value, path + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[path] = float(value)
    return out


def now_utc() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
