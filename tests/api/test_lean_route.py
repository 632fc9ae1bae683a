"""`api.lean_route`: the scoring routes are called without FastAPI's dependency solving, and nothing else of a
FastAPI route changes: the app's exception handlers, the OpenAPI entry, bodies in several pieces, a client
that leaves."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from starlette.requests import ClientDisconnect

from api import predict_routes
from api.lean_route import LeanRoute, read_body


def echo_router() -> APIRouter:
    """A lean `POST /echo` (the body reversed, then the query) that fails on `boom`, raises an HTTPException
    on `teapot` and a KeyError on `lookup` (also used by test_direct_route)."""
    router = APIRouter(route_class=LeanRoute)

    @router.post("/echo", summary="echo", responses={418: {"description": "teapot"}})
    async def echo(request: Request) -> Response:
        body = await read_body(request)
        if body == b"boom":
            raise RuntimeError("boom")
        if body == b"teapot":
            raise HTTPException(418, "teapot")
        if body == b"lookup":
            raise KeyError("x")
        return Response(body[::-1] + request.url.query.encode(), media_type="text/plain")

    return router


def _app() -> FastAPI:
    router = echo_router()
    app = FastAPI()
    app.include_router(router)

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": "internal"}, 500)

    return app


def _run(coroutine: Any) -> Any:
    """`asyncio.run` in a thread of its own (a test before may have left a loop running in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_a_lean_route_answers_and_refuses_through_the_apps_handlers() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    assert client.post("/echo?x=1", content=b"abc").content == b"cbax=1"
    assert client.post("/echo", content=b"boom").json() == {"detail": "internal"}
    answer = client.post("/echo", content=b"teapot")
    assert answer.status_code == 418 and answer.json() == {"detail": "teapot"}
    assert client.get("/echo").status_code == 405
    # a body sent in pieces (no Content-Length) is read whole
    assert client.post("/echo", content=iter([b"ab", b"cd", b"ef"])).content == b"fedcba"
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/echo"]["post"]["summary"] == "echo" and "418" in paths["/echo"]["post"]["responses"]


def test_the_scoring_routes_are_lean_and_only_requests_endpoints_can_be() -> None:
    assert all(isinstance(r, LeanRoute) for r in predict_routes.router.routes)

    async def two(request: Request, other: int) -> Response:
        return Response()

    with pytest.raises(TypeError):
        LeanRoute("/x", two, methods=["POST"])


def test_read_body_raises_when_the_client_left() -> None:
    messages = iter([{"type": "http.request", "body": b"part", "more_body": True}, {"type": "http.disconnect"}])

    async def receive() -> dict:
        return next(messages)

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}, receive)
    with pytest.raises(ClientDisconnect):
        _run(read_body(request))
