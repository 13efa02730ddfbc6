"""Score the topic finder on research ideas with known fitting topics, beside a plain dense search over the
same topic texts, in the same run.

    python -m evals.topic_finder evals/datasets/topics_heldout.jsonl [more.jsonl] [--json OUT]

For each idea: the rank of the first relevant topic in the finder's list and in the baseline's (one USE vector
per whole topic text: title, Expected Outcome and Scope; cosine with the idea). Reported per language:
right topic in the top 1 / top 5, MRR, and the finder's milliseconds per query (warm).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import load_settings
from assistant.pipeline import build_pipeline
from assistant.topics.finder import codes, topic_text


def _rank(found: list[str], relevant: set[str]) -> int | None:
    return next((n for n, code in enumerate(found, 1) if code in relevant), None)


def _summary(ranks: list[tuple[str, int | None]]) -> dict[str, dict[str, float | int | None]]:
    out: dict[str, dict[str, float | int | None]] = {}
    for lang in ("en", "es", "all"):
        chosen = [r for language, r in ranks if lang in (language, "all")]
        if not chosen:
            continue
        out[lang] = {
            "n": len(chosen),
            "top1": round(sum(r == 1 for r in chosen) / len(chosen), 3),
            "top5": round(sum(r is not None and r <= 5 for r in chosen) / len(chosen), 3),
            "mrr": round(float(np.mean([1.0 / r if r else 0.0 for r in chosen])), 3),
        }
    return out


def evaluate(paths: list[Path]) -> dict[str, Any]:
    assistant = build_pipeline(load_settings())
    finder = assistant.topic_finder
    assert finder is not None, "the index has no call topics: run `eumex ingest` with the work programmes"
    topics = finder.table.all()
    texts = dict(zip((t.code for t in topics), assistant.index.embedder.embed([topic_text(t) for t in topics]), strict=True))
    finder.search("warm up the models")
    results: dict[str, Any] = {}
    for path in paths:
        ours, plain, times = [], [], []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            relevant = set(item["relevant"])
            started = time.perf_counter()
            found = codes(finder.search(item["idea"], n=10))
            times.append((time.perf_counter() - started) * 1000)
            ours.append((item["language"], _rank(found, relevant)))
            plain.append((item["language"], _rank(finder.plain_dense(item["idea"], texts, n=10), relevant)))
        results[path.name] = {
            "finder": _summary(ours),
            "plain_dense": _summary(plain),
            "ms_per_query": {"p50": round(float(np.percentile(times, 50)), 1), "p95": round(float(np.percentile(times, 95)), 1)},
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results to this file.")
    args = parser.parse_args()
    results = evaluate(args.datasets)
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
