"""The JSON API (FastAPI): the app, its routers and its answers to what no route serves.

The service is on `app.state.service` (routes read it with `api.responses.service_of`); the routes
live in `APIRouter`s by idea: prediction (`api.predict_routes`), dossiers (`api.dossier_routes`),
decisions and letters (`api.decision_routes`), health, model and admin (`api.service_routes`). The
published description (answer models, OpenAPI document, /docs) is `api.openapi_doc`. No response
carries a stack trace or an absolute path.
"""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from api import decision_routes, dossier_routes, predict_routes, service_routes
from api.logger import new_request_id
from api.openapi_doc import API_DESCRIPTION, install_openapi, new_app
from api.responses import client_of, json_response, service_of
from api.scoring_service import ScoringService
from api.service_routes import REPORT_ROUTE

log = logging.getLogger(__name__)

ROUTERS = (predict_routes.router, dossier_routes.router, decision_routes.router, service_routes.health_router,
           service_routes.model_router, service_routes.admin_router)
FALLBACK = "/api/{rest:path}"

__all__ = ["API_DESCRIPTION", "REPORT_ROUTE", "api_methods", "create_api"]


def create_api(service: ScoringService) -> FastAPI:
    """The FastAPI application of the JSON API serving `service` (Gradio is mounted on it by `api.app`)."""
    app = new_app()
    app.state.service = service
    # The routers' routes themselves: FastAPI 0.165's `include_router` adds a lazy `_IncludedRouter` (one
    # more level in every request's match, and paths hidden from `api_methods`, the gate's 405). The
    # routers set no prefix or dependency, so nothing of `include_router` is lost. They go first, ahead of
    # FastAPI's /openapi.json and /docs (no path in common): every route before /api/predict is one more
    # failed match on each call.
    app.router.routes[:0] = [route for router in ROUTERS for route in router.routes]
    app.add_api_route(FALLBACK, no_such_route, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                      include_in_schema=False)
    install_openapi(app)
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_error)
    return app


async def no_such_route(request: Request, rest: str) -> Response:
    """A path of the API that no route serves: 405 with `Allow` when another method would be served
    (a route with a path parameter), else 404; one audit line either way (probes included)."""
    path = request.url.path
    allowed = sorted({m for r in request.app.routes if getattr(r, "methods", None) and r.path != FALLBACK
                      and getattr(r, "path_regex", None) is not None and r.path_regex.match(path)
                      for m in r.methods})
    status = 405 if allowed else 404
    service_of(request).log_refusal(request_id=new_request_id(), input={"method": request.method, "path": path[:200]},
                                    started=time.perf_counter(), error=f"{status}: no such route",
                                    client=client_of(request))
    if allowed:
        return Response(b'{"detail":"method not allowed"}', 405, media_type="application/json",
                        headers={"Allow": ", ".join(allowed)})
    return json_response({"detail": "no such route"}, 404)


async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()]
    # an audit line for every refusal: probes of a dossier number or a letter reference included
    service_of(request).log_refusal(request_id=new_request_id(), input={"method": request.method,
                                                                        "path": request.url.path[:200]},
                                    started=time.perf_counter(),
                                    error="; ".join(f"{e['field']}: {e['message']}" for e in errors)[:500],
                                    client=client_of(request))
    return json_response({"detail": "invalid request", "errors": errors}, 422)


async def on_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed: %r", request.method, request.url.path, exc)
    return json_response({"detail": "internal error (details are in the server's own log)"}, 500)


def api_methods(app: FastAPI) -> dict[str, set[str]]:
    """{path: methods} of the API's own routes (for the 405 check in `api.middleware`)."""
    return {r.path: set(r.methods) for r in app.routes if getattr(r, "methods", None) and "{" not in r.path}
