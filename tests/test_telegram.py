"""The Telegram bot end to end: real polling against a fake Bot API server on 127.0.0.1
(tests/fake_telegram.py), answers from the real pipeline on the full real index.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from assistant.answer import Assistant
from assistant.config import Settings
from assistant.conversation import Conversations
from bots.feedback import FeedbackStore
from assistant.manifest import PROGRAMME_LABELS, Manifest
from assistant.types import Answer, Delta, TopicFilters
from bots.telegram.access import BotStore
from bots.telegram.app import start_bot, stop_bot
from bots.telegram.render import MARKER, MAX_CALLBACK_DATA, split_message, utf16_len
from tests.fake_telegram import BOT_ID, BOT_USERNAME, Call, FakeTelegram
from tests.support import EUMEX, run_cli

TOKEN = "987654321:AAH-secret-test-token-never-in-logs"
EN_QUESTION = "What is the threshold for individual evaluation criteria in an H2020 e-infrastructure RIA?"
ES_QUESTION = "¿Qué significa que a mi propuesta le pongan un 3 en un criterio?"
MENU = ["start", "help", "topics", "eligibility", "partners", "lang", "sources", "new", "feedback"]


def bot_settings(base: Settings, data_dir: Path, fake: FakeTelegram, **changes: Any) -> Settings:
    """The session settings pointed at the fake server; the bot's own stores go to `data_dir`."""
    update: dict[str, Any] = {
        "data_dir": data_dir,  # the index is already loaded in `assistant`
        "telegram_bot_token": SecretStr(TOKEN),
        "telegram_base_url": fake.base_url,
        "telegram_questions_per_minute": 1000,
        **changes,
    }
    return base.model_copy(update=update)


@asynccontextmanager
async def running_bot(
    settings: Settings, tmp_path: Path, assistant: Any, **changes: Any
) -> AsyncIterator[FakeTelegram]:
    """A fake Bot API server and the bot polling it (started and stopped as the API lifespan does)."""
    async with FakeTelegram(TOKEN) as fake:
        application = await start_bot(bot_settings(settings, tmp_path, fake, **changes), assistant)
        try:
            yield fake
        finally:
            await stop_bot(application)


@pytest.fixture
def expected_en(assistant: Assistant) -> Answer:
    return assistant.ask(EN_QUESTION)


def card_number(data: str) -> int:
    return int(data.rsplit(":", 1)[1])


# --- polling, commands ------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_polling_start_and_command_menus_in_english_and_spanish(
    full_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    async with running_bot(full_settings, tmp_path, assistant) as fake:
        fake.queue(fake.private_message(11, "/start"))
        [reply] = await fake.wait_for("sendMessage", chat_id=11)
        assert "EU research funding" in reply.text and "/help" in reply.text

        menus = {c.params.get("language_code"): c.params["commands"] for c in fake.sent("setMyCommands")}
        assert set(menus) == {None, "es"}
        assert [c["command"] for c in menus[None]] == MENU == [c["command"] for c in menus["es"]]
        english = {c["command"]: c["description"] for c in menus[None]}
        spanish = {c["command"]: c["description"] for c in menus["es"]}
        assert "new conversation" in english["new"] and "conversación nueva" in spanish["new"]
        assert "CORDIS" in english["partners"] and "CORDIS" in spanish["partners"]
        assert "/topics" in english["topics"] and "convocatorias" in spanish["topics"].lower()
        assert "/eligibility" in english["eligibility"] and "/eligibility" in spanish["eligibility"]

        fake.queue(fake.private_message(12, "/help", language="es"))
        [help_es] = await fake.wait_for("sendMessage", chat_id=12)
        assert "/sources — Qué cubren mis fuentes" in help_es.text and f"@{BOT_USERNAME}" in help_es.text
        assert "/topics — Convocatorias de Horizonte Europa" in help_es.text
        assert "/eligibility — ¿Puede participar un país" in help_es.text
        assert "NOMBRE, PAÍS, TIPO" in help_es.text  # how to write a consortium
        assert "/approve" not in help_es.text  # not an admin


