"""Answer latency, warm: the dev-set questions asked one at a time through ``Assistant.ask``.

    python bench/answer_latency.py [--runs 2] [--dataset evals/datasets/dev.jsonl]

Uses the index in EUMEX_DATA_DIR (run `eumex ingest` first) and whatever answer mode the settings give
(extractive without EUMEX_LLM_*). One warm-up question loads the model first. Run 1 has only the caches
earlier questions filled; later runs repeat the same questions, so the query-vector and sentence-vector
caches are hot. Prints p50/p95 per stage (the keys of ``Answer.timings_ms``) and writes
bench/results/answer_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import load_settings  # noqa: E402
from assistant.pipeline import build_pipeline  # noqa: E402
from evals.dataset import DEFAULT_DATASET, load_dataset  # noqa: E402
from evals.metrics import percentile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="passes over the questions (default 2)")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "answer_latency.json")
    args = parser.parse_args()

    questions = [item["user_input"] for item in load_dataset(args.dataset)]
    settings = load_settings()
    assistant = build_pipeline(settings)
    assistant.ensure_ready()
    t0 = time.perf_counter()
    assistant.ask("warm-up question about evaluation thresholds")
    warm_up_ms = (time.perf_counter() - t0) * 1000

    runs = []
    for run in range(1, args.runs + 1):
        timings: dict[str, list[float]] = {}
        started = time.perf_counter()
        for question in questions:
            answer = assistant.ask(question)
            for stage, ms in answer.timings_ms.items():
                timings.setdefault(stage, []).append(ms)
        stages = {
            stage: {"n": len(v), "p50": round(percentile(v, 50) or 0, 1), "p95": round(percentile(v, 95) or 0, 1),
                    "max": round(max(v), 1)}
            for stage, v in sorted(timings.items())
        }
        runs.append({"run": run, "questions": len(questions), "wall_s": round(time.perf_counter() - started, 1),
                     "stages_ms": stages})
        total = stages["total"]
        print(f"run {run}: {len(questions)} questions, total p50 {total['p50']:.0f} ms, p95 {total['p95']:.0f} ms "
              f"(" + ", ".join(f"{s} p50 {v['p50']:.0f}/p95 {v['p95']:.0f}" for s, v in stages.items() if s != "total")
              + ")")
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "mode": "llm" if assistant.streams_text else "extractive",
        "dataset": str(args.dataset),
        "cpus": os.cpu_count(),
        "warm_up_ms": round(warm_up_ms, 1),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
