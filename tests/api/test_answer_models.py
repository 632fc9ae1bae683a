"""The answer models the OpenAPI document publishes are the answers' real shape: each route's answer
validates against its model, and the top-level models forbid an undocumented key (so Schemathesis'
`response_schema_conformance` fails on a key added to an answer but not to its model)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.app import gated
from api.decision_routes import DecisionDoc
from api.dossier_routes import DossierDoc
from api.openapi_doc import BatchDoc, HealthDoc, ModelInfoDoc, PredictionDoc
from api.rest import create_api
from api.scoring_service import ScoringService
from tests.helpers import VALID


@pytest.fixture()
def api(dossier_service: ScoringService) -> Iterator[TestClient]:
    with TestClient(gated(create_api(dossier_service))) as client:
        yield client


@pytest.mark.parametrize("model", [PredictionDoc, BatchDoc, DossierDoc, DecisionDoc, HealthDoc])
def test_the_top_level_answer_models_forbid_undocumented_keys(model: type[BaseModel]) -> None:
    assert model.model_json_schema().get("additionalProperties") is False


def test_each_answer_validates_against_its_published_model(client: TestClient) -> None:
    answered = client.post("/api/predict", json=VALID)
    PredictionDoc.model_validate(answered.json())
    PredictionDoc.model_validate(client.post("/api/predict?reasons=false", json=VALID).json())
    BatchDoc.model_validate(client.post("/api/predict/batch", json={"rows": [VALID, VALID]}).json())
    HealthDoc.model_validate(client.get("/health").json())
    ModelInfoDoc.model_validate(client.get("/model/info").json())
    decision = client.post("/api/decisions", json={"request_id": answered.json()["request_id"], "decision": "accept",
                                                   "reason": "dossier complet"})
    if decision.status_code == 200:
        DecisionDoc.model_validate(decision.json())
    else:  # the model refused this applicant: accepting needs an override with its reason
        assert decision.status_code in (409, 422)


def test_dossier_answers_validate_against_their_models(api: TestClient) -> None:
    dossier = api.get("/api/applicants/100002")
    assert dossier.status_code == 200
    DossierDoc.model_validate(dossier.json())
    what_if = api.post("/api/predict", json={"SK_ID_CURR": 100002, "AMT_CREDIT": 200000.0})
    assert what_if.status_code == 200
    PredictionDoc.model_validate(what_if.json())
    made = api.post("/api/decisions", json={"request_id": dossier.json()["request_id"], "decision": "override",
                                            "reason": "garant présenté en agence"})
    assert made.status_code == 200
    DecisionDoc.model_validate(made.json())