@pytest.mark.asyncio
async def test_sources_new_and_lang(full_settings: Settings, assistant: Assistant, manifest: Manifest,
                                    tmp_path: Path) -> None:
    async with running_bot(full_settings, tmp_path, assistant) as fake:
        fake.queue(fake.private_message(13, "/sources"))
        parts = await fake.wait_for("sendMessage", chat_id=13)
        text = "\n".join(p.text for p in parts)
        assert "What I have read:" in text and "Key texts I do not have yet" in text
        for doc in manifest.missing:
            assert doc.label in text and (doc.url is None or doc.url in text)
        present = [d for d in manifest.present if d.kind not in {"dataset", "reference-data"}]
        assert all(d.label in text for d in present)

        fake.queue(fake.private_message(13, "/lang es"))
        await fake.wait_for("sendMessage", chat_id=13, contains="Responderé en español")
        fake.queue(fake.private_message(13, EN_QUESTION))  # an English question, answered in Spanish
        [answer] = await fake.wait_for("sendMessage", chat_id=13, contains="[1]")
        assert "establece:" in answer.text and "Toca una fuente" in answer.text
        assert BotStore(tmp_path / "telegram.sqlite3").language(13) == "es"  # survives a restart

        fake.queue(fake.private_message(13, "/lang xx"))
        await fake.wait_for("sendMessage", chat_id=13, contains="/lang es, /lang en o /lang auto")
        fake.queue(fake.private_message(13, "/new"))
        await fake.wait_for("sendMessage", chat_id=13, contains="Conversación nueva")
        fake.queue(fake.private_message(13, "/feedback up"))  # the new conversation has no answer yet
        await fake.wait_for("sendMessage", chat_id=13, contains="Aún no hay ninguna respuesta")


# --- answers ----------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_english_question_gets_cited_answer_and_source_buttons(
    full_settings: Settings, assistant: Assistant, expected_en: Answer, tmp_path: Path
) -> None:
    assert expected_en.citations, "the question must be answerable for this test to mean anything"
    async with running_bot(full_settings, tmp_path, assistant) as fake:
        fake.queue(fake.private_message(21, EN_QUESTION))
        [answer] = await fake.wait_for("sendMessage", chat_id=21)
        assert any(c.params["action"] == "typing" for c in fake.sent("sendChatAction", chat_id=21))
        assert answer.text.startswith(expected_en.answer)
        assert "Tap a source to see its quote and page." in answer.text
        assert set(re.findall(r"\[(\d+)\]", answer.text)) == {str(c.n) for c in expected_en.citations}

        buttons = answer.buttons
        assert len(buttons) == len(expected_en.citations)
        assert all(len(b["callback_data"].encode()) <= MAX_CALLBACK_DATA for b in buttons)
        for button, citation in zip(buttons, expected_en.citations, strict=True):
            assert button["text"].startswith(f"[{citation.n}] ")
            assert (f"p. {citation.page}" if citation.page is not None else "CORDIS") in button["text"]

        # Pressing a source button shows its quote, document, programme, period, page and link.
        last = buttons[-1]
        citation = expected_en.citations[card_number(last["callback_data"]) - 1]
        fake.queue(fake.button_press(21, answer, last["callback_data"]))
        card = (await fake.wait_for("sendMessage", chat_id=21, count=2))[1]
        assert f"“{citation.quote}”" in card.text
        assert citation.title in card.text and citation.period in card.text and "Horizon 2020" in card.text
        assert f"p. {citation.page}" in card.text
        if citation.url:
            assert citation.url in card.text
        assert fake.sent("answerCallbackQuery")

        # A button of an answer the bot no longer remembers: an alert, no crash.
        fake.queue(fake.button_press(21, answer, "src:gone1234:1"))
        alert = (await fake.wait_for("answerCallbackQuery", count=2))[-1]
        assert "no longer in my memory" in alert.params["text"]


