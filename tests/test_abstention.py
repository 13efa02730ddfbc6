"""The learned abstention model (assistant/abstention.py): what it reads, and that weak evidence is refused."""

from __future__ import annotations

from assistant.abstention import FALLBACK, AbstentionModel, Evidence
from assistant.index.embed import UseEmbedder
from assistant.pipeline import abstention_model


def _evidence(sim: float, score: float, in_domain: bool, passage: float) -> Evidence:
    """Evidence as strong as ``passage``: the best passage's cosine, and the ranker as sure of it."""
    return Evidence(sim, score, 0.0, float(in_domain), 0.0, passage, min(1.0, passage + 0.35))


def test_the_model_reads_the_default_embedders_evidence() -> None:
    model = AbstentionModel.load()
    assert model.embedder == UseEmbedder.name
    assert model.weights.shape == model.mean.shape == (len(Evidence.__dataclass_fields__),)
    assert 0.0 < model.threshold < 1.0


def test_weak_evidence_is_refused_and_strong_evidence_is_not() -> None:
    model = AbstentionModel.load()
    weak = _evidence(0.08, 0.20, in_domain=False, passage=0.10)
    strong = _evidence(0.65, 0.95, in_domain=True, passage=0.60)
    assert not model.supports(weak) and not FALLBACK.supports(weak)
    assert model.supports(strong) and FALLBACK.supports(strong)
    assert model.probability(strong) > model.probability(weak)


def test_another_embedders_cosines_fall_back_to_the_hand_thresholds() -> None:
    assert abstention_model("intfloat/multilingual-e5-small") is FALLBACK
    assert isinstance(abstention_model(UseEmbedder.name), AbstentionModel)
