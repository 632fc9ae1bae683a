"""The JSON API through FastAPI's TestClient: valid calls, every class of bad input, 503, logging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.logger import PredictionLogger
from api.rest import create_api
from api.scoring_service import ScoringService
from scoring import schema
from serving.validation import MAX_BATCH_ROWS
from tests.helpers import VALID


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_predict_answers_the_contract(client: TestClient, service: ScoringService, log_file: Path) -> None:
    resp = client.post("/api/predict", json=VALID)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert {"score", "label", "prediction", "threshold", "reasons", "model_version", "request_id"} <= body.keys()
    assert body["label"] in (schema.LABEL_LOW_RISK, schema.LABEL_HIGH_RISK)
    assert body["label"] == schema.label_for(body["score"], body["threshold"])
    assert body["prediction"] == schema.prediction_for(body["score"], body["threshold"])
    assert body["score"] == service.predictor.predict(VALID).score
    assert body["reasons"]["up"] or body["reasons"]["down"]
    assert resp.headers["X-Request-ID"] == body["request_id"]
    service.logger.flush()
    (record,) = _lines(log_file)
    assert record["request_id"] == body["request_id"] and record["status"] == "ok"
    assert record["prediction"] == {"score": body["score"], "label": body["label"], "decision": body["prediction"],
                                    "grade": body["grade"]}
    assert record["input"] == {k: float(v) for k, v in VALID.items()}
    assert record["memory_usage_MB"] > 0 and record["duration"] > 0


def test_reasons_can_be_skipped(client: TestClient) -> None:
    full = client.post("/api/predict", json=VALID).json()
    lean = client.post("/api/predict?reasons=false", json=VALID).json()
    assert lean["score"] == full["score"] and lean["label"] == full["label"]
    assert lean["reasons"] == {"up": [], "down": []} and full["reasons"]["up"]
    bad = client.post("/api/predict?reasons=maybe", json=VALID)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.reasons"


def test_optional_features_and_booleans_are_accepted(client: TestClient, service: ScoringService) -> None:
    flags = {schema.INCOME_WORKING: True, schema.DOCUMENT_3: False, schema.GENDER_F: False, schema.GENDER_M: True}
    resp = client.post("/api/predict", json=VALID | flags | {"DAYS_BIRTH": -12000, "AMT_CREDIT": 300000.5})
    assert resp.status_code == 200, resp.text
    expected = service.predictor.predict(VALID | {schema.DOCUMENT_3: 0, "DAYS_BIRTH": -12000, "AMT_CREDIT": 300000.5})
    assert resp.json()["score"] == expected.score


def _body_with(**changes: object) -> dict:
    return VALID | changes


BAD_INPUTS = {
    "unknown feature": (_body_with(NOT_A_FEATURE=1), "NOT_A_FEATURE", "not a feature of the model"),
    "missing UI feature": ({k: v for k, v in VALID.items() if k != schema.DOCUMENT_3}, schema.DOCUMENT_3,
                           "required"),
    "null where unknown is not allowed": (_body_with(FLAG_DOCUMENT_3=None), schema.DOCUMENT_3, "0 or 1"),
    "wrong type (list)": (_body_with(EXT_SOURCE_1=[0.5]), schema.EXT_SOURCE_1, "JSON number"),
    "wrong type (null)": (_body_with(AMT_CREDIT=None), "AMT_CREDIT", "JSON number"),
    "number as string": (_body_with(EXT_SOURCE_1="0.5"), schema.EXT_SOURCE_1, "got a string"),
    "flag as string": (_body_with(FLAG_DOCUMENT_3="yes"), schema.DOCUMENT_3, "0 or 1"),
    "out of range": (_body_with(EXT_SOURCE_3=7.5), schema.EXT_SOURCE_3, "outside its domain [0, 1]"),
    "negative external score": (_body_with(EXT_SOURCE_1=-0.05), schema.EXT_SOURCE_1, "outside its domain [0, 1]"),
    "negative overdue amount": (_body_with(BUREAU_AMT_CREDIT_SUM_OVERDUE_max=-20000), schema.BUREAU_OVERDUE_MAX,
                                "outside its domain [0, inf]"),
    "negative count of drawings": (_body_with(CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean=-0.5), schema.CARD_ATM_DRAWINGS,
                                   "cannot be negative"),
    "flag as 2": (_body_with(FLAG_DOCUMENT_3=2), schema.DOCUMENT_3, "must be 0 or 1"),
    "gender and XNA": (_body_with(CODE_GENDER_XNA=1), "CODE_GENDER_XNA", "at most one"),
    "an age of 0": (_body_with(DAYS_BIRTH=0), "DAYS_BIRTH", "outside its domain [-43830, -6574.5]"),
    "an age of 300 years": (_body_with(DAYS_BIRTH=-300 * 365.25), "DAYS_BIRTH", "an age of 18 to 120 years"),
    "binary not 0/1": (_body_with(FLAG_DOCUMENT_3=0.5), schema.DOCUMENT_3, "must be 0 or 1"),
    "both genders": (_body_with(CODE_GENDER_F=1, CODE_GENDER_M=1), schema.GENDER_F, "at most one"),
    "both educations": (_body_with(**{schema.EDUCATION_HIGHER: 1, schema.EDUCATION_SECONDARY: True}),
                        schema.EDUCATION_SECONDARY, "at most one"),
    "not an object": ([VALID], "body", "JSON object"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_naming_the_field(client: TestClient, service, case: str) -> None:
    payload, field, words = BAD_INPUTS[case]
    resp = client.post("/api/predict", json=payload)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    matching = [e for e in body["errors"] if field in e["field"]]
    assert matching, body
    assert words in matching[0]["message"]
    assert field in body["detail"]
    assert "Traceback" not in resp.text
    service.logger.flush()
    record = json.loads(service.logger.path.read_text().splitlines()[-1])
    assert record["status"] == "error" and record["source"] == "api"  # a refused call counts as the API's


@pytest.mark.parametrize("raw", [b"{\"EXT_SOURCE_1\": NaN}", b"{\"EXT_SOURCE_1\": Infinity}",
                                 b"{\"EXT_SOURCE_1\": -Infinity}"])
def test_nan_and_infinity_are_refused(client: TestClient, raw: bytes) -> None:
    body = json.dumps(VALID).replace('"EXT_SOURCE_1": 0.45', raw.decode()[1:-1]).encode()
    resp = client.post("/api/predict", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 422
    (error,) = [e for e in resp.json()["errors"] if e["field"] == schema.EXT_SOURCE_1]
    assert "finite" in error["message"]


@pytest.mark.parametrize("raw", [b"", b"not json", b"{\"EXT_SOURCE_1\": 0.5", b"\xff\xfe"])
def test_empty_or_non_json_body_is_refused(client: TestClient, raw: bytes) -> None:
    resp = client.post("/api/predict", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "body"
    assert "JSON" in resp.json()["errors"][0]["message"]


def test_refused_calls_are_logged_as_errors(client: TestClient, service: ScoringService, log_file: Path) -> None:
    client.post("/api/predict", content=b'{"EXT_SOURCE_1": NaN, "x": "y"}')
    client.post("/api/predict", content=b"garbage")
    service.logger.flush()
    records = _lines(log_file)
    assert [r["status"] for r in records] == ["error", "error"]
    assert records[0]["prediction"] is None and "EXT_SOURCE_1" in records[0]["error"]
    assert records[0]["input"] == {"EXT_SOURCE_1": "nan", "x": "y"}  # what was sent, made JSON-safe
    assert records[1]["input"] == {}


def test_batch_scores_like_single_calls(client: TestClient, service: ScoringService, log_file: Path) -> None:
    rows = [VALID, VALID | {schema.EXT_SOURCE_1: 0.1}, VALID | {schema.GENDER_M: 0, schema.GENDER_F: 1}]
    resp = client.post("/api/predict/batch", json={"rows": rows})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == 3
    singles = [client.post("/api/predict", json=r).json()["score"] for r in rows]
    assert [p["score"] for p in body["predictions"]] == singles
    service.logger.flush()
    batch_records = [r for r in _lines(log_file) if r["request_id"].startswith(body["request_id"])]
    assert len(batch_records) == 3  # one record per row


def test_batch_refusals(client: TestClient) -> None:
    too_many = client.post("/api/predict/batch", json={"rows": [VALID] * (MAX_BATCH_ROWS + 1)})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "rows"
    assert str(MAX_BATCH_ROWS) in too_many.json()["errors"][0]["message"]
    empty = client.post("/api/predict/batch", json={"rows": []})
    assert empty.status_code == 422
    bad_row = client.post("/api/predict/batch", json={"rows": [VALID, VALID | {schema.EXT_SOURCE_1: "x"}]})
    assert bad_row.status_code == 422
    assert bad_row.json()["errors"][0]["field"] == "rows[1].EXT_SOURCE_1"
    domain = client.post("/api/predict/batch", json={"rows": [VALID | {schema.GENDER_F: 1}]})
    assert domain.json()["errors"][0]["field"].startswith("rows[0].")
    assert client.post("/api/predict/batch", json=[VALID]).status_code == 422
    assert client.post("/api/predict/batch", content=b"").status_code == 422


def test_an_oversized_body_is_refused_with_413_without_reading_it_all(
        client: TestClient, service: ScoringService) -> None:
    from api.middleware import DEFAULT_BODY_LIMIT
    from serving.validation import MAX_BODY_BYTES

    huge = b'{"rows": [' + b" " * (MAX_BODY_BYTES + 10) + b"]}"
    resp = client.post("/api/predict/batch", content=huge)
    assert resp.status_code == 413 and str(MAX_BODY_BYTES) in resp.json()["detail"]
    assert client.post("/api/predict", content=b" " * (DEFAULT_BODY_LIMIT + 1)).status_code == 413
    assert client.post("/api/predict", content=json.dumps(VALID).encode().ljust(DEFAULT_BODY_LIMIT)).status_code == 200

    def chunks():  # no content-length: streamed, cut past the limit
        yield b'{"EXT_SOURCE_1": 0.5, "pad": "'
        for _ in range(DEFAULT_BODY_LIMIT // 4096 + 2):
            yield b"x" * 4096
        yield b'"}'

    streamed = client.post("/api/predict", content=chunks())
    assert streamed.status_code == 413 and "transfer-encoding" not in streamed.request.headers.get("content-length", "")
    assert "content-length" not in streamed.request.headers


def test_health_and_model_info(client: TestClient, service: ScoringService) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["model_loaded"] and health.json()["logger"]["failures"] == 0
    info = client.get("/model/info").json()
    assert info["model_version"] == service.predictor.model_version
    assert info["threshold"] == service.predictor.threshold
    assert info["n_features"] == len(service.predictor.features) == len(info["features"])
    assert info["metrics"]["auc"] == 0.75
    assert info["accepted_ranges"][schema.DOCUMENT_3]["binary"]


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    return [r for v in node for r in _refs(v)] if isinstance(node, list) else []


def test_openapi_tells_the_truth(client: TestClient, service: ScoringService) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/predict", "/api/predict/batch", "/health", "/model/info"} <= spec["paths"].keys()
    for ref in _refs(spec):  # every $ref resolves inside the document
        node = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    request = spec["components"]["schemas"]["PredictRequestFields"]  # the groups: tests/api/test_openapi_doc.py
    required = set(schema.UI_FEATURE_NAMES) - schema.MAY_BE_UNKNOWN
    assert required <= set(request["required"]) and request["additionalProperties"] is False
    assert not schema.MAY_BE_UNKNOWN & set(request["required"])  # unknown is an answer: absent or null
    assert all(request["properties"][n]["type"] == ["number", "null"] for n in schema.MAY_BE_UNKNOWN)
    props = request["properties"]
    assert props[schema.EXT_SOURCE_1]["minimum"] == 0 and props[schema.EXT_SOURCE_1]["maximum"] <= 1
    assert props[schema.BUREAU_OVERDUE_MAX]["minimum"] == 0
    assert props[schema.DOCUMENT_3]["anyOf"] == [{"type": "boolean"}, {"enum": [0, 1]}]
    bound = service.validator.bounds["DAYS_BIRTH"]
    assert (props["DAYS_BIRTH"]["minimum"], props["DAYS_BIRTH"]["maximum"]) == (bound.low, bound.high)
    groups = spec["components"]["schemas"]["PredictRequest"]["x-exclusive-groups"]
    assert any({schema.GENDER_F, schema.GENDER_M} <= set(g) for g in groups)
    batch = spec["paths"]["/api/predict/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert batch["properties"]["rows"]["items"] == {"$ref": "#/components/schemas/PredictRequest"}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            content = op["responses"]["200"]["content"]  # JSON, or the report's HTML
            assert content and all(c.get("schema") for c in content.values()), (path, method)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text


def test_docs_assets_are_served_locally(client: TestClient) -> None:
    pytest.importorskip("swagger_ui_bundle", reason="swagger-ui-bundle-v2 not installed: /docs uses the CDN")
    assert "cdn.jsdelivr" not in client.get("/docs").text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


@pytest.fixture()
def no_model_client(tmp_path: Path):
    svc = ScoringService.load(tmp_path / "no-model", tmp_path / "p.log")
    with TestClient(create_api(svc), raise_server_exceptions=False) as c:
        yield c, svc
    svc.logger.close()


def test_without_a_model_the_app_starts_and_says_why(no_model_client) -> None:
    client, svc = no_model_client
    health = client.get("/health")
    assert health.status_code == 503
    assert "does not exist" in health.json()["reason"]
    resp = client.post("/api/predict", json=VALID)
    assert resp.status_code == 503 and "no model loaded" in resp.json()["detail"]
    assert client.post("/api/predict/batch", json={"rows": [VALID]}).status_code == 503
    assert client.get("/model/info").status_code == 503
    svc.logger.flush()
    records = _lines(svc.logger.path)
    assert len(records) == 2 and {r["status"] for r in records} == {"error"}
    assert all("no model loaded" in r["error"] for r in records)


def test_an_unloadable_model_leaves_the_service_up(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    from scoring.artifacts import sha256_of

    broken = Path(shutil.copytree(model_dir, tmp_path / "broken"))
    (broken / schema.SERVED_MODEL_FILE).write_bytes(b"not a model")
    manifest = json.loads((broken / schema.MANIFEST_FILE).read_text())
    manifest["files"][schema.SERVED_MODEL_FILE] = sha256_of(broken / schema.SERVED_MODEL_FILE)  # checksums agree
    (broken / schema.MANIFEST_FILE).write_text(json.dumps(manifest))
    svc = ScoringService.load(broken, tmp_path / "p.log")
    assert svc.predictor is None and "is not an XGBoost model" in svc.load_error
    svc.logger.close()


def test_an_unexpected_error_gives_500_without_a_traceback(service: ScoringService) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    service.score = broken  # type: ignore[method-assign]
    with TestClient(create_api(service), raise_server_exceptions=False) as client:
        resp = client.post("/api/predict", json=VALID)
    assert resp.status_code == 500
    assert "secret internals" not in resp.text and "Traceback" not in resp.text
    service.logger.flush()  # logged once as a failed call, by the same path as refusals
    (record,) = _lines(service.logger.path)
    assert record["status"] == "error" and record["error"] == "internal error: RuntimeError: secret internals"
    assert record["input"] == {k: float(v) for k, v in VALID.items()}


def test_an_unwritable_log_never_breaks_a_prediction(predictor, tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    svc = ScoringService(predictor, PredictionLogger(blocker / "predictions.log"))
    with TestClient(create_api(svc)) as client:
        answers = [client.post("/api/predict", json=VALID) for _ in range(5)]
        assert all(a.status_code == 200 for a in answers)
        svc.logger.flush()
        health = client.get("/health").json()
    svc.logger.close()
    assert health["logger"]["failures"] == 5 and health["logger"]["written"] == 0
    assert health["status"] == "degraded"
    assert "file-not-folder" in health["logger"]["last_error"]
    assert sum("[prediction log]" in r.getMessage() for r in caplog.records) == 1  # reported once
