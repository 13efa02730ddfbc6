"""Which countries a question names: by name, demonym, short form, city, state or organisation, in English and
Spanish (assistant/countries.py), on the real CORDIS country names."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.countries import CountryFinder
from ingestion.parse_eligibility import CountryNames

# ordinary words of the documents (the real list comes from the index: Catalog.lowercase_words)
WORDS = frozenset({"split", "reading", "part", "mobile", "para", "maritime", "forest"})


@pytest.fixture(scope="module")
def finder(corpus_dir: Path) -> CountryFinder:
    names = CountryNames.from_cordis(corpus_dir / "cordis" / "cordisref-countries.csv")
    return CountryFinder(names.display, names.lookup, WORDS)


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("Can a Peruvian university be funded?", ["PE"]),
        ("Una empresa canadiense y una universidad chilena", ["CA", "CL"]),
        ("socios brasileños, uruguayos y estadounidenses", ["BR", "UY", "US"]),
        ("our UK partner and a USA company", ["GB", "US"]),
        ("un socio de EE.UU. y otro de Corea del Sur", ["US", "KR"]),
        ("Indian and Chinese partners", ["IN", "CN"]),
        ("the Estados Unidos Mexicanos", ["MX"]),
        ("Mexico, Colombia and Spain", ["MX", "CO", "ES"]),
        ("We are a public research centre in Monterrey, Nuevo León.", ["MX"]),
        ("a battery recycling company based in Pune", ["IN"]),
        ("¿Una startup con sede en Zúrich puede recibir fondos?", ["CH"]),
        ("Somos una universidad pública de Andalucía", ["ES"]),
        ("Can UNAM be a beneficiary?", ["MX"]),
        ("Trabajo en el Tec de Monterrey", ["MX"]),
        ("¿Las empresas argentinas reciben fondos?", ["AR"]),  # the name is the feminine demonym: its plural too
        ("Argentinian and Colombian partners", ["AR", "CO"]),
    ],
)
def test_the_countries_a_question_names(finder: CountryFinder, text: str, codes: list[str]) -> None:
    assert finder.ordered(text) == codes


@pytest.mark.parametrize(
    "text",
    [
        "Latin American organisations",  # a region, not the United States
        "Is a Dominican NGO eligible?",  # Dominica or the Dominican Republic: neither is guessed
        "Reading the rules, can we apply?",  # a sentence's first word, and an ordinary word
        "Part B of the proposal: can Mobile operators join?",
        "the Maritime and Forest topics",  # provinces (Togo, Guernsey) named by ordinary words
        "América Latina y el Caribe",  # "Latina" (a city in Italy) ends a longer name here
        "Can you recommend chiles en nogada?",  # the plural of "chile" is not a demonym
        "What is the indirect cost flat rate in Horizon Europe?",
        "¿Cuál es la tasa de costes indirectos en Horizonte Europa?",
    ],
)
def test_words_that_name_no_country(finder: CountryFinder, text: str) -> None:
    assert finder.ordered(text) == []


def test_places_are_for_questions_names_for_documents(finder: CountryFinder) -> None:
    """A document's sentence names a country by its name; a question may name it by a city or an
    organisation."""
    text = "The observatory of INAOE in Puebla and a university in Boston"
    assert finder.ordered(text) == ["MX", "US"]
    assert finder.named(text) == set()
    assert finder.named("entities established in Brazil") == {"BR"}


def test_cordis_codes_are_kept(corpus_dir: Path) -> None:
    """The partner search reads CORDIS's codes (UK, EL): demonyms and cities map to them too."""
    import csv

    labels: dict[str, dict[str, str]] = {}
    with open(corpus_dir / "cordis" / "cordisref-countries.csv", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f, delimiter=";"):
            code = (row.get("euCode") or "").strip().upper()
            if code and row.get("language") in ("en", "es"):
                labels.setdefault(code, {})[row["language"]] = row["name"]
    finder = CountryFinder(labels)
    assert finder.ordered("a British university and a Greek company in Athens") == ["UK", "EL"]
