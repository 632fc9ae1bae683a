"""The JSON API of dossiers: known applicants scored on their stored row, what-if, the adviser's
decision and the applicant's letter. Added to the app by `api.rest.create_api`.

- `GET /api/applicants/{SK_ID_CURR}`: raw facts, score, label, grey-zone flag, reasons.
- `POST /api/predict` with `SK_ID_CURR` (and optional overrides) is answered by `predict_dossier`.
- `POST /api/decisions` `{request_id, decision, reason, replace}`: the adviser's final decision, one log
  line; one per evaluation (a second one: 409, unless `replace: true`, logged as replacing the first).
- `GET /api/applicants/{SK_ID_CURR}/letter`, `GET /api/letters/{request_id}`: the printable letter.

Unknown applicant or request → 404 naming it; malformed → 422; no feature store → 503 with why.
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Any, Literal

import numpy as np
import orjson
from fastapi import FastAPI, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.adviser import ADVISER_DECISIONS, DecisionError
from api.dossier_cache import CachedDossier, DossierCache
from api.logger import new_request_id
from api.responses import JSONBytes, client_of, error_docs, json_error_docs, json_response, refusal
from api.scoring_service import (
    DossierResult,
    ModelUnavailable,
    ScoringService,
    StoreUnavailable,
    UnknownApplicant,
    UnknownRequest,
)
from scoring.schema import ID_COLUMN, LABEL_REVIEW, SOURCE_API, SOURCE_DOSSIER
from serving.validation import FieldError, InputError, refuse_duplicate_keys
from serving.whatif import MAX_APPLICANT_ID

ApplicantId = Annotated[int, Path(ge=1, le=MAX_APPLICANT_ID, description="SK_ID_CURR, the applicant's number")]
RequestId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$",
                                description="the request_id of a recent evaluation")]


class DossierDoc(BaseModel):
    SK_ID_CURR: int
    facts: dict[str, Any] = Field(description="the application fields an adviser reads (raw values)")
    score: float = Field(ge=0, le=1)
    label: str
    prediction: Literal[0, 1]
    threshold: float
    review: bool
    review_label: Literal[LABEL_REVIEW] | None  # type: ignore[valid-type]
    grade: str | None = Field(description="risk grade on the master scale (A = lowest risk)")
    reasons: dict[str, Any]
    model_version: str
    source: Literal["dossier"]
    request_id: str


class DecisionRequestDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", title="DecisionRequest")
    request_id: str = Field(description="the request_id of an evaluation (form, API or dossier)", min_length=1,
                            max_length=64)
    decision: Literal[ADVISER_DECISIONS]  # type: ignore[valid-type]
    reason: str | None = Field(default=None, max_length=1000,
                               description="required when the final decision differs from the model's")
    replace: bool = Field(default=False, description="one decision per evaluation: a second one is refused (409) "
                                                     "unless replace=true; the new line then names the one it "
                                                     "replaces")


class DecisionDoc(BaseModel):
    request_id: str
    decision: Literal[ADVISER_DECISIONS]  # type: ignore[valid-type]
    final: Literal["accept", "refuse"]
    model_decision: Literal["accept", "refuse", "review"]
    override: bool
    reason: str | None
    replaces: dict[str, Any] | None = Field(None, description="the decision this one replaced (replace=true)")


def dossier_body(result: DossierResult, request_id: str) -> dict[str, Any]:
    """What a dossier answer holds: the prediction, the source, the applicant, and for a what-if
    the dossier's own score and the change."""
    p = result.result
    body = p.as_dict() | {"review_label": LABEL_REVIEW if p.review else None, "source": result.source,
                          ID_COLUMN: result.dossier.sk_id_curr, "facts": _plain(result.dossier.facts),
                          "request_id": request_id}
    if result.base is not None:
        body |= {"dossier_score": result.base.score, "score_change": p.score - result.base.score}
    return body


def _plain(facts: Any) -> dict[str, Any]:
    """The stored facts as JSON values: numpy numbers as Python's, NaN as null."""
    out: dict[str, Any] = {}
    for key, value in dict(facts or {}).items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        out[str(key)] = value
    return out


# A letter is a page of its own: never framed by another site, no script but its print button, nothing fetched.
LETTER_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                             "script-src 'unsafe-inline'; frame-ancestors 'none'"}


def letter_page(page: str) -> HTMLResponse:
    return HTMLResponse(page, headers=LETTER_HEADERS)


_ABSENT = (UnknownApplicant, StoreUnavailable, ModelUnavailable)  # 404, 503, 503


def _absent(exc: Exception, request_id: str | None = None) -> Response:
    """404 naming the unknown applicant, or 503 saying why there is no store or no model."""
    return json_response({"detail": str(exc), "request_id": request_id}, 404 if isinstance(exc, LookupError) else 503,
                 request_id)


def predict_dossier(service: ScoringService, data: dict[str, Any], *, request_id: str, started: float,
                    explain: bool, client: str | None) -> Response:
    """`POST /api/predict` for a body naming `SK_ID_CURR` (the caller has the model)."""
    try:
        rules = service.what_if_rules
        if rules is None:
            raise ModelUnavailable("no model loaded")
        applicant, overrides = rules.parse(data)
        result = service.score_dossier(applicant, overrides, request_id=request_id, started=started,
                                       explain=explain, client=client)
    except InputError as exc:
        service.log_refusal(request_id=request_id, input=data, started=started, error=str(exc), client=client,
                            source=SOURCE_API)
        return refusal(exc, request_id)
    except _ABSENT as exc:
        service.log_refusal(request_id=request_id, input=data, started=started, error=str(exc), client=client,
                            source=SOURCE_API)
        return _absent(exc, request_id)
    return json_response(dossier_body(result, request_id), request_id=request_id)


