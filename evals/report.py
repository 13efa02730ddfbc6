"""Write a run's readable report (``report.md``) with plots: matplotlib PNGs when it is installed
(the ``eval`` extra), plain-text bar charts otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.scoring import RETRIEVAL_METRICS

PLOT_METRICS = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10")
LABELS = {"ours": "EUMEX hybrid", "dense": "LangChain+Chroma dense", "keyword": "BM25 keyword"}


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict) and "value" in value:
        return f"{value['n']}/{value['of']} = {_f(value['value'])}"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _text_bars(series: dict[str, dict[str, float | None]], width: int = 40) -> list[str]:
    lines = ["```"]
    for metric, values in series.items():
        lines.append(metric)
        for name, value in values.items():
            v = value or 0.0
            lines.append(f"  {name:<24} {'█' * round(v * width):<{width}} {_f(value)}")
    lines.append("```")
    return lines


def _plots(summary: dict[str, Any], rows: Sequence[dict[str, Any]], out: Path) -> list[str]:
    """PNG plots next to the report; the Markdown lines that show them (text charts without matplotlib)."""
    sources = list(summary["retrieval"])
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        lines = []
        for lang in ("en", "es"):
            lines.append(f"Retrieval, {lang} questions:")
            lines += _text_bars({m: {LABELS.get(s, s): summary["retrieval"][s][m][lang] for s in sources}
                                 for m in PLOT_METRICS})
        return lines

    fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
    for ax, lang in zip(axes, ("all", "en", "es"), strict=True):
        width = 0.8 / len(sources)
        for i, source in enumerate(sources):
            values = [summary["retrieval"][source][m][lang] or 0.0 for m in PLOT_METRICS]
            ax.bar([x + i * width for x in range(len(PLOT_METRICS))], values, width, label=LABELS.get(source, source))
        ax.set_xticks([x + width * (len(sources) - 1) / 2 for x in range(len(PLOT_METRICS))], PLOT_METRICS)
        ax.set_title(f"retrieval by document+page ({lang})")
        ax.set_ylim(0, 1)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "retrieval.png", dpi=90)
    plt.close(fig)

    stages = [s for s in ("retrieve", "extract", "generate", "total") if s in summary["latency_ms"]]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.boxplot([[r["timings_ms"][s] for r in rows if s in r["timings_ms"]] for s in stages], showfliers=True)
    ax.set_xticks(range(1, len(stages) + 1), stages)
    ax.set_ylabel("ms")
    ax.set_title("answer latency per stage")
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=90)
    plt.close(fig)
    return ["![retrieval](retrieval.png)", "", "![latency](latency.png)"]


def _table(header: Sequence[str], body: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_f(c) for c in row) + " |" for row in body]
    return lines


def write_report(out: Path, summary: dict[str, Any], rows: Sequence[dict[str, Any]]) -> Path:
    """report.md in the run directory, from its summary and per-question rows."""
    run = summary["run"]
    q = summary["questions"]
    lines = [
        f"# Evaluation run {out.name}",
        "",
        f"Dataset `{run['dataset']}`" + (f", balanced subset of {run['subset']}" if run.get("subset") else "")
        + f": {q['total']} questions ({q['answerable']} answerable, {q['unanswerable']} unanswerable; "
        f"{q['en']} EN, {q['es']} ES). Answers: {run['answer_mode']}. Judge: {run.get('judge') or 'none'}. "
        f"Commit `{run.get('commit') or '?'}`. {run['seconds']:.0f} s.",
        "",
    ]
    if "gate" in summary:
        gate = summary["gate"]
        lines += ["**Quality gate: " + ("passed**" if not gate["failures"] else "FAILED**"), ""]
        lines += [f"- {f}" for f in gate["failures"]] + ([""] if gate["failures"] else [])

    lines += ["## Retrieval (answerable questions, by document+page, top 10)", ""]
    sources = list(summary["retrieval"])
    header = ["metric"] + [f"{LABELS.get(s, s)} {lang}" for s in sources for lang in ("all", "en", "es")]
    lines += _table(header, [[m] + [summary["retrieval"][s][m][lang] for s in sources for lang in ("all", "en", "es")]
                             for m in RETRIEVAL_METRICS])
    if summary["ratios"]:
        lines += ["", "Ratio ours / baseline (>1: ours is better):", ""]
        header = ["metric"] + [f"/ {LABELS.get(b, b)} {lang}" for b in summary["ratios"] for lang in ("all", "en", "es")]
        lines += _table(header, [[m] + [summary["ratios"][b][m][lang] for b in summary["ratios"]
                                        for lang in ("all", "en", "es")] for m in RETRIEVAL_METRICS])
    lines += ["", *_plots(summary, rows, out), ""]

    lines += ["## Answers", ""]
    lines += _table(["measure", "value"], [
        ["citation quotes verbatim on the cited page", summary["citations"]["quotes_verbatim"]],
        ["answerable questions citing a reference page", summary["citations"]["answers_citing_reference"]],
        ["unanswerable refused", summary["abstention"]["unanswerable_refused"]],
        ["answerable refused (false refusals)", summary["abstention"]["answerable_refused"]],
        ["answer language = question language", summary["language_match"]],
    ])
    if summary["ragas"]:
        lines += ["", "ragas (mean; context and reference metrics over answerable questions):", ""]
        lines += _table(["metric", "all", "en", "es"],
                        [[m, v["all"], v["en"], v["es"]] for m, v in summary["ragas"].items()])
    lines += ["", "## Latency (ms, warm, one question at a time)", ""]
    lines += _table(["stage", "n", "p50", "p95"],
                    [[s, v["n"], v["p50"], v["p95"]] for s, v in summary["latency_ms"].items()])

    comparison = summary.get("comparison")
    lines += ["", "## Compared with the previous run", ""]
    if not comparison:
        lines.append("No previous run in this results directory.")
    else:
        lines.append(f"Previous run: `{comparison['previous']}` ({comparison['common_questions']} questions in common"
                     + ("" if comparison["same_questions"] else "; a different question set") + ").")
        changed = {k: v for k, v in comparison["deltas"].items() if abs(v["delta"]) >= 0.005
                   and not k.startswith("latency_ms")}
        lines.append("")
        if changed:
            lines += _table(["metric", "before", "after", "delta"],
                            [[k, v["before"], v["after"], f"{v['delta']:+.3f}"] for k, v in sorted(changed.items())])
        else:
            lines.append("No quality metric moved by 0.005 or more.")
        latency = {k: v for k, v in comparison["deltas"].items() if k.startswith("latency_ms") and k.endswith("p95")}
        if latency:
            lines.append("")
            lines.append("Latency p95: " + ", ".join(f"{k.split('.')[1]} {v['before']:.0f} → {v['after']:.0f} ms"
                                                      for k, v in latency.items()))
        lines.append("")
        for field, groups in comparison["flips"].items():
            for label, ids in groups.items():
                if ids:
                    lines.append(f"- {field} {label}: {', '.join(ids)}")
        if not any(ids for groups in comparison["flips"].values() for ids in groups.values()):
            lines.append("- no question flipped")

    lines += ["", "## Questions", ""]
    names = [b for b in summary["ratios"]]
    body = []
    for r in rows:
        s = r["scores"]
        body.append([r["id"], r["language"], "yes" if r["answerable"] else "no",
                     s.get("hit@5"), *[r["baselines"].get(b, {}).get("scores", {}).get("hit@5") for b in names],
                     "refused" if r["abstained"] else "answered", f"{s['quotes_verified']}/{s['quotes']}",
                     s.get("cites_reference"), round(r["timings_ms"].get("total", 0.0))])
    lines += _table(["id", "lang", "answerable", "hit@5", *[f"hit@5 {b}" for b in names], "answer",
                     "quotes verbatim", "cites reference", "ms"], body)
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
