"""Compare a run with the previous one in the same results directory: metric deltas and flipped questions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.scoring import flatten

# (field, how to read it from a row, label when it goes False -> True, label when True -> False)
FLIPS: tuple[tuple[str, str, str, str], ...] = (
    ("hit@5", "right page in top 5", "miss→hit", "hit→miss"),
    ("abstained", "refused", "answered→refused", "refused→answered"),
    ("cites_reference", "cites a reference page", "gained", "lost"),
    ("all_quotes_verified", "every quote verbatim", "fixed", "broken"),
)


def load_run(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (path / "results.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return summary, rows


def previous_run(root: Path, current: Path, questions_key: str | None = None) -> Path | None:
    """The latest earlier run under root: over the same questions if there is one, else any."""
    runs = sorted(
        d for d in root.iterdir()
        if d.is_dir() and d.name < current.name and (d / "summary.json").is_file() and (d / "results.jsonl").is_file()
    ) if root.is_dir() else []
    if not runs:
        return None
    for run in reversed(runs):
        try:
            key = json.loads((run / "summary.json").read_text(encoding="utf-8")).get("run", {}).get("questions_key")
        except (OSError, json.JSONDecodeError):
            continue
        if questions_key and key == questions_key:
            return run
    return runs[-1]


def _flag(row: dict[str, Any], name: str) -> bool | None:
    if name == "abstained":
        return bool(row["abstained"])
    if name == "all_quotes_verified":
        return row["scores"]["quotes_verified"] == row["scores"]["quotes"]
    value = row["scores"].get(name)
    return None if value is None else bool(value)


def compare(
    before: tuple[dict[str, Any], Sequence[dict[str, Any]]],
    after: tuple[dict[str, Any], Sequence[dict[str, Any]]],
    name: str,
) -> dict[str, Any]:
    """Deltas of every numeric metric, and the questions whose outcome flipped."""
    (old_summary, old_rows), (new_summary, new_rows) = before, after
    old_flat = flatten({k: v for k, v in old_summary.items() if k not in {"run", "comparison", "questions"}})
    new_flat = flatten({k: v for k, v in new_summary.items() if k not in {"run", "comparison", "questions"}})
    deltas = {
        key: {"before": old_flat[key], "after": new_flat[key], "delta": round(new_flat[key] - old_flat[key], 4)}
        for key in new_flat
        if key in old_flat
    }
    old_by_id = {r["id"]: r for r in old_rows}
    flips: dict[str, dict[str, list[str]]] = {}
    common = [r for r in new_rows if r["id"] in old_by_id]
    for field, _label, up, down in FLIPS:
        flips[field] = {up: [], down: []}
        for row in common:
            a, b = _flag(old_by_id[row["id"]], field), _flag(row, field)
            if a is None or b is None or a == b:
                continue
            flips[field][up if b else down].append(row["id"])
    return {
        "previous": name,
        "same_questions": old_summary.get("run", {}).get("questions_key") == new_summary.get("run", {}).get("questions_key"),
        "common_questions": len(common),
        "deltas": deltas,
        "flips": flips,
    }
