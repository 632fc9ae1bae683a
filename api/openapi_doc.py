"""The API's published description: the answer models, the request examples, the OpenAPI document
(written from the served model's rules: bounds, flags, exclusive groups) and the local /docs page.

The answer models are what Schemathesis checks every answer against (`response_schema_conformance`);
the hot routes answer bytes serialised by orjson and declare their model through `responses=` (FastAPI's
`response_model` would validate and serialise each answer again: docs/decisions.md)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Access
from api.decision_routes import DecisionRequestDoc
from api.responses import OUT_OF_RANGE_DOC
from scoring.schema import ID_COLUMN, LABEL_HIGH_RISK, LABEL_LOW_RISK, LABEL_REVIEW, UI_FEATURE_NAMES
from serving.validation import EXCLUSIVE_GROUPS_KEY, MAX_BATCH_ROWS, MAX_BODY_BYTES
from serving.whatif import WHAT_IF_AMOUNTS

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
    model_config = ConfigDict(title="Prediction", extra="forbid")
    score: float = Field(ge=0, le=1, description="probability of default")
    label: Literal[LABEL_LOW_RISK, LABEL_HIGH_RISK]  # type: ignore[valid-type]
    prediction: Literal[0, 1] = Field(description="1 = high risk")
    threshold: float
    review: bool = Field(description="the score is in the grey zone around the threshold")
    grade: str | None = Field(description="risk grade on the model's master scale (A = lowest risk); null for a "
                                          "model without one")
    reasons: ReasonsDoc
    model_version: str
    out_of_range: list[str] = Field(description=OUT_OF_RANGE_DOC)
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
    model_config = ConfigDict(extra="forbid")  # an undocumented key fails Schemathesis
    score: float = Field(ge=0, le=1)
    label: Literal[LABEL_LOW_RISK, LABEL_HIGH_RISK]  # type: ignore[valid-type]
    prediction: Literal[0, 1]
    threshold: float
    review: bool
    grade: str | None
    model_version: str
    out_of_range: list[str] = Field(description=OUT_OF_RANGE_DOC)
    review_label: Literal[LABEL_REVIEW] | None  # type: ignore[valid-type]


class BatchDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an undocumented key fails Schemathesis
    predictions: list[BatchRowDoc]
    count: int
    request_id: str


class HealthDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an undocumented key fails Schemathesis
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
EXAMPLE = dict(zip(UI_FEATURE_NAMES, (0.45, 0.6, 0.55, 1, 0, 0.0, 1, 1, 0, 1, 0.0), strict=True))
REQUEST_REF = {"$ref": "#/components/schemas/PredictRequest"}
DOSSIER_REF = {"$ref": "#/components/schemas/DossierRequest"}
ONE, ZERO = {"enum": [1, True]}, {"enum": [0, False]}  # how a flag says 1 or 0 (1.0 is 1 in JSON Schema)


def body_doc(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}}


def exclusive_one_of(members: list[str]) -> dict[str, Any]:
    """JSON Schema of "at most one of `members` is 1": exactly one branch holds, member k set to 1
    with the others 0 (or absent), or none set to 1."""
    branches: list[dict[str, Any]] = [{"required": [k], "properties": {m: ONE if m == k else ZERO for m in members}}
                                      for k in members]
    return {"oneOf": [*branches, {"properties": dict.fromkeys(members, ZERO)}]}


def with_exclusive_groups(schemas: dict[str, Any], name: str) -> None:
    """State the exclusive groups of `schemas[name]` in JSON Schema, which the validator enforces and
    Schemathesis generates from: the fields move to `<name>Fields` and `name` becomes
    `allOf: [$ref <name>Fields, oneOf per group]`. (The pointer keeps generators from unrolling
    388 properties into every branch: inline, Schemathesis gives up on the schema.)"""
    fields = schemas[name]
    groups = [[m for m in group if m in fields["properties"]] for group in fields.get(EXCLUSIVE_GROUPS_KEY, ())]
    groups = [g for g in groups if len(g) > 1]
    if not groups:
        return
    schemas[f"{name}Fields"] = {k: v for k, v in fields.items() if k != "title"} | {"title": f"{name}Fields"}
    schemas[name] = {"title": name, "description": fields.get("description", ""), EXCLUSIVE_GROUPS_KEY: groups,
                     "allOf": [{"$ref": f"#/components/schemas/{name}Fields"}, *map(exclusive_one_of, groups)]}


def _swagger_assets() -> str | None:
    """Swagger UI's files from the `swagger-ui-bundle-v2` package, so /docs fetches nothing from a CDN
    (FastAPI's default page loads them from jsdelivr). None when the package is absent."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return str(swagger_ui_path)


def new_app() -> FastAPI:
    """The FastAPI application with its description and a /docs page served from local files."""
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
    return app


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()` writes the document from the served model's rules, again when a swapped model
    (api.model_swap) brings other accepted ranges."""
    written_for: list[str | None] = []

    def openapi() -> dict[str, Any]:
        service = app.state.service
        if app.openapi_schema is None or written_for != [service.model_version]:
            written_for[:] = [service.model_version]
            app.openapi_schema = _document(app, service)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(app: FastAPI, service: Any) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    request_schema = (service.validator.request_schema() if service.validator is not None
                      else {"type": "object", "title": "PredictRequest"})
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["PredictRequest"] = request_schema
    if service.what_if_rules is not None:
        schemas["DossierRequest"] = service.what_if_rules.schema(request_schema)
        predict_body = doc["paths"]["/api/predict"]["post"]["requestBody"]["content"]["application/json"]
        predict_body["schema"] = {"oneOf": [REQUEST_REF, DOSSIER_REF]}
        with_exclusive_groups(schemas, "DossierRequest")
    with_exclusive_groups(schemas, "PredictRequest")
    schemas["DecisionRequestDoc"] = DecisionRequestDoc.model_json_schema()
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
    return doc
