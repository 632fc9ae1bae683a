"""The prediction routes: `POST /api/predict` (one applicant, or a known one with what-if overrides)
and `POST /api/predict/batch`.

Speed (docs/decisions.md): the routes take only the `Request` and are called directly
(`api.lean_route.LeanRoute`: no dependency to solve; `reasons` is read from the query string here), the
body is read in one step (`read_body`), parsed with orjson, and answered as bytes
serialised by orjson; its answer model is declared through `responses=`, not `response_model`, which
would validate and serialise every answer a second time. Bodies are read as bytes (the body limit,
the method check and the access policy are in `api.middleware`) and validated by `serving.validation`,
so every refusal is a 422 whose `errors` name the field and say what is allowed.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.dossier_routes import predict_dossier
from api.lean_route import LeanRoute, read_body
from api.logger import new_request_id, safe_input
from api.openapi_doc import EXAMPLE, REQUEST_REF, BatchDoc, PredictionDoc, body_doc
from api.refusals import ModelUnavailable
from api.responses import client_of, error_docs, json_response, refusal, service_of
from scoring.schema import ID_COLUMN, LABEL_REVIEW, SOURCE_API, SOURCE_BATCH
from serving.validation import MAX_BATCH_ROWS, FieldError, InputError, refuse_duplicate_keys
from serving.whatif import WhatIfRules

router = APIRouter(tags=["prediction"], route_class=LeanRoute)  # no dependency to solve: api.lean_route

_REASONS_TRUE = frozenset(("true", "1", "yes", "on"))
_REASONS_FALSE = frozenset(("false", "0", "no", "off"))
DOSSIER_KEY = f'"{ID_COLUMN}"'.encode()  # a body naming an applicant (checked before parsing: no cost otherwise)
BATCH_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["rows"],
                "properties": {"rows": {"type": "array", "items": REQUEST_REF, "minItems": 1,
                                        "maxItems": MAX_BATCH_ROWS}}}
REASONS_DOC = {"parameters": [{"name": "reasons", "in": "query", "required": False,
                               "description": "false: skip the TreeSHAP reasons (most of a call's CPU time)",
                               "schema": {"type": "boolean", "default": True}}]}


def _caller_input(body: bytes) -> dict[str, Any]:
    try:
        return safe_input(orjson.loads(body))
    except (ValueError, RecursionError):
        try:  # NaN / Infinity: what the caller sent, as the stdlib reads it
            import json

            return safe_input(json.loads(body))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return {}


_USUAL_QUERIES = {b"": True, b"reasons=false": False, b"reasons=true": True}  # the answer of `_explain` without parsing


def _explain(query: bytes) -> bool:
    """The `reasons` query parameter (true by default); raises InputError for another value."""
    usual = _USUAL_QUERIES.get(query)
    if usual is not None:
        return usual
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


def _loads_or_none(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except (ValueError, RecursionError):
        return None


def _call(request: Request) -> tuple[float, str, str | None, Any]:
    """What every scoring route starts with: the start time, a new request id, the caller and the service."""
    return time.perf_counter(), new_request_id(), client_of(request), service_of(request)


def _refused(exc: InputError | ModelUnavailable, request_id: str) -> Response:
    """A refused call's answer: 422 naming the fields, or 503 when no model is loaded."""
    if isinstance(exc, InputError):
        return refusal(exc, request_id)
    return json_response({"detail": str(exc), "request_id": request_id}, 503, request_id)


@router.post("/api/predict", summary="Score one applicant (features, or a known applicant)",
             openapi_extra=body_doc(REQUEST_REF, EXAMPLE) | REASONS_DOC,
             responses={200: {"model": PredictionDoc}, **error_docs(401, 404, 413, 415, 422, 503)})
async def predict(request: Request) -> Response:
    started, request_id, client, service = _call(request)
    body = await read_body(request)
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
    except (InputError, ModelUnavailable) as exc:
        return _refused(exc, request_id)


@router.post("/api/predict/batch", summary=f"Score up to {MAX_BATCH_ROWS} applicants",
             openapi_extra=body_doc(BATCH_SCHEMA, {"rows": [EXAMPLE]}),
             responses={200: {"model": BatchDoc}, **error_docs(401, 413, 415, 422, 503)})
async def predict_batch(request: Request) -> Response:
    started, request_id, client, service = _call(request)
    body = await read_body(request)
    try:  # a refused batch is logged without its rows
        with service.refusals(request_id=request_id, started=started, input=dict, client=client,
                              source=SOURCE_BATCH):
            rows = service.require_model()[1].parse_batch(body)
            results = service.score_rows(rows, request_id=request_id, started=started, client=client)
    except (InputError, ModelUnavailable) as exc:
        return _refused(exc, request_id)
    predictions = [r.as_dict() | {"review_label": LABEL_REVIEW if r.review else None} for r in results]
    for p in predictions:
        del p["reasons"]  # batch answers carry no reasons (TreeSHAP per row would dominate the cost)
    return json_response({"predictions": predictions, "count": len(predictions), "request_id": request_id},
                         request_id=request_id)
