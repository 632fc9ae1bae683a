"""The app's one HTTP middleware, pure ASGI (FastAPI's `BaseHTTPMiddleware` halves a lean route's
throughput): in front of every route, the JSON API's and Gradio's alike.

- No upload: Gradio's upload routes answer 403 (the form takes no file).
- 405 (with `Allow`) for a wrong method on one of the API's routes (otherwise the request would fall
  through to the Gradio app mounted at "/" and get a 404).
- Access control (`api.auth.Access`, on when `API_TOKENS` or `FORM_USERS` is set): the API, the model's
  description, the docs and OpenAPI document, Gradio's monitoring and (without form users, whose login
  Gradio checks itself) Gradio's event routes answer 401 without an identity; the identity is put in
  `scope["state"]["client"]` for the log, and each refusal is one audit line (`audit`).
- Bounded work per client on the form's event routes (`api.rate_limit`): 429 past the client's rate.
- A body limit on every route: 413 for a declared `Content-Length` over the limit (the server
  never reads past a declared length), and for a chunked body (no length) as soon as it grows past
  the limit. Every body is read here (at most the limit) and handed to the app as one message; a
  client that leaves mid-body is dropped without reaching a route.
- Past every check, a request of a route in `direct` (`POST /api/predict`) goes to that route's own ASGI
  app (`api.direct_route.DirectRoute`) instead of through the app's stack and router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from api.auth import Access
from api.rate_limit import EVENT_PREFIXES, ClientRate

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_BODY_LIMIT = 64 * 1024  # one applicant with every model feature is ~15 KB; the form's calls ~1 KB
BLOCKED_PATHS = ("/gradio_api/upload", "/gradio_api/upload_progress", "/upload")
PROTECTED_PREFIXES = ("/api/", "/model/info", "/model/report", "/monitoring", "/openapi.json", "/docs", "/redoc")
# Gradio's own routes that run events or describe them; guarded by Gradio's login when FORM_USERS is set.
GRADIO_PREFIXES = ("/gradio_api/", "/config", "/file=", "/proxy=", "/gradio_api")
# The body types a browser sends cross-site without a preflight request (CORS "simple" requests).
CROSS_SITE_TYPES = (b"text/plain", b"application/x-www-form-urlencoded", b"multipart/form-data")
GRADIO_EVENT_PATHS = ("/gradio_api/call/", "/gradio_api/run/", "/gradio_api/api/")  # followed by the api_name
AuditHook = Callable[[str, str, str], None]  # (method, path, why): one audit line per refusal


def _json_response(status: int, body: bytes, extra: list[tuple[bytes, bytes]] = ()) -> tuple[Message, Message]:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    return ({"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": body})


class Gate:
    """Checks every HTTP request before the app sees it (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, methods: dict[str, set[str]], body_limits: dict[str, int] | None = None,
                 default_limit: int = DEFAULT_BODY_LIMIT, access: Access | None = None,
                 audit: AuditHook | None = None, event_rate: ClientRate | None = None,
                 login_rate: ClientRate | None = None, gradio_events: frozenset[str] | None = None,
                 direct: dict[tuple[str, str], ASGIApp] | None = None):
        self.app = app
        self.direct = direct or {}  # (method, path) -> the route's own ASGI app (`api.direct_route`), past the checks
        self.methods = {path: frozenset(m) | ({"HEAD"} if "GET" in m else set()) for path, m in methods.items()}
        self.body_limits = body_limits or {}
        self.default_limit = default_limit
        self.access = access if access is not None and access.enabled else None
        self.protected = PROTECTED_PREFIXES
        if self.access is not None and not self.access.form_login:
            self.protected = PROTECTED_PREFIXES + GRADIO_PREFIXES
        self.audit = audit
        self.event_rate = event_rate
        self.login_rate = login_rate
        self.gradio_events = gradio_events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in BLOCKED_PATHS:
            self._audit(scope, "403: upload refused")
            await self._answer(send, 403, b'{"detail":"uploads are disabled: the form takes no file"}')
            return
        allowed = self.methods.get(path)
        if allowed is not None and scope["method"] not in allowed:
            self._audit(scope, "405: method not allowed")
            await self._answer(send, 405, b'{"detail":"method not allowed"}',
                               [(b"allow", ", ".join(sorted(allowed)).encode())])
            return
        length = authorization = content_type = encoding = None
        chunked = False
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                chunked = True
            elif key == b"authorization":
                authorization = value
            elif key == b"content-type":
                content_type = value
            elif key == b"content-encoding":
                encoding = value
        if self.access is not None and path.startswith(self.protected):
            client = self.access.identify(authorization)
            if client is None:
                self._audit(scope, "401: no valid identity" if authorization else "401: no Authorization header")
                await self._answer(send, 401, b'{"detail":"an identity is required: '
                                              b'Authorization: Bearer <token>"}',
                                   [(b"www-authenticate", b"Bearer")])
                return
            scope.setdefault("state", {})["client"] = client
        if self.event_rate is not None and scope["method"] == "POST" and path.startswith(EVENT_PREFIXES):
            who = (scope.get("state") or {}).get("client") or (scope.get("client") or ("?",))[0]
            if not self.event_rate.allow(who):
                self._audit(scope, "429: too many form events from this client")
                await self._answer(send, 429, b'{"detail":"too many requests: slow down"}', [(b"retry-after", b"1")])
                return
        has_body = chunked or (length is not None and length != b"0")
        refusal = self._refusal(scope, path, encoding)
        if refusal is None and has_body and not (length is not None and not chunked and (
                not length.isdigit() or int(length) > self.body_limits.get(path, self.default_limit))):
            refusal = self._not_json(scope, path, content_type)
        if refusal is not None:
            status, why = refusal
            self._audit(scope, f"{status}: {why}")
            await self._answer(send, status, b'{"detail":"%s"}' % why.encode(),
                               [(b"retry-after", b"2")] if status == 429 else [])
            return
        app = self.direct.get((scope["method"], path), self.app) if self.direct else self.app
        if length is None and not chunked:  # no body
            await app(scope, receive, send)
            return
        limit = self.body_limits.get(path, self.default_limit)
        if length is not None and not chunked and (not length.isdigit() or int(length) > limit):
            self._audit(scope, "413: body too large")
            await self._too_large(send, limit)
            return
        # The body is read here (at most the limit), so that a client that leaves or stalls mid-body
        # (closed by `api.server_protocol` after its read timeout) is dropped quietly, before any route.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                self._audit(scope, "413: body too large")
                await self._too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    def _not_json(self, scope: Scope, path: str, content_type: bytes | None) -> tuple[int, str] | None:
        """415 for a body sent to the API's POST routes with a type a browser may send cross-site without
        asking (text/plain, a form's types): a page of another site cannot record a decision."""
        if (content_type is not None and scope["method"] == "POST" and "POST" in self.methods.get(path, ())
                and content_type.split(b";")[0].strip().lower() in CROSS_SITE_TYPES):
            return 415, "the body must be JSON: Content-Type: application/json"
        return None

    def _refusal(self, scope: Scope, path: str, encoding: bytes | None) -> tuple[int, str] | None:
        """(status, why) of the checks that need no body: encodings, wrong form passwords throttled,
        unknown form events."""
        if encoding is not None and encoding.strip().lower() != b"identity":
            return 415, "Content-Encoding is not accepted: send the body as is"
        if (self.login_rate is not None and scope["method"] == "POST" and path.rstrip("/") == "/login"
                and not self.login_rate.allow((scope.get("client") or ("?",))[0])):
            return 429, "too many login attempts: wait and try again"
        if self.gradio_events is not None and path.startswith(GRADIO_EVENT_PATHS):
            name = path.split("/")[4 if path.startswith("/gradio_api/call/v2/") else 3]
            if name not in self.gradio_events:
                return 404, "no such form event"
        return None

    def _audit(self, scope: Scope, why: str) -> None:
        if self.audit is not None:
            self.audit(scope["method"], scope["path"][:200], why)

    async def _too_large(self, send: Send, limit: int) -> None:
        await self._answer(send, 413, b'{"detail":"request body too large: at most %d bytes"}' % limit,
                           [(b"connection", b"close")])

    @staticmethod
    async def _answer(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] = ()) -> None:
        start, message = _json_response(status, body, extra)
        await send(start)
        await send(message)
