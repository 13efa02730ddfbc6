"""Fit the extractive answer's sentence scorer (assistant/extractive.py PICK_FEATURES) on the development sets'
reference quotes, and compare it with the hand weights, per language, by leave-one-set-out cross-validation.

    python -m evals.train_picker [DATASET.jsonl ...] [--out assistant/picker.json]

Each answerable question goes through ``Assistant.ask``; when it reaches the extractive answer, every candidate
sentence of its passages is an example: positive when it sits on a reference page (found in that page's text,
where its citation will point: a passage over two pages does not make both pages its) and shares most of its
words with a reference quote (or the quote with it). A logistic regression (scikit-learn, a development dependency)
learns the weights; they are scaled so that the sentence's cosine weighs 1, as in the hand formula, so the
margin that decides how many sentences are quoted keeps its meaning. C is chosen by leave-one-set-out
cross-validation on what users see: the first quoted sentence on a reference page, any of the quoted ones, and
the share of quoted sentences on one.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer import Assistant
from assistant.citations import normalise
from assistant.config import load_settings
from assistant.extractive import HAND_WEIGHTS, MARGIN, PICK_FEATURES, PICKER, choose
from assistant.pipeline import build_pipeline
from assistant.textutil import content_words
from evals.dataset import load_dataset
from evals.metrics import Passage, Ref, matches
from evals.train_abstention import DEFAULT

CS = (0.01, 0.1, 1.0)
MARGINS = (0.12, 0.2, 0.3, 0.45, 0.6, 0.8)
MAX_MEAN_QUOTES = 2.5  # quotes per answer, on average


def _words(text: str) -> set[str]:
    return set(content_words(text))


def _close(sentence: str, quote: str) -> bool:
    """The sentence and a reference quote share most of the shorter one's words."""
    a, b = _words(sentence), _words(quote)
    return bool(a and b) and len(a & b) >= 0.5 * min(len(a), len(b))


def _page_text(assistant: Assistant, chunk: Any, ref: Ref) -> str:
    """The reference page's text when the passage overlaps it, normalised; else ''."""
    if not matches(Passage.of(chunk), ref) or ref.page is None:
        return ""
    return normalise(assistant.index.catalog.page_text(chunk.doc_id, ref.page) or "")


def _on(sentence: str, page: str) -> bool:
    """The sentence sits on that page (where its citation will point), not only in a passage that overlaps it."""
    return bool(page) and normalise(sentence) in page


def collect(assistant: Assistant, paths: list[Path]) -> list[dict[str, Any]]:
    """Per question that reaches the extractive answer: its set, language, features and labels."""
    seen: list[tuple[Any, Any, Any]] = []
    pick = assistant.extractive.pick

    def record(vector, query, hits):  # type: ignore[no-untyped-def]
        seen.append((vector, query, hits))
        return pick(vector, query, hits)

    assistant.extractive.pick = record  # type: ignore[method-assign]
    rows = []
    for path in paths:
        for item in load_dataset(path):
            contexts = item.get("reference_contexts") or []
            if not item.get("answerable", True) or not contexts:
                continue
            seen.clear()
            assistant.ask(item["user_input"])
            if not seen:
                continue  # answered by the partner search, the eligibility check or the topic finder
            vector, query, hits = seen[-1]
            found, x = assistant.extractive.candidates(vector, query, hits)
            if not found:
                continue
            refs = [(Ref.from_json(r), r.get("quote", "")) for r in contexts]
            pages = [_page_text(assistant, h.chunk, r) for h, _, _ in found for r, _ in refs]
            on_page = np.array([
                any(_on(s, pages[i * len(refs) + j]) for j in range(len(refs))) for i, (_, s, _) in enumerate(found)
            ])
            close = np.array([
                any(_on(s, pages[i * len(refs) + j]) and _close(s, q) for j, (_, q) in enumerate(refs))
                for i, (_, s, _) in enumerate(found)
            ])
            rows.append({"set": path.stem, "lang": item["language"], "x": x, "page": on_page, "quote": close,
                         "quotes": [s for _, s, _ in found], "passages": [h.chunk.id for h, _, _ in found]})
    assistant.extractive.pick = pick  # type: ignore[method-assign]
    return rows


