"""The adviser's routes on an evaluation: `POST /api/decisions` `{request_id, decision, reason, replace}`
records the final decision, one log line, one per evaluation (a second one: 409, unless `replace: true`,
logged as replacing the first); `GET /api/letters/{request_id}` prints the applicant's letter.

Unknown request → 404 naming it; malformed → 422 naming the field; every refusal is an audit line.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.adviser import ADVISER_DECISIONS, DecisionError
from api.decisions import UnknownRequest
from api.dossier_routes import letter_page
from api.logger import new_request_id
from api.responses import client_of, error_docs, json_error_docs, json_response, refusal, service_of
from scoring.schema import SOURCE_API
from serving.validation import FieldError, InputError, refuse_duplicate_keys

router = APIRouter(tags=["dossiers"])

RequestId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$",
                                description="the request_id of a recent evaluation")]


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
    model_config = ConfigDict(extra="forbid")  # an undocumented key fails Schemathesis
    request_id: str
    decision: Literal[ADVISER_DECISIONS]  # type: ignore[valid-type]
    final: Literal["accept", "refuse"]
    model_decision: Literal["accept", "refuse", "review"]
    override: bool
    reason: str | None
    replaces: dict[str, Any] | None = Field(None, description="the decision this one replaced (replace=true)")


@router.get("/api/letters/{request_id}", response_class=HTMLResponse,
            summary="The applicant's letter for a recent evaluation (HTML, French)",
            responses=json_error_docs(401, 404, 422))
async def request_letter(request_id: RequestId, request: Request) -> Response:
    try:
        page = service_of(request).letter_for_request(request_id, client=client_of(request), source=SOURCE_API)
    except UnknownRequest as exc:
        return json_response({"detail": str(exc)}, 404)
    return letter_page(page)


@router.post("/api/decisions", summary="Record the adviser's final decision on an evaluation",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"$ref": "#/components/schemas/DecisionRequestDoc"},
                 "example": {"request_id": "0f53b164b6b64ba90000000000000001", "decision": "override",
                          "reason": "garant solvable présenté en agence"}}}}},
             responses={200: {"model": DecisionDoc}, **error_docs(401, 404, 409, 413, 415, 422)})
async def decisions(request: Request) -> Response:
    service = service_of(request)

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
