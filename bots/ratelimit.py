"""Per-client limits: a token bucket (`limit` requests per minute, refilled continuously), and how many requests
a client may have in progress at once."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """In-memory and per process; enough for one server, not for a fleet."""

    def __init__(self, per_minute: int, max_clients: int = 10_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def acquire(self, key: str, now: float | None = None) -> int | None:
        """Take one token for `key`; return None when allowed, else the seconds to wait (Retry-After)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)  # forget the least recently seen client
        return None if allowed else max(1, math.ceil((1.0 - tokens) / self.rate))


class InProgress:
    """How many requests each client has in progress; ``enter`` refuses one past ``limit`` (None).

    The rate limit counts requests a minute; this bounds the work one client holds at once, so a client
    cannot queue a minute's worth of heavy questions in one burst (in memory and per process)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, key: str) -> Callable[[], None] | None:
        """Count one more request for `key` and return its release (safe to call twice), or None."""
        with self._lock:
            if self._counts.get(key, 0) >= self.limit:
                return None
            self._counts[key] = self._counts.get(key, 0) + 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                left = self._counts.get(key, 1) - 1
                if left > 0:
                    self._counts[key] = left
                else:
                    self._counts.pop(key, None)

        return release

    def count(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)
