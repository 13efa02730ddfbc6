"""Whether a question asks who may take part or be funded (the eligibility check's questions), learned from
questions rather than typed as phrases.

A logistic model over the question's vector (the main embedder's, the one retrieval computes anyway) and one
more feature, whether the question uses the usual wording (assistant.question.ELIGIBILITY_WORDING: "can …
be funded", "eligible", "¿puede … recibir fondos?"):
``intent.json`` holds its weights, fitted by ``python -m evals.train_intent`` on the development questions
(those that carry an ``expected_verdict``: "Can a Peruvian university be funded?", "¿Podemos ser
beneficiarios…?" against every other question and research idea of the sets). The vector carries the
meaning of the question in either language, so phrasings nobody listed ("will we receive EU money if we
join…", "¿nos toca financiamiento…?") are read as well as the ones seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL = Path(__file__).with_name("intent.json")


@dataclass(frozen=True)
class IntentModel:
    """P(the question asks who may take part or be funded | its vector)."""

    embedder: str  # the embedder whose vectors it was fitted on
    weights: np.ndarray  # one per dimension of the vector
    wording: float  # the weight of "uses the usual wording"
    bias: float
    threshold: float

    @classmethod
    def load(cls, path: Path = MODEL) -> IntentModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["embedder"], np.asarray(data["weights"], dtype=np.float32), float(data["wording"]),
                   float(data["bias"]), float(data["threshold"]))

    def probability(self, vector: np.ndarray, wording: bool) -> float:
        z = float(vector @ self.weights) + self.wording * float(wording) + self.bias
        return float(1.0 / (1.0 + np.exp(-z)))

    def asks_eligibility(self, vector: np.ndarray, wording: bool) -> bool:
        return self.probability(vector, wording) >= self.threshold


def save_model(
    path: Path, embedder: str, weights: np.ndarray, wording: float, bias: float, threshold: float, about: dict
) -> None:
    data = {"embedder": embedder, "wording": round(wording, 6), "bias": round(bias, 6),
            "threshold": round(threshold, 4), "about": about, "weights": [round(float(w), 6) for w in weights]}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
