"""Benchmark Chroma as the index grows: insert rate, query latency, memory and size on disk.

    python bench/chroma_growth.py [--sizes 10000,100000,300000,1000000] [--budget-min 25] [--queries 200]
    python bench/chroma_growth.py --dir DIR --start 300000 --sizes 1000000 --queries 20   # continue a kept store

Synthetic chunks stand in for real ones: random unit vectors of the real dimension (512, the packaged
USE model) with the metadata our chunks carry (language, doc_id, programme, kind, period, page), so the
embedder costs nothing and the numbers are Chroma's alone. One persistent (embedded) store in a temp
directory grows level by level. Every step is a fresh process, so each number is clean:

- a *grow* process inserts the next slice in batches of 5,000 (its peak RSS is the insert memory);
- a *measure* process opens the store as a restarted API replica would, times the first query (loading
  the index), then top-10 queries: unfiltered, and with the `language` filter the retriever always uses
  (`en` matches ~85% of the chunks, `es` ~15%); then reads its resident memory.

Growth stops before a level that would not fit in the time budget (projected from the last insert rate).
Results go to bench/results/chroma_growth.json and a Markdown table is printed for docs/benchmarks.md.
Random vectors are a worst case for HNSW (no clusters), so latencies here are upper-ish bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIM = 512
BATCH = 5000
COLLECTION = "growth"
SEED = 20261126


def _client(path: Path):  # type: ignore[no-untyped-def]
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))


def _vectors(start: int, count: int):  # type: ignore[no-untyped-def]
    """Deterministic random unit vectors for ids start..start+count (float32)."""
    import numpy as np

    rng = np.random.default_rng(SEED + start)
    v = rng.standard_normal((count, DIM), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def _metadata(i: int) -> dict[str, str | int]:
    """Metadata shaped like a real chunk's (Chunk.metadata()): ~15% Spanish, 500 documents."""
    doc = i % 500
    return {
        "doc_id": f"doc-{doc:03d}",
        "document": f"synthetic/doc-{doc:03d}.pdf",
        "collection": "documents",
        "heading": f"Section {i % 37}",
        "language": "es" if i % 20 < 3 else "en",
        "programme": ("h2020", "horizon-europe", "mexico")[doc % 3],
        "kind": ("work_programme", "guidance", "rules", "law")[doc % 4],
        "period": str(2014 + doc % 12),
        "page_start": i % 400 + 1,
        "page_end": i % 400 + 1,
    }


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return round(fields["VmRSS"], 1), round(fields["VmHWM"], 1)


def grow(path: Path, start: int, stop: int) -> dict[str, float]:
    """Insert ids start..stop in batches; return seconds spent inside Chroma and the peak RSS."""
    coll = _client(path).get_or_create_collection(
        COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
    )
    inside = 0.0
    for lo in range(start, stop, BATCH):
        hi = min(lo + BATCH, stop)
        vectors = _vectors(lo, hi - lo)
        ids = [f"c{i}" for i in range(lo, hi)]
        metas = [_metadata(i) for i in range(lo, hi)]
        t0 = time.perf_counter()
        coll.add(ids=ids, embeddings=vectors, metadatas=metas)  # type: ignore[arg-type]
        inside += time.perf_counter() - t0
    assert coll.count() == stop, (coll.count(), stop)
    return {"insert_s": round(inside, 2), "peak_rss_mb": _rss_mb()[1]}


def measure(path: Path, queries: int) -> dict[str, object]:
    """Open the store as a fresh process would and time top-10 queries; report memory."""
    import chromadb  # noqa: F401  - the import belongs to the baseline, opening the store does not
    import numpy as np

    base_rss = _rss_mb()[0]
    t0 = time.perf_counter()
    coll = _client(path).get_collection(COLLECTION)
    rng = np.random.default_rng(7)
    qv = rng.standard_normal((queries, DIM), dtype=np.float32)
    qv /= np.linalg.norm(qv, axis=1, keepdims=True)
    coll.query(query_embeddings=[qv[0].tolist()], n_results=10, include=["distances"])
    first = time.perf_counter() - t0

    def timed(where: dict | None) -> dict[str, float]:  # type: ignore[type-arg]
        """p50/p95 over the queries, or over those done in 60 s (at least 20) when queries are slow."""
        times: list[float] = []
        started = time.perf_counter()
        for v in qv:
            t = time.perf_counter()
            res = coll.query(query_embeddings=[v.tolist()], n_results=10, where=where, include=["distances"])
            times.append((time.perf_counter() - t) * 1000)
            assert len(res["ids"][0]) == 10
            if len(times) >= 20 and time.perf_counter() - started > 60:
                break
        arr = np.array(times)
        return {"p50_ms": round(float(np.percentile(arr, 50)), 2), "p95_ms": round(float(np.percentile(arr, 95)), 2),
                "queries": len(times)}

    out: dict[str, object] = {"open_and_first_query_s": round(first, 2)}
    out["unfiltered"] = timed(None)
    out["filter_en"] = timed({"language": "en"})
    out["filter_es"] = timed({"language": "es"})
    rss, peak = _rss_mb()
    out.update({"baseline_rss_mb": base_rss, "rss_mb": rss, "peak_rss_mb": peak})
    return out


