"""What the bot does with each update: the access gate, commands, questions, source buttons, errors.

Handlers find the shared services in ``context.bot_data["eumex"]`` (:class:`Services`), put there once by
:func:`bots.telegram.app.build_application`. In a private chat any text is a question; in a group the
bot answers only when it is mentioned or replied to, and stays silent otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Bot, Message, Update, User
from telegram.constants import ChatType, MessageEntityType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from assistant.answer import Assistant
from assistant.config import Settings
from assistant.errors import IndexNotReady, QuestionError
from assistant.language import detect_language
from bots.feedback import FeedbackStore
from bots.ratelimit import RateLimiter
from bots.telegram.access import Access, BotStore, Decision
from bots.telegram.memory import ChatMemory
from bots.telegram.messages import t
from bots.telegram.render import parse_callback, source_card, sources_overview, split_message
from bots.telegram.reply import answer_eligibility, answer_partners, answer_question, answer_topics

log = logging.getLogger("eumex.telegram")
Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Awaitable[None]]
RATINGS = {
    "up": "up", "+": "up", "👍": "up", "good": "up", "bien": "up", "buena": "up",
    "down": "down", "-": "down", "👎": "down", "bad": "down", "mal": "down", "mala": "down",
}


@dataclass
class Services:
    """Everything the handlers share: one assistant, one feedback store (the web's), the bot's own state."""

    settings: Settings
    assistant: Assistant
    feedback: FeedbackStore
    store: BotStore
    access: Access
    memory: ChatMemory
    limiter: RateLimiter


def services(context: Context) -> Services:
    return context.bot_data["eumex"]  # type: ignore[no-any-return]


# --- language and addressing -----------------------------------------------------------------------
def _user_language(user: User | None) -> str:
    return "es" if user and (user.language_code or "").lower().startswith("es") else "en"


def chat_language(update: Update, s: Services) -> str:
    """The language of the bot's own messages: fixed with /lang, else the user's Telegram language."""
    chat = update.effective_chat
    return (s.store.language(chat.id) if chat else None) or _user_language(update.effective_user)


def question_text(message: Message, bot: Bot) -> str | None:
    """The question a message asks the bot, without the mention; None when it is not for the bot."""
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    names = []
    mentions = message.parse_entities([MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION])
    for entity, value in mentions.items():
        if entity.type == MessageEntityType.MENTION and value.lower() == f"@{bot.username}".lower():
            names.append(value)
        elif entity.type == MessageEntityType.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            names.append(value)
    replied = message.reply_to_message
    to_bot = bool(replied and replied.from_user and replied.from_user.id == bot.id)
    if not names and not to_bot:
        return None
    for name in names:
        text = re.sub(re.escape(name), " ", text, count=1, flags=re.IGNORECASE)
    return " ".join(text.split()).lstrip(",:").strip()


def _is_command_for(message: Message, bot: Bot) -> bool:
    first = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    if not first.startswith("/"):
        return False
    _, _, target = first.partition("@")
    return not target or target.lower() == (bot.username or "").lower()


def _addressed(update: Update, bot: Bot) -> bool:
    """Is the update meant for the bot (a private message, a command, a mention, a reply, a button)?"""
    if update.callback_query:
        return True
    message = update.message
    if message is None:
        return False
    return _is_command_for(message, bot) or question_text(message, bot) is not None


def _who(user: User) -> str:
    return user.full_name + (f" (@{user.username})" if user.username else "")


# --- the gate (runs before every other handler) ----------------------------------------------------
async def gate(update: Update, context: Context) -> None:
    """Let allowed users through; tell anyone else once, politely, then ignore them."""
    s = services(context)
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        raise ApplicationHandlerStop  # channel posts and the like
    if not _addressed(update, context.bot):
        return  # group chatter: the question handler stays silent anyway
    decision = s.access.check(user.id, chat.id)
    if decision is Decision.ALLOWED:
        return
    lang = _user_language(user)
    if update.callback_query:
        await update.callback_query.answer()
    elif decision is Decision.PAIRING:
        # told once per code, not once ever: a user refused before admins existed, or whose code expired,
        # gets a (new) code the next time they write
        ttl_s = s.settings.telegram_pairing_ttl_minutes * 60.0
        code, new = s.store.pairing_code(user.id, _who(user), ttl_s)
        if new:
            log.info("pairing code for user %s in chat %s", user.id, chat.id)
            await context.bot.send_message(chat.id, t(lang, "pairing", code=code))
            for admin in s.access.admins:
                try:
                    admin_lang = s.store.language(admin) or "en"
                    await context.bot.send_message(
                        admin, t(admin_lang, "admin_request", who=_who(user), user_id=user.id, code=code)
                    )
                except TelegramError as exc:  # the admin may never have started the bot
                    log.warning("could not notify admin %s of a pairing request: %s", admin, exc)
    elif s.store.first_refusal(user.id):
        log.info("refused user %s in chat %s (%s)", user.id, chat.id, decision.value)
        await context.bot.send_message(chat.id, t(lang, "not_allowed"))
    raise ApplicationHandlerStop


# --- questions and sources -------------------------------------------------------------------------
async def question(update: Update, context: Context) -> None:
    """Answer the question with cited sources."""
    s = services(context)
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    text = question_text(message, context.bot)
    if text is None:
        return
    fixed = s.store.language(message.chat_id)
    wait = s.limiter.acquire(str(update.effective_user.id))
    if wait is not None:
        lang = fixed or (detect_language(text) if text.strip() else chat_language(update, s))
        await message.reply_text(t(lang, "rate_limited", wait=wait))
        return
    group = message.chat.type != ChatType.PRIVATE
    await answer_question(s.assistant, s.memory, message, text, fixed or "auto", quote=group)


async def source_button(update: Update, context: Context) -> None:
    """Show the quote, document, programme, period and page behind a source button."""
    s = services(context)
    query = update.callback_query
    if query is None:
        return
    parsed = parse_callback(query.data)
    if parsed is None:  # not a button of ours (forged or garbled data): answered, so the client stops waiting
        await query.answer()
        return
    remembered = s.memory.get(parsed[0])
    citation = None
    if parsed and remembered:
        citation = next((c for c in remembered.answer.citations if c.n == parsed[1]), None)
    if citation is None or remembered is None or query.message is None:
        await query.answer(t(chat_language(update, s), "source_gone"), show_alert=True)
        return
    await query.answer()
    for part in split_message(source_card(citation, remembered.answer.language)):
        await context.bot.send_message(query.message.chat.id, part)


async def partners(update: Update, context: Context) -> None:
    """/partners QUERY: organisations and projects from the CORDIS data, cited by dataset row."""
    s = services(context)
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    query = " ".join(context.args or []).strip()
    fixed = s.store.language(message.chat_id)
    lang = fixed or (detect_language(query) if query else chat_language(update, s))
    if not query:
        await message.reply_text(t(lang, "partners_usage"))
        return
    if not s.assistant.has_partner_data:
        await message.reply_text(t(lang, "not_ready"))
        return
    wait = s.limiter.acquire(str(update.effective_user.id))
    if wait is not None:
        await message.reply_text(t(lang, "rate_limited", wait=wait))
        return
    await answer_partners(s.assistant, s.memory, message, query, lang, quote=message.chat.type != ChatType.PRIVATE)


# --- the structured tools: topics and eligibility -----------------------------------------------------
def command_body(message: Message) -> str:
    """Everything after the command word (/topics@bot …), line breaks kept."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def topics(update: Update, context: Context) -> None:
    """/topics IDEA: the Horizon Europe topics that fit a research idea (the best five), cited."""
    s = services(context)
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    idea = command_body(message)
    fixed = s.store.language(message.chat_id)
    lang = fixed or (detect_language(idea) if idea else chat_language(update, s))
    if not idea:
        await message.reply_text(t(lang, "topics_usage"))
        return
    wait = s.limiter.acquire(str(update.effective_user.id))
    if wait is not None:
        await message.reply_text(t(lang, "rate_limited", wait=wait))
        return
    group = message.chat.type != ChatType.PRIVATE
    try:
        await answer_topics(s.assistant, s.memory, message, idea, lang, quote=group)
    except QuestionError as exc:  # e.g. an idea too long: the message says what to change
        await message.reply_text(str(exc), do_quote=group)


ENTITY_TYPES = ("HES", "REC", "PRC", "PUB", "OTH")
TYPE_WORDS = {  # what people write for a type of organisation, English and Spanish
    "university": "HES", "universidad": "HES", "uni": "HES", "higher education": "HES",
    "educación superior": "HES", "educacion superior": "HES",
    "research": "REC", "research organisation": "REC", "research organization": "REC", "research centre": "REC",
    "research center": "REC", "investigación": "REC", "investigacion": "REC", "organismo de investigación": "REC",
    "organismo de investigacion": "REC", "centro de investigación": "REC", "centro de investigacion": "REC",
    "company": "PRC", "business": "PRC", "sme": "PRC", "empresa": "PRC", "pyme": "PRC", "private": "PRC",
    "public": "PUB", "public body": "PUB", "government": "PUB", "público": "PUB", "publico": "PUB",
    "organismo público": "PUB", "organismo publico": "PUB", "gobierno": "PUB",
    "other": "OTH", "otro": "OTH", "ngo": "OTH", "ong": "OTH",
}
# (not "SE" alone for MSCA-SE: it is Sweden's country code)
ACTION_WORDS = {a: a for a in ("RIA", "IA", "CSA", "ERC", "MSCA-DN", "MSCA-PF", "MSCA-SE")}
PROGRAMME_WORDS = {"HE": "he", "HORIZON-EUROPE": "he", "H2020": "h2020", "HORIZON-2020": "h2020"}


def entity_type(word: str) -> str | None:
    """HES, REC, PRC, PUB or OTH from a code or a word (university, empresa…); None when it is neither."""
    w = " ".join(word.split()).strip(" .")
    return w.upper() if w.upper() in ENTITY_TYPES else TYPE_WORDS.get(w.lower())


def _option(word: str, request: EligibilityRequest) -> bool:
    """Take `word` as the action or the programme when it names one."""
    key = word.upper().strip(" .")
    if key in ACTION_WORDS:
        request.action = ACTION_WORDS[key]
    elif key in PROGRAMME_WORDS:
        request.programme = PROGRAMME_WORDS[key]
    else:
        return False
    return True


@dataclass
class EligibilityRequest:
    """What /eligibility asks: one country, or a consortium (partners), with the action and programme."""

    country: str = ""
    entity_type: str = "HES"
    partners: list[dict[str, str]] | None = None
    action: str = "RIA"
    programme: str = "he"
    problem: tuple[str, dict[str, str]] | None = None  # (message key, values) when a line is not understood


def parse_eligibility(body: str) -> EligibilityRequest:
    """`/eligibility COUNTRY [TYPE] [ACTION]`, or partner lines `NAME, COUNTRY, TYPE` (one per line, or
    separated by ';') with the action and programme as words of their own."""
    request = EligibilityRequest()
    entries = [part.strip() for line in body.splitlines() for part in line.split(";") if part.strip()]
    if entries and "," in entries[0]:  # "/eligibility RIA UNAM, MX, HES": the action before the first partner
        words = entries[0].split()
        while len(words) > 1 and "," not in words[0] and _option(words[0], request):
            words = words[1:]
        entries[0] = " ".join(words)
    partner_lines = [e for e in entries if "," in e]
    rest = [w for e in entries if "," not in e for w in e.split() if not _option(w, request)]
    if len(partner_lines) == 1 and not rest:  # "Mexico, HES": one country and its type, not a consortium
        fields = [f.strip() for f in partner_lines[0].split(",") if f.strip()]
        if len(fields) == 2 and entity_type(fields[1]):
            request.country, request.entity_type = fields[0], entity_type(fields[1]) or "HES"
            return request
    if partner_lines:
        request.partners = []
        if rest:  # words beside the partner lines that are neither an action nor a programme
            request.problem = ("eligibility_bad_line", {"line": " ".join(rest)})
            return request
        for line in partner_lines:
            fields = [f.strip() for f in line.split(",")]
            fields = [f for f in fields if f]
            kind = entity_type(fields[-1]) if fields else None
            if len(fields) >= 3:
                if kind is None:
                    request.problem = ("eligibility_bad_type", {"line": line, "value": fields[-1]})
                    return request
                name, country = ", ".join(fields[:-2]), fields[-2]
            elif len(fields) == 2:
                name, country = ("", fields[0]) if kind else (fields[0], fields[1])
            else:
                request.problem = ("eligibility_bad_line", {"line": line})
                return request
            request.partners.append({"name": name, "country": country, "type": kind or "HES"})
        return request
    # one country: the type is the last word (or two) that names one; the country is what is left
    for size in (2, 1):
        if len(rest) > size and entity_type(" ".join(rest[-size:])):
            request.entity_type = entity_type(" ".join(rest[-size:])) or "HES"
            rest = rest[:-size]
            break
    request.country = " ".join(rest)
    return request


async def eligibility(update: Update, context: Context) -> None:
    """/eligibility COUNTRY [TYPE] [ACTION], or a partner list: the verdict with each reason cited."""
    s = services(context)
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    lang = chat_language(update, s)
    request = parse_eligibility(command_body(message))
    if request.problem:
        key, values = request.problem
        await message.reply_text(t(lang, key, **values) + "\n\n" + t(lang, "eligibility_try"))
        return
    if not request.partners and not request.country:
        await message.reply_text(t(lang, "eligibility_usage"))
        return
    wait = s.limiter.acquire(str(update.effective_user.id))
    if wait is not None:
        await message.reply_text(t(lang, "rate_limited", wait=wait))
        return
    group = message.chat.type != ChatType.PRIVATE
    try:
        await answer_eligibility(
            s.assistant, s.memory, message, lang, quote=group, country=request.country,
            entity_type=request.entity_type, partners=request.partners or (), action=request.action,
            programme=request.programme,
        )
    except QuestionError as exc:  # an unknown country (with the closest name), type or action
        await message.reply_text(f"{exc}\n\n{t(lang, 'eligibility_try')}", do_quote=group)


# --- commands ---------------------------------------------------------------------------------------
async def start(update: Update, context: Context) -> None:
    """Say what the bot does."""
    if update.effective_message:
        await update.effective_message.reply_text(t(chat_language(update, services(context)), "start"))


async def help_command(update: Update, context: Context) -> None:
    """List the commands and how to ask, in groups too."""
    s = services(context)
    lang = chat_language(update, s)
    lines = [t(lang, "help_intro"), ""]
    lines += [f"/{name} — {t(lang, f'cmd_{name}')}" for name, _ in MENU]
    if update.effective_user and s.access.is_admin(update.effective_user.id):
        lines += [f"/{name} — {t(lang, f'cmd_{name}')}" for name, _ in ADMIN_COMMANDS]
    lines += ["", t(lang, "help_tools"), "", t(lang, "help_groups", username=context.bot.username)]
    if update.effective_message:
        await update.effective_message.reply_text("\n".join(lines))


async def set_language(update: Update, context: Context) -> None:
    """Fix the answer language of this chat: /lang en, /lang es, or /lang auto."""
    s = services(context)
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    choice = (context.args or [""])[0].lower()
    if choice in {"en", "es"}:
        s.store.set_language(chat.id, choice)
        await message.reply_text(t(choice, "lang_set"))
    elif choice == "auto":
        s.store.set_language(chat.id, None)
        await message.reply_text(t(chat_language(update, s), "lang_auto"))
    else:
        await message.reply_text(t(chat_language(update, s), "lang_usage"))


async def sources(update: Update, context: Context) -> None:
    """Say what the corpus covers and which key texts are missing, with their official URLs."""
    s = services(context)
    if update.effective_message is None:
        return
    for part in split_message(sources_overview(s.assistant.manifest, chat_language(update, s))):
        await update.effective_message.reply_text(part)


async def new_conversation(update: Update, context: Context) -> None:
    """Start a new conversation: later questions are no longer read as follow-ups."""
    s = services(context)
    if update.effective_chat is None or update.effective_message is None:
        return
    s.assistant.forget(s.memory.conversation_id(update.effective_chat.id))
    s.memory.new_conversation(update.effective_chat.id)
    await update.effective_message.reply_text(t(chat_language(update, s), "new"))


async def feedback(update: Update, context: Context) -> None:
    """Record a thumbs up or down on the chat's last answer (the same store as the web chat)."""
    s = services(context)
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    lang = chat_language(update, s)
    last = s.memory.last(chat.id)
    if last is None:
        await message.reply_text(t(lang, "feedback_nothing"))
        return
    args = context.args or []
    rating = RATINGS.get(args[0].lower()) if args else None
    if rating is None:
        await message.reply_text(t(lang, "feedback_usage"))
        return
    reason = " ".join(args[1:]).strip() or None
    answer = last.answer
    await asyncio.to_thread(
        s.feedback.add, last.conversation_id, rating, answer.answer, answer.question, reason
    )
    await message.reply_text(t(answer.language or lang, "feedback_thanks"))


async def approve(update: Update, context: Context) -> None:
    """Let an admin approve the user who holds a pairing code: /approve CODE."""
    s = services(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    lang = chat_language(update, s)
    if not s.access.is_admin(user.id):
        await message.reply_text(t(lang, "approve_not_admin"))
        return
    if not context.args:
        await message.reply_text(t(lang, "approve_usage"))
        return
    code = context.args[0].upper()
    approved = s.store.approve(code, user.id, s.settings.telegram_pairing_ttl_minutes * 60.0)
    if approved is None:
        await message.reply_text(t(lang, "approve_unknown", code=code))
        return
    user_id, name = approved
    await message.reply_text(t(lang, "approve_done", who=name, user_id=user_id))
    try:
        await context.bot.send_message(user_id, t(s.store.language(user_id) or "en", "approved_user"))
    except TelegramError as exc:
        log.warning("could not tell user %s about the approval: %s", user_id, exc)


# --- errors -----------------------------------------------------------------------------------------
async def on_error(update: object, context: Context) -> None:
    """Log the failure and tell the user something short and kind; the bot keeps running."""
    error = context.error
    if not isinstance(update, Update) or update.effective_chat is None:
        log.error("Telegram error outside an update: %s", error, exc_info=error)
        return
    s = services(context)
    if update.callback_query is not None:  # a button press is always answered, or the client keeps spinning
        try:
            await update.callback_query.answer()
        except TelegramError as exc:  # already answered, or too old
            log.debug("could not answer callback query: %s", exc)
    text = update.effective_message.text if update.effective_message else None
    fixed = s.store.language(update.effective_chat.id)
    lang = fixed or (detect_language(text) if text and not text.startswith("/") else chat_language(update, s))
    if isinstance(error, QuestionError):
        reply = str(error)  # already in the question's language
    elif isinstance(error, IndexNotReady):
        log.warning("update %s: %s", update.update_id, error)
        reply = t(lang, "not_ready")
    else:
        log.error("update %s failed", update.update_id, exc_info=error)
        reply = t(lang, "error")
    try:
        await context.bot.send_message(update.effective_chat.id, reply)
    except TelegramError as exc:
        log.warning("could not tell chat %s about an error: %s", update.effective_chat.id, exc)


# --- the command table ------------------------------------------------------------------------------
# The menu every user sees (setMyCommands, /help), in order; descriptions are `cmd_<name>` in messages.py.
MENU: tuple[tuple[str, Callback], ...] = (
    ("start", start),
    ("help", help_command),
    ("topics", topics),
    ("eligibility", eligibility),
    ("partners", partners),
    ("lang", set_language),
    ("sources", sources),
    ("new", new_conversation),
    ("feedback", feedback),
)
ADMIN_COMMANDS: tuple[tuple[str, Callback], ...] = (("approve", approve),)
