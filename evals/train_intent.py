"""Fit the eligibility intent model (assistant/intent.py) on development questions.

    python -m evals.train_intent [DATASET.jsonl ...] [--out assistant/intent.json]

Examples: every question of the given sets (default: the development sets named below) and every research
idea of the topic sets. Positive: a question that carries an ``expected_verdict`` (its writer decided it asks
whether someone may take part or be funded). Left out: questions of the category "eligibility" without a
verdict (H2020-era questions on partners in a topic; some would be positives, some not). Negative: the rest.
A logistic regression over the main embedder's question vectors and one more feature, whether the question
uses the usual wording (assistant.question.ELIGIBILITY_WORDING) (scikit-learn, a development dependency; the
weights are plain JSON read with numpy); its regularisation and threshold are chosen by 5-fold
cross-validation: the out-of-fold F1 on the questions that name a country (the only ones the model is asked
about: the eligibility check needs a country), and the cross-validated precision and recall are saved.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.config import load_settings
from assistant.countries import CountryFinder
from assistant.index.embed import make_embedder
from assistant.intent import MODEL, save_model
from assistant.question import ELIGIBILITY_WORDING
from ingestion.parse_eligibility import CountryNames

DATASETS = Path(__file__).parent / "datasets"
DEFAULT = [
    DATASETS / f"{name}.jsonl"
    for name in ("dev", "dev_he", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6",
                 "heldout7", "heldout8", "heldout9", "topics_dev", "topics_heldout", "eligibility_heldout",
                 "eligibility_heldout2")
]


def examples(paths: list[Path]) -> tuple[list[str], list[int], list[str]]:
    texts, labels, ids = [], [], []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            text = item.get("user_input") or item.get("idea")
            if not text:
                continue
            if item.get("expected_verdict"):
                label = 1
            elif item.get("category") == "eligibility":
                continue
            else:
                label = 0
            texts.append(text)
            labels.append(label)
            ids.append(str(item.get("id", "")))
    return texts, labels, ids


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--out", type=Path, default=MODEL)
    args = parser.parse_args()
    settings = load_settings()
    embedder = make_embedder(settings)
    texts, labels, _ = examples(args.datasets)
    names = CountryNames.from_cordis(settings.corpus_dir / "cordis" / "cordisref-countries.csv")
    finder = CountryFinder(names.display, names.lookup)
    asked = np.asarray([bool(finder.ordered(t)) for t in texts])  # the questions the model will be asked about
    wording = np.asarray([[float(bool(ELIGIBILITY_WORDING.search(t)))] for t in texts])
    x = np.hstack([np.stack([embedder.embed_query(t) for t in texts]), wording])
    y = np.asarray(labels)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    best: tuple[float, float, float, dict] | None = None
    for c in (0.3, 1.0, 3.0, 10.0, 30.0, 100.0):
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        p = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
        for threshold in np.arange(0.2, 0.95, 0.05):
            chosen = (p >= threshold) & asked
            tp = int((chosen & (y == 1)).sum())
            precision = tp / max(1, int(chosen.sum()))
            recall = tp / max(1, int(((y == 1) & asked).sum()))
            f1 = 2 * precision * recall / max(1e-9, precision + recall)
            if best is None or f1 > best[2]:
                best = (c, float(threshold), f1, {"precision": round(precision, 3), "recall": round(recall, 3)})
    assert best is not None
    c, threshold, f1, scores = best
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(x, y)
    about = {
        "fitted_on": [p.name for p in args.datasets], "examples": len(y), "positives": int(y.sum()),
        "naming_a_country": int(asked.sum()), "positives_naming_a_country": int((asked & (y == 1)).sum()),
        "C": c, "cross_validated": {"f1": round(f1, 3), **scores},
    }
    weights = model.coef_[0]
    save_model(args.out, embedder.name, weights[:-1], float(weights[-1]), float(model.intercept_[0]), threshold, about)
    print(json.dumps(about, indent=1))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
