"""The model report: /model/report serves the manifest-checked file, /model/info links it, the form shows it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import gated
from api.logger import PredictionLogger
from api.rest import REPORT_ROUTE, create_api
from api.scoring_service import ScoringService
from scoring.artifacts import sha256_of
from scoring.schema import MANIFEST_FILE, REPORT_FILE
from serving.predictor import Predictor

REPORT = "<!doctype html><html><body><h1>Rapport du modèle</h1></body></html>".encode()


def _with_report(model_dir: Path, tmp_path: Path) -> Path:
    """A copy of the fixture model folder with a report listed in its manifest."""
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    (copy / REPORT_FILE).write_bytes(REPORT)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["files"][REPORT_FILE] = sha256_of(copy / REPORT_FILE)
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    return copy


def _client(model_dir: Path, tmp_path: Path) -> tuple[TestClient, ScoringService]:
    service = ScoringService(Predictor.from_dir(model_dir), PredictionLogger(tmp_path / "p.log"))
    return TestClient(gated(create_api(service)), raise_server_exceptions=False), service


def test_report_is_served_and_linked(model_dir: Path, tmp_path: Path) -> None:
    client, service = _client(_with_report(model_dir, tmp_path), tmp_path)
    with client:
        answer = client.get(REPORT_ROUTE)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.content == REPORT
        assert client.get("/model/info").json()["report"] == REPORT_ROUTE
    service.logger.close()


def test_a_model_without_report_answers_404_and_is_not_linked(model_dir: Path, tmp_path: Path) -> None:
    assert not (model_dir / REPORT_FILE).exists()
    client, service = _client(model_dir, tmp_path)
    with client:
        answer = client.get(REPORT_ROUTE)
        assert answer.status_code == 404
        assert "python train.py" in answer.json()["detail"]
        assert "report" not in client.get("/model/info").json()
    service.logger.close()


def test_a_tampered_report_stops_the_model_loading(model_dir: Path, tmp_path: Path) -> None:
    copy = _with_report(model_dir, tmp_path)
    (copy / REPORT_FILE).write_bytes(REPORT + b"<!-- changed -->")
    with pytest.raises(Exception, match=REPORT_FILE):
        Predictor.from_dir(copy)


def test_the_report_needs_a_token_when_tokens_are_set(model_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKENS", "audit:s3cret-token")
    client, service = _client(_with_report(model_dir, tmp_path), tmp_path)
    with client:
        assert client.get(REPORT_ROUTE).status_code == 401
        assert client.get(REPORT_ROUTE, headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    service.logger.close()


def test_the_form_has_a_report_tab(model_dir: Path, tmp_path: Path) -> None:
    from api.ui import build_ui

    predictor = Predictor.from_dir(_with_report(model_dir, tmp_path))
    service = ScoringService(predictor, PredictionLogger(tmp_path / "p.log"))
    config = json.dumps(build_ui(service).get_config_file(), ensure_ascii=False, default=str)
    assert "Rapport du modèle" in config
    assert f'src=\\"{REPORT_ROUTE}\\"' in config
    service.logger.close()
