"""Audit lines for Gradio's own refusals (issue 19): a malformed payload to the form's event routes
(not JSON, `data` not a list, no `data`, an unknown `fn_index`) is answered by Gradio before any of
the form's code runs, so the form logs nothing; this layer, between the gate and the app, writes one
audit line for each such answer, like the API's refusals.

Only POSTs under `/gradio_api/` are watched (the API's routes pass straight through). An unknown
`fn_index` on `/gradio_api/queue/join`, which Gradio answers with a 500 (a `KeyError`), is refused
here with a 404 before Gradio sees it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]
AuditHook = Callable[..., None]  # (method, path, why, client=None): `ScoringService.audit_refusal`

WATCHED = "/gradio_api/"
QUEUE_JOIN = "/gradio_api/queue/join"
UNKNOWN_FN = b'{"detail":"no such form event (fn_index)"}'


class GradioRefusalAudit:
    """One audit line per 4xx/5xx answer of Gradio's event routes (see the module docstring)."""

    def __init__(self, app: ASGIApp, audit: AuditHook, fn_indices: frozenset[int] = frozenset()):
        self.app = app
        self.audit = audit
        self.fn_indices = fn_indices

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(WATCHED):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == QUEUE_JOIN and self.fn_indices:
            body, receive = await _read_body(receive)
            fn_index = _fn_index(body)
            if fn_index is not None and fn_index not in self.fn_indices:
                self._audit(scope, 404, "unknown fn_index")
                await send({"type": "http.response.start", "status": 404,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", b"%d" % len(UNKNOWN_FN))]})
                await send({"type": "http.response.body", "body": UNKNOWN_FN})
                return

        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                self._audit(scope, message["status"], "refused by Gradio (malformed form payload)")
            await send(message)

        await self.app(scope, receive, watching_send)

    def _audit(self, scope: Scope, status: int, why: str) -> None:
        client = (scope.get("state") or {}).get("client")
        self.audit(scope["method"], scope["path"][:200], f"{status}: {why}", client=client)


async def _read_body(receive: Any) -> tuple[bytes, Any]:
    """The whole body (the gate hands it over as one message, at most its limit) and a `receive`
    that gives it to the app again."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _fn_index(body: bytes) -> int | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    value = data.get("fn_index") if isinstance(data, dict) else None
    return value if type(value) is int else None
