"""Dossiers over the JSON API: a known applicant scored on their stored row, what-if, 404/422/503,
the log's source and applicant_id, the adviser's decision and the applicant's letter.

The exactness tests use the committed model and a store of a small twin built for it: a dossier's
score equals batch scoring (`serving.batch.score_file`, what `inference.py` runs) of the same tables,
and a what-if equals scoring the edited raw application row through `build_features`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import gated
from api.logger import PredictionLogger
from api.rest import create_api
from api.scoring_service import ScoringService
from scoring import config, schema
from scoring.data import Tables
from scoring.features import align_features, build_features
from scoring.store import FeatureStore
from scoring.synthetic import write_tables
from serving.batch import score_file
from serving.predictor import Predictor
from tests.helpers import VALID


@pytest.fixture()
def api(dossier_service: ScoringService) -> Iterator[TestClient]:
    with TestClient(gated(create_api(dossier_service)), raise_server_exceptions=False) as c:
        yield c


def _records(service: ScoringService) -> list[dict]:
    service.logger.flush()
    return [json.loads(line) for line in service.logger.path.read_text(encoding="utf-8").splitlines()]


def test_a_dossier_scores_like_batch_scoring_of_the_same_tables(api: TestClient, twin_store_tables: Tables,
                                                                committed: Predictor, tmp_path: Path) -> None:
    write_tables(twin_store_tables, tmp_path / "tables")
    report = score_file(tmp_path / "tables" / "application_train.csv", tmp_path / "scores.csv", predictor=committed,
                        data_dir=tmp_path / "tables", progress=False)
    batch = pd.read_csv(tmp_path / "scores.csv").set_index(schema.ID_COLUMN)["score"]
    assert report.scored == len(batch) > 400  # training and application_test applicants
    ids = batch.index[:: max(1, len(batch) // 60)]
    for applicant in ids:
        answer = api.get(f"/api/applicants/{applicant}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert abs(body["score"] - batch[applicant]) <= 1e-6
        assert body["source"] == "dossier" and body[schema.ID_COLUMN] == applicant
        assert body["label"] == schema.label_for(body["score"], body["threshold"])
        assert {"up", "down", "base_score"} <= set(body["reasons"]) and body["facts"]["AGE_YEARS"] > 17


def _edited_score(tables: Tables, applicant: int, raw_edits: dict, predictor: Predictor) -> float:
    app = tables.application.copy()
    row = app[schema.ID_COLUMN] == applicant
    for column, value in raw_edits.items():
        app.loc[row, column] = value
    edited = Tables(**{**tables.__dict__, "application": app})
    features = align_features(build_features(edited.restrict([applicant]), progress=False), predictor.features)
    return float(predictor.score_matrix(features.to_numpy(dtype=np.float32))[0])


def test_what_if_equals_scoring_the_edited_raw_row(api: TestClient, twin_store_tables: Tables,
                                                   committed: Predictor) -> None:
    app = twin_store_tables.application
    applicant = int(app.loc[app["CODE_GENDER"] == "F", schema.ID_COLUMN].iloc[3])
    credit = float(app.loc[app[schema.ID_COLUMN] == applicant, "AMT_CREDIT"].iloc[0])
    overrides = {"AMT_CREDIT": round(credit * 1.5, 2), "AMT_ANNUITY": 20_000.0, schema.EXT_SOURCE_2: 0.31,
                 schema.GENDER_M: 1, schema.GENDER_F: 0}
    answer = api.post("/api/predict", json={schema.ID_COLUMN: applicant, **overrides})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = _edited_score(twin_store_tables, applicant, {"AMT_CREDIT": overrides["AMT_CREDIT"],
                                                            "AMT_ANNUITY": 20_000.0, "EXT_SOURCE_2": 0.31,
                                                            "CODE_GENDER": "M"}, committed)
    assert abs(body["score"] - expected) <= 1e-6
    own = api.get(f"/api/applicants/{applicant}").json()["score"]
    assert body["source"] == "what-if" and body["dossier_score"] == pytest.approx(own, abs=1e-9)
    assert body["score_change"] == pytest.approx(body["score"] - own, abs=1e-9) and body["score_change"] != 0
    plain = api.post("/api/predict", json={schema.ID_COLUMN: applicant}).json()  # no override: the dossier
    assert plain["source"] == "dossier" and plain["score"] == own and "score_change" not in plain


@pytest.mark.parametrize("path, status, words", [
    ("/api/applicants/1", 404, "no applicant 1"), ("/api/applicants/999999999", 404, "999999999"),
    ("/api/applicants/abc", 422, "applicant_id"), ("/api/applicants/0", 422, "applicant_id"),
    ("/api/applicants/-5", 422, "applicant_id"), ("/api/applicants/1.5", 422, "applicant_id"),
    ("/api/applicants/99999999999999999999", 422, "applicant_id"),
])
def test_unknown_and_malformed_applicants(api: TestClient, path: str, status: int, words: str) -> None:
    answer = api.get(path)
    assert answer.status_code == status and answer.headers["content-type"] == "application/json"
    assert words in answer.text


@pytest.mark.parametrize("body, field", [
    ({schema.ID_COLUMN: "100002"}, schema.ID_COLUMN), ({schema.ID_COLUMN: 100002.5}, schema.ID_COLUMN),
    ({schema.ID_COLUMN: 1e300}, schema.ID_COLUMN),
    ({schema.ID_COLUMN: True}, schema.ID_COLUMN), ({schema.ID_COLUMN: 0}, schema.ID_COLUMN),
    ({schema.ID_COLUMN: None}, schema.ID_COLUMN),
    ({schema.ID_COLUMN: 100002, "DAYS_BIRTH": -12000}, "DAYS_BIRTH"),
    ({schema.ID_COLUMN: 100002, "AMT_CREDIT": -5}, "AMT_CREDIT"),
    ({schema.ID_COLUMN: 100002, "AMT_CREDIT": 0}, "AMT_CREDIT"),
    ({schema.ID_COLUMN: 100002, "AMT_GOODS_PRICE": 1e12}, "AMT_GOODS_PRICE"),
    ({schema.ID_COLUMN: 100002, "AMT_ANNUITY": "900"}, "AMT_ANNUITY"),
    ({schema.ID_COLUMN: 100002, schema.EXT_SOURCE_1: 1.5}, schema.EXT_SOURCE_1),
    ({schema.ID_COLUMN: 100002, schema.DOCUMENT_3: 2}, schema.DOCUMENT_3),
    ({schema.ID_COLUMN: 100002, schema.GENDER_F: 1, schema.GENDER_M: 1}, f"{schema.GENDER_F},{schema.GENDER_M}"),
])
def test_bad_dossier_bodies_are_refused_naming_the_field(api: TestClient, dossier_service: ScoringService,
                                                         body: dict, field: str) -> None:
    answer = api.post("/api/predict", json=body)
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]]
    (record,) = _records(dossier_service)
    assert record["status"] == "error" and record["source"] == "api"


def test_without_a_store_dossiers_answer_503_saying_why(predictor: Predictor, tmp_path: Path) -> None:
    svc = ScoringService(predictor, PredictionLogger(tmp_path / "p.log"), store_reason="feature_store.sqlite: "
                                                                                      "feature store not found")
    with TestClient(gated(create_api(svc)), raise_server_exceptions=False) as c:
        for answer in (c.get("/api/applicants/100002"), c.post("/api/predict", json={schema.ID_COLUMN: 100002}),
                       c.get("/api/applicants/100002/letter")):
            assert answer.status_code == 503 and "feature store not found" in answer.json()["detail"]
        assert c.post("/api/predict", json=VALID).status_code == 200  # the 11 features still work
        health = c.get("/health").json()
        assert health["feature_store"] == {"loaded": False, "reason": "feature_store.sqlite: feature store not found"}
    svc.logger.close()


def test_health_describes_the_store_and_a_store_of_another_model_is_refused(
        api: TestClient, dossier_service: ScoringService, fixture_store: Path) -> None:
    store = api.get("/health").json()["feature_store"]
    assert store["loaded"] and store["applicants"] > 400
    assert store["model_version"] == dossier_service.predictor.model_version
    dossier_service.attach_store(FeatureStore.open(fixture_store), "")  # built for the fixture model
    assert dossier_service.store is None and "built for model" in dossier_service.store_reason
    assert api.get("/api/applicants/100002").status_code == 503


def test_log_records_carry_source_and_applicant_id(api: TestClient, dossier_service: ScoringService) -> None:
    api.post("/api/predict", json=VALID)
    api.get("/api/applicants/100002")
    api.post("/api/predict", json={schema.ID_COLUMN: 100002, "AMT_CREDIT": 300_000})
    api.post("/api/predict/batch", json={"rows": [VALID]})
    api.get("/api/applicants/7")
    records = _records(dossier_service)
    assert [(r["source"], r.get("applicant_id"), r["status"]) for r in records] == [
        ("api", None, "ok"), ("dossier", 100002, "ok"), ("what-if", 100002, "ok"), ("batch", None, "ok"),
        ("dossier", 7, "error")]
    assert records[2]["input"] == {schema.ID_COLUMN: 100002, "AMT_CREDIT": 300_000.0}


def test_the_advisers_decision_is_logged_tied_to_the_request(api: TestClient,
                                                             dossier_service: ScoringService) -> None:
    evaluated = api.get("/api/applicants/100002").json()
    rid, model = evaluated["request_id"], "refuse" if evaluated["prediction"] else "accept"
    assert not evaluated["review"]
    missing = api.post("/api/decisions", json={"request_id": rid, "decision": "override"})
    assert missing.status_code == 409 and missing.json()["errors"][0]["field"] == "reason"
    assert api.post("/api/decisions", json={"request_id": "ab" * 16, "decision": "accept"}).status_code == 404
    bad = api.post("/api/decisions", json={"request_id": rid, "decision": "maybe", "extra": 1})
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"extra"}
    assert api.post("/api/decisions", json={"request_id": rid, "decision": "maybe"}).status_code == 422
    same = api.post("/api/decisions", json={"request_id": rid, "decision": model})  # no override: no reason needed
    assert same.status_code == 200 and same.json()["override"] is False
    override = {"request_id": rid, "decision": "override", "reason": "garant solvable"}
    second = api.post("/api/decisions", json=override)  # one decision per evaluation: a second one is refused
    assert second.status_code == 409 and "already recorded" in second.json()["detail"]
    assert api.post("/api/decisions", json=override | {"replace": "yes"}).status_code == 422
    made = api.post("/api/decisions", json=override | {"replace": True})  # ... unless it says it replaces it
    assert made.status_code == 200
    first = same.json()
    assert made.json() == {"request_id": rid, "decision": "override", "final": "accept" if model == "refuse" else
                           "refuse", "model_decision": model, "override": True, "reason": "garant solvable",
                           "replaces": first}
    lines = [r for r in _records(dossier_service) if "adviser_decision" in r]
    assert len(lines) == 2 and all(r["prediction"] is None and r["status"] == "ok" for r in lines)
    assert lines[-1]["adviser_decision"] == made.json() and lines[-1]["applicant_id"] == 100002
    assert lines[-1]["input"]["replace"] is True
    assert lines[-1]["source"] == "api" and lines[-1]["request_id"] != rid and lines[-1]["input"]["request_id"] == rid


def test_the_letter_says_the_decision_in_plain_french(api: TestClient) -> None:
    evaluated = api.get("/api/applicants/100002").json()
    page = api.get(f"/api/letters/{evaluated['request_id']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "Madame, Monsieur" in text and "Dossier n° 100002" in text
    for jargon in ("score", "seuil", "SHAP", "log-odds", "probabilit", "EXT_SOURCE", "_"):
        assert jargon not in text.split("<body>")[1].replace("window.print", "")
    verdict = "est acceptée" if evaluated["prediction"] == 0 else "suite favorable"
    assert verdict in text
    override = {"request_id": evaluated["request_id"], "decision": "override", "reason": "vu en agence"}
    assert api.post("/api/decisions", json=override).status_code == 200
    flipped = api.get("/api/applicants/100002/letter").text  # the latest decided evaluation of the applicant
    assert ("suite favorable" in flipped) == (evaluated["prediction"] == 0)
    assert api.get("/api/letters/" + "0" * 32).status_code == 404
    assert api.get("/api/letters/not-hex").status_code == 422
    assert api.get("/api/applicants/1/letter").status_code == 404


def test_the_openapi_schema_states_both_shapes_of_a_predict_body(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    body = doc["paths"]["/api/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"oneOf": [{"$ref": "#/components/schemas/PredictRequest"},
                              {"$ref": "#/components/schemas/DossierRequest"}]}
    dossier = doc["components"]["schemas"]["DossierRequestFields"]  # DossierRequest adds the exclusive groups
    assert dossier["required"] == [schema.ID_COLUMN] and dossier["additionalProperties"] is False
    assert set(dossier["properties"]) == {schema.ID_COLUMN, *schema.UI_FEATURE_NAMES, "AMT_CREDIT", "AMT_ANNUITY",
                                          "AMT_GOODS_PRICE"}
    assert dossier["properties"]["AMT_CREDIT"]["minimum"] == 1  # a credit under one euro overflows the ratios
    assert {"/api/applicants/{applicant_id}", "/api/decisions", "/api/letters/{request_id}"} <= set(doc["paths"])


def test_api_tokens_cover_the_dossier_routes(committed: Predictor, committed_store: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKENS", "agence:s3cret-token")
    svc = ScoringService(committed, PredictionLogger(tmp_path / "p.log"), store=FeatureStore.open(committed_store),
                         store_reason="")
    with TestClient(gated(create_api(svc))) as c:
        for path in ("/api/applicants/100002", "/api/applicants/100002/letter", "/api/letters/" + "0" * 32):
            assert c.get(path).status_code == 401
        assert c.post("/api/decisions", json={}).status_code == 401
        ok = c.get("/api/applicants/100002", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
    svc.logger.flush()
    assert json.loads(svc.logger.path.read_text().splitlines()[-1])["client"] == "agence"
    svc.logger.close()


def test_a_store_file_copied_next_to_a_model_is_opened_at_load(committed_store: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "model"
    shutil.copytree(config.MODELS_DIR, model, ignore=shutil.ignore_patterns(config.FEATURE_STORE_FILE + "*"))
    shutil.copy(committed_store, model / config.FEATURE_STORE_FILE)
    monkeypatch.delenv("FEATURE_STORE", raising=False)
    svc = ScoringService.load(model, tmp_path / "p.log")
    assert svc.health()["feature_store"]["loaded"] is True
    svc.logger.close()
    monkeypatch.setenv("FEATURE_STORE", str(tmp_path / "absent.sqlite"))
    svc = ScoringService.load(model, tmp_path / "p.log")
    assert svc.store is None and "absent.sqlite" in svc.health()["feature_store"]["reason"]
    svc.logger.close()
