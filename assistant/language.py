"""English or Spanish? Decide the language of a question, reliably even for short ones.

Short questions defeat statistical detectors ("¿Y para IA?"), so function words and Spanish
punctuation decide first; ``langdetect`` (seeded, so deterministic) settles the rest.
"""

from __future__ import annotations

import re

from assistant.types import LANGUAGES

SPANISH_MARKS = re.compile(r"[¿¡ñÑ]|[áéíóú]")
WORD = re.compile(r"[a-záéíóúüñ]+", re.IGNORECASE)
ES_WORDS = frozenset(
    "el la los las un una unos unas de del al y o que qué cuál cuáles cuánto cuánta cuántos cuántas cómo "
    "dónde cuándo quién quiénes es son está están puede pueden hay para por con sin sobre entre como más "
    "menos también pero si sí no mi mis su sus se le les lo nos debe deben tiene tienen ser hacer "
    "proyecto proyectos convocatoria convocatorias financiación financiamiento participar socios ley "
    "entidades mexicanas mexicanos méxico europea europeo requisitos quiero necesito busco".split()
)
EN_WORDS = frozenset(
    "the a an of and or to in on for with without about between is are was were be been can could may "
    "might must should do does did what which who whom whose how when where why there this that these "
    "those it its my our your their we i you they he she get gets any all funding funded project projects "
    "call calls partner partners rules eligible apply still open mexican mexico european".split()
)
# Words and letters that are French and neither English nor Spanish: a model asked to "answer in French" must
# not pass for either (French shares "la", "de", "que" with Spanish, and accented letters with both).
FR_WORDS = frozenset(
    "le les des du au aux est sont une pour avec dans sur ce cette ces qui ne pas être peut peuvent doit "
    "doivent chaque leur leurs vous nous ou et selon aussi été avoir très où".split()
)
FRENCH_MARKS = re.compile(r"[èêàâçùûœë]|\b[ldjnqs]'[aeiouhéè]", re.IGNORECASE)
WORD_APOSTROPHE = re.compile(r"[a-záéíóúüñèêàâçùûœë]+", re.IGNORECASE)


def detect_language(text: str, default: str = "en") -> str:
    """Return "en" or "es" for a question or a passage."""
    words = [w.lower() for w in WORD.findall(text)]
    es = sum(w in ES_WORDS for w in words) + 2 * len(SPANISH_MARKS.findall(text[:400]))
    en = sum(w in EN_WORDS for w in words)
    if es != en and (es >= 2 or en >= 2 or abs(es - en) >= 1):
        return "es" if es > en else "en"
    try:
        from langdetect import DetectorFactory, detect_langs

        DetectorFactory.seed = 0
        for guess in detect_langs(text):
            if guess.lang in LANGUAGES:
                return guess.lang
    except Exception:  # langdetect raises on text without letters
        pass
    return default


def written_in(text: str, language: str) -> bool:
    """Whether a sentence of an answer is written in ``language`` ("en" or "es"), and not in a third one.

    Function words vote in three columns (English, Spanish, French); when they do not decide, langdetect's
    best guess must be ``language`` itself (``detect_language`` takes the first English or Spanish guess,
    which lets a French or Portuguese sentence through)."""
    words = [w.lower() for w in WORD_APOSTROPHE.findall(text)]
    votes = {
        "en": sum(w in EN_WORDS for w in words),
        "es": sum(w in ES_WORDS for w in words) + 2 * len(re.findall(r"[¿¡ñÑ]", text)),
        "fr": sum(w in FR_WORDS for w in words) + 2 * len(FRENCH_MARKS.findall(text)),
    }
    best = max(votes.values())
    leaders = [lang for lang, n in votes.items() if n == best]
    if best >= 2 and len(leaders) == 1:
        return leaders[0] == language
    try:
        from langdetect import DetectorFactory, detect_langs

        DetectorFactory.seed = 0
        return bool(detect_langs(text)[0].lang == language)
    except Exception:  # langdetect raises on text without letters
        return True


def resolve_language(requested: str | None, question: str) -> str:
    """Honour an explicit en/es; otherwise detect from the question."""
    if requested in LANGUAGES:
        return requested  # type: ignore[return-value]
    return detect_language(question)
