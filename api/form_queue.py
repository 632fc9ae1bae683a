"""The form's event queue kept alive under abuse (issue 19): bounded, abandoned events dropped, watched.

Gradio keeps the messages of each session's events until the client reads them, in an LRU of 2,000
sessions; every `POST /gradio_api/call/<name>` opens a session of its own. A flood of unread calls
evicts sessions whose events are still queued; the next message for one raised `KeyError` in
`Queue.send_message`, which stopped Gradio's processing task for good ("Queue is stopped" on every
form call until a restart, while /health said "ok"). Here:

- `send_message` drops the messages of an evicted (abandoned) session and marks its event dead,
  so nothing more is computed for it;
- the queue holds at most `FORM_QUEUE_MAX` events (503 "queue full" past it: bounded work overall);
  a client's own rate is bounded by `api.middleware` (429);
- `QueueGuard.health()` is part of /health ("degraded" when the queue is stopped), and `watch()`
  restarts a stopped queue within a second (the process keeps serving; no supervisor needed).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scoring.config import settings

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0


def queue_max() -> int:
    """`FORM_QUEUE_MAX` (events waiting at once, every client together), default 64: ~5 ms each, a third
    of a second of work."""
    return settings().form_queue_max


class QueueGuard:
    """Bounds, patches and watches the Gradio queue of `blocks` (call `install` before mounting)."""

    def __init__(self, blocks: Any, max_size: int | None = None):
        self.blocks = blocks
        self.max_size = max_size or queue_max()
        self.revived = 0
        self.dropped = 0
        self._closing = False

    def install(self) -> QueueGuard:
        self.blocks.queue(max_size=self.max_size, default_concurrency_limit=1)
        queue = self.blocks._queue

        def send_message(event: Any, event_message: Any) -> None:
            if not event.alive:
                return
            event_message.event_id = event._id
            messages = queue.pending_messages_per_session.get(event.session_hash)
            if messages is None:  # the session was evicted: nobody will read this event any more
                event.alive = False
                self.dropped += 1
                return
            messages.put_nowait(event_message)

        queue.send_message = send_message
        return self

    @property
    def queue(self) -> Any:
        return self.blocks._queue

    def health(self) -> dict[str, Any]:
        queue = self.queue
        stopped = bool(getattr(queue, "stopped", False))
        return {"status": "degraded" if stopped else "ok", "waiting": len(queue), "max_size": self.max_size,
                "revived": self.revived, "abandoned_dropped": self.dropped}

    def revive(self) -> bool:
        """Restart a stopped queue (a running event loop is required); True when it was stopped."""
        queue = self.queue
        if not queue.stopped or self._closing or queue.server_app is None:
            return False
        log.error("the form's queue had stopped: restarting it")
        queue.stopped = False
        queue.start()
        self.revived += 1
        return True

    async def watch(self) -> None:
        """Revive the queue whenever it stops, until `close`."""
        while not self._closing:
            await asyncio.sleep(WATCH_INTERVAL_S)
            try:
                self.revive()
            except Exception as exc:  # noqa: BLE001 - the watchdog must not die; /health says degraded
                log.error("the form's queue could not be restarted: %r", exc)

    def close(self) -> None:
        self._closing = True
