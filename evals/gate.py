"""The quality gate: thresholds (in ``evals/gate.toml``) a run's summary must meet.

Used by ``tests/test_eval.py::test_quality_gate`` (so CI fails on a real regression) and by
``eumex eval --gate``. Keys are paths into summary.json as flattened by :func:`evals.scoring.flatten`,
e.g. ``retrieval.ours.en.hit@5`` or ``abstention.answerable_refused``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.scoring import flatten

GATE_FILE = Path(__file__).resolve().parent / "gate.toml"


@dataclass(frozen=True)
class Gate:
    subset: int
    minimum: dict[str, float]
    maximum: dict[str, float]


def load_gate(path: Path = GATE_FILE) -> Gate:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Gate(int(data["subset"]), dict(data.get("min", {})), dict(data.get("max", {})))


def check(summary: dict[str, Any], gate: Gate) -> list[str]:
    """Every threshold the summary misses, as readable lines (empty: the gate passes)."""
    flat = flatten(summary)
    failures = []
    for key, low in gate.minimum.items():
        value = flat.get(key)
        if value is None or value < low:
            failures.append(f"{key} = {value} is below the minimum {low}")
    for key, high in gate.maximum.items():
        value = flat.get(key)
        if value is None or value > high:
            failures.append(f"{key} = {value} is above the maximum {high}")
    return failures
