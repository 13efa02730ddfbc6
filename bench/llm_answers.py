"""The LLM path end to end against a real model, in both output modes: how many answers carry a verified LLM
citation, how many of the model's sentences verification drops (and why), and how long answers take.

    bash ../shared/tools/llm-server            # prints the EUMEX_LLM_* line: export it
    export EUMEX_DATA_DIR=/work/idx/llm-bench EUMEX_CORPUS_DIR=../shared/corpus/raw EUMEX_LLM_TIMEOUT_S=300
    python bench/llm_answers.py [--dataset evals/datasets/heldout10.jsonl] [--per-language 8]
        [--modes text,json_object] [--out bench/results/llm_answers.json]

Takes, in file order, the first --per-language answerable questions of each language that reach the model
(a question about call topics, partners or eligibility is answered by its own path, without the model: those
met on the way are listed as skipped) and asks each through ``Assistant.stream`` (what every channel calls),
built by ``build_pipeline`` from the settings of the environment, once per output mode (EUMEX_LLM_OUTPUT:
text, json_object or json_schema), on the same index: the first mode picks the questions, the others ask the
same ones.
For every answer it keeps the prompt size, the model's raw reply, each dropped sentence with the check that
dropped it, the released sentences and citations, whether an LLM answer cites a page of the question's
reference contexts, the time to the first released LLM sentence and the total time, and the load average
before and after. Writes the JSON as it goes and prints a table per mode and language.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import load_settings  # noqa: E402
from assistant.types import Delta, Final  # noqa: E402
from bench.llm_attacks import Drops, RecordingChat, recording_pipeline  # noqa: E402

MAX_LOAD = 4.0  # 2 cores shared with another engineer: above this, wait and look again once
LOAD_WAIT_S = 180


def questions(dataset: Path) -> list[dict[str, Any]]:
    """The answerable questions, English first then Spanish, each in file order."""
    rows = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for lang in ("en", "es") for r in rows if r["answerable"] and r["language"] == lang]


def load() -> float:
    return round(os.getloadavg()[0], 2)


def calm_load() -> list[float]:
    """The 1-minute load before a run; when above MAX_LOAD, wait a few minutes and read it once more."""
    readings = [load()]
    if readings[0] > MAX_LOAD:
        print(f"load {readings[0]} > {MAX_LOAD}: waiting {LOAD_WAIT_S} s", flush=True)
        time.sleep(LOAD_WAIT_S)
        readings.append(load())
    return readings


def reply_outcome(mode: str, replies: list[str]) -> str:
    """What the model's answer reply was, read independently of the answerer: not found, malformed, claims."""
    if not replies:
        return "not called"
    reply = replies[-1].strip()
    if re.match(r'\{\s*"found"\s*:\s*false', reply):
        return "not found"  # the answerer stops reading there
    if mode == "text":
        return "not found" if reply.startswith("NOT_FOUND") else ("empty" if not reply else "text")
    try:
        parsed = json.loads(reply)
    except json.JSONDecodeError:
        return "malformed JSON"
    if not isinstance(parsed, dict) or not isinstance(parsed.get("claims"), list):
        return "malformed JSON"
    if parsed.get("found") is False:
        return "not found"
    return "claims" if parsed["claims"] else "no claims"


def ask(assistant: Any, recorder: RecordingChat, drops: Drops, item: dict[str, Any], mode: str) -> dict[str, Any]:
    recorder.calls.clear()
    drops.records.clear()
    before = load()
    t0 = time.perf_counter()
    first_llm: float | None = None
    final = None
    for event in assistant.stream(item["user_input"], lang="auto"):
        if isinstance(event, Delta) and first_llm is None and recorder.calls:
            first_llm = time.perf_counter() - t0  # for an extractive fallback, the text comes after the Final
        elif isinstance(event, Final):
            final = event.answer
    seconds = time.perf_counter() - t0
    assert final is not None
    references = {(c["document"], c["page"]) for c in item["reference_contexts"]}
    cited = {(c.document, c.page) for c in final.citations}
    replies = [str(c["reply"]) for c in recorder.calls]
    llm = final.mode == "llm"
    return {
        "id": item["id"],
        "language": item["language"],
        "question": item["user_input"],
        "mode": final.mode,
        "model_called": bool(recorder.calls),
        "prompt_chars": sum(len(str(m[1])) for c in recorder.calls for m in c["messages"]),  # type: ignore[union-attr]
        "raw_replies": replies,
        "reply": reply_outcome(mode, replies),
        "dropped": list(drops.records),
        "released": released_sentences(final.answer) if llm else 0,
        "answer": final.answer,
        "citations": [{"n": c.n, "document": c.document, "page": c.page, "quote": c.quote} for c in final.citations],
        "cites_reference_page": bool(references & cited),
        "first_llm_sentence_s": round(first_llm, 1) if llm and first_llm is not None else None,
        "seconds": round(seconds, 1),
        "load_before": before,
        "load_after": load(),
    }


def released_sentences(answer: str) -> int:
    """The sentences of an LLM answer: each ends with its [n] markers and a full stop."""
    return len(re.findall(r"(?:\[\d+\])+\.", answer))