@pytest.mark.asyncio
async def test_spanish_question_gets_spanish_answer(
    full_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    expected = assistant.ask(ES_QUESTION)
    assert expected.language == "es" and expected.citations
    async with running_bot(full_settings, tmp_path, assistant) as fake:
        fake.queue(fake.private_message(22, ES_QUESTION, language="es"))
        [answer] = await fake.wait_for("sendMessage", chat_id=22)
        assert answer.text.startswith(expected.answer)
        assert "establece:" in answer.text and "Toca una fuente para ver su cita y su página." in answer.text
        assert "states:" not in answer.text and len(answer.buttons) == len(expected.citations)

        fake.queue(fake.button_press(22, answer, answer.buttons[0]["callback_data"]))
        card = (await fake.wait_for("sendMessage", chat_id=22, count=2))[1]
        spanish_programme = PROGRAMME_LABELS[expected.citations[0].programme][1]  # e.g. "Horizonte 2020"
        assert expected.citations[0].quote in card.text and spanish_programme in card.text


@pytest.mark.asyncio
async def test_partners_command_cites_dataset_rows(
    full_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    async with running_bot(full_settings, tmp_path, assistant) as fake:
        fake.queue(fake.private_message(23, "/partners organizaciones mexicanas", language="es"))
        [answer] = await fake.wait_for("sendMessage", chat_id=23)
        assert "UNIVERSIDAD DE GUADALAJARA" in answer.text and "Qué cubren los datos" in answer.text
        assert answer.buttons and all("CORDIS" in b["text"] for b in answer.buttons)
        # the source card of an organisation: the row's cells, the file and row, the CORDIS page
        fake.queue(fake.button_press(23, answer, answer.buttons[-1]["callback_data"]))
        card = (await fake.wait_for("sendMessage", chat_id=23, count=2))[1]
        assert "legal_name: " in card.text and "https://cordis.europa.eu/project/id/" in card.text
        assert "row " in card.text

        fake.queue(fake.private_message(23, "/partners"))
        await fake.wait_for("sendMessage", chat_id=23, contains="/partners")


@pytest.mark.asyncio
async def test_group_answers_only_when_mentioned_or_replied_to(
    full_settings: Settings, assistant: Assistant, expected_en: Answer, tmp_path: Path
) -> None:
    group = -100500
    async with running_bot(full_settings, tmp_path, assistant) as fake:
        fake.queue(fake.message(group, 31, EN_QUESTION))  # group chatter: not for the bot
        fake.queue(fake.message(group, 31, f"@someone_else {EN_QUESTION}",
                                entities=[{"type": "mention", "offset": 0, "length": 13}]))
        await fake.settle(1.0)
        assert fake.sent(chat_id=group) == [] and fake.sent("sendChatAction", chat_id=group) == []

        asked = fake.queue(fake.mention(group, 31, EN_QUESTION))
        [answer] = await fake.wait_for("sendMessage", chat_id=group)
        assert answer.text.startswith(expected_en.answer)  # the mention was stripped from the question
        assert answer.params["reply_parameters"]["message_id"] == asked["message"]["message_id"]

        bot_message = {"message_id": 77, "date": 0, "chat": {"id": group, "type": "supergroup"},
                       "from": {"id": BOT_ID, "is_bot": True, "first_name": "EUMEX"}, "text": "..."}
        fake.queue(fake.message(group, 32, ES_QUESTION, reply_to=bot_message))
        replies = await fake.wait_for("sendMessage", chat_id=group, count=2)
        assert "establece:" in replies[1].text
        await fake.settle(0.5)
        assert len(fake.sent(chat_id=group)) == 2


@pytest.mark.asyncio
async def test_question_errors_are_shown_as_they_are(
    full_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    async with running_bot(full_settings, tmp_path, assistant) as fake:
        fake.queue(fake.private_message(23, "funding " * 300))
        [reply] = await fake.wait_for("sendMessage", chat_id=23)
        assert reply.text.startswith("Your question is too long (2399 characters; the limit is 2000)")
        fake.queue(fake.mention(-100600, 23, ""))  # only a mention: an empty question
        [reply] = await fake.wait_for("sendMessage", chat_id=-100600)
        assert reply.text == "Please type a question."


# --- long answers -----------------------------------------------------------------------------------
def _no_cut_markers(parts: list[str], text: str) -> None:
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert [m for p in parts for m in MARKER.findall(p)] == MARKER.findall(text)  # every [n] whole
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())  # nothing lost but whitespace


def test_split_a_real_long_answer(assistant: Assistant) -> None:
    questions = [EN_QUESTION, ES_QUESTION, "Can Mexican entities receive EU funding in H2020?",
                 "How are proposals evaluated in H2020?", "What costs are eligible in an H2020 grant?",
                 "¿Qué es una acción de investigación e innovación (RIA)?"]
    answers = [assistant.ask(q).answer for q in questions]
    text = "\n\n".join(answers * 4)
    assert len(text) > 2 * 4096
    parts = split_message(text)
    assert len(parts) >= 3
    _no_cut_markers(parts, text)
    # paragraph boundaries were available: every part ends where a paragraph of the text ends
    paragraphs = {para.strip() for para in text.split("\n\n")}
    assert all(p.rstrip().split("\n\n")[-1].strip() in paragraphs for p in parts)

    # a tighter limit forces cuts between the quoted sentences of a single answer, never inside a quote
    # when every quote fits in a part (which answer is longest, and how long its quotes are, depends on
    # retrieval: the Annex 1 instructions' first sentence is a 403-character quote)
    one = max(answers, key=len)
    limit = max(300, max(len(q) for q in re.findall(r"“[^”]*”", one)) + 20)
    assert len(one) > limit
    small = split_message(one, limit)
    assert len(small) > 1
    _no_cut_markers(small, one)
    assert all(p.count("“") == p.count("”") for p in small)


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("x" * 95 + " [12]" + " [3]", 100),  # a marker right at the limit moves to the next part
        ("a" * 96 + " [1, 2] tail", 100),  # a space inside a marker is no place to split
        (("Sentence number one is here. [1] " * 200), 4096),
        (("word " * 818) + "end [7]. Next sentence [8].", 4096),  # marker straddles 4096
        ("“" + "quoted words " * 400 + "” [2].\n\nShort paragraph [3].", 4096),  # quote longer than the limit
        ("no spaces at all " + "a" * 9000 + " [4]", 4096),
        ("emoji 😀 " * 900 + "[5]", 4096),  # UTF-16: each emoji counts twice
    ],
)
def test_split_never_cuts_a_citation_marker(text: str, limit: int) -> None:
    parts = split_message(text, limit)
    assert all(utf16_len(p) <= limit for p in parts)
    assert [m for p in parts for m in MARKER.findall(p)] == MARKER.findall(text)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


