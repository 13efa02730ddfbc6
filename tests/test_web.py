"""The chat page in a real Chromium (Debian's, headless) against a real uvicorn: English and Spanish,
streamed answers with citation chips, opening a cited PDF page, feedback, abstention, a phone screen, and the
partners view (CORDIS search form, project cards, organisations, coverage note, cited dataset rows).
Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

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
    expect(page.locator("#coverage-summary")).to_contain_text("My sources: 8 documents")
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
    page.locator("#tab-partners").press("ArrowLeft")  # keyboard: the tabs follow the arrows
    expect(page.locator("#tab-ask")).to_be_focused()
    expect(page.locator("#ask-view")).to_be_visible()
    page.locator("#tab-ask").press("ArrowRight")
    expect(page.locator("#partners-view")).to_be_visible()
    form = page.locator("#partners-form")
    for label in ("Tema (texto libre)", "Países de los participantes", "Código de tema (topic)", "Tipo de acción",
                  "Solo coordinadores"):
        expect(form.get_by_label(label, exact=True)).to_be_visible()
    expect(page.locator("#partners-search")).to_have_text("Buscar socios")
    page.locator("#partners-country").fill("MX, ES")
    page.get_by_label("Tipo de acción").select_option("RIA")
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
