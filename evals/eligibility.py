"""Score the answers to eligibility questions: is the verdict right, and is the rule's page cited?

    python -m evals.eligibility evals/datasets/dev_he.jsonl evals/datasets/heldout7.jsonl ...

The questions are those with an ``expected_verdict`` (yes | no | conditional: decided by the writer of the
set from the text alone). Each goes through ``assistant.ask`` as a channel sends it. The verdict read from the
answer: an answer of the eligibility check is ``yes`` when its funding verdict says so ("Yes:" / "Sí:"),
``conditional`` when it says "Not automatically" / "No automáticamente" or "only under conditions", ``no``
when it starts with "No"; any other route (a passage answer, a refusal) gives no verdict and counts as wrong.
Reported per language: the share of right verdicts, the share routed to the check, and the share of answers
citing a reference page.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from assistant.config import load_settings
from assistant.pipeline import build_pipeline
from evals.dataset import load_dataset
from evals.metrics import Passage, Ref, matches

CONDITIONAL = re.compile(r"^(not automatically|no automáticamente|only|solo|sólo)", re.IGNORECASE)


def verdict_of(answer: Any) -> str | None:
    """The verdict an eligibility answer leads with; None for other kinds of answer."""
    if answer.mode != "eligibility":
        return None
    first = answer.answer.strip().splitlines()[0]
    if CONDITIONAL.search(first):
        return "conditional"
    if re.match(r"^(yes|sí|si)\b", first, re.IGNORECASE):
        return "yes"
    if re.match(r"^no\b", first, re.IGNORECASE):
        return "no"
    return None


def evaluate(paths: list[Path]) -> dict[str, Any]:
    assistant = build_pipeline(load_settings())
    out: dict[str, Any] = {}
    for path in paths:
        rows = []
        for item in load_dataset(path):
            expected = item.get("expected_verdict")
            if not expected:
                continue
            answer = assistant.ask(item["user_input"])
            refs = [Ref.from_json(r) for r in item.get("reference_contexts") or []]
            cited = any(
                matches(Passage(c.document, c.page, c.page, c.locator), r) for c in answer.citations for r in refs
            )
            rows.append(
                {"id": item["id"], "language": item["language"], "expected": expected, "got": verdict_of(answer),
                 "routed": answer.mode == "eligibility", "cites_reference": cited}
            )
        summary = {}
        for lang in ("en", "es"):
            chosen = [r for r in rows if r["language"] == lang]
            if chosen:
                summary[lang] = {
                    "n": len(chosen),
                    "right_verdict": round(sum(r["got"] == r["expected"] for r in chosen) / len(chosen), 3),
                    "routed": round(sum(r["routed"] for r in chosen) / len(chosen), 3),
                    "cites_reference": round(sum(r["cites_reference"] for r in chosen) / len(chosen), 3),
                }
        out[path.name] = {"summary": summary, "questions": rows}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    args = parser.parse_args()
    results = evaluate(args.datasets)
    for name, data in results.items():
        print(name, json.dumps(data["summary"]))
        for row in data["questions"]:
            if row["got"] != row["expected"]:
                print("   ", row)


if __name__ == "__main__":
    main()
