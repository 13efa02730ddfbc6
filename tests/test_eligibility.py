"""Eligibility and consortium checks for Horizon Europe, on the real documents of the shared corpus.

Page text comes from PDFium (one line per visual line), as the parser takes it; every citation's quote must be
on its page (whitespace collapsed). The facts asserted here (Colombia and Peru in the low- and middle-income
list, Mexico and Chile in none, Canada and the United Kingdom associated, Spain a Member State, the pages)
were read from the General Annexes 2026-2027 themselves.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from assistant.eligibility.checker import (
    ACTIONS,
    CONDITIONAL,
    NO,
    NOT_STATED,
    YES,
    EligibilityChecker,
    EligibilityError,
    EmptyConsortiumError,
    Partner,
    UnknownActionError,
    UnknownCountryError,
    UnknownEntityTypeError,
    check_consortium,
    check_entity,
)
from ingestion.parse_eligibility import (
    DEFAULT_FILES,
    ERC,
    GENERAL_ANNEXES,
    MSCA,
    REGULATION,
    RULE_SPECS,
    CountryNames,
    EligibilityParseError,
    build_rules,
    collapse,
    parse_country_lists,
    parse_topic_exceptions,
)

GA = Path(DEFAULT_FILES[GENERAL_ANNEXES]).name
REG = Path(DEFAULT_FILES[REGULATION]).name
MSCA_WP = Path(DEFAULT_FILES[MSCA]).name
ERC_WP = Path(DEFAULT_FILES[ERC]).name
RI_WP = "wp-3-research-infrastructures_horizon-2026-2027_en.pdf"
CL2_WP = "wp-5-culture-creativity-and-inclusive-society_horizon-2026-2027_en.pdf"


def read_pages(path: Path) -> list[tuple[int, str]]:
    doc = pdfium.PdfDocument(str(path))
    try:
        return [
            (i + 1, doc[i].get_textpage().get_text_range().replace("\r\n", "\n")) for i in range(len(doc))
        ]
    finally:
        doc.close()


@pytest.fixture(scope="module")
def corpus_dir() -> Path:
    """The real, read-only corpus: EUMEX_TEST_CORPUS, else shared/corpus/raw beside the nearest folder above
    this file that has one (a git worktree may sit deeper than the main checkout)."""
    configured = os.environ.get("EUMEX_TEST_CORPUS")
    candidates = (
        [Path(configured)]
        if configured
        else [p / "shared" / "corpus" / "raw" for p in Path(__file__).resolve().parents]
    )
    for path in candidates:
        if (path / DEFAULT_FILES[GENERAL_ANNEXES]).is_file():
            return path
    pytest.fail(
        "The real corpus was not found; set EUMEX_TEST_CORPUS to it (the folder holding SOURCES.tsv).",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def pages(corpus_dir: Path) -> dict[str, list[tuple[int, str]]]:
    """PDFium page text of the rule documents and of the Research Infrastructures work programme."""
    files = dict(DEFAULT_FILES)
    files["ri"] = f"horizon_europe_work_programmes/{RI_WP}"
    files["cl2"] = f"horizon_europe_work_programmes/{CL2_WP}"
    return {Path(rel).name: read_pages(corpus_dir / rel) for rel in files.values()}


@pytest.fixture(scope="module")
def names(corpus_dir: Path) -> CountryNames:
    return CountryNames.from_cordis(corpus_dir / "cordis" / "cordisref-countries.csv")


@pytest.fixture(scope="module")
def parsed(pages, names):
    sources = {role: (Path(rel).name, pages[Path(rel).name]) for role, rel in DEFAULT_FILES.items()}
    return build_rules(sources, names, work_programmes=[(RI_WP, pages[RI_WP]), (CL2_WP, pages[CL2_WP])])


@pytest.fixture(scope="module")
def rules(parsed) -> dict:
    """The rules as the assistant gets them: JSON data."""
    return json.loads(json.dumps(parsed.to_dict(), ensure_ascii=False))


@pytest.fixture(scope="module")
def checker(rules) -> EligibilityChecker:
    return EligibilityChecker(rules)


def on_page(pages, document: str, page: int, quote: str) -> bool:
    text = dict(pages[document]).get(page)
    return text is not None and collapse(quote) in collapse(text)


def assert_cited(pages, citations) -> None:
    assert citations, "a verdict without citations"
    for c in citations:
        assert len(collapse(c.quote)) >= 8, c
        assert on_page(pages, c.document, c.page, c.quote), (
            f"quote not on {c.document} p.{c.page}: {c.quote!r}"
        )


# ---------------------------------------------------------------------------------------------------------
# Country lists
# ---------------------------------------------------------------------------------------------------------


def test_country_lists_sizes_pages_and_headings(parsed, pages):
    lists = {lst.kind: lst for lst in parsed.country_lists}
    assert list(lists) == ["member_state", "oct", "associated", "low_middle_income"]
    expected = {  # kind: (codes, entries, heading page, pages)
        "member_state": (27, 27, 11, [11, 12]),
        "oct": (11, 13, 12, [12]),  # Bonaire, Saba and Sint Eustatius are all BQ
        "associated": (22, 22, 12, [12]),
        "low_middle_income": (119, 119, 12, [12, 13]),
    }
    for kind, (n_codes, n_entries, page, page_list) in expected.items():
        lst = lists[kind]
        assert (len(lst.codes), len(lst.entries), lst.page, lst.pages) == (
            n_codes,
            n_entries,
            page,
            page_list,
        ), kind
        assert lst.document == GA
        assert on_page(pages, GA, lst.page, lst.heading)
        for e in lst.entries:
            assert on_page(pages, GA, e.page, e.quote), e
    assert (
        lists["member_state"].heading
        == "the Member States of the European Union, including their outermost regions:"
    )
    assert lists["associated"].heading == "countries associated to Horizon Europe"
    assert lists["low_middle_income"].heading == "the following low- and middle-income countries:"
    # no separate list of countries negotiating association in this edition: a rule says how they are treated
    assert "associated_negotiating" not in lists
    assert "negotiating association" in parsed.rules["associated_negotiating"].citations[0].quote


def test_list_membership_as_in_the_text(parsed):
    lists = {lst.kind: set(lst.codes) for lst in parsed.country_lists}
    assert {"CO", "PE", "AR", "BO", "EC", "CU", "VE"} <= lists["low_middle_income"]
    assert {"CA", "GB", "CH", "NO", "TR", "XK", "MD", "KR", "NZ", "UA", "EG"} <= lists["associated"]
    assert {"ES", "DE", "FR", "CZ", "GR"} <= lists["member_state"]
    assert {"GL", "CW", "BQ", "PM", "WF", "TF"} <= lists["oct"]
    for code in ("MX", "CL", "BR", "US", "CN", "IN", "UY", "RU"):
        assert all(code not in codes for codes in lists.values()), code
    entry = {e.code: e for lst in parsed.country_lists for e in lst.entries}
    assert entry["CO"].page == 12 and "Colombia" in entry["CO"].quote
    assert entry["PE"].page == 13 and "Peru" in entry["PE"].quote
    assert (
        entry["GB"].name == "United Kingdom"
        and entry["XK"].name == "Kosovo"
        and entry["TR"].name == "Türkiye"
    )
    assert entry["CI"].name == "Côte d'Ivoire" and entry["NZ"].quote.endswith(
        "New Zealand, North Macedonia, Norway, Republic of Korea, Serbia, Switzerland,"
    )


def test_lists_follow_the_text_not_a_typed_table(pages, names):
    """A newer General Annexes with other countries gives other lists."""
    edited = []
    for page_no, text in pages[GA]:
        if page_no == 12:
            text = text.replace("Bosnia and Herzegovina, Canada, ", "Bosnia and Herzegovina, Japan, ")
            text = text.replace("Chad, Colombia, Comoros,", "Chad, Chile, Colombia, Comoros,")
        edited.append((page_no, text))
    lists = {lst.kind: lst.codes for lst in parse_country_lists(edited, GA, names)}
    assert "JP" in lists["associated"] and "CA" not in lists["associated"]
    assert "CL" in lists["low_middle_income"] and len(lists["low_middle_income"]) == 120


def test_lists_survive_watermark_letters(pages, names):
    """The 'DRAFT' watermark may come out as lines or letters among the list lines."""
    edited = []
    for page_no, text in pages[GA]:
        if page_no in (11, 12, 13):
            lines = text.split("\n")
            out = []
            for i, line in enumerate(lines):
                out.append(line)
                if i % 4 == 1:
                    out.append(["DRAFT", "D", "R A", "F T"][i % 3])
            text = "\n".join(out).replace("Canada, ", "CanadaD, ").replace("Colombia,", "Colombia A,")
        edited.append((page_no, text))
    original = {lst.kind: lst.codes for lst in parse_country_lists(pages[GA], GA, names)}
    assert {lst.kind: lst.codes for lst in parse_country_lists(edited, GA, names)} == original


def test_a_name_matching_no_country_is_an_error(pages, names):
    edited = [(n, t.replace("Albania, Arab Republic", "Atlantis, Arab Republic")) for n, t in pages[GA]]
    with pytest.raises(EligibilityParseError, match="Atlantis"):
        parse_country_lists(edited, GA, names)


# ---------------------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------------------


def test_every_rule_is_found_and_quoted_on_its_page(parsed, pages):
    assert parsed.missing == []
    assert set(parsed.rules) == {spec.id for spec in RULE_SPECS}
    for rule in parsed.rules.values():
        assert_cited(pages, rule.citations)
    for t in parsed.topic_exceptions:
        assert on_page(pages, t.document, t.page, t.quote)


@pytest.mark.parametrize(
    ("rule_id", "document", "page", "words"),
    [
        ("consortium_composition", GA, 13, "three legal entities independent from each other"),
        (
            "consortium_composition",
            GA,
            14,
            "at least one independent legal entity established in a Member State",
        ),
        ("csa_beneficiaries", GA, 13, "must be established in a Member State or Associated Country"),
        ("csa_single", GA, 14, "may be submitted by one or more legal entities"),
        ("training_mobility_single", GA, 14, "‘Training and mobility’ actions"),
        ("associated_partners", GA, 13, "may participate as associated partners"),
        ("affiliated_entities", GA, 13, "Affiliated entities are eligible for funding"),
        ("non_listed_funding", GA, 13, "considered essential for implementing the action"),
        (
            "international_organisations",
            GA,
            13,
            "International European research organisations are eligible to receive funding",
        ),
        ("gender_equality_plan", GA, 18, "gender equality plan"),
        ("excluded_countries", GA, 11, "Russia, Belarus"),
        ("reg_art22_participation", REG, 31, "Any legal entity, regardless of its place of establishment"),
        ("reg_art23_third_countries", REG, 32, "shall bear the cost of their participation"),
        ("msca_dn_consortium", MSCA_WP, 72, "at least three independent legal entities"),
        ("msca_pf_single", MSCA_WP, 81, "single independent legal entity"),
        ("msca_se_consortium", MSCA_WP, 88, "three different countries"),
        ("msca_se_beneficiaries", MSCA_WP, 88, "can be beneficiaries"),
        ("erc_pi", ERC_WP, 18, "any age and nationality"),
        ("erc_host_ms_ac", ERC_WP, 20, "Host Institution must be established"),
        ("erc_third_funding", ERC_WP, 21, "eligible for funding in the following cases"),
        (
            "mga_associated_partners",
            "general-mga_horizon-euratom_en.pdf",
            19,
            "without the right to charge costs",
        ),
        ("pg_national_cofunding", "programme-guide_horizon_en.pdf", 14, "national financing mechanisms"),
    ],
)
def test_rule_pages(parsed, rule_id, document, page, words):
    assert any(
        c.document == document and c.page == page and words in c.quote
        for c in parsed.rules[rule_id].citations
    ), parsed.rules[rule_id]


def test_rules_are_found_by_their_statements_not_their_pages(pages, names):
    """Moving a statement to another page moves its citation; removing it is an error, not a silent gap."""
    ga = pages[GA]
    moved = [(n, t) for n, t in ga if n != 13] + [(47, dict(ga)[13])]
    sources = {GENERAL_ANNEXES: (GA, moved)}
    specs = [s for s in RULE_SPECS if s.source == GENERAL_ANNEXES]
    from ingestion.parse_eligibility import parse_rules

    found, missing = parse_rules(sources, specs)
    assert found["associated_partners"].citations[0].page == 47 and not missing
    without = [
        (n, t.replace("may participate as associated partners", "may take part as partners")) for n, t in ga
    ]
    found, missing = parse_rules({GENERAL_ANNEXES: (GA, without)}, specs)
    assert "associated_partners" not in found and any(m.startswith("associated_partners") for m in missing)
    all_sources = {role: (Path(rel).name, pages[Path(rel).name]) for role, rel in DEFAULT_FILES.items()}
    all_sources[GENERAL_ANNEXES] = (GA, without)
    with pytest.raises(EligibilityParseError, match="associated_partners"):
        build_rules(all_sources, names)


def test_excluded_countries_and_topic_exceptions(parsed, pages, names):
    assert parsed.excluded == ["RU", "BY"]
    assert parsed.excluded_notes == ["non-government controlled territories of Ukraine"]
    topics = {t.topic: t for t in parsed.topic_exceptions}
    assert {t: (x.document, x.page, x.action, x.scope) for t, x in topics.items()} == {
        "HORIZON-INFRA-2027-SERV-01-01": (RI_WP, 62, "RIA", "countries"),
        "HORIZON-INFRA-2027-SERV-01-02": (RI_WP, 68, "RIA", "countries"),
        "HORIZON-CL2-2027-01-DEMOCRACY-01": (CL2_WP, 51, "CSA", "non_associated_third_countries"),
        "HORIZON-CL2-2026-01-HERITAGE-07": (CL2_WP, 97, "CSA", "non_associated_third_countries"),
    }
    assert {"MX", "CL", "BR", "CA", "US"} <= set(topics["HORIZON-INFRA-2027-SERV-01-01"].codes)
    # the grant to identified beneficiaries among the "Other actions" (page 105) is no call topic
    assert all(t.page != 105 for t in parsed.topic_exceptions)
    assert parse_topic_exceptions(GA, pages[GA], names) == []
    # Mexico and Chile are named nowhere in the rule documents; Colombia only in the list
    assert "MX" not in parsed.mentions and "CL" not in parsed.mentions
    assert parsed.mentions["CO"] == [(GA, 12)]


# ---------------------------------------------------------------------------------------------------------
# Entity verdicts
# ---------------------------------------------------------------------------------------------------------


def test_mexico_not_automatically_funded(checker, pages):
    v = checker.check_entity("Mexico", "HES", "RIA", "he")
    assert (v.country, v.status, v.may_participate, v.funded_automatically) == ("MX", "other", True, False)
    assert v.roles == {
        "beneficiary": CONDITIONAL,
        "affiliated_entity": CONDITIONAL,
        "associated_partner": YES,
    }
    assert v.funding.startswith("Not automatically:")
    codes = [r.code for r in v.how_funded]
    assert (
        codes[:2] == ["call_conditions", "essential"]
        and "own_cost" in codes
        and codes[-1] == "national_cofunding"
    )
    assert sum(c == "topic" for c in codes) == 2
    cofunding = v.how_funded[-1]
    assert "do not describe Mexico's own schemes" in cofunding.text and "not named" in cofunding.text
    essential = v.how_funded[1].citations
    assert any("considered essential" in c.quote for c in essential)
    assert_cited(pages, v.citations)
    es = checker.check_entity("México", "HES", "RIA", "he", lang="es")
    assert es.funding.startswith("No automáticamente:") and es.country_name == "México"
    assert es.participation.startswith("Sí:")


def test_colombia_funded_by_the_low_and_middle_income_list(checker, pages):
    v = checker.check_entity("Colombia", "REC", "RIA")
    assert (v.status, v.may_participate, v.funded_automatically) == ("low_middle_income", True, True)
    assert v.roles == {"beneficiary": YES, "affiliated_entity": YES, "associated_partner": YES}
    assert v.funding.startswith("Yes:") and v.how_funded == []
    listed = next(r for r in v.reasons if r.code == "listed")
    assert {(c.page, c.quote) for c in listed.citations} >= {
        (12, "the following low- and middle-income countries:")
    }
    assert any("Colombia" in c.quote for c in listed.citations)
    assert any(n.code == "lmic_composition" for n in v.notes)
    assert_cited(pages, v.citations)
    # CSA beneficiaries must be in a Member State or Associated Country unless the call says otherwise
    csa = checker.check_entity("CO", "REC", "CSA")
    assert (
        csa.funded_automatically is False
        and csa.roles["beneficiary"] == CONDITIONAL
        and csa.roles["associated_partner"] == YES
    )
    assert "Colombia" in csa.how_funded[0].text
    assert_cited(pages, csa.citations)


def test_topics_open_funding_to_mexico(checker, pages):
    ria = [r.text for r in checker.check_entity("MX", "HES", "RIA").how_funded if r.code == "topic"]
    tail = (
        "(RIA) makes entities in Mexico exceptionally eligible for funding, under the conditions it states."
    )
    assert ria == [f"Topic HORIZON-INFRA-2027-SERV-01-0{n} {tail}" for n in (1, 2)]
    csa = checker.check_entity("MX", "HES", "CSA")
    assert [r.text.split(" (")[0] for r in csa.how_funded if r.code == "topic"] == [
        "Topic HORIZON-CL2-2027-01-DEMOCRACY-01",
        "Topic HORIZON-CL2-2026-01-HERITAGE-07",
    ]
    assert not any(r.code == "topic" for r in checker.check_entity("MX", "HES", "IA").how_funded)
    assert not any(r.code == "topic" for r in checker.check_entity("ES", "HES", "CSA").how_funded)
    assert_cited(pages, csa.citations)


def test_chile_like_mexico(checker, pages):
    v = checker.check_entity("Chile", "PRC", "IA")
    assert (v.status, v.may_participate, v.funded_automatically) == ("other", True, False)
    assert v.roles["beneficiary"] == CONDITIONAL and v.roles["associated_partner"] == YES
    assert_cited(pages, v.citations)


@pytest.mark.parametrize(("country", "code"), [("United Kingdom", "GB"), ("Canada", "CA")])
def test_associated_countries(checker, pages, country, code):
    v = checker.check_entity(country, "HES", "RIA")
    assert (v.country, v.status, v.may_participate, v.funded_automatically) == (
        code,
        "associated",
        True,
        True,
    )
    assert v.roles == {"beneficiary": YES, "affiliated_entity": YES, "associated_partner": YES}
    notes = {n.code for n in v.notes}
    assert "associated_position" in notes and "gep" in notes
    assert ("uk" in notes) == (code == "GB")
    assert_cited(pages, v.citations)
    erc = checker.check_entity(code, "HES", "ERC")
    assert erc.funded_automatically is True and erc.roles["beneficiary"] == YES
    assert "erc_associated" in {n.code for n in erc.notes}
    assert_cited(pages, erc.citations)


def test_spain_member_state(checker, pages):
    v = checker.check_entity("España", "PUB", "RIA")
    assert (v.country, v.status, v.may_participate, v.funded_automatically) == (
        "ES",
        "member_state",
        True,
        True,
    )
    assert (
        v.funding
        == "Yes: Spain is a Member State, in the list of countries whose entities are eligible for funding."
    )
    assert {n.code for n in v.notes} == {"gep"}
    assert_cited(pages, v.citations)
    assert "gep" not in {
        n.code for n in checker.check_entity("ES", "PRC", "RIA").notes
    }  # companies need no plan


def test_msca_and_erc_specifics(checker, pages):
    se = checker.check_entity("MX", "HES", "MSCA-SE")
    assert se.roles == {"beneficiary": NO, "affiliated_entity": NO, "associated_partner": YES}
    assert se.funded_automatically is False and se.funding.startswith("No:")
    assert any("can be beneficiaries" in c.quote for r in se.reasons for c in r.citations)
    pf = checker.check_entity(
        "CO", "HES", "MSCA-PF"
    )  # the low- and middle-income list does not make a PF host
    assert pf.roles["beneficiary"] == NO and pf.funded_automatically is False
    dn = checker.check_entity("CO", "HES", "MSCA-DN")
    assert dn.roles == {"beneficiary": YES, "affiliated_entity": NO, "associated_partner": YES}
    dn_mx = checker.check_entity("MX", "HES", "MSCA-DN")
    assert dn_mx.roles["beneficiary"] == CONDITIONAL and dn_mx.funded_automatically is False
    erc = checker.check_entity("MX", "HES", "ERC")
    assert erc.roles == {
        "beneficiary": CONDITIONAL,
        "affiliated_entity": NOT_STATED,
        "associated_partner": NOT_STATED,
    }
    assert {r.code for r in erc.reasons} >= {"erc_scope", "erc_pi", "erc_outside"}
    erc_co = checker.check_entity("CO", "HES", "ERC")  # the General Annexes' lists do not apply to ERC
    assert erc_co.funded_automatically is False
    for v in (se, pf, dn, dn_mx, erc, erc_co):
        assert_cited(pages, v.citations)


def test_excluded_country(checker, pages):
    v = checker.check_entity("Belarus", "HES", "RIA")  # listed as low- and middle-income, yet excluded
    assert (v.status, v.may_participate, v.funded_automatically) == ("excluded", False, False)
    assert set(v.roles.values()) == {NO}
    assert_cited(pages, v.citations)
    ua = checker.check_entity("Ukraine", "HES", "RIA")
    assert ua.status == "associated" and "excluded_part" in {n.code for n in ua.notes}


def test_horizon_2020_gives_no_verdict(checker):
    v = checker.check_entity("Mexico", "HES", "RIA", "h2020")
    assert v.may_participate is None and v.funded_automatically is None and v.citations == []
    assert "Horizon 2020" in v.participation and "not in the corpus" in v.participation
    assert "no están en el corpus" in checker.check_entity("MX", "HES", "RIA", "h2020", lang="es").funding
    cv = checker.check_consortium([("MX", "HES")], "RIA", "h2020")
    assert cv.meets_minimum is None and cv.conditions == []


# ---------------------------------------------------------------------------------------------------------
# Consortia
# ---------------------------------------------------------------------------------------------------------


def test_valid_ria(checker, pages):
    cv = checker.check_consortium(
        [("ES", "HES"), ("DE", "REC"), ("UK", "PRC"), ("Universidad Nacional", "México", "HES")], "RIA"
    )
    assert cv.meets_minimum is True and cv.failing == [] and cv.fixes == []
    roles = [(p.country, p.role, p.funded, p.counts_for_composition) for p in cv.partners]
    assert roles == [
        ("ES", "beneficiary", YES, True),
        ("DE", "beneficiary", YES, True),
        ("GB", "beneficiary", YES, True),
        ("MX", "associated_partner", NO, False),
    ]
    assert cv.partners[3].name == "Universidad Nacional"
    assert cv.summary == "Meets the minimum composition."
    assert_cited(pages, cv.citations)


def test_too_few_partners(checker, pages):
    cv = checker.check_consortium([("ES", "HES"), ("FR", "REC")], "RIA")
    assert cv.meets_minimum is False
    assert [c.code for c in cv.failing] == ["three_ms_ac"]
    assert [f.code for f in cv.fixes] == ["add_ms_ac"]
    assert "Add 1 partner(s) established in a Member State or Associated Country" in cv.fixes[0].text
    assert cv.summary.startswith("Does not meet the minimum composition:")
    assert_cited(pages, cv.citations)
    es = checker.check_consortium([("ES", "HES"), ("FR", "REC")], "RIA", lang="es")
    assert es.summary.startswith("No cumple la composición mínima:") and "España, Francia" in es.summary


def test_no_member_state(checker, pages):
    cv = checker.check_consortium([("GB", "HES"), ("Norway", "REC"), ("Suiza", "PRC"), ("CO", "HES")], "IA")
    assert cv.meets_minimum is False
    assert [c.code for c in cv.failing] == ["member_state"]
    assert cv.fixes[0].text == "Add a partner established in a Member State (as beneficiary)."
    assert (
        cv.partners[3].role == "beneficiary"
        and cv.partners[3].funded == YES
        and not cv.partners[3].counts_for_composition
    )
    assert any(
        "at least one independent legal entity established in a Member State" in c.quote
        for c in cv.fixes[0].citations
    )
    assert_cited(pages, cv.citations)


def test_csa_with_one_mexican_partner(checker, pages):
    cv = checker.check_consortium([{"country": "Mexico", "entity_type": "HES", "name": "UNAM"}], "CSA")
    assert cv.meets_minimum is False
    assert [c.code for c in cv.failing] == ["csa_beneficiary"]
    assert cv.partners[0].role == "associated_partner" and cv.partners[0].funded == NO
    assert (
        "Add a partner established in a Member State or Associated Country as beneficiary" in cv.fixes[0].text
    )
    assert_cited(pages, cv.citations)
    # one partner is enough for a CSA when it is in a Member State or Associated Country
    assert checker.check_consortium([("ES", "OTH")], "CSA").meets_minimum is True


def test_msca_staff_exchanges_with_a_mexican_university(checker, pages):
    cv = checker.check_consortium([("ES", "HES"), ("DE", "PRC"), ("MX", "HES")], "MSCA-SE")
    assert cv.meets_minimum is True
    mx = cv.partners[2]
    assert (mx.role, mx.funded) == ("associated_partner", NO)
    assert "se_counting" in {n.code for n in cv.notes}
    assert_cited(pages, cv.citations)
    # asking for the Mexican university as beneficiary is a problem with a fix
    bad = checker.check_consortium(
        [("ES", "HES"), ("DE", "PRC"), Partner("MX", "HES", "UNAM", "beneficiary")], "MSCA-SE"
    )
    assert bad.meets_minimum is False and "roles" in [c.code for c in bad.failing]
    assert "UNAM (Mexico) cannot be beneficiary; make it associated partner." in [f.text for f in bad.fixes]
    assert_cited(pages, bad.citations)
    # all academic: the sector condition fails
    academic = checker.check_consortium([("ES", "HES"), ("DE", "HES"), ("MX", "HES")], "MSCA-SE")
    assert [c.code for c in academic.failing] == ["se_sectors"] and academic.fixes[
        0
    ].code == "add_non_academic"


def test_other_actions_consortia(checker, pages):
    dn = checker.check_consortium([("ES", "HES"), ("NO", "HES"), ("CA", "PRC"), ("CO", "HES")], "MSCA-DN")
    assert dn.meets_minimum is True
    pf = checker.check_consortium([("MX", "HES")], "MSCA-PF")
    assert pf.meets_minimum is False and pf.fixes[0].code == "pf"
    assert checker.check_consortium([("FR", "REC"), ("MX", "HES")], "MSCA-PF").meets_minimum is True
    erc = checker.check_consortium([("MX", "HES")], "ERC")
    assert erc.meets_minimum is False and erc.partners[0].funded == CONDITIONAL
    excluded = checker.check_consortium(
        [("ES", "HES"), ("DE", "REC"), ("IT", "PRC"), ("Russia", "PRC")], "RIA"
    )
    assert excluded.meets_minimum is False and [c.code for c in excluded.failing] == ["participation"]
    assert excluded.fixes[0].code == "remove"
    for cv in (dn, pf, erc, excluded):
        assert_cited(pages, cv.citations)


# ---------------------------------------------------------------------------------------------------------
# Names and input errors
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("México", "MX"),
        ("mexico", "MX"),
        ("MX", "MX"),
        ("mx", "MX"),
        ("MEXICO", "MX"),
        ("Reino Unido", "GB"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("Türkiye", "TR"),
        ("Turquía", "TR"),
        ("Republic of Moldova", "MD"),
        ("Kosovo*", "XK"),
        ("Côte d'Ivoire", "CI"),
        ("Costa de Marfil", "CI"),
        ("Perú", "PE"),
        ("Países Bajos", "NL"),
        ("Estados Unidos", "US"),
        ("Corea del Sur", "KR"),
        ("Alemania", "DE"),
        ("EL", "GR"),
        ("St. Lucia", "LC"),
        ("Brasil", "BR"),
    ],
)
def test_country_names(checker, text, code):
    assert checker.lookup_country(text) == code


def test_unknown_country_with_suggestion(checker):
    with pytest.raises(UnknownCountryError) as err:
        checker.check_entity("Mexco", "HES", "RIA")
    assert err.value.suggestion == "Mexico" and err.value.code == "MX"
    assert str(err.value) == "Unknown country: 'Mexco'. Did you mean Mexico?"
    with pytest.raises(UnknownCountryError) as err:
        checker.check_entity("Alemana", "HES", "RIA", lang="es")
    assert str(err.value) == "País desconocido: 'Alemana'. ¿Quiso decir Alemania?"
    with pytest.raises(UnknownCountryError) as err:
        checker.check_consortium([("ES", "HES"), ("Atlantis", "HES")], "RIA")
    assert err.value.query == "Atlantis"


def test_bad_input(checker, rules):
    with pytest.raises(EmptyConsortiumError, match="no partners"):
        checker.check_consortium([], "RIA")
    with pytest.raises(UnknownActionError, match="Unknown action type: 'EIC'"):
        checker.check_consortium([("ES", "HES")], "EIC")
    with pytest.raises(UnknownActionError):
        checker.check_entity("ES", "HES", "Marie Curie")
    with pytest.raises(UnknownEntityTypeError, match="Unknown entity type"):
        checker.check_entity("ES", "University", "RIA")
    with pytest.raises(EligibilityError, match="programme"):
        checker.check_entity("ES", "HES", "RIA", "fp7")
    with pytest.raises(EligibilityError, match="Partner 1"):
        checker.check_consortium([{"country": "ES"}], "RIA")
    assert isinstance(UnknownActionError("x"), ValueError)
    assert checker.check_entity("ES", "hes", "msca_dn").action == "MSCA-DN"
    assert set(ACTIONS) == {"RIA", "IA", "CSA", "MSCA-DN", "MSCA-PF", "MSCA-SE", "ERC"}
    # module-level functions take the rules as data
    assert check_entity("Colombia", "HES", "RIA", rules=rules).funded_automatically is True
    assert check_consortium([("ES", "HES")], "CSA", rules=rules).meets_minimum is True
    incomplete = dict(rules, rules={k: v for k, v in rules["rules"].items() if k != "associated_partners"})
    with pytest.raises(ValueError, match="associated_partners"):
        EligibilityChecker(incomplete)


def test_verdict_logic_is_pure():
    """assistant/eligibility/checker.py imports the standard library only (no I/O, nothing else from assistant)."""
    source = Path(__file__).resolve().parents[1] / "assistant" / "eligibility" / "checker.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
    assert modules - {"__future__"} <= set(sys.stdlib_module_names), modules
    assert not re.search(r"\bopen\(|Path\(", source.read_text(encoding="utf-8"))