def fit(rows: list[dict[str, Any]], c: float) -> np.ndarray:
    """Weights over PICK_FEATURES, scaled so that the similarity weighs 1."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([r["x"] for r in rows])
    y = np.concatenate([r["quote"] for r in rows]).astype(int)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit((x - mean) / scale, y)
    weights = model.coef_[0] / scale
    similarity = weights[PICK_FEATURES.index("similarity")]
    return weights / similarity if similarity > 0 else weights


def quoted(row: dict[str, Any], weights: np.ndarray, margin: float = MARGIN) -> list[int]:
    """The indices of the sentences the answer would quote, best first (ExtractiveAnswerer's own choice)."""
    x = row["x"]
    return choose(x @ weights, row["quotes"], row["passages"], list(x[:, PICK_FEATURES.index("elsewhere")] > 0), margin,
                  related=list(x[:, PICK_FEATURES.index("similarity")] > 0))


def measure(rows: list[dict[str, Any]], weights_of: Any, margin: float = MARGIN) -> dict[str, dict[str, float]]:
    """Per language: the best sentence on a reference page; any quoted sentence on one; the best sentence
    close to a reference quote."""
    out: dict[str, dict[str, float]] = {}
    for lang in ("en", "es"):
        mine = [r for r in rows if r["lang"] == lang]
        if not mine:
            continue
        first, any_, close, precise, count = [], [], [], [], []
        for row in mine:
            chosen = quoted(row, weights_of(row), margin)
            first.append(row["page"][chosen[0]])
            any_.append(any(row["page"][i] for i in chosen))
            close.append(row["quote"][chosen[0]])
            precise += [row["page"][i] for i in chosen]
            count.append(len(chosen))
        out[lang] = {"n": len(mine), "first_on_page": round(float(np.mean(first)), 3),
                     "any_on_page": round(float(np.mean(any_)), 3), "first_close": round(float(np.mean(close)), 3),
                     "quotes_on_page": round(float(np.mean(precise)), 3), "quotes": round(float(np.mean(count)), 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--out", type=Path, default=PICKER)
    args = parser.parse_args()
    started = time.perf_counter()
    assistant = build_pipeline(load_settings())
    hand = np.asarray([HAND_WEIGHTS.get(name, 0.0) for name in PICK_FEATURES])
    # the candidates are found as the hand-weighted answer finds them
    assistant.extractive.weights, assistant.extractive.margin = hand, MARGIN
    rows = collect(assistant, list(args.datasets))
    sets = sorted({r["set"] for r in rows})
    print(f"{len(rows)} questions reach the extractive answer ({time.perf_counter() - started:.0f} s)")
    report: dict[str, Any] = {"hand": measure(rows, lambda r: hand)}
    best_c, best_margin, best = None, MARGIN, -1.0
    for c in CS:
        held: dict[str, np.ndarray] = {s: fit([r for r in rows if r["set"] != s], c) for s in sets}
        for margin in MARGINS:
            result = measure(rows, lambda r: held[r["set"]], margin)
            report[f"learned C={c} margin={margin} (out of set)"] = result
            if any(v["quotes"] > MAX_MEAN_QUOTES for v in result.values()):
                continue  # the answer leads with one sentence and adds at most two: mostly one
            # the first quote on a reference page, any of the three, and few quotes that are not
            score = float(np.mean([
                v["first_on_page"] + v["any_on_page"] + v["quotes_on_page"] for v in result.values()
            ]))
            if score > best:
                best_c, best_margin, best = c, margin, score
    assert best_c is not None
    weights = fit(rows, best_c)
    about = (f"Fitted {time.strftime('%Y-%m-%d')} on {', '.join(sets)}: {len(rows)} questions, "
             f"{sum(len(r['quote']) for r in rows)} sentences ({int(sum(r['quote'].sum() for r in rows))} close to a "
             f"reference quote); C={best_c} and margin {best_margin} by leave-one-set-out cross-validation.")
    args.out.write_text(json.dumps({"features": list(PICK_FEATURES), "weights": weights.tolist(),
                                    "margin": best_margin, "about": about}, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    print(about)
    print("weights:", ", ".join(f"{n} {w:+.3f}" for n, w in zip(PICK_FEATURES, weights, strict=True)))
    print(f"written {args.out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
