"""Load test of the HTTP API: N concurrent clients ask a fixed list of questions on a real uvicorn.

    python bench/api_load.py [--clients 20] [--questions 200] [--endpoint ask|chat]

Uses the index in EUMEX_DATA_DIR (run `eumex ingest` first) and the dev-set questions
(evals/datasets/dev.jsonl, cycled). Prints a JSON summary and writes bench/results/api_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import load_settings  # noqa: E402
from bots.web.app import create_app  # noqa: E402


def questions(n: int) -> list[str]:
    rows = [json.loads(line)["user_input"] for line in (ROOT / "evals/datasets/dev.jsonl").open(encoding="utf-8")]
    return [rows[i % len(rows)] for i in range(n)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_clients(base: str, items: list[str], clients: int, endpoint: str) -> dict[str, object]:
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for i, q in enumerate(items):
        queue.put_nowait((i, q))
    latencies: list[float] = []
    first_event: list[float] = []
    errors: dict[str, int] = {}

    async def client(cid: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            while not queue.empty():
                i, question = queue.get_nowait()
                body = {"question": question, "conversation_id": f"bench-{cid}-{i}"}
                t0 = time.perf_counter()
                try:
                    if endpoint == "ask":
                        r = await http.post("/api/ask", json=body)
                        ok = r.status_code == 200
                        status = str(r.status_code)
                    else:
                        ok, status, seen_delta = False, "no done event", False
                        async with http.stream("POST", "/api/chat", json=body) as r:
                            status = str(r.status_code)
                            async for line in r.aiter_lines():
                                if line.startswith("event: delta") and not seen_delta:
                                    seen_delta = True
                                    first_event.append(time.perf_counter() - t0)
                                if line.startswith("event: done"):
                                    ok = True
                                if line.startswith("event: error"):
                                    status = "error event"
                except httpx.HTTPError as exc:
                    ok, status = False, type(exc).__name__
                latencies.append(time.perf_counter() - t0)
                if not ok:
                    errors[status] = errors.get(status, 0) + 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    wall = time.perf_counter() - t0
    result: dict[str, object] = {
        "endpoint": f"/api/{endpoint}",
        "clients": clients,
        "requests": len(items),
        "errors": errors,
        "wall_s": round(wall, 1),
        "throughput_rps": round(len(items) / wall, 2),
        "p50_ms": round(statistics.median(latencies) * 1000),
        "p95_ms": round(percentile(latencies, 0.95) * 1000),
        "max_ms": round(max(latencies) * 1000),
    }
    if first_event:
        result["first_delta_p50_ms"] = round(statistics.median(first_event) * 1000)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--endpoint", choices=["ask", "chat"], default="ask")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    settings = load_settings(rate_limit_per_minute=100_000, log_level="WARNING")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=args.port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("the server did not start")
        time.sleep(0.1)
    try:
        base = f"http://127.0.0.1:{args.port}"
        result = asyncio.run(run_clients(base, questions(args.questions), args.clients, args.endpoint))
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / f"api_load_{args.endpoint}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
