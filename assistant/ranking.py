"""The order of the retrieved passages: a ranker learned from questions with known answer pages.

Retrieval gathers candidates from its legs (dense, keyword, exact identifiers, e5 when configured); each
candidate is described by generic features that carry over to documents nobody wrote a rule for: how each
leg scored and ranked it, how much of the question its heading and text hold, what kind of document it comes
from and whether that matches what the question implies (programme, period, a named document, a topic code).
A logistic model (``ranker.json``, fitted by ``python -m evals.train_ranker`` on the development sets only)
turns them into one score. Without a model the legs are fused by reciprocal rank, as before.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.query import Query, is_code
from assistant.textutil import content_words, stem, translate_terms
from assistant.types import Chunk

MODEL = Path(__file__).with_name("ranker.json")
KINDS = ("work-programme", "rules", "guidance", "template", "law", "dataset", "reference-data")
LEGS = ("dense", "keyword", "exact", "e5")


@dataclass
class Candidates:
    """What the legs found for one query: their ranked ids and scores, and every candidate chunk."""

    chunks: dict[str, Chunk] = field(default_factory=dict)
    ranked: dict[str, list[str]] = field(default_factory=dict)  # leg -> ids, best first
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # leg -> id -> its score
    similarity: dict[str, float] = field(default_factory=dict)  # id -> cosine with the question (main model)
    second_similarity: dict[str, float] = field(default_factory=dict)  # id -> cosine (e5), when computed
    sentence_similarity: dict[str, float] = field(default_factory=dict)  # id -> its closest sentence's cosine
    translated: list[str] = field(default_factory=list)  # the question's words in the other language
    own: set[str] = field(default_factory=set)  # exact hits whose heading names the identifier


@lru_cache(maxsize=8192)
def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in content_words(text))


def _overlap(asked: frozenset[str], text: str) -> float:
    return len(asked & _stems(text)) / len(asked) if asked else 0.0


FEATURES = (
    "dense_sim", "dense_rr", "dense_in",
    "keyword_score", "keyword_rr", "keyword_in",
    "exact_in", "exact_own",
    "e5_sim", "e5_rr", "e5_in",
    "page_dense_max", "legs",
    "sentence_sim", "page_sentence_max", "sentence_rr",
    "heading_overlap", "text_overlap", "text_overlap_translated",
    *(f"kind_{k}" for k in KINDS),
    "query_code", "query_code_wp", "query_no_code_rules",
    "programme_named_match", "programme_prior_match", "period_match", "law_prior_match",
    "named_document", "same_language", "first_page", "log_length",
)


def features(query: Query, found: Candidates) -> tuple[list[str], np.ndarray]:
    """The candidates' ids and their feature matrix (one row per candidate, columns as FEATURES)."""
    ids = list(found.chunks)
    asked = _stems(query.text)
    translated = _stems(" ".join(found.translated or translate_terms(query.text)))
    codes = [i for i in query.identifiers if is_code(i)]
    ranks = {leg: {cid: r for r, cid in enumerate(found.ranked.get(leg, []))} for leg in LEGS}
    top_keyword = max(found.scores.get("keyword", {}).values(), default=0.0) or 1.0
    page_best: dict[tuple[str, int | None], float] = {}
    for cid in ids:
        page = (found.chunks[cid].doc_id, found.chunks[cid].page_start)
        page_best[page] = max(page_best.get(page, -1.0), found.similarity.get(cid, 0.0))
    sentence = found.sentence_similarity
    page_sentence: dict[tuple[str, int | None], float] = {}
    for cid in ids:
        page = (found.chunks[cid].doc_id, found.chunks[cid].page_start)
        page_sentence[page] = max(page_sentence.get(page, -1.0), sentence.get(cid, 0.0))
    by_sentence = {cid: r for r, cid in enumerate(sorted(sentence, key=lambda i: -sentence[i]))}
    rows = []
    for cid in ids:
        c = found.chunks[cid]
        r = {leg: ranks[leg].get(cid) for leg in LEGS}
        in_legs = sum(v is not None for v in r.values())
        row = [
            found.similarity.get(cid, 0.0), _rr(r["dense"]), float(r["dense"] is not None),
            found.scores.get("keyword", {}).get(cid, 0.0) / top_keyword, _rr(r["keyword"]), float(r["keyword"] is not None),
            float(r["exact"] is not None), float(cid in found.own),
            found.second_similarity.get(cid, 0.0), _rr(r["e5"]), float(r["e5"] is not None),
            page_best[(c.doc_id, c.page_start)], float(in_legs),
            sentence.get(cid, 0.0), page_sentence[(c.doc_id, c.page_start)], _rr(by_sentence.get(cid)),
            _overlap(asked, c.heading), _overlap(asked, c.text), _overlap(translated, c.text),
            *(float(c.kind == k) for k in KINDS),
            float(bool(codes)), float(bool(codes) and c.kind == "work-programme"),
            float(not codes and c.kind in ("rules", "guidance")),
            float(c.programme in query.programmes),
            float(query.priors.get("programme") == c.programme),
            float(query.priors.get("period") == c.period),
            float(query.priors.get("kind") == c.kind),
            float(c.doc_id in query.named_documents),
            float(c.language == query.language),
            float(c.page_start == 1),
            math.log1p(len(c.text)) / 8.0,
        ]
        rows.append(row)
    return ids, np.asarray(rows, dtype=np.float64).reshape(len(ids), len(FEATURES))


def _rr(rank: int | None) -> float:
    return 0.0 if rank is None else 1.0 / (rank + 1)


@dataclass(frozen=True)
class LearnedRanker:
    """A logistic model over FEATURES: score = sigmoid(w . standardised(x) + b)."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    about: str = ""

    @classmethod
    def load(cls, path: Path = MODEL) -> LearnedRanker | None:
        """The model in ``path``; None when there is none or it was fitted on other features."""
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            return None  # the features changed since it was fitted: fall back to rank fusion
        return cls(
            tuple(data["features"]), np.asarray(data["mean"]), np.asarray(data["scale"]),
            np.asarray(data["weights"]), float(data["bias"]), data.get("about", ""),
        )

    def score(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def order(self, query: Query, found: Candidates) -> list[tuple[str, float]]:
        """The candidates, best first, with their scores."""
        ids, x = features(query, found)
        if not ids:
            return []
        scores = self.score(x)
        return sorted(zip(ids, scores.tolist(), strict=True), key=lambda pair: -pair[1])


def save_model(path: Path, mean: Sequence[float], scale: Sequence[float], weights: Sequence[float], bias: float,
               about: str) -> None:
    """Write a fitted model (evals/train_ranker.py)."""
    data = {
        "features": list(FEATURES), "mean": list(mean), "scale": list(scale), "weights": list(weights),
        "bias": bias, "about": about,
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
