"""A tiny OpenAI-compatible server on 127.0.0.1: scripted chat replies (recording each request whole: the
prompts, ``response_format``, ``max_tokens``) and random /v1/embeddings.

Each scripted reply is a function of the request's messages, so a test can build its reply from the
passages the assistant actually sent (e.g. cite the passage, or the numbered sentence, that holds a known
sentence). Streamed replies come in small pieces; ``hold_after`` holds the rest of a reply back until the
test sets ``release``, so a test can see what the assistant released before the reply ended.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

Reply = Callable[[list[dict]], str] | str
HOLD_LIMIT_S = 30.0


@dataclass
class FakeLLM:
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    fail_with: int | None = None  # answer every request with this HTTP status
    base_url: str = ""
    default: Reply | None = None  # the reply when nothing is queued (None: "NOT_FOUND")
    hold_after: str | None = None  # stream a reply up to the end of this text, then wait for `release`
    holding: threading.Event = field(default_factory=threading.Event)  # set while a reply is held back
    release: threading.Event = field(default_factory=threading.Event)

    def enqueue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def next_reply(self, messages: list[dict]) -> str:
        reply = self.replies.pop(0) if self.replies else (self.default or "NOT_FOUND")
        return reply(messages) if callable(reply) else reply


def passage_number(messages: list[dict], needle: str) -> int:
    """The [n] of the passage in the prompt whose text contains needle (whitespace-insensitive)."""
    user = messages[-1]["content"]
    for block in re.split(r"\n\n(?=\[\d+\] )", user.split("Passages:\n", 1)[1]):
        m = re.match(r"\[(\d+)\] ", block)
        if m and " ".join(needle.split()) in " ".join(block.split()):
            return int(m.group(1))
    raise AssertionError(f"no passage contains {needle!r}")


def sentence_id(messages: list[dict], needle: str) -> str:
    """The id ("2.3") of the numbered sentence in the prompt that contains needle (structured mode)."""
    for line in messages[-1]["content"].splitlines():
        m = re.match(r"(\d+\.\d+) (.+)", line)
        if m and " ".join(needle.split()) in m.group(2):
            return m.group(1)
    raise AssertionError(f"no numbered sentence contains {needle!r}")


def sentences_given(messages: list[dict]) -> dict[str, str]:
    """Every numbered sentence the prompt gives: id -> sentence, in order."""
    return dict(re.findall(r"^(\d+\.\d+) (.+)$", messages[-1]["content"], re.MULTILINE))


def claims(*items: tuple[list[str], str], found: bool = True) -> str:
    """A structured reply: (evidence ids, text) per claim."""
    return json.dumps({"found": found, "claims": [{"evidence": ids, "text": text} for ids, text in items]})


def judge_reply(generated_question: str) -> Callable[[list[dict]], str]:
    """A reply for ragas' judge prompts: every answer splits into two statements, the first supported by
    the context and the second not (faithfulness 0.5); the question generated back from an answer is
    ``generated_question`` (answer relevancy 1.0 when it is the question asked); anything else NOT_FOUND."""

    def reply(messages: list[dict]) -> str:
        prompt = messages[-1]["content"]
        if "Break down each sentence into one or more fully understandable statements" in prompt:
            return json.dumps({"statements": ["First statement.", "Second statement."]})
        if "judge the faithfulness of a series of statements" in prompt:
            return json.dumps({"statements": [
                {"statement": "First statement.", "reason": "stated in the context", "verdict": 1},
                {"statement": "Second statement.", "reason": "not in the context", "verdict": 0},
            ]})
        if "Generate a question for the given answer" in prompt:
            return json.dumps({"question": generated_question, "noncommittal": 0})
        return "NOT_FOUND"

    return reply


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            fake.requests.append(body)
            if self.path.endswith("/embeddings"):
                rng = np.random.default_rng(len(fake.requests))
                data = [{"index": i, "embedding": rng.normal(size=8).tolist()} for i in range(len(body["input"]))]
                self._json({"object": "list", "data": data, "model": body["model"]})
                return
            if fake.fail_with:
                self.send_response(fake.fail_with)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"error": {"message": "scripted failure"}}')
                return
            text = fake.next_reply(body["messages"])
            if body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                held = fake.hold_after
                cut = text.index(held) + len(held) if held and held in text else len(text)
                self._pieces(body, text[:cut])
                if cut < len(text):
                    fake.holding.set()
                    fake.release.wait(HOLD_LIMIT_S)  # a bound, so that a failing test fails instead of hanging
                    fake.holding.clear()
                    self._pieces(body, text[cut:])
                end = {"id": "c1", "object": "chat.completion.chunk", "model": body["model"], "created": 0,
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                return
            self._json({
                "id": "c1", "object": "chat.completion", "model": body["model"], "created": 0,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })

        def _pieces(self, body: dict, text: str) -> None:
            for i in range(0, len(text), 12):  # stream in small pieces, like a real model
                delta = {"role": "assistant", "content": text[i : i + 12]}  # OpenAI's chunks name the role
                chunk = {
                    "id": "c1", "object": "chat.completion.chunk", "model": body["model"], "created": 0,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())

        def _json(self, data: dict) -> None:
            payload = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def fake_llm_server() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield fake
    finally:
        server.shutdown()
