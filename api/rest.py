"""The JSON API (FastAPI): predict one or many applicants, health, model description.

Bodies are read as bytes and validated by `api.validation` (pydantic-core parses the JSON), so
every refusal is a 422 whose `errors` name the field and say what is allowed, in one shape,
whatever went wrong. No response ever carries a stack trace.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from api.logger import new_request_id, safe_input
from api.service import ModelUnavailable, Service
from api.validation import MAX_BATCH_ROWS, MAX_BODY_BYTES, InputError
from scoring.schema import LABEL_REVIEW, UI_FEATURE_NAMES

API_DESCRIPTION = f"""Credit risk score of one applicant (probability of default) and the decision against the
cost-optimal threshold. Send the model's feature names with numbers: the 11 form features
({", ".join(UI_FEATURE_NAMES)}) are required; any other model feature is optional (the training
median is used otherwise). Binary features take 0/1 (or false/true). Batches hold at most
{MAX_BATCH_ROWS} rows; bodies at most {MAX_BODY_BYTES // (1024 * 1024)} MB. Refused input → 422 naming the field;
no model loaded → 503."""


class FieldErrorDoc(BaseModel):
    field: str = Field(examples=["EXT_SOURCE_1"])
    message: str = Field(examples=["must be a JSON number, got a string"])


class ErrorDoc(BaseModel):
    """Shape of every 422 and 503 answer (documentation only)."""

    detail: str
    errors: list[FieldErrorDoc] = []
    request_id: str | None = None


ERRORS = {422: {"model": ErrorDoc, "description": "Refused input: each entry names the field and what is allowed"},
          503: {"model": ErrorDoc, "description": "No model loaded (the reason is in `detail`)"}}

DOCS_ASSETS = "/docs-assets"


def _swagger_assets() -> str | None:
    """Swagger UI's files from the `swagger-ui-bundle-v2` package, so /docs fetches nothing from a CDN
    (FastAPI's default page loads them from jsdelivr). None when the package is absent."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return str(swagger_ui_path)


def _json(content: dict[str, Any], status: int = 200, request_id: str | None = None) -> Response:
    headers = {"X-Request-ID": request_id} if request_id else None
    body = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None  # no bound: JSON null


def _caller_input(body: bytes) -> dict[str, Any]:
    try:
        return safe_input(json.loads(body))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}


def _refusal(exc: InputError, request_id: str) -> Response:
    shown = "; ".join(f"{e.field}: {e.message}" for e in exc.errors[:3])
    more = f" (and {len(exc.errors) - 3} more)" if len(exc.errors) > 3 else ""
    return _json({"detail": f"invalid input: {shown}{more}", "errors": [e.as_dict() for e in exc.errors],
                  "request_id": request_id}, 422, request_id)


async def _read_body(request: Request) -> bytes:
    """The body, but never more than MAX_BODY_BYTES + 1 bytes in memory (the validator refuses those)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return b" " * (MAX_BODY_BYTES + 1)
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            break
    return b"".join(chunks)


def _guarded(service: Service, work: Callable[[], dict[str, Any]], request_id: str, started: float,
             caller_input: Callable[[], dict[str, Any]]) -> Response:
    """Run a prediction; refusals become 422/503 answers and are logged with status "error"."""
    try:
        return _json(work(), request_id=request_id)
    except InputError as exc:
        service.log_refusal(request_id=request_id, input=caller_input(), started=started, error=str(exc))
        return _refusal(exc, request_id)
    except ModelUnavailable as exc:
        service.log_refusal(request_id=request_id, input=caller_input(), started=started, error=str(exc))
        return _json({"detail": str(exc), "request_id": request_id}, 503, request_id)


def _prediction_body(result: Any, request_id: str) -> dict[str, Any]:
    return result.as_dict() | {"review_label": LABEL_REVIEW if result.review else None, "request_id": request_id}


def _openapi_body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}}


EXAMPLE = dict(zip(UI_FEATURE_NAMES, (0.45, 0.6, 0.55, 1, 0, 0.0, 1, 1, 0, 1, 0.0), strict=True))


def create_api(service: Service) -> FastAPI:
    """The FastAPI application of the JSON API (Gradio is mounted on it by `api.server`)."""
    local_docs = _swagger_assets()
    app = FastAPI(title="Prêt à dépenser — score de crédit", version="1.0", description=API_DESCRIPTION,
                  docs_url=None if local_docs else "/docs", redoc_url=None)
    app.state.service = service
    if local_docs:
        app.mount(DOCS_ASSETS, StaticFiles(directory=local_docs), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        async def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=app.title,
                                       swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                       swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                       swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png")

    request_schema: dict[str, Any] = {"type": "object"}
    batch_schema: dict[str, Any] = {"type": "object"}
    if service.validator is not None:
        request_schema = service.validator.request_adapter.json_schema()
        batch_schema = service.validator.batch_adapter.json_schema()

    @app.post("/api/predict", tags=["prediction"], summary="Score one applicant",
              openapi_extra=_openapi_body(request_schema, EXAMPLE), responses=ERRORS)
    async def predict(request: Request, reasons: bool = Query(
            True, description="false: skip the TreeSHAP reasons (about half the CPU time of a call)")) -> Response:
        started = time.perf_counter()
        request_id = new_request_id()
        body = await _read_body(request)

        def work() -> dict[str, Any]:
            features = service.require_model()[1].parse(body)
            result = service.score(features, request_id=request_id, started=started, explain=reasons)
            return _prediction_body(result, request_id)

        return _guarded(service, work, request_id, started, lambda: _caller_input(body))

    @app.post("/api/predict/batch", tags=["prediction"], summary=f"Score up to {MAX_BATCH_ROWS} applicants",
              openapi_extra=_openapi_body(batch_schema, {"rows": [EXAMPLE]}), responses=ERRORS)
    async def predict_batch(request: Request) -> Response:
        started = time.perf_counter()
        request_id = new_request_id()
        body = await _read_body(request)

        def work() -> dict[str, Any]:
            rows = service.require_model()[1].parse_batch(body)
            results = service.score_rows(rows, request_id=request_id, started=started)
            predictions = [r.as_dict() | {"review_label": LABEL_REVIEW if r.review else None} for r in results]
            for p in predictions:
                del p["reasons"]  # batch answers carry no reasons (TreeSHAP per row would dominate the cost)
            return {"predictions": predictions, "count": len(predictions), "request_id": request_id}

        return _guarded(service, work, request_id, started, dict)  # a refused batch is logged without its rows

    @app.get("/health", tags=["service"], summary="Liveness, model state and logger failures")
    async def health() -> Response:
        doc = service.health()
        return _json(doc, 200 if doc["model_loaded"] else 503)

    @app.get("/model/info", tags=["service"], summary="Model version, threshold, features and training metrics")
    async def model_info() -> Response:
        try:
            predictor, validator = service.require_model()
        except ModelUnavailable as exc:
            return _json({"detail": str(exc)}, 503)
        ranges = {name: {"min": _finite(b.low), "max": _finite(b.high), "binary": b.binary}
                  for name, b in validator.bounds.items()}
        return _json(predictor.info() | {"ui_features": list(UI_FEATURE_NAMES), "features": predictor.features,
                                         "accepted_ranges": ranges})

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                  for e in exc.errors()]
        return _json({"detail": "invalid request", "errors": errors}, 422)

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> Response:
        print(f"[api] {request.method} {request.url.path} failed: {exc!r}", file=sys.stderr, flush=True)
        return _json({"detail": "internal error (details are in the server's own log)"}, 500)

    return app
