"""Abuse benchmark: does a normal user keep their latency while two clients send hostile work?

    python bench/abuse.py --data /tmp/copy-of-data [--corpus DIR] [--root CHECKOUT] [--questions 40]

Starts a real `eumex serve` (uvicorn, one process) on 127.0.0.1 for each phase, with the index in a COPY of a
data directory (never the original: the server writes feedback there), and measures:

  alone   one normal user asks dev-set questions one after another (POST /api/ask, one every 2 s at most);
          a poller GETs /healthz every 0.2 s
  abuse   the same, while two abusive clients (from 127.0.0.2 and 127.0.0.3, so per-client limits see
          three clients) each start one request every 2 s (the default limit of 30 a minute), without
          waiting for the previous one, in turn:
            - a 2,000-character question of CJK characters, combining marks or punctuation (POST /api/ask)
            - the same over SSE (POST /api/chat), dropped after 1 s
            - the same over /api/ask, dropped after 0.5 s (the client gives up)
            - an "and ..." follow-up of ~1,900 characters in one long conversation (the condensed question
              grew without bound before the fix)
  after   the 15 s after the abusers stop: the server's CPU seconds (work that goes on for clients that left)
  burst   (a third server) each abusive client opens 20 connections at once, each with a 2,000-character CJK
          question over /api/ask, and drops them all after 0.3 s (40 requests, within the rate limit's burst);
          then for 20 s: the server's CPU seconds, /healthz every 0.2 s, and the normal user's questions (18 s
          client timeout)

Each phase runs on a fresh server (no warm caches carried over); the normal user's questions are the same
in both phases. Prints a JSON summary and writes bench/results/abuse-<label>.json. Bounded: every phase stops
after --max-seconds, every request has a timeout, and all traffic goes to 127.0.0.x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
NORMAL_IP, ABUSER_IPS, HEALTH_IP = "127.0.0.1", ("127.0.0.2", "127.0.0.3"), "127.0.0.4"
PACE_S = 2.0  # one request every 2 s at most: the default limit of 30 a minute


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def normal_questions(n: int) -> list[str]:
    rows = [json.loads(line)["user_input"] for line in (ROOT / "evals/datasets/dev.jsonl").open(encoding="utf-8")]
    return rows[:n]


def hostile(kind: int, rng: random.Random) -> str:
    """A 2,000-character question that costs the most per character (every character a token or more)."""
    if kind == 0:
        return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(2000))
    if kind == 1:
        return "".join(rng.choice("aeiou") + "\u0301\u0302\u0303" for _ in range(500))
    return "".join(rng.choice("!?.,;:()[]{}<>/\\|@#$%^&*") for _ in range(2000))


def follow_up(rng: random.Random) -> str:
    words = "eligibility costs partners Mexico consortium evaluation budget deadline topic research".split()
    return "and " + " ".join(rng.choice(words) for _ in range(230))[:1890] + "?"


class Server:
    """`eumex serve` in a subprocess, from the checkout under test."""

    def __init__(self, root: Path, data: Path, corpus: Path, env_extra: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EUMEX_", "CHROMA_"))}
        env.update({"EUMEX_DATA_DIR": str(data), "EUMEX_CORPUS_DIR": str(corpus), "EUMEX_LOG_LEVEL": "WARNING",
                    "PYTHONPATH": str(root), **env_extra})
        self.log = open(data / f"serve-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bots.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start; see {self.log.name}")
            time.sleep(0.3)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def client(base: str, ip: str, timeout: float = 60) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=ip)
    return httpx.AsyncClient(base_url=base, transport=transport, timeout=timeout)


async def normal_user(
    base: str, questions: list[str], stop_at: float, tag: str, timeout: float = 60
) -> dict[str, object]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    async with client(base, NORMAL_IP, timeout=timeout) as http:
        for i, question in enumerate(questions):
            if time.monotonic() > stop_at:
                break
            t0 = time.perf_counter()
            try:
                r = await http.post("/api/ask", json={"question": question, "conversation_id": f"{tag}-{i}"})
                status = str(r.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            elapsed = time.perf_counter() - t0
            latencies.append(elapsed * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            await asyncio.sleep(max(0.2, PACE_S - elapsed))  # within the rate limit, as the abusers are
    return {"n": len(latencies), "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
            "max_ms": percentile(latencies, 1.0), "statuses": statuses}


async def health_poller(base: str, stop: asyncio.Event) -> dict[str, object]:
    latencies: list[float] = []
    failures = 0
    async with client(base, HEALTH_IP, timeout=10) as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                ok = (await http.get("/healthz")).status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - t0) * 1000)
            failures += not ok
            await asyncio.sleep(0.2)
    return {"n": len(latencies), "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99),
            "max_ms": percentile(latencies, 1.0), "failures": failures}


async def abuser(base: str, ip: str, stop: asyncio.Event, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    outcomes: dict[str, int] = {}
    tasks: set[asyncio.Task[None]] = set()
    conversation = f"abuse-{seed}"

    def count(key: str) -> None:
        outcomes[key] = outcomes.get(key, 0) + 1

    async def one(http: httpx.AsyncClient, n: int) -> None:
        kind = n % 4
        body = {"question": hostile(n // 4 % 3, rng), "conversation_id": f"{conversation}-{n}"}
        try:
            if kind == 0:
                r = await http.post("/api/ask", json=body)
                count(f"ask {r.status_code}")
            elif kind == 1:
                async with http.stream("POST", "/api/chat", json=body) as r:
                    try:
                        async with asyncio.timeout(1.0):
                            async for _ in r.aiter_bytes():
                                pass
                        count(f"chat {r.status_code} finished")
                    except TimeoutError:
                        count(f"chat {r.status_code} dropped")
            elif kind == 2:
                try:
                    r = await http.post("/api/ask", json=body, timeout=0.5)
                    count(f"ask {r.status_code}")
                except httpx.TimeoutException:
                    count("ask dropped")
            else:
                r = await http.post("/api/ask", json={"question": follow_up(rng), "conversation_id": conversation})
                count(f"follow-up {r.status_code}")
        except httpx.HTTPError as exc:
            count(type(exc).__name__)

    async with client(base, ip, timeout=120) as http:
        n = 0
        while not stop.is_set():
            task = asyncio.create_task(one(http, n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
            try:
                await asyncio.wait_for(stop.wait(), timeout=PACE_S)
            except TimeoutError:
                pass
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return outcomes


async def phase(base: str, pid: int, questions: list[str], abusive: bool, max_seconds: float) -> dict[str, object]:
    stop = asyncio.Event()
    health = asyncio.create_task(health_poller(base, stop))
    abusers = [asyncio.create_task(abuser(base, ip, stop, seed)) for seed, ip in enumerate(ABUSER_IPS)] if abusive else []
    if abusive:
        await asyncio.sleep(6)  # let the abuse build up before the normal user starts
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    user = await normal_user(base, questions, time.monotonic() + max_seconds, "abuse" if abusive else "alone")
    result: dict[str, object] = {"normal_user": user, "seconds": round(time.monotonic() - t0, 1)}
    stop.set()
    result["healthz"] = await health
    if abusive:
        result["abusers"] = await asyncio.gather(*abusers)
    result["server_cpu_s"] = round(cpu_seconds(pid) - cpu0, 1)
    if abusive:
        cpu1 = cpu_seconds(pid)
        await asyncio.sleep(15)
        result["server_cpu_s_in_15s_after_abusers_left"] = round(cpu_seconds(pid) - cpu1, 1)
    return result


async def burst(base: str, pid: int, questions: list[str]) -> dict[str, object]:
    rng = random.Random(99)
    outcomes: dict[str, int] = {}

    async def dropped(http: httpx.AsyncClient) -> None:
        try:
            r = await http.post("/api/ask", json={"question": hostile(0, rng)}, timeout=0.3)
            key = f"ask {r.status_code}"
        except httpx.TimeoutException:
            key = "dropped"
        except httpx.HTTPError as exc:
            key = type(exc).__name__
        outcomes[key] = outcomes.get(key, 0) + 1

    clients = [client(base, ip) for ip in ABUSER_IPS]
    cpu0 = cpu_seconds(pid)
    await asyncio.gather(*(dropped(http) for http in clients for _ in range(20)))
    for http in clients:
        await http.aclose()
    stop = asyncio.Event()
    health = asyncio.create_task(health_poller(base, stop))
    user = asyncio.create_task(normal_user(base, questions[:8], time.monotonic() + 18, "burst", timeout=18))
    await asyncio.sleep(20)
    cpu = round(cpu_seconds(pid) - cpu0, 1)  # the 0.3 s of the burst and the 20 s after it
    stop.set()
    return {"abusers": outcomes, "normal_user": await user, "healthz": await health,
            "server_cpu_s_in_20s_after_the_drop": cpu}


def run_phase(args: argparse.Namespace, abusive: bool | None) -> dict[str, object]:
    """abusive: True (abuse), False (alone), None (burst)."""
    server = Server(args.root, args.data, args.corpus, {})
    try:
        warm = [json.loads(line)["user_input"] for line in (ROOT / "evals/datasets/heldout.jsonl").open()][:5]
        for q in warm:
            httpx.post(f"{server.url}/api/ask", json={"question": q}, timeout=120)
        questions = normal_questions(args.questions)
        if abusive is None:
            return asyncio.run(burst(server.url, server.proc.pid, questions))
        return asyncio.run(phase(server.url, server.proc.pid, questions, abusive, args.max_seconds))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a COPY of a data directory holding a full index")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent.parent / "shared" / "corpus" / "raw")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose server is measured")
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--label", default="run")
    parser.add_argument("--phases", default="alone,abuse,burst", help="which phases, comma-separated")
    args = parser.parse_args()
    args.data, args.root = args.data.resolve(), args.root.resolve()
    phases = args.phases.split(",")
    summary: dict[str, object] = {"label": args.label, "load_before": os.getloadavg()}
    for name, abusive in (("alone", False), ("abuse", True), ("burst", None)):
        if name in phases:
            summary[name] = run_phase(args, abusive)
    if "alone" in summary and "abuse" in summary:
        alone, abused = summary["alone"]["normal_user"], summary["abuse"]["normal_user"]  # type: ignore[index]
        if alone["p95_ms"] and abused["p95_ms"]:
            summary["p95_ratio"] = round(abused["p95_ms"] / alone["p95_ms"], 2)
    out = ROOT / "bench" / "results" / f"abuse-{args.label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
