"""The JSON API (FastAPI): predict one or many applicants, health, model description.

Bodies are read as bytes (the body limit, the method check and the optional tokens are in
`api.middleware`, in front of every route) and validated by `serving.validation`, so every refusal is
a 422 whose `errors` name the field and say what is allowed, in one shape, whatever went wrong.
No response carries a stack trace or an absolute path.

Speed (docs/decisions.md): the predict route takes only the `Request` (no FastAPI dependency to
solve; `reasons` is read from the query string here), parses with orjson, and answers bytes
serialised by orjson; FastAPI's OpenTelemetry hook is off. The OpenAPI document is written from
the same rules (bounds, flags, exclusive groups) and documents every answer's schema.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.auth import Access
from api.dossier_routes import add_dossier_routes, predict_dossier
from api.logger import new_request_id, safe_input
from api.responses import client_of, error_docs, json_error_docs, json_response, refusal
from api.scoring_service import ModelUnavailable, ScoringService
from scoring.schema import (
    ID_COLUMN,
    LABEL_HIGH_RISK,
    LABEL_LOW_RISK,
    LABEL_REVIEW,
    SOURCE_API,
    SOURCE_BATCH,
    UI_FEATURE_NAMES,
)
from serving.validation import MAX_BATCH_ROWS, MAX_BODY_BYTES, FieldError, InputError, refuse_duplicate_keys
from serving.whatif import WHAT_IF_AMOUNTS, WhatIfRules

log = logging.getLogger(__name__)

API_DESCRIPTION = f"""Credit risk score of one applicant (probability of default) and the decision against the
cost-optimal threshold. Send the model's feature names with numbers: the 11 form features
({", ".join(UI_FEATURE_NAMES)}) are required; any other model feature is optional (the training
median is used otherwise). Each feature's accepted values are in the request schema: its domain
(an external score in [0, 1], an amount that cannot be negative…) intersected with the range seen
in training widened by 10 %; flags take 0/1 (or false/true); at most one option of an exclusive
group (gender, education) is 1. A known applicant is scored on their stored row: `GET
/api/applicants/{{SK_ID_CURR}}`, or `POST /api/predict` with `{ID_COLUMN}` and, optionally, new
values (what-if) of the 11 form features and of {", ".join(WHAT_IF_AMOUNTS)} (positive amounts);
404 for an unknown applicant, 503 without a feature store. Batches hold at most {MAX_BATCH_ROWS} rows and
{MAX_BODY_BYTES // (1024 * 1024)} MB; other bodies 64 KB (413 beyond). Refused input → 422 naming
the field; no model loaded → 503; with API tokens configured, `/api/*` and `/model/info` need
`Authorization: Bearer <token>` (401)."""

_REASONS_TRUE = frozenset(("true", "1", "yes", "on"))
_REASONS_FALSE = frozenset(("false", "0", "no", "off"))


# --- documentation models (never used to validate or serialise) ----------------------------------

class ReasonDoc(BaseModel):
    feature: str = Field(description="model feature name")
    label: str = Field(description="French name")
    value: float | None = Field(description="the value used (null: missing)")
    contribution: float = Field(description="TreeSHAP contribution in log-odds (> 0 raises the risk)")
    contribution_points: float = Field(description="the same in percentage points of default probability; "
                                                   "base_score + all points / 100 = score")


class AggregateDoc(BaseModel):
    label: str = Field(description="French name of the line")
    features: int = Field(description="how many features it sums")
    contribution: float = Field(description="log-odds")
    contribution_points: float = Field(description="percentage points of default probability")


class ReasonsDoc(BaseModel):
    up: list[ReasonDoc] = Field(description="features raising the risk, strongest first: every given feature "
                                            "when at most 11 were sent, else the 3 strongest")
    down: list[ReasonDoc] = Field(description="features lowering the risk, strongest first")
    rest: AggregateDoc | None = Field(None, description="the features not sent (training medians), summed")
    unlisted: AggregateDoc | None = Field(None, description="the features sent but not listed, summed")
    base_score: float | None = Field(None, description="probability of default before any feature (the "
                                                       "average applicant's); absent with reasons=false")


class PredictionDoc(BaseModel):
    model_config = ConfigDict(title="Prediction")
    score: float = Field(ge=0, le=1, description="probability of default")
    label: Literal[LABEL_LOW_RISK, LABEL_HIGH_RISK]  # type: ignore[valid-type]
    prediction: Literal[0, 1] = Field(description="1 = high risk")
    threshold: float
    review: bool = Field(description="the score is in the grey zone around the threshold")
    grade: str | None = Field(description="risk grade on the model's master scale (A = lowest risk); null for a "
                                          "model without one")
    reasons: ReasonsDoc
    model_version: str
    review_label: Literal[LABEL_REVIEW] | None  # type: ignore[valid-type]
    source: Literal["api", "dossier", "what-if"] = Field(description="api: the features sent; dossier: the "
                                                         "applicant's stored row; what-if: it with the overrides")
    SK_ID_CURR: int | None = Field(None, description="dossier and what-if: the applicant")
    facts: dict[str, Any] | None = Field(None, description="dossier and what-if: the application fields an "
                                                           "adviser reads")
    dossier_score: float | None = Field(None, description="what-if: the score of the applicant's stored row")
    score_change: float | None = Field(None, description="what-if: score - dossier_score")
    request_id: str


class BatchRowDoc(BaseModel):
    score: float = Field(ge=0, le=1)
    label: Literal[LABEL_LOW_RISK, LABEL_HIGH_RISK]  # type: ignore[valid-type]
    prediction: Literal[0, 1]
    threshold: float
    review: bool
    grade: str | None
    model_version: str
    review_label: Literal[LABEL_REVIEW] | None  # type: ignore[valid-type]


class BatchDoc(BaseModel):
    predictions: list[BatchRowDoc]
    count: int
    request_id: str


class HealthDoc(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    model_loaded: bool
    model_version: str | None
    reason: str | None
    uptime_s: float
    logger: dict[str, Any]
    feature_store: dict[str, Any] = Field(description='the store of known applicants: {"loaded": false, "reason": '
                                                      '…} or {"loaded": true, "applicants": n, "model_version": …}')
    swap: dict[str, Any] | None = Field(None, description="the last model swap without a restart (`last_swap`: from, "
                                                          "to, at) and the last refused model with its reason")
    shadow: dict[str, Any] | None = Field(None, description="shadow scoring: on, the challenger's version, calls "
                                                            "scored, pending, skipped, failed")
    queue: dict[str, Any] | None = Field(default=None, description='the form\'s event queue: {"status": "ok" | '
                                         '"degraded", "waiting": n, "max_size": n, "revived": n, ...}')


class ReloadDoc(BaseModel):
    champion: Literal["swapped", "unchanged", "refused"]
    challenger: Literal["loaded", "unchanged", "refused", "off"]
    model_version: str | None
    last_swap: dict[str, Any] | None
    refused: dict[str, Any] | None = Field(description="the last refused model and why (the old one serves)")
    challenger_reason: str | None


class ModelInfoDoc(BaseModel):
    model_config = ConfigDict(extra="allow")
    model_version: str
    threshold: float
    features: list[str]
    ui_features: list[str]
    accepted_ranges: dict[str, Any]


DOCS_ASSETS = "/docs-assets"


def _swagger_assets() -> str | None:
    """Swagger UI's files from the `swagger-ui-bundle-v2` package, so /docs fetches nothing from a CDN
    (FastAPI's default page loads them from jsdelivr). None when the package is absent."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return str(swagger_ui_path)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None  # no bound: JSON null


def _caller_input(body: bytes) -> dict[str, Any]:
    try:
        return safe_input(orjson.loads(body))
    except (ValueError, RecursionError):
        try:  # NaN / Infinity: what the caller sent, as the stdlib reads it
            import json

            return safe_input(json.loads(body))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return {}


def _explain(query: bytes) -> bool:
    """The `reasons` query parameter (true by default); raises InputError for another value."""
    if not query:
        return True
    explain = True
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if key == "reasons":
            word = value.lower()
            if word not in _REASONS_TRUE and word not in _REASONS_FALSE:
                raise InputError([FieldError("query.reasons", f"must be true or false, got {value!r}")])
            explain = word in _REASONS_TRUE
    return explain


def _prediction_body(result: Any, request_id: str) -> dict[str, Any]:
    return result.as_dict() | {"review_label": LABEL_REVIEW if result.review else None, "source": SOURCE_API,
                               "request_id": request_id}


DOSSIER_KEY = f'"{ID_COLUMN}"'.encode()  # a body naming an applicant (checked before parsing: no cost otherwise)


def _loads_or_none(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except (ValueError, RecursionError):
        return None


EXAMPLE = dict(zip(UI_FEATURE_NAMES, (0.45, 0.6, 0.55, 1, 0, 0.0, 1, 1, 0, 1, 0.0), strict=True))
REQUEST_REF = {"$ref": "#/components/schemas/PredictRequest"}


def _body_doc(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}}


REPORT_ROUTE = "/model/report"


def create_api(service: ScoringService) -> FastAPI:
    """The FastAPI application of the JSON API (Gradio is mounted on it by `api.app`)."""
    local_docs = _swagger_assets()
    app = FastAPI(title="Prêt à dépenser — score de crédit", version="1.0", description=API_DESCRIPTION,
                  docs_url=None if local_docs else "/docs", redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    if local_docs:
        app.mount(DOCS_ASSETS, StaticFiles(directory=local_docs), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        async def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=app.title,
                                       swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                       swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                       swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png")

    batch_schema = {"type": "object", "additionalProperties": False, "required": ["rows"],
                    "properties": {"rows": {"type": "array", "items": REQUEST_REF, "minItems": 1,
                                            "maxItems": MAX_BATCH_ROWS}}}
    reasons_doc = {"parameters": [{"name": "reasons", "in": "query", "required": False,
                                   "description": "false: skip the TreeSHAP reasons (most of a call's CPU time)",
                                   "schema": {"type": "boolean", "default": True}}]}

    @app.post("/api/predict", tags=["prediction"], summary="Score one applicant (features, or a known applicant)",
              openapi_extra=_body_doc(REQUEST_REF, EXAMPLE) | reasons_doc,
              responses={200: {"model": PredictionDoc}, **error_docs(401, 404, 413, 415, 422, 503)})
    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        request_id = new_request_id()
        body = await request.body()
        client = client_of(request)
        try:
            with service.refusals(request_id=request_id, started=started, input=lambda: _caller_input(body),
                                  client=client, source=SOURCE_API):  # a refused call is the API's too
                explain = _explain(request.scope["query_string"])
                predictor, validator = service.require_model()  # one model for the whole call, even mid-swap
                if DOSSIER_KEY in body:  # a known applicant, maybe with overrides (what-if): api.dossier_routes
                    refuse_duplicate_keys(body, flat=True)
                    data = _loads_or_none(body)
                    if WhatIfRules.is_dossier(data):
                        return predict_dossier(service, data, request_id=request_id, started=started,
                                               explain=explain, client=client)
                features = validator.parse(body)
                result = service.score(features, request_id=request_id, started=started, explain=explain,
                                       client=client, model=(predictor, validator))
            return json_response(_prediction_body(result, request_id), request_id=request_id)
        except InputError as exc:
            return refusal(exc, request_id)
        except ModelUnavailable as exc:
            return json_response({"detail": str(exc), "request_id": request_id}, 503, request_id)

    @app.post("/api/predict/batch", tags=["prediction"], summary=f"Score up to {MAX_BATCH_ROWS} applicants",
              openapi_extra=_body_doc(batch_schema, {"rows": [EXAMPLE]}),
              responses={200: {"model": BatchDoc}, **error_docs(401, 413, 415, 422, 503)})
    async def predict_batch(request: Request) -> Response:
        started = time.perf_counter()
        request_id = new_request_id()
        body = await request.body()
        client = client_of(request)
        try:  # a refused batch is logged without its rows
            with service.refusals(request_id=request_id, started=started, input=dict, client=client,
                                  source=SOURCE_BATCH):
                rows = service.require_model()[1].parse_batch(body)
                results = service.score_rows(rows, request_id=request_id, started=started, client=client)
        except InputError as exc:
            return refusal(exc, request_id)
        except ModelUnavailable as exc:
            return json_response({"detail": str(exc), "request_id": request_id}, 503, request_id)
        predictions = [r.as_dict() | {"review_label": LABEL_REVIEW if r.review else None} for r in results]
        for p in predictions:
            del p["reasons"]  # batch answers carry no reasons (TreeSHAP per row would dominate the cost)
        return json_response({"predictions": predictions, "count": len(predictions), "request_id": request_id},
                     request_id=request_id)

    @app.get("/health", tags=["service"], summary="Liveness, model state and logger failures",
             responses={200: {"model": HealthDoc}, 503: {"model": HealthDoc, "description": "No model loaded"}})
    async def health() -> Response:
        doc = service.health()
        return json_response(doc, 200 if doc["model_loaded"] else 503)

    @app.get("/model/info", tags=["service"], summary="Model version, threshold, features and training metrics",
             responses={200: {"model": ModelInfoDoc}, **error_docs(401, 503)})
    async def model_info() -> Response:
        try:
            predictor, validator = service.require_model()
        except ModelUnavailable as exc:
            return json_response({"detail": str(exc)}, 503)
        ranges = {name: {"min": _finite(b.low), "max": _finite(b.high), "binary": b.binary, "domain": b.rule.meaning}
                  for name, b in validator.bounds.items()}
        report = {"report": REPORT_ROUTE} if service.report_html() is not None else {}
        return json_response(predictor.info() | {"ui_features": list(UI_FEATURE_NAMES), "features": predictor.features,
                                         "accepted_ranges": ranges} | report)

    @app.get(REPORT_ROUTE, tags=["service"], summary="The model report (HTML): metrics, curves, fairness",
             response_class=HTMLResponse, responses=json_error_docs(401, 404, 503))
    async def model_report() -> Response:
        try:
            service.require_model()
        except ModelUnavailable as exc:
            return json_response({"detail": str(exc)}, 503)
        report = service.report_html()
        if report is None:
            return json_response({"detail": "this model has no report (train it with python train.py)"}, 404)
        return Response(report, media_type="text/html; charset=utf-8")

    @app.post("/api/admin/reload", tags=["service"], summary="Look for a promoted model or challenger now",
              responses={200: {"model": ReloadDoc, "description": "What changed (a refusal's reason: `refused`)"},
                         **error_docs(401, 403)})
    async def reload(request: Request) -> Response:
        if client_of(request) is None:  # only behind the access tokens (api.auth)
            return json_response({"detail": "this route needs the API tokens to be configured (API_TOKENS)"}, 403)
        if service.swapper is None:
            return json_response({"detail": "this service does not watch a model folder"}, 503)
        done = await run_in_threadpool(service.swapper.check)  # loading takes a while: not on the event loop
        log.warning("reload asked by %s: %s", client_of(request), done)
        return json_response(done | {"model_version": service.model_version} | service.swapper.health())

    add_dossier_routes(app, service)

    @app.api_route("/api/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                   include_in_schema=False)
    async def no_such_route(request: Request, rest: str) -> Response:
        """A path of the API that no route serves: 405 with `Allow` when another method would be served
        (a route with a path parameter), else 404; one audit line either way (probes included)."""
        path = request.url.path
        allowed = sorted({m for r in app.routes if getattr(r, "methods", None) and r.path != "/api/{rest:path}"
                          and getattr(r, "path_regex", None) is not None and r.path_regex.match(path)
                          for m in r.methods})
        status = 405 if allowed else 404
        service.log_refusal(request_id=new_request_id(), input={"method": request.method, "path": path[:200]},
                            started=time.perf_counter(), error=f"{status}: no such route", client=client_of(request))
        if allowed:
            return Response(b'{"detail":"method not allowed"}', 405, media_type="application/json",
                            headers={"Allow": ", ".join(allowed)})
        return json_response({"detail": "no such route"}, 404)

    def openapi() -> dict[str, Any]:
        # written again when a swapped model (api.model_swap) brings other accepted ranges
        if app.openapi_schema is None or app.state.openapi_model != service.model_version:
            app.state.openapi_model = service.model_version
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            request_schema = (service.validator.request_schema() if service.validator is not None
                              else {"type": "object", "title": "PredictRequest"})
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            schemas["PredictRequest"] = request_schema
            if service.what_if_rules is not None:
                schemas["DossierRequest"] = service.what_if_rules.schema(request_schema)
                predict_body = doc["paths"]["/api/predict"]["post"]["requestBody"]["content"]["application/json"]
                predict_body["schema"] = {"oneOf": [REQUEST_REF, {"$ref": "#/components/schemas/DossierRequest"}]}
            schemas.update(app.state.dossier_docs)
            if Access.from_env().enabled:  # the one policy (api.auth): every documented route but /health
                doc["components"]["securitySchemes"] = {
                    "bearer": {"type": "http", "scheme": "bearer", "description": "a token of API_TOKENS"},
                    "basic": {"type": "http", "scheme": "basic", "description": "a user of FORM_USERS"}}
                for path, operations in doc["paths"].items():
                    for operation in operations.values():
                        if path != "/health":
                            operation["security"] = [{"bearer": []}, {"basic": []}]
                            operation.setdefault("responses", {}).setdefault(
                                "401", {"description": "No valid identity (Authorization: Bearer or Basic)"})
            app.openapi_schema = doc
        return app.openapi_schema

    app.state.openapi_model = service.model_version
    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                  for e in exc.errors()]
        # an audit line for every refusal: probes of a dossier number or a letter reference included
        service.log_refusal(request_id=new_request_id(), input={"method": request.method,
                                                                "path": request.url.path[:200]},
                            started=time.perf_counter(), error="; ".join(f"{e['field']}: {e['message']}"
                                                                         for e in errors)[:500],
                            client=client_of(request))
        return json_response({"detail": "invalid request", "errors": errors}, 422)

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed: %r", request.method, request.url.path, exc)
        return json_response({"detail": "internal error (details are in the server's own log)"}, 500)

    return app


def api_methods(app: FastAPI) -> dict[str, set[str]]:
    """{path: methods} of the API's own routes (for the 405 check in `api.middleware`)."""
    return {r.path: set(r.methods) for r in app.routes if getattr(r, "methods", None) and "{" not in r.path}
