"""Fit the abstention model (assistant/abstention.py) on the development sets' answerable and unanswerable
questions, as the pipeline sees them.

    python -m evals.train_abstention [DATASET.jsonl ...] [--out assistant/abstention.json]

Each question goes through ``Assistant.ask``; the evidence of those that reach the extractive answer is
recorded (the others go to the partner search, the eligibility check or the topic finder, or are refused
before any search). Regularisation is chosen by leave-one-set-out cross-validation (a set the model has not
seen, as a new held-out set would be); the threshold is the highest that refuses at most 4% of the answerable
questions out of set (``--max-answerable-refused``; the target is 5%). Prints the model's out-of-set refusals
beside the hand thresholds', per language.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.abstention import FALLBACK, MODEL, Evidence, save_model
from assistant.answer import Assistant
from assistant.config import load_settings
from assistant.pipeline import build_pipeline
from evals.dataset import load_dataset

DATASETS = Path(__file__).parent / "datasets"
DEFAULT = [DATASETS / f"{name}.jsonl" for name in (
    "dev", "dev_he", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7",
    "heldout8", "heldout9", "heldout10", "heldout11")]


def collect(assistant: Assistant, paths: list[Path]) -> list[tuple[Evidence, bool, str, str]]:
    """(evidence, answerable, set, language) of every question that reaches the extractive answer."""
    seen: list[Evidence | None] = []
    evidence = assistant.evidence

    def record(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = evidence(*args, **kwargs)
        seen.append(found)
        return found

    assistant.evidence = record  # type: ignore[method-assign]
    rows = []
    for path in paths:
        for item in load_dataset(path):
            seen.clear()
            assistant.ask(item["user_input"])
            if seen and seen[-1] is not None:
                rows.append((seen[-1], bool(item.get("answerable", True)), path.stem, item["language"]))
    return rows


def refusals(refused: np.ndarray, y: np.ndarray, langs: np.ndarray) -> dict[str, str]:
    return {
        lang: f"unanswerable {int(refused[(y == 0) & (langs == lang)].sum())}/{int(((y == 0) & (langs == lang)).sum())}, "
        f"answerable {int(refused[(y == 1) & (langs == lang)].sum())}/{int(((y == 1) & (langs == lang)).sum())}"
        for lang in ("en", "es")
    }


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--out", type=Path, default=MODEL)
    parser.add_argument("--max-answerable-refused", type=float, default=0.04,
                        help="Share of answerable questions the threshold may refuse out of set (the target is 5%%).")
    args = parser.parse_args()
    assistant = build_pipeline(load_settings())
    rows = collect(assistant, args.datasets)
    x = np.stack([e.vector() for e, *_ in rows])
    y = np.asarray([int(a) for _, a, _, _ in rows])
    groups = np.asarray([g for *_, g, _ in rows])
    langs = np.asarray([lang for *_, lang in rows])
    hand = np.asarray([not FALLBACK.supports(e) for e, *_ in rows])

    def model(c: float):  # type: ignore[no-untyped-def]
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=5000))

    scored = []
    for c in (0.1, 0.3, 1.0, 3.0):
        p = cross_val_predict(model(c), x, y, groups=groups, cv=LeaveOneGroupOut(), method="predict_proba")[:, 1]
        scored.append((roc_auc_score(y, p), c, p))
    auc, c, p = max(scored, key=lambda t: t[0])
    budget = int(args.max_answerable_refused * (y == 1).sum())  # answerable questions it may refuse, out of set
    threshold = max(t for t in np.arange(0.05, 0.95, 0.01) if int((p < t)[y == 1].sum()) <= budget)
    fitted = model(c).fit(x, y)
    scaler, logistic = fitted[0], fitted[1]
    about = {
        "fitted_on": [p.name for p in args.datasets], "questions": len(y), "unanswerable": int((y == 0).sum()),
        "C": c, "leave_one_set_out_auc": round(float(auc), 3),
        "hand_thresholds": refusals(hand, y, langs),
        "model_out_of_set": refusals(p < threshold, y, langs),
    }
    save_model(args.out, assistant.index.embedder.name, scaler.mean_, scaler.scale_, logistic.coef_[0],
               float(logistic.intercept_[0]), float(threshold), about)
    print(json.dumps(about, indent=1))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