@dataclass
class ScriptedLLM:
    """A fake LLM answerer: yields `pieces` as verified sentences, slowly, then an answer citing `cited`."""

    pieces: list[str]
    cited: Answer
    delay: float = 0.25

    def condense(self, question: str, earlier: list[str], language: str) -> str | None:
        return None  # no rewrite: the rule-based one applies (as when a real model's rewrite is unusable)

    def stream(self, standalone: str, language: str, hits: Any) -> Generator[Delta, None, Answer]:
        import time

        for piece in self.pieces:
            time.sleep(self.delay)
            yield Delta(piece)
        return Answer("".join(self.pieces), language, False, self.cited.citations, mode="llm")


@pytest.mark.asyncio
async def test_llm_answer_streams_by_editing_and_long_answers_split(
    full_settings: Settings, assistant: Assistant, expected_en: Answer, tmp_path: Path
) -> None:
    quotes = [c.quote for c in expected_en.citations]
    pieces = [f"{'' if i == 0 else ' '}The source says: “{quotes[i % len(quotes)]}” [{i % len(quotes) + 1}]."
              for i in range(60)]
    total = "".join(pieces)
    assert utf16_len(total) > 4096
    streaming = replace(assistant, llm=ScriptedLLM(pieces, expected_en, delay=0.05))
    async with running_bot(full_settings, tmp_path, streaming) as fake:
        fake.queue(fake.private_message(24, EN_QUESTION))
        await fake.wait_for("sendMessage", chat_id=24, count=2, timeout=90)
        await fake.settle(0.5)
    sends, edits = fake.sent(chat_id=24), fake.sent("editMessageText", chat_id=24)
    assert len(edits) >= 2  # the first message grew while the answer streamed, then got its final text
    times = [c.at for c in edits[:-1]]
    assert all(b - a >= 0.9 for a, b in zip(times, times[1:], strict=False))  # at most ~1 edit per second
    final = [edits[-1], *sends[1:]]
    texts = [c.text for c in final]
    _no_cut_markers(texts, total + "\n\nTap a source to see its quote and page.")
    assert not any(c.buttons for c in final[:-1]) and len(final[-1].buttons) == len(expected_en.citations)


# --- access -----------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_allow_list_refuses_once_politely(
    full_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    async with running_bot(full_settings, tmp_path, assistant, telegram_allowed="42, -100700") as fake:
        for text in ("hello", EN_QUESTION, "/start", "/sources"):
            fake.queue(fake.private_message(111, text))
        await fake.wait_for("sendMessage", chat_id=111)
        await fake.settle(1.0)
        [refusal] = fake.sent(chat_id=111)
        assert "this bot is private" in refusal.text and "administrator" in refusal.text
        assert fake.sent("sendChatAction", chat_id=111) == []

        fake.queue(fake.private_message(42, "/start"))  # an allowed user
        await fake.wait_for("sendMessage", chat_id=42, contains="EU research funding")
        fake.queue(fake.message(-100700, 555, "/help"))  # anyone in an allowed group
        await fake.wait_for("sendMessage", chat_id=-100700, contains="/sources")


