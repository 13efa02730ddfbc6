"""Bounds on the work one question may cost: a deadline, a way to stop it, and the CPU slots it waits for.

A channel runs an answer inside :func:`bounded` (a deadline in seconds, a ``threading.Event`` it sets when
the client goes away, and who the client is); the core calls :func:`checkpoint` between stages and waits for a
CPU slot with :class:`CpuSlots`, so work that nobody waits for any more stops at the next stage instead of
running to its end (a queued request stops before it starts)::

    stop = threading.Event()
    with bounded(settings.answer_deadline_s, stop, client="203.0.113.7"):
        answer = assistant.ask(question)        # WorkStopped when stop is set or the deadline passes

The slots are shared fairly. Work is *heavy* when its question was cut to the token limit (the core calls
:func:`mark_heavy`) or when its client used the slots for more than ``HEAVY_AFTER_S`` lately (slot-seconds,
halving every ``HALF_LIFE_S``). Heavy work gets one of the two slots, and only when no other request waits for
one: clients sending the most expensive questions they can keep at most one core busy, and a normal user's
question does not queue behind theirs (bench/abuse.py, docs/benchmarks.md).

The budget lives in a context variable, so it follows the work into ``asyncio.to_thread`` and nothing
else sees it; code that runs outside :func:`bounded` (the CLI, evaluations, tests) is never stopped.
"""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from assistant.errors import DeadlineExceeded, WorkCancelled

WAIT_STEP_S = 0.05  # how often a request waiting for a CPU slot looks at its budget
HALF_LIFE_S = 10.0  # a client's recent use of the CPU slots halves every 10 s
# Slot-seconds after which a client is heavy. A person asking an ordinary question every 2 s (the rate limit)
# holds ~0.6 (0.08 s each); a client sending questions just under the token limit at that rate (0.25 s each)
# passes it within 10 s.
HEAVY_AFTER_S = 1.0


@dataclass
class Budget:
    """A deadline (``time.monotonic()`` seconds, or None) and a stop flag, for one request's work."""

    deadline: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    client: str | None = None  # who asked (a channel's key for the client), for the fair share of the CPU
    heavy: bool = False  # this request is known to be expensive (mark_heavy)

    def check(self) -> None:
        if self.stop.is_set():
            raise WorkCancelled("The request was cancelled (the client went away).")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded(
                "The answer took too long and was stopped. Please try again, or ask a shorter question."
            )

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


_budget: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("eumex_budget", default=None)


def current() -> Budget | None:
    """The budget of the work running in this context, if any."""
    return _budget.get()


def mark_heavy() -> None:
    """Say that the work running in this context is expensive (its question was cut to the token limit): its
    stages then wait for the heavy share of the CPU slots."""
    budget = _budget.get()
    if budget is not None:
        budget.heavy = True


def checkpoint() -> None:
    """Stop here (WorkCancelled, DeadlineExceeded) when this work's client left or its deadline passed."""
    budget = _budget.get()
    if budget is not None:
        budget.check()


@contextmanager
def bounded(
    seconds: float | None,
    stop: threading.Event | None = None,
    started: float | None = None,
    client: str | None = None,
) -> Iterator[Budget]:
    """Run the enclosed work under a deadline of ``seconds`` (None: no deadline) counted from ``started``
    (a ``time.monotonic()`` value; default now: a request's deadline counts from its arrival, not from when a
    worker thread picked it up), and the ``stop`` flag, on behalf of ``client``."""
    start = time.monotonic() if started is None else started
    budget = Budget(None if seconds is None else start + seconds, stop or threading.Event(), client)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


class Usage:
    """Slot-seconds each client held lately, decaying exponentially (in memory; the least recent forgotten)."""

    def __init__(self, half_life_s: float = HALF_LIFE_S, max_clients: int = 10_000) -> None:
        self.rate = math.log(2) / half_life_s
        self.max_clients = max_clients
        self._used: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (slot-seconds, as of)
        self._lock = threading.Lock()

    def recent(self, client: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            used, at = self._used.get(client, (0.0, now))
        return used * math.exp(-self.rate * (now - at))

    def add(self, client: str, seconds: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            used, at = self._used.pop(client, (0.0, now))
            self._used[client] = (used * math.exp(-self.rate * (now - at)) + seconds, now)
            while len(self._used) > self.max_clients:
                self._used.popitem(last=False)


class CpuSlots:
    """At most ``n`` CPU-bound stages at a time. Heavy work - a request marked heavy (:func:`mark_heavy`: its
    question was cut to the token limit) or from a heavy client (see the module's docstring) - takes at most
    ``heavy`` of the slots, and only when no other request is waiting for one: an ordinary question never queues
    behind an expensive one. A request waiting for a slot gives up as soon as its client leaves or its deadline
    passes, so abandoned requests never reach the CPU. Without a budget (the CLI, evaluations) work is never
    stopped and counts for nobody."""

    def __init__(self, n: int = 2, heavy: int = 1, heavy_after_s: float = HEAVY_AFTER_S) -> None:
        self.n = n
        self.heavy = max(1, min(heavy, n))
        self.heavy_after_s = heavy_after_s
        self.usage = Usage()
        self._cond = threading.Condition()
        self._running = 0
        self._running_heavy = 0
        self._waiting_light = 0
        self._held = threading.local()  # per thread: a stack of (client, heavy, since)

    def is_heavy(self, client: str | None) -> bool:
        return client is not None and self.usage.recent(client) > self.heavy_after_s

    def _free(self, heavy: bool) -> bool:
        if self._running >= self.n:
            return False
        return not heavy or (self._running_heavy < self.heavy and self._waiting_light == 0)

    def __enter__(self) -> CpuSlots:
        budget = _budget.get()
        client = budget.client if budget is not None else None
        heavy = (budget is not None and budget.heavy) or self.is_heavy(client)
        with self._cond:
            if not heavy:
                self._waiting_light += 1
            try:
                while not self._free(heavy):
                    self._cond.wait(WAIT_STEP_S if budget is not None else None)
                    if budget is not None:
                        budget.check()
                if budget is not None:
                    budget.check()
            finally:
                if not heavy:
                    self._waiting_light -= 1
                    self._cond.notify_all()  # heavy work may start now that no light request waits
            self._running += 1
            self._running_heavy += heavy
        stack = getattr(self._held, "stack", None)
        if stack is None:
            stack = self._held.stack = []
        stack.append((client, heavy, time.monotonic()))
        return self

    def __exit__(self, *exc: object) -> None:
        client, heavy, since = self._held.stack.pop()
        with self._cond:
            self._running -= 1
            self._running_heavy -= heavy
            self._cond.notify_all()
        if client is not None:
            self.usage.add(client, time.monotonic() - since)
