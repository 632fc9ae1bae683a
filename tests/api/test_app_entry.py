"""app_gradio.py: the seed's `predict_credit_score` and the thin command line."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

import api.app
import api.seed
import app_gradio
from scoring import schema
from serving.predictor import Predictor
from tests.helpers import VALID


@pytest.fixture()
def fresh_service(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setenv("LOG_PATH", str(tmp_path / "p.log"))
    monkeypatch.setattr(api.app, "_service", None)
    monkeypatch.setattr(api.seed, "_standalone", None)
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


def test_imported_alone_it_loads_one_predictor_and_starts_no_logger(fresh_service) -> None:
    writers = {t for t in threading.enumerate() if t.name == "prediction-log-writer"}
    app_gradio.predict_credit_score(*VALID.values())
    first = api.seed._standalone
    app_gradio.predict_credit_score(*VALID.values())
    assert first is not None and api.seed._standalone is first  # loaded once
    assert api.app.loaded_service() is None  # no service, hence no logger thread
    assert {t for t in threading.enumerate() if t.name == "prediction-log-writer"} == writers


def test_with_a_server_running_it_uses_the_server_predictor(fresh_service, service, monkeypatch) -> None:
    monkeypatch.setattr(api.app, "_service", service)
    score, _ = app_gradio.predict_credit_score(*VALID.values())
    assert api.seed._standalone is None and api.seed._checked[0] is service.predictor
    assert score == service.predictor.score(VALID)


def test_predict_credit_score_without_a_model_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "none"))
    monkeypatch.setattr(api.app, "_service", None)
    monkeypatch.setattr(api.seed, "_standalone", None)
    with pytest.raises(RuntimeError, match="no model loaded: .*none"):
        app_gradio.predict_credit_score(*VALID.values())
    assert api.app.loaded_service() is None


def test_help_and_no_server_at_import() -> None:
    root = Path(__file__).parents[2]
    out = subprocess.run([sys.executable, "app_gradio.py", "--help"], cwd=root, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "--model-dir" in out.stdout and "MODEL_DIR" in out.stdout
    # importing the module must not start anything (the test would hang otherwise)
    imported = subprocess.run([sys.executable, "-c", "import app_gradio; print('imported')"], cwd=root,
                              capture_output=True, text=True, timeout=120)
    assert imported.stdout.strip() == "imported"


def test_the_objects_made_at_start_up_leave_the_garbage_collector() -> None:
    import gc

    kept = [[i] for i in range(1000)]  # objects alive at start-up (the app, the model...)
    before = gc.get_freeze_count()
    try:
        api.app.freeze_startup_objects()
        assert gc.get_freeze_count() >= before + len(kept)
        tracked = {id(o) for o in gc.get_objects(generation=2)}
        assert not any(id(o) in tracked for o in kept)  # a full pass no longer walks them
    finally:
        gc.unfreeze()
