"""The dossier routes: a known applicant scored on their stored row, what-if overrides (answered for
`POST /api/predict` by `predict_dossier`) and the applicant's letter. The adviser's decision and the
letter of a request are `api.decision_routes`.

- `GET /api/applicants/{SK_ID_CURR}`: raw facts, score, label, grey-zone flag, reasons.
- `GET /api/applicants/{SK_ID_CURR}/letter`: the printable letter.

Unknown applicant → 404 naming it; malformed → 422; no feature store → 503 with why.
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Any, Literal

import numpy as np
import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.dossier_cache import CachedDossier, DossierCache
from api.logger import new_request_id
from api.refusals import ModelUnavailable, StoreUnavailable, UnknownApplicant
from api.responses import (
    OUT_OF_RANGE_DOC,
    JSONBytes,
    client_of,
    error_docs,
    json_error_docs,
    json_response,
    refusal,
    service_of,
)
from api.scoring_service import DossierResult, ScoringService
from scoring.schema import ID_COLUMN, LABEL_REVIEW, SOURCE_API, SOURCE_DOSSIER
from serving.validation import InputError
from serving.whatif import MAX_APPLICANT_ID

router = APIRouter(tags=["dossiers"])

ApplicantId = Annotated[int, Path(ge=1, le=MAX_APPLICANT_ID, description="SK_ID_CURR, the applicant's number")]


class DossierDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an undocumented key fails Schemathesis
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
    out_of_range: list[str] = Field(description=OUT_OF_RANGE_DOC)
    source: Literal["dossier"]
    request_id: str


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


def _answers(request: Request) -> DossierCache:
    """The app's cache of stored applicants' answers, per (model, store): api.dossier_cache."""
    state = request.app.state
    answers = getattr(state, "dossier_answers", None)
    if answers is None:
        answers = state.dossier_answers = DossierCache()
    return answers


@router.get("/api/applicants/{applicant_id}", summary="Score a known applicant (dossier)",
            responses={200: {"model": DossierDoc}, **error_docs(401, 404, 422, 503)})
async def applicant(applicant_id: ApplicantId, request: Request) -> Response:
    service = service_of(request)
    started = time.perf_counter()
    request_id = new_request_id()
    client = client_of(request)
    try:
        predictor, store = service.require_model()[0], service.require_store()
        answers = _answers(request)
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


@router.get("/api/applicants/{applicant_id}/letter", response_class=HTMLResponse,
            summary="The applicant's letter (HTML, French): the decision and its main reasons",
            responses=json_error_docs(401, 404, 422, 503))
async def applicant_letter(applicant_id: ApplicantId, request: Request) -> Response:
    service = service_of(request)
    try:
        page = service.letter_for_applicant(applicant_id, client=client_of(request))
    except _ABSENT as exc:
        service.log_refusal(request_id=new_request_id(), input={ID_COLUMN: applicant_id, "letter": True},
                            started=time.perf_counter(), error=str(exc), client=client_of(request),
                            source=SOURCE_DOSSIER)
        return _absent(exc)
    return letter_page(page)
