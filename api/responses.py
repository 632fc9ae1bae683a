"""The JSON answers every route shares: orjson bytes with their headers, the 422 refusal, the
documented error shapes, the caller's identity as the middleware recorded it, and the service on
`app.state`."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.scoring_service import ScoringService
from serving.validation import InputError

OUT_OF_RANGE_DOC = ("the features of the row scored whose value lies outside the range seen in training widened by "
                    "10 %: accepted and scored (the model extrapolates), flagged for a person to check; empty when "
                    "none. Only impossible values are refused (422): see docs/rules.md")


class FieldErrorDoc(BaseModel):
    field: str = Field(examples=["EXT_SOURCE_1"])
    message: str = Field(examples=["must be a JSON number, got a string"])


class ErrorDoc(BaseModel):
    """Shape of every 4xx/503 answer."""

    detail: str
    errors: list[FieldErrorDoc] = []
    request_id: str | None = None


def error_docs(*codes: int) -> dict[int | str, dict[str, Any]]:
    words = {401: "No valid API token (only when API tokens are configured)",
             403: "No API tokens configured: an admin route needs them",
             404: "Not found (the message names what)", 405: "Wrong method",
             409: "The decision conflicts with the model's on that request: a reason is required to override it, "
                  "and in the grey zone there is nothing to override", 413: "Body too large",
             415: "The body is not sent as JSON (Content-Type: application/json, no Content-Encoding)",
             422: "Refused input: each entry names the field and what is allowed",
             503: "No model loaded (the reason is in `detail`)"}
    return {code: {"model": ErrorDoc, "description": words[code]} for code in codes}


class JSONBytes(Response):
    """A JSON answer already serialised by orjson, with its three headers set at once."""

    media_type = "application/json"

    def __init__(self, body: bytes, status: int, request_id: str | None):
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if request_id:
            self.raw_headers.append((b"x-request-id", request_id.encode()))


def json_response(content: Any, status: int = 200, request_id: str | None = None) -> Response:
    return JSONBytes(orjson.dumps(content), status, request_id)


def refusal(exc: InputError, request_id: str) -> Response:
    shown = "; ".join(f"{e.field}: {e.message}" for e in exc.errors[:3])
    more = f" (and {len(exc.errors) - 3} more)" if len(exc.errors) > 3 else ""
    return json_response({"detail": f"invalid input: {shown}{more}", "errors": [e.as_dict() for e in exc.errors],
                  "request_id": request_id}, 422, request_id)


def service_of(request: Request) -> ScoringService:
    """The service the app serves (`app.state.service`, set by `api.rest.create_api`)."""
    return request.app.state.service


def client_of(request: Request) -> str | None:
    state = request.scope.get("state")
    return state.get("client") if state else None


def json_error_docs(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`error_docs` for a route whose own answer is not JSON: the refusals stay documented as JSON."""
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDoc"}}}
    return {code: {"description": doc["description"], "content": ref} for code, doc in error_docs(*codes).items()}
