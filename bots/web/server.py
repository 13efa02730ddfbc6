"""How `eumex serve` runs the app: uvicorn with a request-head timeout, a connection limit and keep-alive
settings (EUMEX_HTTP_*), and X-Forwarded-For trusted only from the reverse proxy (EUMEX_FORWARDED_ALLOW_IPS).

uvicorn closes idle keep-alive connections but has no timeout for a request head that arrives slowly (or never):
a client could hold connections open with a few bytes each. :func:`header_timeout_protocol` adds one: a
connection must complete each request head within ``seconds`` of opening (or of its previous response).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from assistant.config import Settings


def header_timeout_protocol(seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, closing a connection whose request head is not complete in time."""

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        header_timeout_s = seconds

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._head_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.logger.info("closing a connection whose request head took over %.0f s", self.header_timeout_s)
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this keep-alive connection has the same time for its head

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol


def uvicorn_config(app: Any, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """The uvicorn configuration of `eumex serve`."""
    proxies = settings.forwarded_allow_ip_list
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        http=header_timeout_protocol(settings.http_header_timeout_s),
        timeout_keep_alive=max(1, round(settings.http_keep_alive_s)),
        limit_concurrency=settings.http_max_connections,
        backlog=min(2048, max(64, settings.http_max_connections)),
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        server_header=False,
    )


def serve(app: Any, settings: Settings, host: str, port: int) -> None:
    uvicorn.Server(uvicorn_config(app, settings, host, port)).run()
