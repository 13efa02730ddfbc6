"""Small text helpers shared by keyword search and sentence scoring (English and Spanish)."""

from __future__ import annotations

import re
import unicodedata

# A call topic's code: LC-SFS-34-2019, SFS-01-2018-2019-2020, CE-FNR-07-2020 (it ends with a year).
TOPIC_CODE = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*-\d{1,2}[a-z]?(?:-[A-Za-z])?(?:[-/]\d{4})+\b")
# A Horizon Europe topic or call identifier: HORIZON-CL6-2027-01-BIODIV-01, HORIZON-MSCA-2026-DN-01-01,
# HORIZON-CL4-2026-03, HORIZON-2027-EUSPA-SPACE-51, ERC-2026-STG (a year from 2021 inside; any case).
HE_CODE = re.compile(r"\b(?:HORIZON|ERC)(?:-[A-Z0-9]+)*-20(?:2[1-9]|[3-9]\d)(?:-[A-Z0-9]+)*\b", re.IGNORECASE)

WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    (
        "the a an of and or to in on at by for with without from about into is are was were be been being "
        "can could may might must shall should will would do does did what which who whom whose how when "
        "where why there this that these those it its i my me we our you your they their he she his her "
        "any all some no not if then than so as also just only such other more most very much many "
        "el la los las un una unos unas de del al y e o u a en para por con sin sobre entre como que qué "
        "cual cuál cuales cuáles quien quién cómo como donde dónde cuando cuándo cuanto cuánto cuántos "
        "cuántas es son ser era fue está están estar hay ha han he puede pueden poder debe deben tiene "
        "tienen tengo mi mis tu tus su sus se le les lo nos me te ya muy más menos también pero si sí no "
        "este esta esto estos estas ese esa eso esos esas otro otra otros otras algún alguna algunos "
        "cada todo toda todos todas h2020 horizon horizonte"
    ).split()
)


DASHES = str.maketrans({"–": "-", "—": "-", "‐": "-", "‑": "-"})


def fold(text: str) -> str:
    """Lowercase without accents, dashes as '-', whitespace collapsed."""
    if text.isascii():  # most English text: nothing to decompose (a fast path, same result)
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(DASHES))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


FOLDED_STOPWORDS = frozenset(fold(w) for w in STOPWORDS)


def content_words(text: str) -> list[str]:
    """Folded words that carry meaning, in order, without repeats."""
    words = [w for w in WORD.findall(fold(text)) if w not in FOLDED_STOPWORDS and (len(w) > 1 or w.isdigit())]
    return list(dict.fromkeys(words))


def stem(word: str) -> str:
    """A crude shared stem: the first six letters, so participants/participación or
    evaluation/evaluación meet (many EU-funding terms are cognates), after a plural's final s
    (so page/pages and límite/límites meet too)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and not word.isdigit():
        word = word[:-1]
    return word[:6]


def _load_glossary() -> dict[str, set[str]]:
    from pathlib import Path

    pairs: dict[str, set[str]] = {}
    for line in (Path(__file__).with_name("glossary.tsv")).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        en, es = (fold(x) for x in line.split("\t", 1))
        pairs.setdefault(en, set()).add(es)
        pairs.setdefault(es, set()).add(en)
    return pairs


GLOSSARY = _load_glossary()
_LONGEST = max(len(k.split()) for k in GLOSSARY)


def translate_terms(text: str) -> list[str]:
    """The other language's words for the glossary phrases found in the text (longest phrases first)."""
    words = WORD.findall(fold(text))
    found: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(_LONGEST, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + n])
            if phrase in GLOSSARY:
                found += sorted(GLOSSARY[phrase])
                i += n
                break
        else:
            i += 1
    return list(dict.fromkeys(found))


def euro(value: float | None) -> str:
    """An amount as the CORDIS records and partner answers write it: ``EUR 10,000,000``."""
    return f"EUR {value:,.0f}" if value is not None else "not given"
