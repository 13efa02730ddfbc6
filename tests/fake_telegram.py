"""A fake Telegram Bot API server on 127.0.0.1 (aiohttp), for end-to-end bot tests with real polling.

    async with FakeTelegram(token) as fake:          # base URL for PTB: fake.base_url
        fake.queue(fake.private_message(7, "hello"))  # served by the next getUpdates
        call = await fake.wait_for("sendMessage", chat_id=7)

It answers getMe, deleteWebhook, getUpdates (long polling over queued updates), sendMessage,
editMessageText, sendChatAction, answerCallbackQuery and setMyCommands, records every call
(method and decoded parameters), and refuses any other token with 401 like Telegram does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 4242
BOT_USERNAME = "eumex_test_bot"
JSON_FIELDS = {"reply_markup", "commands", "entities", "link_preview_options", "reply_parameters", "scope"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


class FakeTelegram:
    """Records calls; serves queued updates to getUpdates."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.fetched = 0  # highest update id the bot has confirmed by asking for the next ones

    # --- server ----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)  # access logs would carry the token
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            value = str(value)
            params[key] = json.loads(value) if key in JSON_FIELDS else value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            refusal = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return web.json_response(refusal, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        if method != "getUpdates":
            self.calls.append(Call(method, params))
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404
            )
        return web.json_response({"ok": True, "result": await handler(params)})

    # --- Bot API methods -------------------------------------------------------------------------
    async def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "EUMEX", "username": BOT_USERNAME,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def _sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def _answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.fetched = max(self.fetched, offset - 1)  # the bot asks past what it has received
        wait = min(float(params.get("timeout") or 0), 0.5)  # short long-polls keep shutdown fast
        deadline = time.monotonic() + wait
        while True:
            pending = [u for u in self.updates if u["update_id"] >= offset]
            if pending or time.monotonic() >= deadline:
                return pending
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                pass

    def _bot_message(self, params: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "EUMEX", "username": BOT_USERNAME},
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_message(params)

    async def _editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_message(params, int(params["message_id"]))

    # --- updates the tests send ------------------------------------------------------------------
    def queue(self, update: dict[str, Any]) -> dict[str, Any]:
        """Make `update` (without update_id) the next one getUpdates serves; return it."""
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        self._new_update.set()
        return update

    def message(
        self, chat_id: int, user_id: int, text: str, *, language: str = "en",
        entities: list[dict[str, Any]] | None = None, reply_to: dict[str, Any] | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """A text message update; negative chat ids are groups."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup", "title": "Group"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}",
                     "language_code": language, **({"username": username} if username else {})},
            "text": text,
        }
        if text.startswith("/"):
            command = {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            entities = [command, *(entities or [])]
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"message": message}

    def private_message(self, user_id: int, text: str, language: str = "en") -> dict[str, Any]:
        return self.message(user_id, user_id, text, language=language)

    def mention(self, chat_id: int, user_id: int, question: str) -> dict[str, Any]:
        """A group message that starts with @bot."""
        handle = f"@{BOT_USERNAME}"
        entity = {"type": "mention", "offset": 0, "length": len(handle)}
        return self.message(chat_id, user_id, f"{handle} {question}", entities=[entity])

    def button_press(self, user_id: int, sent: Call, data: str) -> dict[str, Any]:
        """A callback query: `user_id` pressed the button with `data` under the bot's message `sent`."""
        message = self._bot_message(sent.params, 999_999)
        return {"callback_query": {
            "id": str(next(self._update_ids) + 10_000), "chat_instance": "ci",
            "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"},
            "message": message, "data": data,
        }}

    # --- assertions --------------------------------------------------------------------------------
    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    async def wait_for(
        self, method: str = "sendMessage", chat_id: int | None = None, count: int = 1, timeout: float = 60,
        contains: str | None = None,
    ) -> list[Call]:
        """Wait until at least `count` matching calls were made; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            calls = [c for c in self.sent(method, chat_id) if contains is None or contains in c.text]
            if len(calls) >= count:
                return calls
            if time.monotonic() > deadline:
                seen = [(c.method, c.chat_id, c.text[:80]) for c in self.calls]
                raise AssertionError(
                    f"no {count}x {method} to {chat_id} (contains={contains!r}) in {timeout}s; calls: {seen}"
                )
            await asyncio.sleep(0.05)

    async def settle(self, seconds: float = 0.5, timeout: float = 30) -> None:
        """Wait until the bot has fetched every queued update, then `seconds` more for it to act on them
        (used before asserting that nothing happened)."""
        last = max((u["update_id"] for u in self.updates), default=0)
        deadline = time.monotonic() + timeout
        while self.fetched < last:
            assert time.monotonic() < deadline, f"the bot did not fetch update {last} in {timeout}s"
            await asyncio.sleep(0.05)
        await asyncio.sleep(seconds)
