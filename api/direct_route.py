"""A lean route served without the app's stack: `DirectRoute`, for `POST /api/predict`.

Every request to a FastAPI app goes through its stack before the route runs: the app itself, five ASGI
layers (server errors, telemetry, body limit, exceptions, exit stack), then the router's matches. For the
JSON API's hottest call that is work the gate in front (`api.middleware.Gate`) has already made needless:
it has checked the method, the access policy, the content type and the body limit, and read the body.
`DirectRoute` calls the route's endpoint (an `api.lean_route.LeanRoute`: the endpoint takes the `Request`
and returns a `Response`) straight from the gate, with what the stack would have given it:

- the same endpoint, found as the router finds it (the first route that matches the method and path);
  none when the app has middleware of its own (`add_middleware`), which the route would then skip;
- `scope["app"]` (the endpoint reads the service on `app.state`);
- an exception answered by the app's own handlers, as the stack answers it: `HTTPException` by the
  handler of its status code or class, any other registered class by its handler, and anything else by
  the app's 500 handler, then raised again for the server to log (`ServerErrorMiddleware`'s way).

The route stays in the app for everything else (OpenAPI document, other callers of the app without the
gate). Measured: docs/performance.md.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from api.lean_route import LeanRoute

Handler = Callable[[Request, Exception], Any]


class DirectRoute:
    """The ASGI app of one `LeanRoute` of `app` (method and path), without the app's stack."""

    def __init__(self, app: FastAPI, route: LeanRoute, method: str):
        self.app = app
        self.method = method
        self.path = route.path
        self.endpoint: Callable[[Request], Awaitable[Response]] = route.endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.app
        request = Request(scope, receive, send)
        try:
            response = await self.endpoint(request)
        except Exception as exc:  # noqa: BLE001 - answered by the app's handlers, as the stack answers it
            await self._failed(request, exc, scope, receive, send)
            return
        await response(scope, receive, send)

    async def _failed(self, request: Request, exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
        # the app's handlers as they are now, split as `Starlette.build_middleware_stack` splits them: 500 and
        # Exception to the server-error answer, the others to `ExceptionMiddleware` (status codes, classes)
        error_handler: Handler | None = None
        handlers: dict[Any, Handler] = {}
        for key, value in self.app.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value
        handler = handlers.get(exc.status_code) if isinstance(exc, HTTPException) else None
        if handler is None:
            handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
        if handler is not None:
            await (await _called(handler, request, exc))(scope, receive, send)
            exc.__traceback__ = None
            return
        if error_handler is not None:
            await (await _called(error_handler, request, exc))(scope, receive, send)
        raise exc  # the server logs it, as after `ServerErrorMiddleware`


async def _called(handler: Handler, request: Request, exc: Exception) -> Response:
    if inspect.iscoroutinefunction(handler):
        return await handler(request, exc)
    return await run_in_threadpool(handler, request, exc)


def direct_route(app: Any, method: str, path: str) -> DirectRoute | None:
    """The `DirectRoute` of `method path` in the FastAPI `app`, or None: `app` is not a FastAPI app, has
    middleware of its own, or the route the router would pick for it is not a `LeanRoute`."""
    if not isinstance(app, FastAPI) or app.user_middleware:
        return None
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:  # a route with path parameters would need them in the scope: not served here
            lean = isinstance(route, LeanRoute) and not route.param_convertors
            return DirectRoute(app, route, method) if lean else None
        if match is Match.PARTIAL:  # another method on this path: the router would go on looking
            continue
    return None
