"""Evaluation datasets: read the JSONL, and take a deterministic, balanced subset.

The format is described in ``evals/datasets/README.md``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = ROOT / "evals" / "datasets" / "dev.jsonl"
REQUIRED = ("id", "user_input", "language", "answerable")


def load_dataset(path: Path) -> list[dict[str, Any]]:
    """The questions of a JSONL dataset, checked for the fields the evaluation needs."""
    if not path.is_file():
        raise ConfigError(f"Dataset {path} not found - pass --dataset FILE.jsonl")
    items: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        missing = [key for key in REQUIRED if key not in item]
        if missing:
            raise ConfigError(f"{path}:{n}: missing {', '.join(missing)} (see evals/datasets/README.md)")
        items.append(item)
    ids = [item["id"] for item in items]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path}: duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return items


def _stable_key(item: dict[str, Any]) -> str:
    # A hash of the id, not the file order: adding a question moves at most itself into a subset.
    return hashlib.sha256(str(item["id"]).encode()).hexdigest()


def balanced_subset(items: list[dict[str, Any]], n: int | None) -> list[dict[str, Any]]:
    """n questions taken in turn from each (language, answerable) group, each group in a stable hash order.

    A group that runs out leaves its turns to the others. The result keeps the dataset's order.
    """
    if n is None or n >= len(items):
        return list(items)
    groups: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for item in sorted(items, key=_stable_key):
        groups.setdefault((item["language"], bool(item["answerable"])), []).append(item)
    order = sorted(groups, key=lambda g: (not g[1], g[0]))  # answerable en, es, then unanswerable en, es
    chosen: set[str] = set()
    while len(chosen) < n:
        for group in order:
            if groups[group] and len(chosen) < n:
                chosen.add(groups[group].pop(0)["id"])
    return [item for item in items if item["id"] in chosen]
