"""Training into the folder of the running model (the README's quick path used to): the service keeps
serving the model it loaded, its report stays that model's, and /health says the folder changed."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from api.scoring_service import ScoringService
from scoring.artifacts import load_artifacts, write_artifacts
from scoring.config import MODELS_DIR
from scoring.schema import METRICS_FILE, REPORT_FILE
from tests.fixture_model import build_model_dir


def _with_report(model_dir: Path, text: str, metrics: dict | None = None) -> None:
    a = load_artifacts(model_dir)
    write_artifacts(model_dir, model=a.model, features=a.features, threshold=a.threshold,
                    metrics=metrics or a.metrics, reference=a.reference, extra_files={REPORT_FILE: text.encode()})


def test_a_model_trained_into_the_running_folder_is_reported_not_served(model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    shutil.copytree(model_dir, folder)
    _with_report(folder, "<html>rapport du modèle chargé</html>")
    service = ScoringService.load(folder, tmp_path / "p.log")
    loaded = service.model_version
    assert service.health()["status"] == "ok" and b"charg" in service.report_html()
    build_model_dir(folder, seed=3, n_estimators=20)  # another model written into the same folder
    _with_report(folder, "<html>rapport du nouveau modèle</html>")
    health = service.health()
    assert health["status"] == "degraded" and health["model_version"] == loaded
    assert "restart" in health["reason"] and loaded in health["reason"]
    assert b"charg" in service.report_html()  # the loaded model's report, not the new one
    service.logger.close()


def test_a_report_is_written_again_with_the_current_code_without_retraining(model_dir: Path, tmp_path: Path) -> None:
    from scoring.report_rerender import main

    folder = tmp_path / "models"
    shutil.copytree(model_dir, folder)
    png = b"\x89PNG\r\n\x1a\nfake"
    old = f'<html>NOT met <img alt="roc" src="data:image/png;base64,{base64.b64encode(png).decode()}"></html>'
    committed = MODELS_DIR / METRICS_FILE
    if not committed.is_file():
        pytest.skip("no committed model: its metrics.json holds every figure a report shows")
    _with_report(folder, old, json.loads(committed.read_text(encoding="utf-8")))
    version = load_artifacts(folder).model_version
    assert main(["--model-dir", str(folder)]) == 0
    report = (folder / REPORT_FILE).read_text(encoding="utf-8")
    assert "NOT met" not in report and "Rapport du modèle" in report and base64.b64encode(png).decode() in report
    assert load_artifacts(folder).model_version == version  # checksums verified, same model
    assert main(["--model-dir", str(tmp_path / "nowhere")]) == 2