def add_dossier_routes(app: FastAPI, service: ScoringService) -> None:
    """The routes of this module (called by `api.rest.create_api`)."""

    answers = DossierCache()  # a stored applicant's answer, per (model, store): api.dossier_cache

    @app.get("/api/applicants/{applicant_id}", tags=["dossiers"], summary="Score a known applicant (dossier)",
             responses={200: {"model": DossierDoc}, **error_docs(401, 404, 422, 503)})
    async def applicant(applicant_id: ApplicantId, request: Request) -> Response:
        started = time.perf_counter()
        request_id = new_request_id()
        client = client_of(request)
        try:
            predictor, store = service.require_model()[0], service.require_store()
            cached = answers.get(predictor, store, applicant_id)
            if cached is None:
                result = service.score_dossier(applicant_id, request_id=request_id, started=started, client=client)
                doc = dossier_body(result, request_id)
                del doc["request_id"]  # each answer's own, put back last by `body_for`
                cached = CachedDossier(result.result, tuple(predictor.features),
                                       np.asarray(result.dossier.row, dtype=np.float32), orjson.dumps(doc))
                answers.put(predictor, store, applicant_id, cached)
            else:
                service.log_dossier(applicant_id, cached.result, (cached.names, cached.row), request_id=request_id,
                                    started=started, client=client)
        except _ABSENT as exc:
            service.log_refusal(request_id=request_id, input={ID_COLUMN: applicant_id}, started=started,
                                error=str(exc), client=client, source=SOURCE_DOSSIER)
            return _absent(exc, request_id)
        return JSONBytes(cached.body_for(request_id), 200, request_id)

    @app.get("/api/applicants/{applicant_id}/letter", tags=["dossiers"], response_class=HTMLResponse,
             summary="The applicant's letter (HTML, French): the decision and its main reasons",
             responses=json_error_docs(401, 404, 422, 503))
    async def applicant_letter(applicant_id: ApplicantId, request: Request) -> Response:
        try:
            page = service.letter_for_applicant(applicant_id, client=client_of(request))
        except _ABSENT as exc:
            service.log_refusal(request_id=new_request_id(), input={ID_COLUMN: applicant_id, "letter": True},
                                started=time.perf_counter(), error=str(exc), client=client_of(request),
                                source=SOURCE_DOSSIER)
            return _absent(exc)
        return letter_page(page)

    @app.get("/api/letters/{request_id}", tags=["dossiers"], response_class=HTMLResponse,
             summary="The applicant's letter for a recent evaluation (HTML, French)",
             responses=json_error_docs(401, 404, 422))
    async def request_letter(request_id: RequestId, request: Request) -> Response:
        try:
            return letter_page(service.letter_for_request(request_id, client=client_of(request), source=SOURCE_API))
        except UnknownRequest as exc:
            return json_response({"detail": str(exc)}, 404)

    @app.post("/api/decisions", tags=["dossiers"], summary="Record the adviser's final decision on an evaluation",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/DecisionRequestDoc"},
                  "example": {"request_id": "0f53b164b6b64ba90000000000000001", "decision": "override",
                              "reason": "garant solvable présenté en agence"}}}}},
              responses={200: {"model": DecisionDoc}, **error_docs(401, 404, 409, 413, 415, 422)})
    async def decisions(request: Request) -> Response:
        def refused(errors: list[FieldError]) -> Response:
            exc = InputError(errors)
            service.log_refusal(request_id=new_request_id(), input={"decision": "malformed"},
                                started=time.perf_counter(), error=str(exc)[:500], client=client_of(request),
                                source=SOURCE_API)
            return refusal(exc, None)

        body = await request.body()
        try:
            refuse_duplicate_keys(body, flat=True)
        except InputError as exc:
            return refused(exc.errors)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return refused([FieldError("body", "is not valid JSON: send {request_id, decision, reason}")])
        if type(data) is not dict:
            return refused([FieldError("body", "must be a JSON object {request_id, decision, reason}")])
        unknown = [FieldError(str(k)[:60], "is not a field of a decision (request_id, decision, reason, replace)")
                   for k in data if k not in ("request_id", "decision", "reason", "replace")]
        if "request_id" not in data or type(data["request_id"]) is not str:
            unknown.append(FieldError("request_id", "is required: the request_id of an evaluation, a string"))
        if type(data.get("replace", False)) is not bool:
            unknown.append(FieldError("replace", "must be true or false"))
        if unknown:
            return refused(unknown)
        try:
            made = service.record_decision(data["request_id"], data.get("decision"), data.get("reason"),
                                           source=SOURCE_API, client=client_of(request),
                                           replace=data.get("replace", False))
        except DecisionError as exc:
            answer = refusal(InputError([FieldError(exc.field, str(exc))]), None)
            answer.status_code = 409 if exc.conflict else 422
            return answer
        except UnknownRequest as exc:
            return json_response({"detail": str(exc)}, 404)
        return json_response(made.as_dict())

    app.state.dossier_docs = {"DecisionRequestDoc": DecisionRequestDoc.model_json_schema()}
