"""The chat page in a real Chromium (Debian's, headless) against a real uvicorn: English and Spanish,
streamed answers with citation chips, opening a cited PDF page, feedback, abstention, a phone screen, and the
partners view (CORDIS search form, project cards, organisations, coverage note, cited dataset rows).
Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from assistant.answer import Assistant
from bots.web.app import create_app
from assistant.config import Settings
from bots.feedback import FeedbackStore
from tests.server import serve

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
EN_QUESTION = "What is the threshold for individual evaluation criteria in an H2020 e-infrastructure RIA?"
ES_QUESTION = "¿Qué significa que a mi propuesta le pongan un 3 en un criterio?"


@pytest.fixture(scope="module")
def web(full_settings: Settings, assistant: Assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[str, Settings]]:
    settings = full_settings.model_copy(
        update={"rate_limit_per_minute": 10_000, "data_dir": tmp_path_factory.mktemp("web")}
    )
    with serve(create_app(settings, assistant=assistant)) as url:
        yield url, settings


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is missing: apt-get install -y chromium (never `playwright install`)", pytrace=False)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def open_page(browser: Browser, url: str, locale: str = "en-GB", width: int = 1100, height: int = 900) -> Page:
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(url)
    expect(page.locator("#coverage-summary")).not_to_contain_text("…", timeout=15_000)  # documents loaded
    return page


def ask(page: Page, question: str) -> None:
    """Type the question and press Enter; wait until the streamed answer is complete."""
    before = page.locator(".msg.assistant:not([aria-busy])").count()
    page.locator("#question").fill(question)
    page.locator("#question").press("Enter")
    expect(page.locator(".msg.assistant:not([aria-busy])")).to_have_count(before + 1, timeout=60_000)


def test_english_answer_with_citations_and_pdf(browser: Browser, web: tuple[str, Settings]) -> None:
    url, _ = web
    page = open_page(browser, url)
    expect(page.locator("#new-conversation")).to_have_text("New conversation")
    documents = page.context.request.get(url + "/api/documents").json()["documents"]
    readable = sum(1 for d in documents if d["present"] and d["viewable"])  # the corpus grows: count them
    assert readable >= 8
    expect(page.locator("#coverage-summary")).to_contain_text(f"My sources: {readable} documents")
    ask(page, EN_QUESTION)
    answer = page.locator(".msg.assistant").last
    expect(answer).not_to_have_class("abstained")
    expect(answer.locator(".text")).to_contain_text("[1]")
    chips = answer.locator(".chip")
    assert chips.count() >= 1
    expect(chips.first.locator(".chip-quote")).to_contain_text("“")
    chip = answer.locator(".chip", has=page.locator("a.chip-title[href$='#page=3']")).first
    expect(chip.locator(".chip-meta")).to_have_text("Horizon 2020 · 2014 · p. 3")
    expect(chip.locator(".chip-title")).to_contain_text("evaluation")
    page.screenshot(path=str(ARTIFACTS / "web-en-answer.png"), full_page=True)
    with page.context.expect_page() as popup_info:
        chip.locator("a.chip-title").click()
    popup = popup_info.value
    assert popup.url.endswith("/api/documents/h2020-evaluation-form-ria#page=3"), popup.url
    pdf = page.context.request.get(popup.url.split("#")[0])
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    # The conversation survives a reload; "New conversation" starts afresh.
    page.reload()
    expect(page.locator(".msg.user .text")).to_have_text([EN_QUESTION])
    expect(page.locator(".msg.assistant .chip")).not_to_have_count(0)
    page.locator("#new-conversation").click()
    expect(page.locator(".msg")).to_have_count(0)
    expect(page.locator("#question")).to_be_focused()
    page.context.close()


def test_spanish_interface_and_answer(browser: Browser, web: tuple[str, Settings]) -> None:
    url, _ = web
    page = open_page(browser, url, locale="es-MX")
    expect(page.locator("#new-conversation")).to_have_text("Nueva conversación")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#question")).to_have_attribute("placeholder", "Escribe tu pregunta…")
    ask(page, ES_QUESTION)
    answer = page.locator(".msg.assistant").last
    expect(answer).to_have_attribute("lang", "es")
    expect(answer.locator(".sources-title")).to_have_text("Fuentes")
    expect(answer.locator(".chip").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "web-es-answer.png"), full_page=True)
    page.locator(".lang-btn[data-lang='en']").click()
    expect(page.locator("#new-conversation")).to_have_text("New conversation")
    expect(page.locator(".lang-btn[data-lang='en']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".msg.assistant .sources-title").last).to_have_text("Sources")
    page.context.close()


def test_abstention_and_feedback_is_stored(browser: Browser, web: tuple[str, Settings]) -> None:
    url, settings = web
    page = open_page(browser, url)
    ask(page, "What is a good recipe for tacos al pastor?")
    answer = page.locator(".msg.assistant").last
    expect(answer).to_have_class("msg assistant abstained")
    expect(answer.locator(".badge")).to_have_text("Not in my sources")
    expect(answer.locator(".chip")).to_have_count(0)
    answer.get_by_role("button", name="Not useful").click()
    reason = answer.get_by_label("What was good or wrong? (optional)")
    expect(reason).to_be_focused()
    reason.fill("Asked about food, not funding - fine")
    reason.press("Enter")
    expect(answer.locator(".thanks")).to_contain_text("Thank you")
    page.screenshot(path=str(ARTIFACTS / "web-abstained-feedback.png"), full_page=True)
    stored = FeedbackStore(settings.feedback_path).list()
    assert stored[0]["rating"] == "down" and stored[0]["reason"] == "Asked about food, not funding - fine"
    assert stored[0]["question"] == "What is a good recipe for tacos al pastor?"
    page.context.close()


def test_phone_screen_has_no_horizontal_scroll(browser: Browser, web: tuple[str, Settings]) -> None:
    url, _ = web
    page = open_page(browser, url, locale="es-ES", width=375, height=700)
    ask(page, ES_QUESTION)
    page.screenshot(path=str(ARTIFACTS / "web-phone.png"))
    page.locator(".msg.assistant .chip").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "web-phone-citations.png"))
    page.locator("#coverage summary").click()  # the list of sources, opened
    page.screenshot(path=str(ARTIFACTS / "web-phone-sources.png"))
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 375, widths
    chat_height = page.evaluate("document.getElementById('chat').getBoundingClientRect().height")
    assert chat_height > 150, chat_height  # the conversation keeps room while the list is open
    page.context.close()


# --- partners view -------------------------------------------------------------------------------
def open_partners(page: Page) -> None:
    page.locator("#tab-partners").click()
    expect(page.locator("#tab-partners")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#partners-view")).to_be_visible()
    expect(page.locator("#ask-view")).to_be_hidden()


def whole_partners_view(page: Page, name: str) -> None:
    """Screenshot of the whole partners view (it scrolls inside the page), then the viewport as it was."""
    size = page.viewport_size or {"width": 1100, "height": 900}
    height = page.evaluate("document.body.scrollHeight - document.getElementById('partners').clientHeight"
                           " + document.getElementById('partners').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 10, 8000)})
    page.screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size(size)


def search_partners(page: Page) -> None:
    page.locator("#partners-search").click()
    expect(page.locator("#partners-results")).not_to_have_attribute("aria-busy", "true", timeout=30_000)
    expect(page.locator("#partners-output .coverage-note")).to_be_visible()


def test_partners_view_mexico(browser: Browser, web: tuple[str, Settings]) -> None:
    url, _ = web
    page = open_page(browser, url)
    expect(page.locator("#tab-ask")).to_have_attribute("aria-selected", "true")
    open_partners(page)
    expect(page.locator("#new-conversation")).to_be_hidden()
    # nothing typed: the form says what to do and sends nothing
    page.locator("#partners-search").click()
    expect(page.locator("#partners-form-error")).to_have_text(re.compile("Type a subject or fill in at least one"))
    expect(page.locator("#partners-q")).to_have_attribute("aria-invalid", "true")
    page.locator("#partners-country").fill("mx")
    search_partners(page)
    expect(page.locator("#partners-form-error")).to_be_hidden()
    out = page.locator("#partners-output")
    expect(out.locator(".partners-summary")).to_contain_text("matching projects shown")
    expect(out.locator(".coverage-note")).to_contain_text("What the data covers")
    expect(out.locator(".coverage-note")).to_contain_text("not complete")
    # organisations: Universidad de Guadalajara, with a [n] marker leading to its cited dataset row
    org = out.locator(".orgs li", has_text=re.compile("Universidad de Guadalajara", re.I)).first
    expect(org).to_contain_text("Mexico")
    marker = org.locator("a.marker").first
    href = marker.get_attribute("href") or ""
    assert re.fullmatch(r"#pcite-\d+", href), href
    chip = out.locator(href)
    expect(chip.locator(".chip-quote")).to_contain_text(re.compile("GUADALAJARA", re.I))
    expect(chip.locator(".chip-meta")).to_contain_text(re.compile(r"project \d+ \(.+\.(csv|xlsx?), row \d+\)"))
    # project cards: acronym — title, facts, why, CORDIS link, a marker to the project row
    card = out.locator(".project", has=page.locator(".participants li", has_text=re.compile("Guadalajara", re.I))).first
    expect(card.locator(".project-name")).to_contain_text(" — ")
    expect(card.locator(".facts")).to_contain_text("EU contribution")
    expect(card.locator(".facts")).to_contain_text("€")
    expect(card.locator(".why")).to_contain_text("participants from Mexico")
    expect(card.locator(".cordis-link a")).to_have_attribute("href", re.compile(r"^https://cordis\.europa\.eu/"))
    expect(card.locator(".project-name a.marker")).to_have_count(1)
    expect(out.locator(".sources-title")).to_have_text("Sources")
    whole_partners_view(page, "web-partners-mx.png")
    marker.click()
    expect(chip).to_be_in_viewport()
    page.screenshot(path=str(ARTIFACTS / "web-partners-citation.png"))
    # back to the conversation: the chat is where it was
    page.locator("#tab-ask").click()
    expect(page.locator("#question")).to_be_visible()
    expect(page.locator("#partners-view")).to_be_hidden()
    page.context.close()


def test_partners_view_in_spanish(browser: Browser, web: tuple[str, Settings]) -> None:
    url, _ = web
    page = open_page(browser, url, locale="es-MX")
    expect(page.locator("#tab-ask")).to_have_text("Preguntar")
    expect(page.locator("#tab-partners")).to_have_text("Socios")
    open_partners(page)
    page.locator("#tab-partners").press("ArrowLeft")  # keyboard: the tabs follow the arrows, Home and End
    expect(page.locator("#tab-eligibility")).to_be_focused()
    expect(page.locator("#eligibility-view")).to_be_visible()
    page.locator("#tab-eligibility").press("Home")
    expect(page.locator("#tab-ask")).to_be_focused()
    expect(page.locator("#ask-view")).to_be_visible()
    page.locator("#tab-ask").press("ArrowLeft")  # wraps around to the last tab
    expect(page.locator("#tab-partners")).to_be_focused()
    expect(page.locator("#partners-view")).to_be_visible()
    form = page.locator("#partners-form")
    for label in ("Tema (texto libre)", "Países de los participantes", "Código de tema (topic)", "Tipo de acción",
                  "Solo coordinadores"):
        expect(form.get_by_label(label, exact=True)).to_be_visible()
    expect(page.locator("#partners-search")).to_have_text("Buscar socios")
    page.locator("#partners-country").fill("MX, ES")
    form.get_by_label("Tipo de acción").select_option("RIA")
    expect(page.locator("#partners-action option:checked")).to_have_text("RIA — Acción de investigación e innovación")
    search_partners(page)
    out = page.locator("#partners-output")
    expect(out.locator(".partners-summary")).to_contain_text("proyectos que coinciden")
    expect(out.locator(".coverage-note")).to_contain_text("Qué cubren los datos")
    expect(out.locator(".partners-title").first).to_have_text("Proyectos")
    expect(out.locator(".project .facts").first).to_contain_text("Contribución de la UE")
    expect(out.locator(".project .why-label").first).to_have_text("Por qué coincide: ")
    expect(out.locator(".sources-title")).to_have_text("Fuentes")
    # every organisation points to at least one cited participation row, also for projects beyond the cards
    orgs = out.locator(".orgs li")
    assert orgs.count() > 0 and orgs.filter(has=page.locator("a.marker")).count() == orgs.count()
    whole_partners_view(page, "web-partners-es.png")
    # switching the language asks again, so the server's notes follow the interface
    page.locator(".lang-btn[data-lang='en']").click()
    expect(page.locator("#tab-partners")).to_have_text("Partners")
    expect(out.locator(".coverage-note")).to_contain_text("What the data covers", timeout=30_000)
    expect(out.locator(".sources-title")).to_have_text("Sources")
    page.context.close()


def test_partners_unknown_topic_and_phone_screen(browser: Browser, web: tuple[str, Settings]) -> None:
    url, _ = web
    page = open_page(browser, url, width=375, height=700)
    open_partners(page)
    page.locator("#partners-topic").fill("XX-NOPE-2099")
    search_partners(page)
    out = page.locator("#partners-output")
    expect(out.locator(".notice")).to_have_text(
        "There are no records for the topic code XX-NOPE-2099 in the CORDIS data: check the code "
        "(e.g. SC5-13-2018-2019)."
    )
    expect(page.locator("#partners-status")).to_contain_text("XX-NOPE-2099")
    expect(out.locator(".coverage-note")).to_contain_text("What the data covers")
    expect(out.locator(".project")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "web-partners-unknown-topic.png"))
    page.locator("#partners-topic").fill("")
    page.locator("#partners-country").fill("MX")
    search_partners(page)
    expect(out.locator(".partners-summary")).to_be_in_viewport()  # scrolled to the results below the form
    page.screenshot(path=str(ARTIFACTS / "web-partners-phone.png"))
    whole_partners_view(page, "web-partners-phone-all.png")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 375, widths
    page.context.close()


# --- find calls view -----------------------------------------------------------------------------
IDEA_EN = "Early warning of dengue and other climate-sensitive infectious disease outbreaks using satellite data"
IDEA_ES = "Alerta temprana de brotes de dengue y otras enfermedades infecciosas sensibles al clima con datos satelitales"


def api_json(page: Page, path: str) -> dict:  # type: ignore[type-arg]
    response = page.context.request.get(page.url.split("#")[0].rstrip("/") + path)
    assert response.status == 200, response.text()
    return response.json()  # type: ignore[no-any-return]


def open_view(page: Page, tab: str, panel: str) -> None:
    page.locator(tab).click()
    expect(page.locator(tab)).to_have_attribute("aria-selected", "true")
    expect(page.locator(panel)).to_be_visible()
    expect(page.locator("#ask-view")).to_be_hidden()


def find_calls(page: Page) -> None:
    page.locator("#calls-search").click()
    expect(page.locator("#calls-results")).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    expect(page.locator("#calls-output > *").first).to_be_visible()


def whole_view(page: Page, main: str, name: str) -> None:
    """Screenshot of a whole view (it scrolls inside the page), then the viewport as it was."""
    size = page.viewport_size or {"width": 1100, "height": 900}
    height = page.evaluate(f"document.body.scrollHeight - document.getElementById('{main}').clientHeight"
                           f" + document.getElementById('{main}').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 10, 12000)})
    page.screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size(size)


def ics_events(text: str) -> list[dict[str, str]]:
    """The VEVENTs of an iCalendar file (RFC 5545: folded lines unfolded), each as {property: value}."""
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.rstrip().endswith("END:VCALENDAR"), text[:200]
    lines = re.sub(r"\r\n[ \t]", "", text).split("\r\n")
    events: list[dict[str, str]] = []
    for line in lines:
        if line == "BEGIN:VEVENT":
            events.append({})
        elif events and line != "END:VEVENT" and ":" in line and "END" not in events[-1]:
            name, _, value = line.partition(":")
            events[-1][name] = value
        elif line == "END:VEVENT":
            events[-1]["END"] = "1"
    return events


def card_checks(page: Page, card, topic: dict, citations: dict[int, dict]) -> None:  # type: ignore[no-untyped-def, type-arg]
    """One result card against the API's topic: code, title, status, links, and every quote's chip."""
    expect(card.locator(".topic-code")).to_have_text(topic["code"])
    expect(card.locator(".topic-title")).to_contain_text(topic["title"])
    expect(card.locator(".status-badge")).to_have_class(re.compile(rf"\bstatus-{topic['status']}\b"))
    pdf = card.locator("a.topic-pdf")
    expect(pdf).to_have_attribute("href", re.compile(rf"^/api/documents/[\w.-]+#page={topic['pages'][0]}$"))
    expect(card.locator("a.topic-portal")).to_have_attribute("href", topic["portal_url"])
    quotes = card.locator(".quotes li")
    assert quotes.count() >= 1, topic["code"]  # at least one cited reason why it fits
    for i in range(quotes.count()):
        item = quotes.nth(i)
        sentence = item.locator(".quote").inner_text()
        assert sentence in [w["sentence"] for w in topic["why"]] + topic["non_eu"], sentence
        marker = item.locator("a.marker").first
        n = int((marker.inner_text()).strip("[]"))
        # the chip it points to quotes exactly that sentence, on a page of the topic's document
        assert " ".join(citations[n]["quote"].split()) == " ".join(sentence.split())
        assert citations[n]["document"] == topic["document"]
        chip = card.locator(marker.get_attribute("href") or "")
        expect(chip.locator(".chip-quote")).to_have_text(f"“{citations[n]['quote']}”")
        expect(chip.locator("a.chip-title")).to_have_attribute(
            "href", re.compile(rf"^/api/documents/[\w.-]+#page={citations[n]['page']}$"))
    # every source of the card is cited next to what it supports (title, dates, money, TRL, quotes)
    chips = {int(n) for n in card.locator(".card-sources .chip").evaluate_all("l => l.map(c => c.dataset.n)")}
    marked = {int(m.strip("[]")) for m in card.locator("a.marker").all_inner_texts()}
    assert chips and marked == chips, (topic["code"], sorted(chips - marked), sorted(marked - chips))
    if topic["deadlines"]:
        expect(card.locator(".facts dd", has=page.locator("a.marker")).filter(
            has_text=re.compile(r"20\d\d")).first).to_be_visible()


def test_find_calls_in_english_with_filters_and_calendar(browser: Browser, web: tuple[str, Settings]) -> None:
    url, _ = web
    page = open_page(browser, url)
    open_view(page, "#tab-calls", "#calls-view")
    expect(page.locator("#new-conversation")).to_be_hidden()
    form = page.locator("#calls-form")
    for label in ("Your research idea", "Open after", "Deadline before", "Type of action", "Work programme part",
                  "International cooperation"):
        expect(form.get_by_label(label, exact=True)).to_be_visible()
    # nothing typed: the form says what to do and sends nothing
    page.locator("#calls-search").click()
    expect(page.locator("#calls-form-error")).to_have_text("Describe your idea first: a sentence or an abstract.")
    expect(page.locator("#calls-idea")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#calls-idea")).to_be_focused()

    page.locator("#calls-idea").fill(IDEA_EN)
    find_calls(page)
    expect(page.locator("#calls-form-error")).to_be_hidden()
    expected = api_json(page, "/api/topics?" + urlencode({"q": IDEA_EN, "lang": "en", "n": 10}))
    assert expected["topics"], "the idea must find topics for this test to mean anything"
    cards = page.locator(".topic-card")
    expect(cards).to_have_count(len(expected["topics"]))
    assert [cards.nth(i).get_attribute("data-code") for i in range(cards.count())] == \
        [t["code"] for t in expected["topics"]]  # the API's order, best first
    expect(page.locator(".calls-summary")).to_contain_text(f"{len(expected['topics'])} topics that fit, best first")
    citations = {c["n"]: c for c in expected["citations"]}
    for i in range(min(3, cards.count())):
        card_checks(page, cards.nth(i), expected["topics"][i], citations)
    first, topic = cards.first, expected["topics"][0]
    status = {"open": "Open", "forthcoming": "Forthcoming", "closed": "Closed"}[topic["status"]]
    expect(first.locator(".status-badge")).to_have_text(status)
    expect(first.locator(".facts")).to_contain_text("Deadline")
    if topic["budget_eur"]:
        expect(first.locator(".facts")).to_contain_text("Topic budget")
        expect(first.locator(".facts")).to_contain_text("€")
    expect(first.locator("h4.topic-sub").last).to_have_text("Participants from outside the EU")
    # a marker opens the card's collapsed sources at its chip
    marker = first.locator(".quotes a.marker").first
    chip = first.locator(marker.get_attribute("href") or "")
    expect(chip).to_be_hidden()
    marker.click()
    expect(chip).to_be_visible()
    expect(chip).to_be_focused()
    page.screenshot(path=str(ARTIFACTS / "web-calls-en.png"))
    # the topic's page in the work programme opens as a PDF
    pdf = page.context.request.get(url + (first.locator("a.topic-pdf").get_attribute("href") or "").split("#")[0])
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"

    # two topics picked -> one .ics with their deadlines
    download = page.locator("#download-ics")
    expect(download).to_be_disabled()
    picked = expected["topics"][:2]
    for i in range(2):
        cards.nth(i).get_by_label(f"Add to calendar: {picked[i]['code']}").check()
    expect(page.locator(".calendar-count")).to_have_text("2 topic(s) picked for the calendar.")
    expect(download).to_be_enabled()
    with page.expect_download() as info:
        download.click()
    assert info.value.suggested_filename == "horizon-europe-deadlines.ics"
    events = ics_events(Path(info.value.path()).read_bytes().decode("utf-8"))  # CRLF kept
    expected_events = {(t["code"], d.replace("-", "")) for t in picked for d in t["deadlines"]}
    got = {(re.sub(r"^Deadline (\S+).*$", r"\1", e["SUMMARY"]), e["DTSTART;VALUE=DATE"]) for e in events}
    assert got == expected_events and len(events) == len(expected_events), (got, expected_events)
    assert all(e["URL"].startswith("https://ec.europa.eu/") for e in events)
    whole_view(page, "calls", "web-calls-en-all.png")

    # filters: research and innovation actions with international cooperation, a deadline after "today"
    page.locator("#calls-action").select_option("RIA")
    page.locator("#calls-international").check()
    page.locator("#calls-open-after").fill(expected["today"])
    find_calls(page)
    filtered = api_json(page, "/api/topics?" + urlencode({
        "q": IDEA_EN, "lang": "en", "n": 10, "action": "RIA", "international": "true", "open_after": expected["today"],
    }))
    assert filtered["topics"], "the filters must leave topics for this test to mean anything"
    expect(cards).to_have_count(len(filtered["topics"]))
    assert [cards.nth(i).get_attribute("data-code") for i in range(cards.count())] == \
        [t["code"] for t in filtered["topics"]]
    for i in range(cards.count()):
        expect(cards.nth(i).locator(".facts")).to_contain_text("RIA — Research and innovation action")
        expect(cards.nth(i).locator(".status-badge")).not_to_have_text("Closed")
    # the picks survive a new search: still two, still downloadable
    expect(page.locator(".calendar-count")).to_have_text("2 topic(s) picked for the calendar.")
    # a deadline range that cannot match is caught before asking
    page.locator("#calls-deadline-before").fill("2020-01-01")
    page.locator("#calls-search").click()
    expect(page.locator("#calls-form-error")).to_contain_text("no topic can match both")
    page.context.close()


def test_find_calls_in_spanish_on_a_phone(browser: Browser, web: tuple[str, Settings]) -> None:
    url, _ = web
    page = open_page(browser, url, locale="es-MX", width=375, height=740)
    expect(page.locator("#tab-calls")).to_have_text("Convocatorias")
    open_view(page, "#tab-calls", "#calls-view")
    tabs = page.evaluate("[...document.querySelectorAll('.view-tab')].map(t => t.getBoundingClientRect().top)")
    assert len(set(tabs)) == 1, tabs  # the four tabs fit in one row at 375 px
    form = page.locator("#calls-form")
    for label in ("Tu idea de investigación", "Abierta después del", "Cierre antes del", "Tipo de acción",
                  "Parte del programa de trabajo", "Cooperación internacional"):
        expect(form.get_by_label(label, exact=True)).to_be_visible()
    expect(page.locator("#calls-search")).to_have_text("Buscar convocatorias")
    page.get_by_label("Parte del programa de trabajo").select_option("4")
    expect(page.locator("#calls-part option:checked")).to_have_text("Parte 4 — Salud")
    page.locator("#calls-idea").fill(IDEA_ES)
    find_calls(page)
    expected = api_json(page, "/api/topics?" + urlencode({"q": IDEA_ES, "lang": "es", "n": 10, "part": "4"}))
    assert expected["topics"]
    cards = page.locator(".topic-card")
    expect(cards).to_have_count(len(expected["topics"]))
    expect(page.locator(".calls-summary")).to_contain_text("temas que encajan, el mejor primero")
    expect(page.locator(".calls-summary")).to_be_in_viewport()  # scrolled to the results below the form
    citations = {c["n"]: c for c in expected["citations"]}
    card_checks(page, cards.first, expected["topics"][0], citations)
    topic = expected["topics"][0]
    status = {"open": "Abierta", "forthcoming": "Próxima", "closed": "Cerrada"}[topic["status"]]
    expect(cards.first.locator(".status-badge")).to_have_text(status)
    expect(cards.first.locator("h4.topic-sub").first).to_have_text("Por qué encaja")
    expect(cards.first.locator(".facts")).to_contain_text("Programa de trabajo")
    expect(cards.first.locator("a.topic-portal")).to_have_text("Portal Funding & Tenders")
    expect(page.locator(".calendar-count")).to_have_text(
        "Marca temas para descargar sus cierres como archivo de calendario.")
    page.screenshot(path=str(ARTIFACTS / "web-calls-es-phone.png"))
    whole_view(page, "calls", "web-calls-es-phone-all.png")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 375, widths
    # switching the language asks again: the page and its results in English
    page.locator(".lang-btn[data-lang='en']").click()
    expect(page.locator(".calls-summary")).to_contain_text("topics that fit, best first", timeout=60_000)
    expect(cards.first.locator("h4.topic-sub").first).to_have_text("Why it fits")
    page.context.close()


# --- eligibility view ----------------------------------------------------------------------------
def check_consortium(page: Page) -> None:
    page.locator("#consortium-check").click()
    expect(page.locator("#consortium-results")).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    expect(page.locator("#consortium-output > *").first).to_be_visible()


def check_country(page: Page) -> None:
    page.locator("#country-check").click()
    expect(page.locator("#country-results")).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    expect(page.locator("#country-output > *").first).to_be_visible()


def api_post(page: Page, path: str, body: dict) -> dict:  # type: ignore[type-arg]
    response = page.context.request.post(page.url.split("#")[0].rstrip("/") + path, data=body)
    assert response.status == 200, response.text()
    return response.json()  # type: ignore[no-any-return]


def test_consortium_check_in_english(browser: Browser, web: tuple[str, Settings]) -> None:
    url, _ = web
    page = open_page(browser, url)
    open_view(page, "#tab-eligibility", "#eligibility-view")
    expect(page.locator("#consortium-title")).to_have_text("Consortium check")
    # nothing filled in: the form says what to do
    page.locator("#consortium-check").click()
    expect(page.locator("#consortium-form-error")).to_have_text("Add at least one partner with its country.")
    expect(page.locator("#partner-country-1")).to_be_focused()
    # the example: UNAM (Mexico), TU München (Germany), CSIC (Spain) - two countries that fund, not three
    page.locator("#consortium-example").click()
    form = page.locator("#consortium-form")
    expect(form.get_by_label("Country")).to_have_count(3)  # a row per partner
    expect(form.get_by_role("group", name="Partner 2").get_by_label("Country")).to_have_value("Germany")
    expect(form.get_by_label("Country").nth(0)).to_have_value("Mexico")
    expect(form.get_by_label("Type of organisation").nth(2)).to_have_value("REC")
    form.get_by_label("Type of action").select_option("RIA")
    check_consortium(page)
    partners = [{"name": "Universidad Nacional Autónoma de México", "country": "Mexico", "type": "HES"},
                {"name": "Technische Universität München", "country": "Germany", "type": "HES"},
                {"name": "Consejo Superior de Investigaciones Científicas", "country": "ES", "type": "REC"}]
    expected = api_post(page, "/api/eligibility", {"partners": partners, "action": "RIA", "lang": "en"})
    assert expected["meets_minimum"] is False
    out = page.locator("#consortium-output")
    expect(out.locator(".verdict")).to_have_class(re.compile(r"\bverdict-fail\b"))
    expect(out.locator(".verdict-title")).to_have_text("✗Does not meet the minimum composition")
    failing = [c for c in expected["conditions"] if not c["met"]]
    assert failing
    for c in failing:
        row = out.locator(f".condition[data-code='{c['code']}']")
        expect(row).to_have_class(re.compile(r"\bnot-met\b"))
        expect(row).to_contain_text(c["text"])
        expect(row.locator("a.marker")).not_to_have_count(0)  # the rule it fails is cited
    expect(out.locator(".fixes li")).to_have_count(len(expected["fixes"]))
    expect(out.locator(".fixes li").first).to_contain_text(expected["fixes"][0])
    rows = out.locator(".partner-table tbody tr:not(.problems-row)")
    expect(rows).to_have_count(3)
    roles = {"beneficiary": "Beneficiary", "associated_partner": "Associated partner",
             "affiliated_entity": "Affiliated entity", None: "Cannot take part"}
    for i, p in enumerate(expected["partners"]):
        cells = rows.nth(i).locator("td")
        expect(rows.nth(i).locator("th")).to_contain_text(p["name"])
        expect(cells.nth(0)).to_have_text(p["country"])
        expect(cells.nth(2)).to_have_text(roles[p["role"]])
        expect(cells.nth(4)).to_have_text("Yes" if p["counts_for_composition"] else "No")
    expect(rows.nth(0).locator("td").nth(2)).to_have_text("Associated partner")  # UNAM: Mexico does not fund
    expect(rows.nth(0).locator("td").nth(3)).to_have_text("No")
    expect(rows.nth(1).locator("td").nth(3)).to_have_text("Yes")
    # citations: one chip per citation, each opening its PDF page; a marker leads to its chip
    chips = out.locator(".chips .chip")
    expect(chips).to_have_count(len(expected["citations"]))
    cited = {int(m.strip("[]")) for m in out.locator("a.marker").all_inner_texts()}
    assert cited == {c["n"] for c in expected["citations"]}  # every source is cited where it applies
    expect(chips.first.locator("a.chip-title")).to_have_attribute("href", re.compile(r"^/api/documents/.+#page=\d+$"))
    marker = out.locator(".condition.not-met a.marker").first
    target = out.locator(marker.get_attribute("href") or "")
    marker.click()
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()
    whole_view(page, "eligibility", "web-consortium-en.png")

    # a fourth partner from another Member State: now it meets the minimum
    page.locator("#add-partner").click()
    expect(page.locator("#partner-name-4")).to_be_focused()
    page.locator("#partner-name-4").fill("Universiteit Gent")
    page.locator("#partner-country-4").fill("Belgium")
    check_consortium(page)
    expect(out.locator(".verdict")).to_have_class(re.compile(r"\bverdict-ok\b"))
    expect(out.locator(".verdict-title")).to_have_text("✓Meets the minimum composition")
    expect(out.locator(".condition.not-met")).to_have_count(0)
    expect(out.locator(".partner-table tbody tr:not(.problems-row)")).to_have_count(4)

    # an unknown country: the server's 422, shown as a readable error (with its closest name)
    page.locator("#partner-country-4").fill("Atlantis")
    check_consortium(page)
    alert = out.locator(".msg.error[role='alert']")
    expect(alert).to_contain_text("Unknown country: 'Atlantis'.")
    expect(out.locator(".verdict")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "web-consortium-error.png"))
    # a removed row no longer counts
    page.get_by_role("button", name="Remove partner 4").click()
    expect(page.locator("#partner-country-4")).to_have_count(0)
    check_consortium(page)
    expect(out.locator(".verdict-title")).to_have_text("✗Does not meet the minimum composition")
    page.context.close()


def test_country_check_in_spanish_and_a_phone(browser: Browser, web: tuple[str, Settings]) -> None:
    url, _ = web
    page = open_page(browser, url, locale="es-MX", width=375, height=740)
    expect(page.locator("#tab-eligibility")).to_have_text("Elegibilidad")
    open_view(page, "#tab-eligibility", "#eligibility-view")
    expect(page.locator("#country-title")).to_have_text("Una organización")
    form = page.locator("#country-form")
    for label in ("País", "Tipo de organización", "Tipo de acción"):
        expect(form.get_by_label(label, exact=True)).to_be_visible()
    page.locator("#country-check").click()
    expect(page.locator("#country-form-error")).to_contain_text("Escribe un país")
    page.locator("#country-name").fill("México")
    form.get_by_label("Tipo de organización").select_option("HES")
    expect(page.locator("#country-type option:checked")).to_have_text("Universidad (HES)")
    form.get_by_label("Tipo de acción").select_option("RIA")
    check_country(page)
    expected = page.context.request.get(url + "/api/eligibility?" + urlencode(
        {"country": "México", "type": "HES", "action": "RIA", "lang": "es"})).json()
    out = page.locator("#country-output")
    assert expected["may_participate"] is True and expected["funded_automatically"] is False
    expect(out.locator(".verdict-title")).to_have_text("!México: Puede participar · sin financiación automática")
    expect(out.locator(".verdict")).to_have_attribute("lang", "es")
    first_line = expected["answer"].split("\n")[0]
    expect(out.locator(".verdict-text p").first).to_have_text(re.sub(r"\s*\[\d+\]", "", first_line))
    expect(out.locator(".sources-title")).to_have_text("Fuentes")
    expect(out.locator(".chips .chip")).to_have_count(len(expected["citations"]))
    markers = out.locator(".verdict-text a.marker")
    numbers = {int(m.strip("[]")) for m in markers.all_inner_texts()}
    assert numbers == {c["n"] for c in expected["citations"]}  # every source is cited in the text
    expect(out.locator(".verdict-text")).to_be_in_viewport()
    page.screenshot(path=str(ARTIFACTS / "web-country-es-phone.png"))
    # the consortium check on the phone, in Spanish
    page.locator("#consortium-example").click()
    check_consortium(page)
    cons = page.locator("#consortium-output")
    expect(cons.locator(".verdict-title")).to_have_text("✗No cumple la composición mínima")
    expect(cons.locator(".partner-table tbody tr:not(.problems-row) td").nth(2)).to_have_text("Socio asociado")
    expect(cons.locator("h3.tool-sub").first).to_have_text("Condiciones")
    whole_view(page, "eligibility", "web-eligibility-es-phone-all.png")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 375, widths
    # a misspelt country: the 422's message, in Spanish, with the closest name
    page.locator("#country-name").fill("Mexco")
    check_country(page)
    expect(out.locator(".msg.error[role='alert']")).to_have_text("País desconocido: 'Mexco'. ¿Quiso decir México?")
    page.screenshot(path=str(ARTIFACTS / "web-country-es-error.png"))
    page.context.close()
