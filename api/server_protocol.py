"""Stalled connections are closed (issue 19): uvicorn has a keep-alive timeout but no read timeout, so a
socket that sent nothing, part of its headers or part of its body stayed open for ever (19,900 of them
in the hostile run). `guarded(protocol)` is uvicorn's HTTP protocol (h11 or httptools) with a deadline:
a request must arrive whole within `REQUEST_READ_TIMEOUT` seconds (default 10) of its first byte (or of
the connection, for one that sends nothing); past it, the connection is closed. The app then sees the
client gone (`http.disconnect`), which `api.middleware.Gate` answers quietly: no traceback.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scoring.config import settings

log = logging.getLogger(__name__)

def read_timeout() -> float:
    """`REQUEST_READ_TIMEOUT` in seconds, default 10 (a form's call arrives in milliseconds)."""
    return settings().request_read_timeout


def guarded(base: type) -> type:
    """A subclass of uvicorn's protocol class `base` that closes a connection whose request is too slow."""
    timeout = read_timeout()

    class Guarded(base):  # type: ignore[misc, valid-type]
        _deadline: asyncio.TimerHandle | None = None
        _armed_for: Any = None  # the request cycle current when the deadline was armed

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            cycle = getattr(self, "cycle", None)
            if self._deadline is None and (cycle is None or cycle.response_complete):
                self._arm()  # the first byte of a new request
            super().data_received(data)
            cycle = getattr(self, "cycle", None)
            if (self._deadline is not None and cycle is not None and cycle is not self._armed_for
                    and not cycle.more_body):
                self._disarm()  # the request arrived whole

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._armed_for = getattr(self, "cycle", None)
            self._deadline = self.loop.call_later(timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded


def protocol_class() -> type:
    """uvicorn's fastest available HTTP protocol (httptools, else h11), guarded."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return guarded(HttpToolsProtocol)
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return guarded(H11Protocol)