@pytest.mark.asyncio
async def test_pairing_code_and_admin_approval(
    full_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    admin, user = 900, 222
    async with running_bot(full_settings, tmp_path, assistant, telegram_admins=str(admin)) as fake:
        fake.queue(fake.message(user, user, "hola", language="es", username="investigadora"))
        [pairing] = await fake.wait_for("sendMessage", chat_id=user)
        code = re.search(r"[A-Z2-9]{6}$", pairing.text)
        assert code and pairing.text.startswith("Este bot es privado."), pairing.text
        [request] = await fake.wait_for("sendMessage", chat_id=admin)
        assert f"/approve {code.group(0)}" in request.text and "@investigadora" in request.text

        fake.queue(fake.private_message(user, EN_QUESTION))  # still waiting: silence
        await fake.settle(1.0)
        assert len(fake.sent(chat_id=user)) == 1

        fake.queue(fake.private_message(user, "/approve ABCDEF"))  # not an admin: refused silently
        fake.queue(fake.private_message(admin, "/approve ZZZZZZ"))
        await fake.wait_for("sendMessage", chat_id=admin, contains="No pending request has the code ZZZZZZ")
        fake.queue(fake.private_message(admin, f"/approve {code.group(0).lower()}"))
        await fake.wait_for("sendMessage", chat_id=admin, contains=f"Approved User{user} (@investigadora)")
        await fake.wait_for("sendMessage", chat_id=user, contains="An administrator approved your access")

        fake.queue(fake.private_message(user, EN_QUESTION))
        await fake.wait_for("sendMessage", chat_id=user, contains="[1]")
    assert BotStore(tmp_path / "telegram.sqlite3").is_approved(user)  # persisted


# --- limits and errors ------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_rate_limit_per_user(full_settings: Settings, assistant: Assistant, tmp_path: Path) -> None:
    async with running_bot(full_settings, tmp_path, assistant, telegram_questions_per_minute=2) as fake:
        for _ in range(3):
            fake.queue(fake.private_message(41, EN_QUESTION))
        await fake.wait_for("sendMessage", chat_id=41, count=3)
        await fake.settle(0.5)
        texts = [c.text for c in fake.sent(chat_id=41)]
        assert sum("please wait" in t for t in texts) == 1 and sum("[1]" in t for t in texts) == 2
        fake.queue(fake.private_message(42, EN_QUESTION))  # another user is not affected
        await fake.wait_for("sendMessage", chat_id=42, contains="[1]")


class BrokenAssistant:
    """An assistant whose pipeline fails (e.g. the store is gone) while the rest of the bot works."""

    streams_text = False

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.conversations = Conversations()

    def ask(self, *args: Any, **kwargs: Any) -> Answer:
        raise RuntimeError("the vector store went away")


@pytest.mark.asyncio
async def test_pipeline_error_gets_a_kind_message_and_the_bot_keeps_working(
    full_settings: Settings, manifest: Manifest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(full_settings, tmp_path, BrokenAssistant(manifest)) as fake:
        fake.queue(fake.private_message(51, EN_QUESTION))
        [reply] = await fake.wait_for("sendMessage", chat_id=51)
        assert reply.text == "Sorry, something went wrong on my side. Please try again in a moment."
        fake.queue(fake.private_message(52, ES_QUESTION, language="es"))
        [reply] = await fake.wait_for("sendMessage", chat_id=52)
        assert reply.text.startswith("Lo siento, algo falló de mi lado.")
        fake.queue(fake.private_message(51, "/sources"))  # still working
        await fake.wait_for("sendMessage", chat_id=51, contains="What I have read:")
    failures = [r for r in caplog.records if r.name == "eumex.telegram" and r.levelno == logging.ERROR]
    assert len(failures) == 2 and all("vector store went away" in str(r.exc_info[1]) for r in failures)


@pytest.mark.asyncio
async def test_token_never_appears_in_logs(
    full_settings: Settings, assistant: Assistant, manifest: Manifest, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    logging.getLogger("httpx").setLevel(logging.NOTSET)  # as in a fresh process: the bot must set it
    caplog.set_level(logging.DEBUG)
    async with running_bot(full_settings, tmp_path, assistant) as fake:
        fake.queue(fake.private_message(61, EN_QUESTION))
        [answer] = await fake.wait_for("sendMessage", chat_id=61)
        fake.queue(fake.button_press(61, answer, answer.buttons[0]["callback_data"]))
        await fake.wait_for("sendMessage", chat_id=61, count=2)
    async with running_bot(full_settings, tmp_path / "broken", BrokenAssistant(manifest)) as fake:
        fake.queue(fake.private_message(62, EN_QUESTION))
        await fake.wait_for("sendMessage", chat_id=62)
    assert "sendMessage" in caplog.text and "getUpdates" in caplog.text  # the logs were really captured
    secret = TOKEN.split(":")[1]
    assert TOKEN not in caplog.text and secret not in caplog.text
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


# --- running inside the API, and from the command line ----------------------------------------------
@pytest.mark.asyncio
async def test_bot_runs_inside_the_api_lifespan_and_shares_the_feedback_store(
    full_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    from bots.web.app import create_app

    async with FakeTelegram(TOKEN) as fake:
        settings = bot_settings(full_settings, tmp_path, fake, telegram_in_api=True)
        app = create_app(settings, assistant=assistant)
        async with app.router.lifespan_context(app):
            fake.queue(fake.private_message(71, EN_QUESTION))
            [answer] = await fake.wait_for("sendMessage", chat_id=71)
            fake.queue(fake.private_message(71, "/feedback down the second quote is off topic"))
            await fake.wait_for("sendMessage", chat_id=71, contains="feedback was recorded")
            polls = len(fake.updates)
        await asyncio.sleep(0.3)
        fake.queue(fake.private_message(71, "/start"))  # after shutdown nobody answers
        await asyncio.sleep(1.0)
        assert len(fake.sent(chat_id=71)) == 2 and len(fake.updates) == polls + 1
    [item] = app.state.feedback.list()
    assert Path(app.state.feedback.path) == tmp_path / "feedback.sqlite3"
    assert item["rating"] == "down" and item["reason"] == "the second quote is off topic"
    assert item["question"] == EN_QUESTION and answer.text.startswith(item["message"])
    assert item["conversation_id"] == "telegram:71:0"
    assert FeedbackStore(tmp_path / "feedback.sqlite3").list() == [item]


@pytest.mark.asyncio
async def test_eumex_telegram_polls_until_interrupted_without_logging_the_token(
    full_index: tuple[dict[str, str], str],
) -> None:
    env, _ = full_index
    async with FakeTelegram(TOKEN) as fake:
        env = {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "EUMEX_TELEGRAM_BASE_URL": fake.base_url,
               "EUMEX_LOG_LEVEL": "DEBUG"}
        process = await asyncio.create_subprocess_exec(
            *EUMEX, "telegram", env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            fake.queue(fake.private_message(81, "/help"))
            [reply] = await fake.wait_for("sendMessage", chat_id=81, timeout=120)
            assert "/feedback" in reply.text
            assert {c.params.get("language_code") for c in fake.sent("setMyCommands")} == {None, "es"}
        finally:
            process.send_signal(signal.SIGINT)  # Ctrl+C: a clean stop
            _, err = await asyncio.wait_for(process.communicate(), 60)
    logs = err.decode()
    assert process.returncode == 0, logs[-2000:]
    assert "getUpdates" in logs and "<TELEGRAM_BOT_TOKEN>" in logs  # DEBUG logs, with the token redacted
    assert TOKEN.split(":")[1] not in logs


def test_every_bot_message_exists_in_english_and_spanish() -> None:
    from bots.telegram.messages import TEXT

    assert TEXT["en"].keys() == TEXT["es"].keys()
    assert all(TEXT["en"][k] != TEXT["es"][k] for k in TEXT["en"] if k != "source_page")


def test_cli_without_token_says_how_to_fix_it(full_index: tuple[dict[str, str], str]) -> None:
    env, _ = full_index
    env = {k: v for k, v in env.items() if k != "TELEGRAM_BOT_TOKEN"}
    result = run_cli(["telegram"], env, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: TELEGRAM_BOT_TOKEN is not set - create a bot with @BotFather and export its token "
        "(see docs/telegram.md)."
    ]



# --- the structured tools: /topics and /eligibility -------------------------------------------------
IDEA_EN = "early warning of dengue and other climate-sensitive infectious disease outbreaks using satellite data"
IDEA_ES = "alerta temprana de brotes de dengue y otras enfermedades infecciosas sensibles al clima con datos satelitales"


async def reply(fake: FakeTelegram, chat_id: int, before: int, timeout: float = 90) -> list[Call]:
    """The parts of the bot's next answer in `chat_id` (after the first `before` messages): up to the one
    that carries the source buttons."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        sent = fake.sent(chat_id=chat_id)[before:]
        for i, call in enumerate(sent):
            if call.buttons:
                return sent[: i + 1]
        assert asyncio.get_running_loop().time() < deadline, [c.text[:80] for c in sent]
        await asyncio.sleep(0.05)


def numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


async def press(fake: FakeTelegram, chat_id: int, part: Call, n: int) -> str:
    """Press the source button [n] under `part`; return the source card the bot sends."""
    [button] = [b for b in part.buttons if b["text"].startswith(f"[{n}] ")]
    before = len(fake.sent(chat_id=chat_id))
    fake.queue(fake.button_press(chat_id, part, button["callback_data"]))
    return (await fake.wait_for("sendMessage", chat_id=chat_id, count=before + 1))[before].text


@pytest.mark.asyncio
async def test_topics_command_in_english_and_spanish(
    full_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    expected = assistant.topics(IDEA_EN, TopicFilters(), 5, "en")
    assert len(expected["topics"]) == 5 and expected["citations"]
    async with running_bot(full_settings, tmp_path, assistant) as fake:
        fake.queue(fake.private_message(91, f"/topics {IDEA_EN}"))
        parts = await reply(fake, 91, 0)
        assert any(c.params["action"] == "typing" for c in fake.sent("sendChatAction", chat_id=91))
        assert all(utf16_len(p.text) <= 4096 for p in parts)
        text = "\n".join(p.text for p in parts)
        assert text.startswith("Horizon Europe topics that fit (5 shown, best first):")
        assert text.rstrip().endswith("Tap a source to see its quote and page.")
        for i, topic in enumerate(expected["topics"], 1):  # the five cards, best first, each with its links
            assert f"{i}. {topic['code']} — " in text and topic["portal_url"] in text
        assert " ".join(text.split()).startswith(" ".join(expected["answer"].split()))  # the cited cards
        # one button per citation, and every [n] of the text has one
        buttons = parts[-1].buttons
        assert not any(p.buttons for p in parts[:-1])
        assert [int(b["text"].split("]")[0][1:]) for b in buttons] == [c["n"] for c in expected["citations"]]
        assert numbers(text) == {c["n"] for c in expected["citations"]}
        assert all(re.fullmatch(r"\[\d+\] p\. \d+", b["text"]) for b in buttons), buttons[:3]
        assert all(len(b["callback_data"].encode()) <= MAX_CALLBACK_DATA for b in buttons)
        # the button of a "why it fits" quote shows that quote, the work programme and its page
        why = expected["topics"][0]["why"][0]
        [cited] = [c for c in expected["citations"]
                   if " ".join(c["quote"].split()) == " ".join(why["sentence"].split()) and c["page"] == why["page"]]
        card = await press(fake, 91, parts[-1], cited["n"])
        assert f"“{cited['quote']}”" in card and f"p. {why['page']}" in card
        assert "Horizon Europe" in card and "2026-2027" in card and cited["title"] in card

        # Spanish: a Spanish idea from a Spanish-speaking user
        expected_es = assistant.topics(IDEA_ES, TopicFilters(), 5, "es")
        fake.queue(fake.private_message(92, f"/topics {IDEA_ES}", language="es"))
        parts = await reply(fake, 92, 0)
        text = "\n".join(p.text for p in parts)
        assert text.startswith("Temas de Horizonte Europa que encajan (se muestran 5, el mejor primero):")
        assert "Por qué encaja:" in text and "Toca una fuente para ver su cita y su página." in text
        assert all(t["code"] in text for t in expected_es["topics"])
        assert len(parts[-1].buttons) == len(expected_es["citations"])
        card = await press(fake, 92, parts[-1], 1)
        assert "Horizonte Europa" in card  # the card in the answer's language

        # without an idea: how to use it, in the user's language
        fake.queue(fake.private_message(93, "/topics"))
        [usage] = await fake.wait_for("sendMessage", chat_id=93)
        assert usage.text.startswith("Tell me your research idea") and "/topics early warning" in usage.text
        fake.queue(fake.private_message(94, "/topics", language="es"))
        [usage] = await fake.wait_for("sendMessage", chat_id=94)
        assert usage.text.startswith("Escribe tu idea de investigación")


@pytest.mark.asyncio
async def test_eligibility_command_country_consortium_and_errors(
    full_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    async with running_bot(full_settings, tmp_path, assistant) as fake:
        # one country, English
        expected = assistant.eligibility("Mexico", "HES", "RIA", "he", "en")
        assert expected["citations"]
        fake.queue(fake.private_message(95, "/eligibility Mexico HES RIA"))
        parts = await reply(fake, 95, 0)
        text = "\n".join(p.text for p in parts)
        assert text.startswith("Mexico — university (HES), RIA (Horizon Europe)\n\n" + expected["answer"])
        assert expected["funding"] in text and "Tap a source" in text
        assert numbers(text) == {c["n"] for c in expected["citations"]}
        assert len(parts[-1].buttons) == len(expected["citations"])
        card = await press(fake, 95, parts[-1], 1)
        assert f"“{expected['citations'][0]['quote']}”" in card and f"p. {expected['citations'][0]['page']}" in card

        # one country, Spanish words, a Spanish-speaking user
        expected_es = assistant.eligibility("México", "PRC", "IA", "he", "es")
        fake.queue(fake.private_message(96, "/eligibility México empresa IA", language="es"))
        parts = await reply(fake, 96, 0)
        text = "\n".join(p.text for p in parts)
        assert text.startswith("México — empresa (PRC), IA (Horizonte Europa)\n\n" + expected_es["answer"])
        assert "Toca una fuente" in text and len(parts[-1].buttons) == len(expected_es["citations"])

        # a consortium: one partner per line, the action on the command's line
        partners = [{"name": "UNAM", "country": "Mexico", "type": "HES"},
                    {"name": "TU Delft", "country": "Netherlands", "type": "HES"},
                    {"name": "CSIC", "country": "Spain", "type": "REC"}]
        consortium = assistant.consortium(partners, "RIA", "he", "en")
        assert consortium["meets_minimum"] is False  # two countries that fund, three are needed
        lines = "\n".join(f"{p['name']}, {p['country']}, {p['type']}" for p in partners)
        fake.queue(fake.private_message(97, f"/eligibility RIA\n{lines}"))
        parts = await reply(fake, 97, 0)
        text = "\n".join(p.text for p in parts)
        assert text.startswith("Consortium of 3 partner(s) — RIA (Horizon Europe)\n\n" + consortium["answer"])
        assert consortium["answer"].startswith("No: does not meet the minimum composition") and "✗" in text
        assert len(parts[-1].buttons) == len(consortium["citations"])

        # the same in Spanish, partners separated by ';', types in words
        consortium_es = assistant.consortium(
            [{"name": "UNAM", "country": "México", "type": "HES"}, {"name": "CSIC", "country": "España", "type": "REC"}],
            "CSA", "he", "es")
        fake.queue(fake.private_message(98, "/eligibility CSA UNAM, México, universidad; CSIC, España, "
                                            "organismo de investigación", language="es"))
        parts = await reply(fake, 98, 0)
        text = "\n".join(p.text for p in parts)
        assert text.startswith("Consorcio de 2 socio(s) — CSA (Horizonte Europa)\n\n" + consortium_es["answer"])

        # errors: clear messages in the user's language, never a stack trace
        fake.queue(fake.private_message(99, "/eligibility Atlantis"))
        [error] = await fake.wait_for("sendMessage", chat_id=99)
        assert error.text.startswith("Unknown country: 'Atlantis'.")
        assert error.text.endswith("Type /eligibility to see how to write it.") and not error.buttons
        fake.queue(fake.private_message(100, "/eligibility Mexco universidad", language="es"))
        [error] = await fake.wait_for("sendMessage", chat_id=100)
        assert error.text.startswith("País desconocido: 'Mexco'. ¿Quiso decir México?")
        fake.queue(fake.private_message(101, "/eligibility RIA\nUNAM, Mexico, HES\nTU Delft, Netherlands, college"))
        [error] = await fake.wait_for("sendMessage", chat_id=101)
        assert error.text.startswith("On line “TU Delft, Netherlands, college”, “college” is not a type")
        fake.queue(fake.private_message(102, "/eligibility"))
        [usage] = await fake.wait_for("sendMessage", chat_id=102)
        assert usage.text.startswith("One country: /eligibility COUNTRY [TYPE] [ACTION]")
        for call in fake.sent():
            assert "Traceback" not in call.text and "Sorry, something went wrong" not in call.text
