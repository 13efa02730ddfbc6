"""``eumex eval``: run a dataset through the pipeline, score it, compare it, write the run directory.

    evals/results/<UTC timestamp>/
        results.jsonl   one JSON object per question (answer, citations, contexts, timings, scores, baselines)
        summary.json    the aggregated metrics, the baselines' ratios, the comparison with the previous run
        report.md       the same, readable, with plots (retrieval.png, latency.png)
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import ConfigError
from evals.compare import compare, load_run, previous_run
from evals.dataset import ROOT, balanced_subset, load_dataset
from evals.gate import check, load_gate
from evals.ragas_scores import Judge, Scorer
from evals.report import write_report
from evals.scoring import evaluate, now_utc, summarise

DEFAULT_RESULTS = ROOT / "evals" / "results"


@dataclass
class EvalOptions:
    dataset: Path
    subset: int | None = None
    out: Path = DEFAULT_RESULTS
    baselines: bool = True
    llm_judge: bool = False
    judge_url: str | None = None
    judge_model: str | None = None
    ragas: bool = True
    gate: bool = False


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _judge(settings: Settings, options: EvalOptions) -> Judge | None:
    if not options.llm_judge:
        return None
    url = options.judge_url or settings.llm_base_url
    model = options.judge_model or settings.llm_model
    if not url or not model:
        raise ConfigError(
            "--llm-judge needs a judge LLM: set EUMEX_LLM_BASE_URL and EUMEX_LLM_MODEL, or pass "
            "--judge-url and --judge-model (any OpenAI-compatible endpoint, e.g. Ollama's http://127.0.0.1:11434/v1)"
        )
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return Judge(url, model, key, timeout_s=max(settings.llm_timeout_s, 120.0))


def _run_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    name = now_utc()
    path, n = root / name, 1
    while path.exists():  # two runs within one second
        n += 1
        path = root / f"{name}-{n}"
    path.mkdir()
    return path


def run_evaluation(
    settings: Settings,
    options: EvalOptions,
    assistant: Any = None,
    echo: Callable[[str], None] = lambda _m: None,
) -> tuple[Path, dict[str, Any]]:
    """Evaluate, write results.jsonl, summary.json and report.md; return the run directory and summary."""
    from assistant.pipeline import build_pipeline
    from evals.baselines import build_baselines

    started = time.perf_counter()
    items = balanced_subset(load_dataset(options.dataset), options.subset)
    judge = _judge(settings, options)
    assistant = assistant or build_pipeline(settings)
    assistant.ensure_ready()
    baselines = build_baselines(assistant.index) if options.baselines else []
    scorer = Scorer(assistant.index.embedder, judge) if options.ragas else None

    def progress(n: int, total: int, row: dict[str, Any]) -> None:
        if n == total or n % 10 == 0:
            echo(f"  {n}/{total} questions")

    echo(f"Evaluating {len(items)} questions from {options.dataset}")
    try:
        rows = evaluate(assistant, items, baselines, scorer, progress)
    finally:
        for baseline in baselines:
            baseline.close()
    summary = summarise(rows, [b.name for b in baselines], judged=judge is not None)
    try:
        dataset_name = str(options.dataset.resolve().relative_to(ROOT))
    except ValueError:
        dataset_name = str(options.dataset)
    summary = {
        "run": {
            "started_utc": now_utc(),
            "dataset": dataset_name,
            "subset": options.subset,
            "questions_key": hashlib.sha256(" ".join(sorted(r["id"] for r in rows)).encode()).hexdigest()[:16],
            "answer_mode": f"LLM {settings.llm_model}" if assistant.streams_text else "extractive (no LLM)",
            "judge": f"{judge.model} at {judge.base_url}" if judge else None,
            "baselines": {b.name: b.label for b in baselines},
            "commit": _commit(),
            "seconds": round(time.perf_counter() - started, 1),
        },
        **summary,
    }
    if options.gate:
        summary["gate"] = {"file": "evals/gate.toml", "failures": check(summary, load_gate())}

    out = _run_dir(options.out)
    with (out / "results.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    previous = previous_run(options.out, out, summary["run"]["questions_key"])
    if previous is not None:
        summary["comparison"] = compare(load_run(previous), (summary, rows), previous.name)
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    write_report(out, summary, rows)
    return out, summary


def headline(summary: dict[str, Any]) -> list[str]:
    """The few lines `eumex eval` prints at the end."""
    r = summary["retrieval"]

    def fmt(v: Any) -> str:
        return "–" if v is None else f"{v:.2f}"

    lines = []
    for source, metrics in r.items():
        lines.append(
            f"  {source:<8} hit@5 en {fmt(metrics['hit@5']['en'])} es {fmt(metrics['hit@5']['es'])}  "
            f"MRR {fmt(metrics['mrr']['all'])}  nDCG@10 {fmt(metrics['ndcg@10']['all'])}"
        )
    c, a = summary["citations"], summary["abstention"]
    lines.append(f"  quotes verbatim {c['quotes_verbatim']['n']}/{c['quotes_verbatim']['of']}  "
                 f"unanswerable refused {a['unanswerable_refused']['n']}/{a['unanswerable_refused']['of']}  "
                 f"answerable refused {a['answerable_refused']['n']}/{a['answerable_refused']['of']}")
    total = summary["latency_ms"].get("total")
    if total:
        lines.append(f"  latency total p50 {total['p50']:.0f} ms, p95 {total['p95']:.0f} ms")
    if summary.get("comparison"):
        flips = summary["comparison"]["flips"]
        moved = sum(len(ids) for groups in flips.values() for ids in groups.values())
        lines.append(f"  vs {summary['comparison']['previous']}: {moved} flips (see report.md)")
    if "gate" in summary:
        lines.append("  gate: " + ("passed" if not summary["gate"]["failures"] else "FAILED"))
        lines += [f"    {f}" for f in summary["gate"]["failures"]]
    return lines
