"""The service's own routes, one router each: health (`GET /health`), the model's description and
report (`GET /model/info`, `GET /model/report`) and administration (`POST /api/admin/reload`)."""

from __future__ import annotations

import logging
import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.openapi_doc import HealthDoc, ModelInfoDoc, ReloadDoc
from api.refusals import ModelUnavailable
from api.responses import client_of, error_docs, json_error_docs, json_response, service_of
from scoring.schema import UI_FEATURE_NAMES

log = logging.getLogger(__name__)

REPORT_ROUTE = "/model/report"

health_router = APIRouter(tags=["service"])
model_router = APIRouter(tags=["service"])
admin_router = APIRouter(tags=["service"])


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None  # no bound: JSON null


@health_router.get("/health", summary="Liveness, model state and logger failures",
                   responses={200: {"model": HealthDoc}, 503: {"model": HealthDoc, "description": "No model loaded"}})
async def health(request: Request) -> Response:
    doc = service_of(request).health()
    return json_response(doc, 200 if doc["model_loaded"] else 503)


@model_router.get("/model/info", summary="Model version, threshold, features and training metrics",
                  responses={200: {"model": ModelInfoDoc}, **error_docs(401, 503)})
async def model_info(request: Request) -> Response:
    service = service_of(request)
    try:
        predictor, validator = service.require_model()
    except ModelUnavailable as exc:
        return json_response({"detail": str(exc)}, 503)
    # min/max: what is accepted (the domain); seen_min/seen_max: beyond, accepted and flagged (`out_of_range`)
    ranges = {name: {"min": _finite(b.low), "max": _finite(b.high), "binary": b.binary, "domain": b.rule.meaning,
                     "seen_min": _finite(b.seen_low), "seen_max": _finite(b.seen_high)}
              for name, b in validator.bounds.items()}
    report = {"report": REPORT_ROUTE} if service.report_html() is not None else {}
    return json_response(predictor.info() | {"ui_features": list(UI_FEATURE_NAMES), "features": predictor.features,
                                             "accepted_ranges": ranges} | report)


@model_router.get(REPORT_ROUTE, summary="The model report (HTML): metrics, curves, fairness",
                  response_class=HTMLResponse, responses=json_error_docs(401, 404, 503))
async def model_report(request: Request) -> Response:
    service = service_of(request)
    try:
        service.require_model()
    except ModelUnavailable as exc:
        return json_response({"detail": str(exc)}, 503)
    report = service.report_html()
    if report is None:
        return json_response({"detail": "this model has no report (train it with python train.py)"}, 404)
    return Response(report, media_type="text/html; charset=utf-8")


@admin_router.post("/api/admin/reload", summary="Look for a promoted model or challenger now",
                   responses={200: {"model": ReloadDoc, "description": "What changed (a refusal's reason: `refused`)"},
                              **error_docs(401, 403)})
async def reload(request: Request) -> Response:
    service = service_of(request)
    if client_of(request) is None:  # only behind the access tokens (api.auth)
        return json_response({"detail": "this route needs the API tokens to be configured (API_TOKENS)"}, 403)
    if service.swapper is None:
        return json_response({"detail": "this service does not watch a model folder"}, 503)
    done = await run_in_threadpool(service.swapper.check)  # loading takes a while: not on the event loop
    log.warning("reload asked by %s: %s", client_of(request), done)
    return json_response(done | {"model_version": service.model_version} | service.swapper.health())
