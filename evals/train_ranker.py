"""Fit the learned ranker (assistant/ranking.py) on development questions, and compare it with rank fusion on
held-out ones, in the same run.

    python -m evals.train_ranker --train evals/datasets/dev.jsonl evals/datasets/dev_he.jsonl \
        --test evals/datasets/heldout*.jsonl [--out assistant/ranker.json] [--c 1.0]

Every candidate the retrieval legs find for a training question is an example: positive when its pages hold
a reference page of the question. The features are generic (assistant/ranking.py FEATURES); a logistic
regression (scikit-learn, a development dependency: the fitted weights are plain JSON read with numpy) turns
them into one score. Questions routed to the partner search are left out (their passages are CORDIS records,
ordered by the partner search). The held-out sets are only measured, never fitted on.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import load_settings
from assistant.pipeline import build_pipeline
from assistant.ranking import FEATURES, MODEL, LearnedRanker, features, save_model
from evals.dataset import load_dataset
from evals.metrics import Passage, Ref, matches


def _examples(assistant: Any, items: Sequence[dict[str, Any]]) -> list[tuple[str, list[Any], np.ndarray, np.ndarray]]:
    """(question id, chunks, features, labels) for each answerable, non-partner question."""
    out = []
    for item in items:
        refs = [Ref.from_json(r) for r in item.get("reference_contexts") or []]
        if not item["answerable"] or not refs:
            continue
        reading = assistant.reader.read(item["user_input"])
        if reading.about_partners:
            continue
        found, _ = assistant.retriever.candidates(reading.query, reading.collections, similarities=True)
        ids, x = features(reading.query, found)
        chunks = [found.chunks[i] for i in ids]
        y = np.array([any(matches(Passage.of(c), r) for r in refs) for c in chunks], dtype=int)
        out.append((item["id"], chunks, x, y))
    return out


def _fit(examples: Sequence[tuple[str, list[Any], np.ndarray, np.ndarray]], c: float) -> LearnedRanker:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([e[2] for e in examples])
    y = np.concatenate([e[3] for e in examples])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    model.fit((x - mean) / scale, y)
    return LearnedRanker(FEATURES, mean, scale, model.coef_[0], float(model.intercept_[0]))


def _measure(assistant: Any, path: Path, ranker: LearnedRanker | None) -> dict[str, dict[str, float | None]]:
    """hit@1, hit@5 and MRR per language of the retrieval (with this ranker, or rank fusion)."""
    assistant.retriever.ranker = ranker
    per: dict[str, list[tuple[int, int, float]]] = {"en": [], "es": []}
    for item in load_dataset(path):
        refs = [Ref.from_json(r) for r in item.get("reference_contexts") or []]
        if not item["answerable"] or not refs:
            continue
        hits = assistant.retrieve(item["user_input"], k=10)
        rank = next((n for n, h in enumerate(hits, 1) if any(matches(Passage.of(h.chunk), r) for r in refs)), None)
        per[item["language"]].append((int(rank == 1), int(rank is not None and rank <= 5), 1.0 / rank if rank else 0.0))

    def mean(lang: str, i: int) -> float | None:
        return round(float(np.mean([r[i] for r in per[lang]])), 3) if per[lang] else None

    return {m: {lang: mean(lang, i) for lang in per} for i, m in enumerate(("hit@1", "hit@5", "mrr"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", nargs="+", type=Path, required=True)
    parser.add_argument("--test", nargs="*", type=Path, default=[])
    parser.add_argument("--out", type=Path, default=MODEL)
    parser.add_argument("--c", type=float, default=1.0, help="Inverse regularisation strength.")
    args = parser.parse_args()

    settings = load_settings()
    assistant = build_pipeline(settings)
    assistant.retriever.ranker = None
    started = time.perf_counter()
    examples = []
    for path in args.train:
        examples += _examples(assistant, load_dataset(path))
    ranker = _fit(examples, args.c)
    positives = int(sum(e[3].sum() for e in examples))
    about = (
        f"Fitted {time.strftime('%Y-%m-%d')} on {', '.join(p.name for p in args.train)}: {len(examples)} questions, "
        f"{sum(len(e[3]) for e in examples)} candidates ({positives} on a reference page); C={args.c}; "
        f"second embedder {settings.second_embedder}."
    )
    save_model(args.out, ranker.mean.tolist(), ranker.scale.tolist(), ranker.weights.tolist(), ranker.bias, about)
    print(about)
    weights = sorted(zip(FEATURES, ranker.weights), key=lambda p: -abs(p[1]))
    print("weights:", ", ".join(f"{n} {w:+.2f}" for n, w in weights[:12]))
    for path in [*args.train, *args.test]:
        fused = _measure(assistant, path, None)
        learned = _measure(assistant, path, ranker)
        print(json.dumps({"set": path.name, "fusion": fused, "learned": learned}))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
