"""The chat page in a real Chromium (Debian's, headless) against a real uvicorn: English and Spanish,
streamed answers with citation chips, opening a cited PDF page, feedback, abstention, a phone screen.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from assistant.answer import Assistant
from assistant.api import create_app
from assistant.config import Settings
from assistant.feedback import FeedbackStore
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
