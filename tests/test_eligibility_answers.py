"""Eligibility questions in the chat: read by the learned intent model (assistant/intent.py), answered by the
check with the verdict first, a named topic's own conditions leading it (the full real index)."""

from __future__ import annotations

import pytest

from assistant.index.embed import UseEmbedder
from assistant.intent import IntentModel


def test_the_intent_model_reads_the_default_embedders_vectors() -> None:
    model = IntentModel.load()
    assert model.embedder == UseEmbedder.name and model.weights.shape == (512,)
    assert 0.0 < model.threshold < 1.0


@pytest.mark.parametrize(
    "question",
    [
        # a country named by a city, a state, a demonym; asked in words no pattern lists ("get EU money")
        "Our partner is a start-up in Toronto: can it get EU money in a Horizon Europe Innovation Action?",
        "Can a company from Bangalore be a funded partner in a Horizon Europe Innovation Action?",
        "Mi socio es un centro de investigación en Jalisco, ¿puede ser beneficiario en una RIA?",
        "Can a Peruvian university be a funded beneficiary in a Horizon Europe project?",
    ],
)
def test_eligibility_questions_reach_the_check(assistant, question: str) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask(question)
    assert answer.mode == "eligibility", answer.answer[:200]
    assert answer.citations and all(c.page for c in answer.citations)


@pytest.mark.parametrize(
    "question",
    [
        "What does the MSCA work programme say about researchers from Mexico?",
        "How much is the budget of HORIZON-INFRA-2027-SERV-01-01 for entities in Mexico?",
        "¿Qué convocatorias de Horizonte Europa hay sobre agricultura regenerativa en México?",
    ],
)
def test_other_questions_naming_a_country_do_not(assistant, question: str) -> None:  # type: ignore[no-untyped-def]
    assert assistant.ask(question).mode != "eligibility"


def test_a_topics_own_condition_leads_the_verdict(assistant) -> None:  # type: ignore[no-untyped-def]
    """HORIZON-HLTH-2026-01-STAYHLTH-02 makes entities in the United States eligible for funding: the answer
    says so first, quoting the topic's page, rather than the general "not automatically"."""
    answer = assistant.ask(
        "Can a hospital based in the United States receive EU funding as a beneficiary in topic "
        "HORIZON-HLTH-2026-01-STAYHLTH-02?"
    )
    assert answer.mode == "eligibility"
    assert answer.answer.startswith("Yes, in HORIZON-HLTH-2026-01-STAYHLTH-02"), answer.answer[:200]
    assert any("United States of America" in c.quote and "wp-4-health" in c.document for c in answer.citations)
    spanish = assistant.ask(
        "¿Una empresa de la India puede ser beneficiaria en el tema HORIZON-CL5-2026-09-D2-04?"
    )
    assert spanish.answer.startswith("No como beneficiaria en HORIZON-CL5-2026-09-D2-04"), spanish.answer[:200]
    assert any("only possible as associated partners" in c.quote for c in spanish.citations)


def test_partners_asked_about_one_by_one_get_their_own_verdicts(assistant) -> None:  # type: ignore[no-untyped-def]
    """ "Can partners from Switzerland and Canada be funded?" asks about each of them (both Associated
    Countries), not whether a consortium of the two meets the minimum composition."""
    answer = assistant.ask("¿Socios de Suiza y de Canadá pueden recibir fondos como beneficiarios en Horizonte Europa?")
    assert answer.mode == "eligibility"
    lines = answer.answer.splitlines()
    assert lines[0].startswith("Sí") and "composición mínima" not in answer.answer
    assert "Suiza" in answer.answer and "Canadá" in answer.answer
    consortium = assistant.ask("We have partners from Mexico, Colombia and Spain for a RIA: are we eligible?")
    assert consortium.mode == "eligibility" and "Add" in consortium.answer  # what would fix it
    assert consortium.answer.startswith("No: does not meet"), consortium.answer[:120]  # the direct answer first


def test_a_topic_closed_to_the_countries_it_lists_says_no(assistant) -> None:  # type: ignore[no-untyped-def]
    """HORIZON-CL4-2026-SPACE-03-11 limits participation to Member States, Norway and Iceland: a Canadian
    company (an Associated Country, funded elsewhere) may not take part; a Norwegian one may."""
    answer = assistant.ask("Can a Canadian company be funded in topic HORIZON-CL4-2026-SPACE-03-11?")
    assert answer.answer.startswith("No: in HORIZON-CL4-2026-SPACE-03-11 participation is limited"), answer.answer[:200]
    assert any("Member States, Norway and Iceland" in c.quote and c.page == 193 for c in answer.citations)
    norway = assistant.ask("¿Una empresa noruega puede recibir fondos en el tema HORIZON-CL4-2026-SPACE-03-11?")
    assert norway.answer.startswith("Sí"), norway.answer[:200]


@pytest.mark.parametrize(
    ("listed", "code", "status", "closed"),
    [
        ("Member States and Associated Countries.", "US", "other", True),
        ("Member States and Associated Countries.", "CA", "associated", False),
        ("Member States, Iceland and Norway and the following associated country: Israel.", "GB", "associated", True),
        ("Member States, Iceland and Norway and the following associated country: Israel.", "IL", "associated", False),
        ("Member States, Iceland and Norway, associated countries and OECD countries.", "MX", "other", False),
    ],
)
def test_which_countries_a_topic_limited_to_a_list_closes(listed, code, status, closed) -> None:  # type: ignore[no-untyped-def]
    from assistant.eligibility.checker import EligibilityChecker, TopicCondition

    text = "For this reason, participation is limited to legal entities established in " + listed
    named = frozenset({"IL"} if "Israel" in listed else set())
    condition = TopicCondition("HORIZON-X", "wp.pdf", 1, text, named)
    assert EligibilityChecker._closed_to(condition, code, status) is closed  # OECD: not listed here, undecided


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("Could a Chilean research institute join a Horizon Europe RIA as an associated partner?",
         "Yes, as an associated partner"),
        ("¿Las empresas chilenas reciben fondos de Horizonte Europa de forma automática?", "No, no automáticamente."),
        ("Can a Colombian university take part in a Horizon Europe project?", "Yes: any legal entity may take part"),
        ("Can a university in Chile be the host institution of my ERC Consolidator Grant?",
         "No: the Host Institution of an ERC grant must be established in a Member State or Associated Country"),
        ("In an ERC Synergy Grant, could one PI be hosted by a Mexican university?", "Only in limited roles"),
        ("Can a company in Boston be the coordinator of a proposal for HORIZON-HLTH-2026-01-TOOL-06?",
         "No: in HORIZON-HLTH-2026-01-TOOL-06 the coordinator must be established"),
    ],
)
def test_the_answer_leads_with_what_the_question_asks(assistant, question: str, lead: str) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask(question)
    assert answer.mode == "eligibility" and answer.answer.startswith(lead), answer.answer[:200]
    first = answer.answer.splitlines()[0]
    assert first.endswith("[1]") or "[1] [" in first, first  # the lead cites the rule it states, first
    assert answer.citations[0].n == 1 and answer.citations[0].page