def _disk_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def _child(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,300000,1000000")
    parser.add_argument("--budget-min", type=float, default=25.0, help="Wall-clock budget for the whole run.")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None, help="Where to build the store (default: a temp dir).")
    parser.add_argument("--start", type=int, default=0,
                        help="Chunks already in --dir from an earlier run: grow from there (e.g. 300000).")
    parser.add_argument("--_grow", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._grow:
        print(json.dumps(grow(Path(args._grow[0]), int(args._grow[1]), int(args._grow[2]))))
        return
    if args._measure:
        print(json.dumps(measure(Path(args._measure[0]), int(args._measure[1]))))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="eumex-chroma-growth-"))
    store = tmp / "chroma"
    started = time.monotonic()
    budget = args.budget_min * 60
    levels: list[dict[str, object]] = []
    skipped: list[int] = []
    have, rate = args.start, None
    sizes = [size for size in sizes if size > have]
    try:
        for size in sizes:
            if rate is not None:
                # HNSW inserts slow down as the graph grows: assume 25% slower than the last slice.
                projected = (size - have) / (rate * 0.75) + 60
                left = budget - (time.monotonic() - started)
                if projected > left:
                    print(f"stop before {size:,}: needs ~{projected / 60:.0f} min, {left / 60:.0f} min left",
                          file=sys.stderr)
                    skipped = sizes[sizes.index(size):]
                    break
            t0 = time.perf_counter()
            g = _child("--_grow", str(store), str(have), str(size))
            wall = time.perf_counter() - t0
            rate = (size - have) / float(g["insert_s"])  # type: ignore[arg-type]
            m = _child("--_measure", str(store), str(args.queries))
            level = {
                "chunks": size,
                "inserted": size - have,
                "insert_wall_s": round(wall, 1),
                "insert_rate_per_s": round(rate),
                "insert_peak_rss_mb": g["peak_rss_mb"],
                "disk_mb": _disk_mb(store),
                **m,
            }
            levels.append(level)
            have = size
            print(json.dumps(level), file=sys.stderr, flush=True)
    finally:
        if not args.dir:
            shutil.rmtree(tmp, ignore_errors=True)
    out = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "chromadb": __import__("chromadb").__version__},
        "date": time.strftime("%Y-%m-%d"),
        "setup": {"dim": DIM, "batch": BATCH, "queries_per_kind": args.queries, "k": 10, "space": "cosine",
                  "vectors": "random unit vectors (float32)", "client": "PersistentClient (embedded)"},
        "levels": levels,
        "not_reached": skipped,
        "total_wall_s": round(time.monotonic() - started),
        "cpu_s_children": round(sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])),
    }
    dest = ROOT / "bench" / "results"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "chroma_growth.json").write_text(json.dumps(out, indent=2) + "\n")
    print("| chunks | insert/s | insert peak RSS MB | disk MB | open + first query s | p50 / p95 ms | "
          "p50 / p95 ms `language=en` | p50 / p95 ms `language=es` | RSS after queries MB (baseline) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lv in levels:
        u, en, es = lv["unfiltered"], lv["filter_en"], lv["filter_es"]
        print(
            f"| {lv['chunks']:,} | {lv['insert_rate_per_s']:,} | {lv['insert_peak_rss_mb']:.0f} | {lv['disk_mb']:,.0f} | "
            f"{lv['open_and_first_query_s']} | {u['p50_ms']} / {u['p95_ms']} | {en['p50_ms']} / {en['p95_ms']} | "  # type: ignore[index]
            f"{es['p50_ms']} / {es['p95_ms']} | {lv['rss_mb']:.0f} ({lv['baseline_rss_mb']:.0f}) |"  # type: ignore[index]
        )
    if skipped:
        print(f"\nNot reached within {args.budget_min:g} min: {', '.join(f'{s:,}' for s in skipped)}")


if __name__ == "__main__":
    main()
