"""The Telegram bot: build the Application, run it alone or inside the API process.

    TELEGRAM_BOT_TOKEN=123:abc eumex telegram                 # long polling, in its own process
    TELEGRAM_BOT_TOKEN=123:abc EUMEX_TELEGRAM_IN_API=true eumex serve   # inside the web API process

Either way the bot shares one Assistant (one index) and the web's feedback store. See docs/telegram.md.
"""

from __future__ import annotations

import logging

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.error import InvalidToken
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from assistant.answer import Assistant
from assistant.config import Settings
from assistant.errors import ConfigError
from bots.feedback import FeedbackStore
from bots.ratelimit import RateLimiter
from bots.telegram.access import Access, BotStore
from bots.telegram.handlers import (
    ADMIN_COMMANDS,
    MENU,
    Services,
    gate,
    on_error,
    question,
    source_button,
)
from bots.telegram.memory import ChatMemory
from bots.telegram.messages import TEXT, t

log = logging.getLogger("eumex.telegram")
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
CONCURRENT_UPDATES = 8  # answers run in threads; the Assistant itself limits CPU work to 2 at a time


def _token(settings: Settings) -> str:
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value().strip():
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set - create a bot with @BotFather and export its token "
            "(see docs/telegram.md)."
        )
    return settings.telegram_bot_token.get_secret_value().strip()


def _file_url(base_url: str) -> str:
    """The file base URL that goes with a Bot API base URL ('…/bot' -> '…/file/bot')."""
    return base_url[: -len("bot")] + "file/bot" if base_url.endswith("/bot") else base_url


class RedactToken(logging.Filter):
    """Replace the token in log lines (python-telegram-bot logs the API URL, token included, at DEBUG)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<TELEGRAM_BOT_TOKEN>"), None
        return True


def keep_token_out_of_logs(token: str) -> None:
    """Quiet httpx/httpcore (their lines carry request URLs) and redact the token from telegram's loggers."""
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    roots = {"telegram", "httpx", "httpcore"}
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in roots]
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactToken) and f.token == token for f in logger.filters):
            logger.addFilter(RedactToken(token))


def build_application(
    settings: Settings, assistant: Assistant, feedback: FeedbackStore | None = None
) -> Application:  # type: ignore[type-arg]
    """Wire the handlers around one Assistant; `feedback` is the web's store when running inside the API."""
    token = _token(settings)
    keep_token_out_of_logs(token)
    store = BotStore(settings.telegram_path)
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_base_url)
        .base_file_url(_file_url(settings.telegram_base_url))
        .rate_limiter(AIORateLimiter(max_retries=2))
        .concurrent_updates(CONCURRENT_UPDATES)
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .post_init(register_commands)
        .build()
    )
    application.bot_data["eumex"] = Services(
        settings=settings,
        assistant=assistant,
        feedback=feedback or FeedbackStore(settings.feedback_path),
        store=store,
        access=Access(settings.telegram_allowed_ids, settings.telegram_admin_ids, store),
        memory=ChatMemory(),
        limiter=RateLimiter(settings.telegram_questions_per_minute),
    )
    application.add_handler(TypeHandler(Update, gate), group=-1)
    for name, callback in (*MENU, *ADMIN_COMMANDS):
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, question))
    application.add_handler(CallbackQueryHandler(source_button))
    application.add_error_handler(on_error)
    return application


async def register_commands(application: Application) -> None:  # type: ignore[type-arg]
    """Publish the command menu in English (the default) and Spanish (language_code "es")."""
    for lang in TEXT:
        commands = [BotCommand(name, t(lang, f"cmd_{name}")) for name, _ in MENU]
        await application.bot.set_my_commands(commands, language_code=None if lang == "en" else lang)


async def start_bot(
    settings: Settings, assistant: Assistant, feedback: FeedbackStore | None = None
) -> Application:  # type: ignore[type-arg]
    """Start polling inside a running event loop (the API lifespan); stop it with :func:`stop_bot`."""
    application = build_application(settings, assistant, feedback)
    try:
        await application.initialize()
    except InvalidToken as exc:
        raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN - check it with @BotFather.") from exc
    await register_commands(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3)
    log.info("Telegram bot @%s is polling", application.bot.username)
    return application


async def stop_bot(application: Application) -> None:  # type: ignore[type-arg]
    """Stop polling and shut the bot down."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


def run(settings: Settings) -> None:
    """`eumex telegram`: build the assistant, then poll until Ctrl+C."""
    from assistant.pipeline import build_pipeline, start

    _token(settings)  # fail before loading the index
    assistant = build_pipeline(settings)
    start(assistant)  # IndexNotReady says: run `eumex ingest`; then the models and vectors are loaded
    application = build_application(settings, assistant)
    log.info("Telegram bot starting (Ctrl+C stops it)")
    try:
        application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3)
    except InvalidToken as exc:
        raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN - check it with @BotFather.") from exc
