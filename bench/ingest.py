"""Benchmark the ingestion job: whole corpus cold, then an unchanged re-run.

    python bench/ingest.py [--corpus DIR] [--runs N]

Each run is a fresh `eumex ingest` process on a fresh data directory (cold) or on the one just
built (unchanged). Wall time and peak resident memory of the process are measured from outside;
the per-stage seconds come from the job's own summary. Results go to bench/results/ingest.json
and are printed as a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_ingest(corpus: Path, data: Path) -> dict[str, object]:
    env = {**os.environ, "EUMEX_CORPUS_DIR": str(corpus), "EUMEX_DATA_DIR": str(data), "EUMEX_LOG_LEVEL": "WARNING"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bots.cli", "ingest", "--quiet"], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed:\n{proc.stdout}\n{proc.stderr}")
    summary = proc.stdout
    stages = dict((k, float(v)) for k, v in re.findall(r"(\w+) (\d+\.\d)", summary.split("seconds:", 1)[1]))
    numbers = {k: int(v) for k, v in re.findall(r"(pages|records|chunks|embedded): (\d+)", summary)}
    return {
        "wall_s": round(wall, 1),
        # ru_maxrss of children is the max over all children so far: only meaningful when it grew
        "peak_rss_mb": round(peak_kb / 1024) if peak_kb > before else None,
        "stages_s": stages,
        **numbers,
        "pages_per_s": round(numbers["pages"] / stages["parse"], 1) if stages.get("parse") else None,
        "chunks_per_s_embedded": round(numbers["embedded"] / stages["embed"], 1) if stages.get("embed") else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("EUMEX_CORPUS_MIRROR", ROOT.parent / "shared/corpus/raw")))
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="eumex-bench-") as tmp:
            cold = run_ingest(args.corpus, Path(tmp))
            warm = run_ingest(args.corpus, Path(tmp))
            results.append({"cold": cold, "unchanged": warm})
    out = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "date": time.strftime("%Y-%m-%d"),
        "runs": results,
    }
    dest = ROOT / "bench" / "results"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "ingest.json").write_text(json.dumps(out, indent=2))
    print("| run | wall s | peak RSS MB | pages/s parsed | chunks/s embedded | parse | embed | store | second (e5) | sentences | catalog |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for name in ("cold", "unchanged"):
            x = r[name]
            s = x["stages_s"]
            print(
                f"| {name} | {x['wall_s']} | {x['peak_rss_mb']} | {x['pages_per_s'] or '-'} | "
                f"{x['chunks_per_s_embedded'] or '-'} | {s.get('parse', 0)} | {s.get('embed', 0)} | "
                f"{s.get('store', 0)} | {s.get('second', 0)} | {s.get('sentences', 0)} | {s.get('catalog', 0)} |"
            )


if __name__ == "__main__":
    main()
