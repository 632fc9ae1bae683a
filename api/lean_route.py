"""The scoring routes' lean calling path: `LeanRoute`, a FastAPI route whose endpoint takes the `Request`
alone and returns a `Response`, called directly; `read_body`, the body in one read.

A FastAPI route solves its endpoint's dependencies on every call even when the only parameter is the
request (it builds the query parameters, headers and cookies, then checks them against no declared
parameter) and wraps the call in two exit stacks and an exception wrapper of its own: ~10 % of a lean
`POST /api/predict` (py-spy under wrk, docs/performance.md). The route stays a FastAPI route for
everything else (OpenAPI document, `responses=`, tags, the gate's 405 list); exceptions go to the app's
handlers as before (`ExceptionMiddleware`, and `ServerErrorMiddleware` for a 500).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class LeanRoute(APIRoute):
    """An `APIRoute` for an `async def endpoint(request: Request) -> Response`: no dependency to solve."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        params = list(inspect.signature(endpoint).parameters.values())
        if not inspect.iscoroutinefunction(endpoint) or len(params) != 1:
            raise TypeError(f"LeanRoute {path}: the endpoint must be `async def f(request: Request) -> Response`")
        super().__init__(path, endpoint, **kwargs)
        call: Callable[[Request], Awaitable[Response]] = endpoint

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await call(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app


async def read_body(request: Request) -> bytes:
    """`await request.body()` without Starlette's stream generator (the gate, `api.middleware.Gate`, hands
    every body on as one message); raises `ClientDisconnect` when the client left, as `body()` does."""
    chunks = []
    while True:
        message = await request.receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
