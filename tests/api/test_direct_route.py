"""`api.direct_route`: the gate calls `POST /api/predict` past the app's stack, and the answers stay those of
the app: the same bytes, the same refusals, the app's exception handlers, the router's choice of route."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from starlette.middleware.base import BaseHTTPMiddleware

from api.app import gated
from api.direct_route import DirectRoute, direct_route
from api.lean_route import LeanRoute
from api.rest import create_api
from api.scoring_service import ScoringService
from tests.api.test_lean_route import echo_router

ID = re.compile(rb'"?[0-9a-f]{32}"?')


def _app(*, early: bool = False) -> FastAPI:
    """A lean `POST /echo` that answers, fails, or raises an HTTPException; `early`: a plain route on the
    same path and method registered before it (the router serves that one)."""
    app = FastAPI()
    if early:
        @app.post("/echo")
        async def first(request: Request) -> dict:
            return {"first": True}

    router = echo_router()
    app.router.routes.extend(router.routes)  # after FastAPI's own routes, and after `first`

    @app.exception_handler(KeyError)
    async def on_key(request: Request, exc: KeyError) -> Response:
        return JSONResponse({"detail": "no such key"}, 404)

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": "internal"}, 500)

    return app


def _gate(app: FastAPI, methods: dict[str, set[str]] | None = None) -> Any:
    gate = gated(app, methods or {"/echo": {"POST"}})
    route = direct_route(app, "POST", "/echo")
    assert route is not None
    gate.direct = {("POST", "/echo"): route}
    return gate


def test_the_gate_serves_the_predict_route_directly(service: ScoringService, client: TestClient) -> None:
    gate = client.app
    route = gate.direct[("POST", "/api/predict")]
    assert isinstance(route, DirectRoute) and route.endpoint.__name__ == "predict"
    calls: list[str] = []
    stack = gate.app.middleware_stack or gate.app.build_middleware_stack()

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await stack(scope, receive, send)

    gate.app.middleware_stack = watched  # the app's stack: not entered by POST /api/predict
    body = {"EXT_SOURCE_1": 0.5, "EXT_SOURCE_2": 0.6, "EXT_SOURCE_3": 0.55, "NAME_EDUCATION_TYPE_Higher education": 1,
            "NAME_EDUCATION_TYPE_Secondary / secondary special": 0, "CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean": 2.0,
            "NAME_INCOME_TYPE_Working": 1, "CODE_GENDER_F": 0, "CODE_GENDER_M": 1, "FLAG_DOCUMENT_3": 1,
            "BUREAU_AMT_CREDIT_SUM_OVERDUE_max": 0.0}
    direct = client.post("/api/predict?reasons=false", json=body)
    assert calls == [] and direct.status_code == 200
    # the same call through the app's stack (no gate) answers the same bytes and headers but the request id
    with TestClient(create_api(service)) as plain:
        stacked = plain.post("/api/predict?reasons=false", json=body)
    assert ID.sub(b"ID", direct.content) == ID.sub(b"ID", stacked.content)
    assert {k: v for k, v in direct.headers.items() if k != "x-request-id"} == \
        {k: v for k, v in stacked.headers.items() if k != "x-request-id"}
    refused = client.post("/api/predict", json=body | {"EXT_SOURCE_1": 7})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "EXT_SOURCE_1"
    assert client.get("/api/predict").status_code == 405 and calls == []
    assert client.get("/health").status_code == 200 and calls == ["/health"]  # every other route: the app's stack


def test_a_direct_route_answers_as_the_apps_stack_does() -> None:
    app = _app()
    assert isinstance(direct_route(app, "POST", "/echo"), DirectRoute)
    for raising in (False, True):
        with TestClient(_gate(app), raise_server_exceptions=raising) as direct, \
                TestClient(app, raise_server_exceptions=raising) as stacked:
            for body in (b"abc", b"teapot", b"lookup"):
                a, b = direct.post("/echo?q=1", content=body), stacked.post("/echo?q=1", content=body)
                assert (a.status_code, a.content, a.headers) == (b.status_code, b.content, b.headers)
            if raising:  # an unexpected error goes on to the server (which logs it), after the 500 handler
                for c in (direct, stacked):
                    with pytest.raises(RuntimeError, match="boom"):
                        c.post("/echo", content=b"boom")
            else:
                a, b = direct.post("/echo", content=b"boom"), stacked.post("/echo", content=b"boom")
                assert (a.status_code, a.json()) == (b.status_code, b.json()) == (500, {"detail": "internal"})


def test_only_the_route_the_router_would_pick_is_served_directly() -> None:
    assert direct_route(_app(early=True), "POST", "/echo") is None  # the router's first match is not lean
    assert direct_route(_app(), "GET", "/echo") is None and direct_route(_app(), "POST", "/nowhere") is None
    with_middleware = _app()
    with_middleware.add_middleware(BaseHTTPMiddleware, dispatch=lambda request, call_next: call_next(request))
    assert direct_route(with_middleware, "POST", "/echo") is None  # the route would skip the app's own middleware
    router = APIRouter(route_class=LeanRoute)

    @router.post("/item/{name}")
    async def item(request: Request) -> Response:
        return Response(request.path_params["name"])

    params = FastAPI()
    params.router.routes[:0] = list(router.routes)
    assert direct_route(params, "POST", "/item/{name}") is None  # path parameters: left to the router
    assert direct_route(object(), "POST", "/echo") is None
