"""Stalled connections are closed (issue 19): uvicorn has a keep-alive timeout but no read timeout, so a
socket that sent nothing, part of its headers or part of its body stayed open for ever (19,900 of them
in the hostile run). `guarded(protocol)` is uvicorn's HTTP protocol (h11 or httptools) with a deadline:
a request must arrive whole within `REQUEST_READ_TIMEOUT` seconds (default 10) of its first byte (or of
the connection, for one that sends nothing); past it (within a quarter of the timeout, at most 1 s),
the connection is closed. The app then sees the client gone (`http.disconnect`), which
`api.middleware.Gate` answers quietly: no traceback.

The same protocol sends each response's head (status line and headers) with its body in one write
(`HeadWithBody`): uvicorn writes them one after the other, two system calls and two TCP segments for
every answer, which the client then reads in two wake-ups; on the loopback the second write cost a
lean `POST /api/predict` ~7 % of its server time (py-spy under wrk, docs/performance.md).
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


HEAD_MAX = 16 * 1024  # a response head longer than this is written at once


class HeadWithBody:
    """A connection's transport that holds a response's head until the next write (its body) and sends both
    in one `write`. Nothing is reordered or lost: a held head leaves with the next write, before a close,
    or at the end of the event loop's current pass (`call_soon`) when no body follows at once (a streamed
    answer, HEAD, 204); "100 Continue" is never held (the client waits for it to send its body)."""

    __slots__ = ("_transport", "_loop", "_head")

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
        elif (len(data) <= HEAD_MAX and data.endswith(b"\r\n\r\n") and data.startswith(b"HTTP/1.1 ")
              and not data.startswith(b"HTTP/1.1 100 ")):
            self._head = data
            self._loop.call_soon(self._release)
        else:
            self._transport.write(data)

    def _release(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            if not self._transport.is_closing():  # the client left meanwhile: nothing to send
                self._transport.write(head)

    def writelines(self, data: Any) -> None:
        self._release()
        self._transport.writelines(data)

    def write_eof(self) -> None:
        self._release()
        self._transport.write_eof()

    def close(self) -> None:
        self._release()
        self._transport.close()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading, set_protocol, ...
        return getattr(self._transport, name)


def guarded(base: type) -> type:
    """A subclass of uvicorn's protocol class `base` that closes a connection whose request is too slow.

    Each connection notes when the request it is reading began (a float: no timer per request, which cost
    ~2 % of a lean call); one sweep every `min(1 s, timeout / 4)` closes those past the timeout, so a
    stalled connection is closed between `timeout` and `timeout + tick` seconds."""
    timeout = read_timeout()
    tick = min(1.0, timeout / 4)
    reading: set[Any] = set()  # the open connections of this process (one event loop)
    sweeping = False

    def sweep(loop: asyncio.AbstractEventLoop) -> None:
        nonlocal sweeping
        now = loop.time()
        for conn in [c for c in reading if c._since is not None and now - c._since > timeout]:
            reading.discard(conn)
            conn._since = None
            if not conn.transport.is_closing():
                conn.transport.close()
        sweeping = bool(reading)
        if sweeping:
            loop.call_later(tick, sweep, loop)

    class Guarded(base):  # type: ignore[misc, valid-type]
        _since: float | None = None  # loop time at the first byte of the request being read; None: none
        _armed_for: Any = None  # the request cycle current when `_since` was set

        def connection_made(self, transport: Any) -> None:
            nonlocal sweeping
            super().connection_made(HeadWithBody(transport, self.loop))
            self._arm()
            reading.add(self)
            if not sweeping:
                sweeping = True
                self.loop.call_later(tick, sweep, self.loop)

        def data_received(self, data: bytes) -> None:
            cycle = getattr(self, "cycle", None)
            if self._since is None and (cycle is None or cycle.response_complete):
                self._arm()  # the first byte of a new request
            super().data_received(data)
            if self._since is not None:
                cycle = getattr(self, "cycle", None)
                if cycle is not None and cycle is not self._armed_for and not cycle.more_body:
                    self._since = None  # the request arrived whole

        def connection_lost(self, exc: Exception | None) -> None:
            reading.discard(self)
            self._since = None
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._armed_for = getattr(self, "cycle", None)
            self._since = self.loop.time()

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
