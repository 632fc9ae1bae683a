"""A per-client token bucket for the form's event submissions (bounded work per client: issue 19).

A client is its identity when access control names one, else its IP address as the server sees it
(behind a proxy, every client shares the proxy's address: set the proxy's own limits, docs/security.md).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from scoring.config import settings

MAX_CLIENTS = 10_000  # buckets kept (least recently seen forgotten first)
EVENT_PREFIXES = ("/gradio_api/call/", "/gradio_api/queue/join", "/gradio_api/run/", "/gradio_api/api/")


class ClientRate:
    """`allow(client)`: True while `client` stays within `rate` events a second with bursts of `burst`."""

    def __init__(self, rate: float | None = None, burst: float | None = None):
        current = settings() if rate is None or burst is None else None
        self.rate = rate if rate is not None else current.form_rate  # an adviser clicks far less often
        self.burst = burst if burst is not None else current.form_rate_burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, time)
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
        return allowed
