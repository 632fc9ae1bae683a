"""app_gradio.py: the seed's `predict_credit_score` and the thin command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import api.app
import app_gradio
from api.predictor import Predictor
from scoring import schema
from tests.api.conftest import VALID


@pytest.fixture()
def fresh_service(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setenv("LOG_PATH", str(tmp_path / "p.log"))
    monkeypatch.setattr(api.app, "_service", None)
    yield
    if api.app._service is not None:
        api.app._service.logger.close()


def test_predict_credit_score_takes_the_eleven_form_features(fresh_service, predictor: Predictor,
                                                             tmp_path: Path) -> None:
    score, label = app_gradio.predict_credit_score(*VALID.values())
    assert score == predictor.predict(VALID).score
    assert label == schema.label_for(score, predictor.threshold)
    worse, _ = app_gradio.predict_credit_score(*{**VALID, schema.EXT_SOURCE_2: 0.05}.values())
    assert worse > score
    assert not (tmp_path / "p.log").exists()  # the seed's function is not a logged call


def test_predict_credit_score_without_a_model_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("LOG_PATH", str(tmp_path / "p.log"))
    monkeypatch.setattr(api.app, "_service", None)
    with pytest.raises(RuntimeError, match="no model loaded"):
        app_gradio.predict_credit_score(*VALID.values())
    api.app._service.logger.close()


def test_help_and_no_server_at_import() -> None:
    root = Path(__file__).parents[2]
    out = subprocess.run([sys.executable, "app_gradio.py", "--help"], cwd=root, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "--model-dir" in out.stdout and "MODEL_DIR" in out.stdout
    # importing the module must not start anything (the test would hang otherwise)
    imported = subprocess.run([sys.executable, "-c", "import app_gradio; print('imported')"], cwd=root,
                              capture_output=True, text=True, timeout=120)
    assert imported.stdout.strip() == "imported"
