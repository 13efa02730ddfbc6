"""Whether the retrieved text supports an answer at all, learned from answerable and unanswerable questions
rather than set by hand.

The evidence is what the extractive answer has found for the question: how close its best sentence is
(cosine, and with the lexical bonus), whether that sentence is in the question's language, how close the two
best passages are and how they ranked, whether the question touches the programmes at all
(:func:`assistant.guard.in_domain`) and whether it names an identifier (a topic or grant code). A logistic
model over these (standardised) gives P(answerable); below the threshold the assistant says what it could
not find. ``abstention.json`` holds it, fitted by ``python -m evals.train_abstention`` on the development
sets, with the threshold that keeps the answerable questions refused at the rate of the hand thresholds it
replaces (docs/answering.md).

The cosines are the embedder's: a model fitted on USE's does not read e5's. With another embedder the
hand thresholds apply (:data:`FALLBACK`), and the start-up log says so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant.types import Hit

MODEL = Path(__file__).with_name("abstention.json")


@dataclass(frozen=True)
class Evidence:
    """What supports an answer: the features the model reads, in this order."""

    similarity: float  # cosine between the question and the best answer sentence
    score: float  # the same with the lexical overlap bonus
    across: float  # 1.0 when the best sentence is in another language than the question
    in_domain: float  # 1.0 when the question touches EU research funding, Mexican science policy or CORDIS
    identifiers: float  # 1.0 when the question names a code (topic, grant agreement)
    passage_similarity: float  # cosine of the best passage found by the dense search
    passage_score: float  # the ranker's score of the first passage
    # (the second passage's cosine and score were features until 2026-12-08: they refused questions one page
    # answers, and leaving them out changed neither the cross-validated AUC nor the refusals: docs/answering.md)

    @classmethod
    def of(
        cls, similarity: float, score: float, across: bool, in_domain: bool, identifiers: bool, hits: Sequence[Hit]
    ) -> Evidence:
        best_similarity = max((h.similarity or 0.0 for h in hits), default=0.0)
        best_score = max((h.score for h in hits), default=0.0)
        return cls(similarity, score, float(across), float(in_domain), float(identifiers), best_similarity, best_score)

    def vector(self) -> np.ndarray:
        return np.asarray(list(asdict(self).values()), dtype=np.float64)


@dataclass(frozen=True)
class HandThresholds:
    """The thresholds calibrated by hand on dev.jsonl before the model (and for embedders it was not fitted on)."""

    similarity: float = 0.15
    similarity_across: float = 0.10  # USE's cosines run lower across languages
    score: float = 0.345

    def supports(self, e: Evidence) -> bool:
        floor = self.similarity_across if e.across else self.similarity
        return e.similarity >= floor and e.score >= self.score and bool(e.in_domain or e.identifiers)


FALLBACK = HandThresholds()


@dataclass(frozen=True)
class AbstentionModel:
    """P(the question is answerable from what was found | the evidence)."""

    embedder: str  # whose cosines it was fitted on
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float

    @classmethod
    def load(cls, path: Path = MODEL) -> AbstentionModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            data["embedder"],
            np.asarray(data["mean"]),
            np.asarray(data["scale"]),
            np.asarray(data["weights"]),
            float(data["bias"]),
            float(data["threshold"]),
        )

    def probability(self, e: Evidence) -> float:
        z = float(((e.vector() - self.mean) / self.scale) @ self.weights) + self.bias
        return float(1.0 / (1.0 + np.exp(-z)))

    def supports(self, e: Evidence) -> bool:
        return e.similarity > 0 and self.probability(e) >= self.threshold


def save_model(path: Path, embedder: str, mean: np.ndarray, scale: np.ndarray, weights: np.ndarray, bias: float,
               threshold: float, about: dict) -> None:
    data = {
        "embedder": embedder,
        "features": list(Evidence.__dataclass_fields__),
        "mean": [round(float(x), 6) for x in mean],
        "scale": [round(float(x), 6) for x in scale],
        "weights": [round(float(x), 6) for x in weights],
        "bias": round(bias, 6),
        "threshold": round(threshold, 4),
        "about": about,
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
