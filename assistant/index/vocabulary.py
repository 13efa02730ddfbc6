"""The words of the indexed passages, per language, with their vectors: a question's words find the words of
the other language closest in meaning.

The multilingual embedder places "financiación" next to "funding" (cosine 0.93), "umbral" next to "threshold"
(0.80) and "subcontratación" next to "subcontracted" (0.90), so keyword search can reach passages written in
the other language without a word list: each word of a question that the other language's passages do not
use is replaced by its nearest word among theirs, when it is close enough. The words come from the documents
themselves (a new document brings its own), and ingestion embeds them once (8,063 English words in ~12 s).
Measured on the Spanish questions of the development sets (docs/answering.md): the right page among the
keyword leg's first five 0.69 -> 0.79, in the answer's top five 0.845 -> 0.872.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from assistant.index.catalog import Catalog
from assistant.index.embed import Embedder, embed_all
from assistant.textutil import FOLDED_STOPWORDS, fold
from assistant.types import DOCUMENTS, LANGUAGES

VERSION = "vocabulary-2"
META = "vocabulary"  # the fingerprint of what the stored vocabulary was built from
MIN_PASSAGES = 3  # a word used in fewer passages is a typo, a name or an extraction artefact
MIN_LENGTH = 3
LETTERS = re.compile(r"[^\W\d_]+")
NEAREST = 0.8  # the least cosine at which a word stands for the question's word (chosen on the dev sets)


def _words(text: str) -> list[tuple[str, str]]:
    """(folded, as written in lower case) of each content word: the folded form matches, the written form
    is embedded (the embedder reads "financiación" better than "financiacion")."""
    out = []
    for word in LETTERS.findall(text.lower()):
        folded = fold(word)
        if len(folded) >= MIN_LENGTH and folded not in FOLDED_STOPWORDS:
            out.append((folded, word))
    return out


def _fingerprint(catalog: Catalog, embedder: Embedder) -> str:
    parts = sorted(f"{doc_id}:{state.fingerprint}" for doc_id, state in catalog.documents().items())
    return hashlib.sha256("\n".join([VERSION, embedder.name, *parts]).encode()).hexdigest()


def refresh_vocabulary(
    catalog: Catalog, embedder: Embedder, echo: Callable[[str], None] = lambda _m: None, batch_size: int = 64
) -> int:
    """Build the vocabulary again when the indexed documents or the embedder changed; the number of words
    embedded (0: it was up to date)."""
    fingerprint = _fingerprint(catalog, embedder)
    if catalog.get_meta(META) == fingerprint:
        return 0
    rows: list[tuple[str, str, bytes]] = []
    for language in LANGUAGES:
        counts: Counter[str] = Counter()  # passages per folded word
        written: dict[str, Counter[str]] = {}  # its written forms
        sql = "SELECT text FROM chunks WHERE collection = ? AND language = ?"
        for (text,) in catalog.db.execute(sql, (DOCUMENTS, language)):
            pairs = _words(text)
            counts.update({folded for folded, _ in pairs})
            for folded, word in pairs:
                written.setdefault(folded, Counter())[word] += 1
        words = sorted(written[f].most_common(1)[0][0] for f, n in counts.items() if n >= MIN_PASSAGES)
        if words:
            vectors = np.asarray(embed_all(embedder, words, batch_size, progress=False), dtype=np.float32)
            rows += [(language, w, v.tobytes()) for w, v in zip(words, vectors, strict=True)]
        echo(f"vocabulary: {len(words)} {language} words embedded")
    catalog.replace_vocabulary(rows)
    catalog.set_meta(META, fingerprint)
    return len(rows)


class Vocabulary:
    """Translates a question's words into the other language's words of the passages."""

    def __init__(self, catalog: Catalog, embedder: Embedder, cache_size: int = 4096) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _matrix(self, language: str) -> tuple[list[str], frozenset[str], np.ndarray]:
        def load() -> tuple[list[str], frozenset[str], np.ndarray]:
            words, vectors = self.catalog.vocabulary(language)
            return words, frozenset(fold(w) for w in words), vectors

        return self.catalog.per_generation(("vocabulary", language), load)  # type: ignore[no-any-return]

    def _vectors(self, words: Sequence[str]) -> np.ndarray:
        with self._lock:
            known = {w: self._cache[w] for w in words if w in self._cache}
        todo = [w for w in words if w not in known]
        if todo:
            fresh = dict(zip(todo, np.asarray(self.embedder.embed(todo), dtype=np.float32), strict=True))
            known.update(fresh)
            with self._lock:
                self._cache.update(fresh)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack([known[w] for w in words])

    def translate(self, text: str, language: str) -> list[str]:
        """The other language's passage words nearest to the text's words (each at cosine >= NEAREST); a word
        the other language's passages use as it is needs no translation."""
        other = next(lang for lang in LANGUAGES if lang != language)
        words, known, matrix = self._matrix(other)
        asked = list(dict.fromkeys(word for folded, word in _words(text) if folded not in known))
        if not asked or not words:
            return []
        similarity = self._vectors(asked) @ matrix.T
        best = similarity.argmax(axis=1)
        return list(dict.fromkeys(words[i] for row, i in zip(similarity, best, strict=True) if row[i] >= NEAREST))