def run(mode: str, items: list[dict[str, Any]], per_language: int, out: Path, results: dict[str, Any]) -> None:
    """Ask the questions in one output mode; without a list yet (the first mode), pick it: the first
    per_language questions of each language that reach the model."""
    assistant, recorder, drops = recording_pipeline(load_settings(llm_output=mode))
    entry: dict[str, Any] = {"load_before": calm_load(), "rows": []}
    results["runs"][mode] = entry
    picking = not results["questions"]
    for item in items:
        if picking and sum(r["language"] == item["language"] for r in entry["rows"]) == per_language:
            continue
        if not picking and item["id"] not in results["questions"]:
            continue
        row = ask(assistant, recorder, drops, item, mode)
        if picking and not row["model_called"]:
            results["skipped_not_via_the_model"].append({"id": row["id"], "answered_by": row["mode"]})
            print(f"{mode:11} {row['id']} skipped: answered by the {row['mode']} path", flush=True)
            continue
        entry["rows"].append(row)
        out.write_text(json.dumps(results, ensure_ascii=False, indent=1))
        print(f"{mode:11} {row['id']} {row['mode']:10} {row['reply']:14} {row['seconds']:6.1f}s "
              f"first={row['first_llm_sentence_s']} dropped={len(row['dropped'])} released={row['released']} "
              f"ref={row['cites_reference_page']} load={row['load_before']}->{row['load_after']}", flush=True)
        for d in row["dropped"]:
            print(f"    dropped ({d['reason']}): {d['sentence'][:150]}", flush=True)
    if picking:
        results["questions"] = [r["id"] for r in entry["rows"]]
    entry["load_after"] = load()
    logging.getLogger("assistant.llm").removeHandler(drops)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1))


def summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per mode and language."""
    rows = []
    for mode, entry in results["runs"].items():
        for lang in ("en", "es"):
            rs = [r for r in entry["rows"] if r["language"] == lang]
            if not rs:
                continue
            reasons: dict[str, int] = {}
            for r in rs:
                for d in r["dropped"]:
                    reasons[d["reason"]] = reasons.get(d["reason"], 0) + 1
            released = sum(r["released"] for r in rs)
            dropped = sum(reasons.values())
            llm = [r for r in rs if r["mode"] == "llm"]
            outcomes: dict[str, int] = {}
            for r in rs:
                outcomes[r["reply"]] = outcomes.get(r["reply"], 0) + 1
            firsts = [r["first_llm_sentence_s"] for r in llm if r["first_llm_sentence_s"] is not None]
            called = [r for r in rs if r["model_called"]]
            rows.append({
                "mode": mode, "language": lang, "questions": len(rs), "model_called": len(called),
                "replies": outcomes,
                "llm_answers": len(llm),
                "proposed": released + dropped, "dropped": dropped, "dropped_by_reason": reasons, "released": released,
                "llm_answers_citing_a_reference_page": sum(r["cites_reference_page"] for r in llm),
                "answers_citing_a_reference_page": sum(r["cites_reference_page"] for r in rs),
                "first_llm_sentence_s": _spread(firsts),
                "total_s_model_called": _spread([r["seconds"] for r in called]),
                "load": [min(r["load_before"] for r in rs), max(r["load_after"] for r in rs)],
            })
    return rows


def _spread(values: list[float]) -> dict[str, float] | None:
    return {"median": round(statistics.median(values), 1), "max": max(values)} if values else None


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | lang | questions | model called | replies | LLM answers (>= 1 verified citation) | proposed | "
        "dropped (why) | released | LLM answers citing a reference page | first LLM sentence s (median, max) | "
        "total s when the model was called (median, max) | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        why = ", ".join(f"{k} {v}" for k, v in sorted(r["dropped_by_reason"].items(), key=lambda kv: -kv[1])) or "-"
        replies = ", ".join(f"{k} {v}" for k, v in sorted(r["replies"].items(), key=lambda kv: -kv[1]))
        share = f"{r['dropped'] / r['proposed']:.0%}" if r["proposed"] else "-"
        first, total = r["first_llm_sentence_s"], r["total_s_model_called"]
        first_s = f"{first['median']}, {first['max']}" if first else "-"
        total_s = f"{total['median']}, {total['max']}" if total else "-"
        lines.append(
            f"| {r['mode']} | {r['language']} | {r['questions']} | {r['model_called']} | {replies} | "
            f"{r['llm_answers']} | {r['proposed']} | {r['dropped']} ({share}: {why}) | {r['released']} | "
            f"{r['llm_answers_citing_a_reference_page']} | "
            f"{first_s} | {total_s} | {r['load'][0]}-{r['load'][1]} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "datasets" / "heldout10.jsonl")
    parser.add_argument("--per-language", type=int, default=8)
    parser.add_argument("--modes", default="text,json_object", help="EUMEX_LLM_OUTPUT values, comma-separated")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "llm_answers.json")
    parser.add_argument("--questions", default="", help="ask these question ids (comma-separated) instead of picking")
    args = parser.parse_args()
    if not os.environ.get("EUMEX_LLM_BASE_URL"):
        sys.exit("Set EUMEX_LLM_BASE_URL and EUMEX_LLM_MODEL (bash ../shared/tools/llm-server prints them).")
    items = questions(args.dataset)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "dataset": str(args.dataset.relative_to(ROOT)) if args.dataset.is_relative_to(ROOT) else str(args.dataset),
        "questions": [q for q in args.questions.split(",") if q], "skipped_not_via_the_model": [],
        "model": os.environ.get("EUMEX_LLM_MODEL"), "base_url": os.environ.get("EUMEX_LLM_BASE_URL"),
        "llm_timeout_s": load_settings().llm_timeout_s, "nproc": os.cpu_count(), "runs": {},
    }
    for mode in args.modes.split(","):
        run(mode, items, args.per_language, args.out, results)
    results["summary"] = summary(results)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print(table(results["summary"]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
