"""Training into the folder of the running model (the README's quick path used to): the service keeps
serving the model it loaded, its report stays that model's, and /health says the folder changed."""

from __future__ import annotations

import shutil
from pathlib import Path

from api.scoring_service import ScoringService
from scoring.artifacts import load_artifacts, write_artifacts
from scoring.schema import REPORT_FILE
from tests.api.fixture_model import build_model_dir


def _with_report(model_dir: Path, text: str) -> None:
    a = load_artifacts(model_dir)
    write_artifacts(model_dir, model=a.model, features=a.features, threshold=a.threshold, metrics=a.metrics,
                    reference=a.reference, extra_files={REPORT_FILE: text.encode()})


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
