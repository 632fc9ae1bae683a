"""Forwarded headers only from trusted proxies (issue 19): the outermost ASGI layer.

Gradio builds the links of its page and of `/config` (`root`) from `X-Forwarded-Host` and
`X-Forwarded-Proto`, and uvicorn takes the client's address and scheme from `X-Forwarded-For` /
`X-Forwarded-Proto`. A client that talks to the app directly could otherwise put any host into those
links. Here, a request whose peer is not in `TRUSTED_PROXIES` (none by default) loses every forwarded
header before anything reads it; a trusted proxy's are kept and applied by uvicorn's own
`ProxyHeadersMiddleware` (the client's address for the per-client limits, the scheme). With
`PUBLIC_URL` (on a Space, `https://$SPACE_HOST`), Gradio's links do not depend on any header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

FORWARDED_HEADERS = frozenset((b"forwarded", b"x-forwarded-host", b"x-forwarded-proto", b"x-forwarded-for",
                               b"x-forwarded-port", b"x-forwarded-prefix", b"x-forwarded-server", b"x-real-ip",
                               b"x-gradio-server"))  # the last: Gradio reads it as the app's own URL


class ForwardedFromTrustedOnly:
    """Drops forwarded headers of requests whose peer is not a trusted proxy (see the module docstring)."""

    def __init__(self, app: ASGIApp, trusted: str = ""):
        self.app = app
        self.proxies = ProxyHeadersMiddleware(app, trusted_hosts=trusted) if trusted.strip() else None  # type: ignore[arg-type]
        self.trusted = self.proxies.trusted_hosts if self.proxies is not None else ()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        if self.proxies is not None and peer and peer[0] in self.trusted:
            await self.proxies(scope, receive, send)  # type: ignore[arg-type]
            return
        headers = scope["headers"]
        for key, _ in headers:
            if key in FORWARDED_HEADERS:
                scope["headers"] = [(k, v) for k, v in headers if k not in FORWARDED_HEADERS]
                break
        await self.app(scope, receive, send)
