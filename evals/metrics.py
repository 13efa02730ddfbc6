"""Small, pure metric functions used by the evaluation (no ragas, no index: plain data in, numbers out).

Retrieval is judged by document and page: a retrieved passage *matches* a reference when it comes from
the same document and its page range overlaps the reference page (CORDIS records: the reference's record
id, e.g. ``project 731505``, is a whole token of the passage's locator). Each reference counts once, however
many passages of its page were retrieved:

- ``hit_at_k``: 1 if any reference is matched within the first k passages, else 0;
- ``recall_at_k``: the share of the references matched within the first k passages;
- ``reciprocal_rank``: 1 / rank of the first matching passage (0 when none within k);
- ``ndcg_at_k``: binary-gain nDCG; a passage gains 1 only when it matches a reference not matched
  higher up, and the ideal ranking puts one passage per reference first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ref:
    """A reference context: a PDF page, or a CORDIS record (page None, locator like ``project 731505``)."""

    document: str
    page: int | None = None
    locator: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ref:
        return cls(str(data["document"]), data.get("page"), data.get("locator"))

    @property
    def id(self) -> str:
        """Page-level id, as given to ragas' ID-based metrics: ``doc#p12`` or ``doc#project 731505``."""
        return f"{self.document}#p{self.page}" if self.page is not None else f"{self.document}#{self.locator}"


@dataclass(frozen=True)
class Passage:
    """What the metrics need to know about a retrieved passage."""

    document: str
    page_start: int | None = None
    page_end: int | None = None
    locator: str | None = None

    @classmethod
    def of(cls, chunk: Any) -> Passage:
        """From an ``assistant.types.Chunk`` (or anything with the same attributes)."""
        return cls(chunk.document, chunk.page_start, chunk.page_end, chunk.locator)

    def ids(self) -> list[str]:
        """Page-level ids of this passage: one per page it spans, or its record id."""
        if self.page_start is not None:
            end = self.page_end if self.page_end is not None else self.page_start
            return [f"{self.document}#p{p}" for p in range(self.page_start, end + 1)]
        if self.locator:
            return [f"{self.document}#{' '.join(self.locator.split()[:2])}"]
        return [f"{self.document}#"]


def matches(passage: Passage, ref: Ref) -> bool:
    """Same document, and the passage's pages overlap the reference page (or it is the referenced record)."""
    if passage.document != ref.document:
        return False
    if ref.page is not None:
        if passage.page_start is None:
            return False
        end = passage.page_end if passage.page_end is not None else passage.page_start
        return passage.page_start <= ref.page <= end
    if ref.locator and passage.locator:
        key = ref.locator.split()[-1]
        return re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", passage.locator) is not None
    return False


def first_matches(passages: Sequence[Passage], refs: Sequence[Ref], k: int) -> list[int | None]:
    """For each of the first k passages, the index of the reference it newly matches (None: no new one)."""
    seen: set[int] = set()
    out: list[int | None] = []
    for passage in passages[:k]:
        new = next((i for i, ref in enumerate(refs) if i not in seen and matches(passage, ref)), None)
        if new is not None:
            seen.add(new)
        out.append(new)
    return out


def _relevant(passages: Sequence[Passage], refs: Sequence[Ref], k: int) -> list[bool]:
    return [any(matches(p, r) for r in refs) for p in passages[:k]]


def hit_at_k(passages: Sequence[Passage], refs: Sequence[Ref], k: int) -> float:
    """1.0 when any reference is matched within the first k passages."""
    return 1.0 if any(_relevant(passages, refs, k)) else 0.0


def recall_at_k(passages: Sequence[Passage], refs: Sequence[Ref], k: int) -> float:
    """Share of the references matched within the first k passages (0.0 when there are no references)."""
    if not refs:
        return 0.0
    return sum(m is not None for m in first_matches(passages, refs, k)) / len(refs)


def reciprocal_rank(passages: Sequence[Passage], refs: Sequence[Ref], k: int = 10) -> float:
    """1 / rank of the first passage matching a reference, 0.0 when none is within k."""
    for rank, relevant in enumerate(_relevant(passages, refs, k), start=1):
        if relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(passages: Sequence[Passage], refs: Sequence[Ref], k: int = 10) -> float:
    """Binary-gain nDCG@k, each reference counted once (see the module docstring)."""
    if not refs:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, m in enumerate(first_matches(passages, refs, k), 1) if m is not None)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(refs), k) + 1))
    return dcg / ideal


def retrieval_scores(passages: Sequence[Passage], refs: Sequence[Ref], ks: Iterable[int] = (1, 5, 10)) -> dict[str, float]:
    """All retrieval metrics of one question, keyed ``hit@k``, ``recall@k``, ``mrr``, ``ndcg@10``."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"hit@{k}"] = hit_at_k(passages, refs, k)
        out[f"recall@{k}"] = recall_at_k(passages, refs, k)
    out["mrr"] = reciprocal_rank(passages, refs, 10)
    out["ndcg@10"] = ndcg_at_k(passages, refs, 10)
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None (None when there are none)."""
    kept = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(kept) / len(kept) if kept else None


def ratio(count: int, total: int) -> dict[str, float | int | None]:
    """A share with its counts, e.g. ``{"n": 17, "of": 18, "value": 0.944}``."""
    return {"n": count, "of": total, "value": count / total if total else None}
