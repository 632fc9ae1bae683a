"""Where stores come from: train.py next to the artifacts, build_store.py for new tables, and the default
store of a twin-trained model built on first start."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import build_store
from scoring import config, synthetic
from scoring.features import align_features, build_features
from scoring.schema import APPLICATION_TEST, FEATURES_FILE, ID_COLUMN, METRICS_FILE
from scoring.store import FeatureStore
from scoring.store_build import model_identity, open_default_store
from serving.predictor import Predictor
from tests.fixture_model import TWIN_TRAIN_ARGS
from tests.helpers import PROJECT_ROOT, run_main

MODEL_FILES = ("manifest.json", "features.txt", "threshold.json", "metrics.json")


def _run(script: str, *args: str, cwd, env=None):
    return subprocess.run([sys.executable, str(PROJECT_ROOT / script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env=env)


@pytest.fixture()
def twin_model_dir(tmp_path):
    """The committed model's identity files, said to be trained on a small twin (so a store builds fast)."""
    out = tmp_path / "model"
    out.mkdir()
    for name in MODEL_FILES:
        shutil.copy(config.MODELS_DIR / name, out / name)
    metrics = json.loads((out / METRICS_FILE).read_text())
    metrics["data_source"] = {"kind": "synthetic", "applicants": 150, "seed": 3}
    (out / METRICS_FILE).write_text(json.dumps(metrics))
    return out


def test_the_twins_training_part_does_not_change_with_its_test_applicants():
    alone = synthetic.generate(300, 9, progress=False)
    with_test = synthetic.generate(300, 9, progress=False, test_applicants=40)
    a = build_features(alone.tables, progress=False)
    b = build_features(with_test.tables, progress=False)
    pd.testing.assert_frame_equal(a, b)


def test_default_store_of_a_twin_model_is_built_when_missing_then_reopened(twin_model_dir, monkeypatch):
    monkeypatch.delenv("FEATURE_STORE", raising=False)
    store, reason = open_default_store(twin_model_dir, build=False)
    assert store is None and "not found" in reason
    store, reason = open_default_store(twin_model_dir)
    assert reason == "" and len(store) == 150 + synthetic.DEFAULT_TEST_APPLICANTS
    version, features, _ = model_identity(twin_model_dir)
    assert store.model_version == version and store.features == features
    path = twin_model_dir / config.FEATURE_STORE_FILE
    built = path.stat().st_mtime_ns
    store.close()
    again, reason = open_default_store(twin_model_dir)
    assert reason == "" and path.stat().st_mtime_ns == built  # opened, not rebuilt
    first = again.ids(1)[0]
    twin = synthetic.generate(150, 3, progress=False)  # the same twin: the same rows
    expected = align_features(build_features(twin.tables, progress=False), features).loc[first]
    np.testing.assert_array_equal(again.lookup(first).row, expected.to_numpy(dtype=np.float32))
    again.close()


def test_a_stale_default_store_is_rebuilt_and_an_explicit_one_only_reported(twin_model_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("FEATURE_STORE", raising=False)
    store, _ = open_default_store(twin_model_dir)
    store.close()
    threshold = json.loads((twin_model_dir / "threshold.json").read_text())
    threshold["threshold"] += 0.01  # another decision: another model version
    (twin_model_dir / "threshold.json").write_text(json.dumps(threshold))
    store, reason = open_default_store(twin_model_dir, build=False)
    assert store is None and "built for model" in reason
    store, reason = open_default_store(twin_model_dir)
    assert reason == "" and store.model_version == model_identity(twin_model_dir)[0]
    store.close()
    monkeypatch.setenv("FEATURE_STORE", str(tmp_path / "elsewhere.sqlite"))
    store, reason = open_default_store(twin_model_dir)
    assert store is None and "elsewhere.sqlite" in reason and not (tmp_path / "elsewhere.sqlite").exists()


def test_a_model_of_real_tables_gets_no_store_built(twin_model_dir, monkeypatch):
    monkeypatch.delenv("FEATURE_STORE", raising=False)
    metrics = json.loads((twin_model_dir / METRICS_FILE).read_text())
    metrics["data_source"] = {"kind": "kaggle", "data_dir": "/data"}
    (twin_model_dir / METRICS_FILE).write_text(json.dumps(metrics))
    store, reason = open_default_store(twin_model_dir)
    assert store is None and "not found" in reason and "build_store.py" in reason
    (twin_model_dir / FEATURES_FILE).unlink()
    store, reason = open_default_store(twin_model_dir)
    assert store is None and "identity" in reason


def test_build_store_cli_on_tables_and_its_errors(twin_model_dir, tmp_path):
    data = tmp_path / "tables"
    twin = synthetic.generate(120, 4, progress=False, test_applicants=30)
    synthetic.write_tables(twin.tables, data)
    twin.test_application.to_csv(data / "application_test.csv", index=False)
    out = tmp_path / "new.sqlite"
    result = _run("build_store.py", "--data-dir", str(data), "--model-dir", str(twin_model_dir), "--out", str(out),
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "150 applicants" in result.stdout and "feature store" in result.stderr  # the progress bar
    with FeatureStore.open(out, model_version=model_identity(twin_model_dir)[0]) as store:
        assert store.lookup(int(twin.test_application[ID_COLUMN].iloc[0])) is not None
    # Only the application_test file (new applicants) is enough.
    (data / "application_train.csv").unlink()
    result = run_main(build_store.main, "--data-dir", str(data), "--model-dir", str(twin_model_dir), "--out",
                      str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    with FeatureStore.open(out) as store:
        assert len(store) == 30
    (data / f"{APPLICATION_TEST}.csv").unlink()
    result = run_main(build_store.main, "--data-dir", str(data), "--model-dir", str(twin_model_dir), "--out",
                      str(out))
    assert result.returncode == 2 and "nothing to build a feature store from" in result.stderr
    for bad in (["--data-dir", str(tmp_path / "absent")], ["--data-dir", str(data), "--applicants", "10"],
                ["--applicants", "0"], ["--out", str(tmp_path)]):
        result = run_main(build_store.main, *bad)
        assert result.returncode == 2 and "error" in result.stderr, bad
    result = run_main(build_store.main, "--model-dir", str(tmp_path / "no-model"), "--out", str(out))
    assert result.returncode == 2 and "identity" in result.stderr


@pytest.mark.slow
def test_train_writes_the_store_next_to_the_artifacts(trained_twin, monkeypatch):
    """The session's `python train.py` run on a 1,500-applicant twin (seed 3): its store, next to the artifacts."""
    out = trained_twin.model_dir
    assert "--no-store" not in TWIN_TRAIN_ARGS
    monkeypatch.delenv("FEATURE_STORE", raising=False)
    store, reason = open_default_store(out, build=False)
    assert reason == "" and len(store) == 1500 + synthetic.DEFAULT_TEST_APPLICANTS
    predictor = Predictor.from_dir(out)
    assert store.model_version == predictor.model_version and store.features == predictor.features
    twin = synthetic.generate(1500, 3, progress=False)
    frame = align_features(build_features(twin.tables, progress=False), predictor.features)
    some = frame.index[:20]
    rows = np.stack([store.lookup(int(i)).row for i in some])
    model = predictor.artifacts.model
    np.testing.assert_allclose(model.inplace_predict(rows), model.inplace_predict(frame.loc[some].to_numpy()),
                               rtol=0, atol=1e-6)
    store.close()
