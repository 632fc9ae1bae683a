"""train.py end to end: the synthetic twin by default, the real extract when given."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from api.predictor import Predictor
from scoring.artifacts import load_artifacts, sha256_of
from scoring.schema import ARTIFACT_FILES, MANIFEST_FILE, UI_FEATURE_NAMES
from tests.helpers import PROJECT_ROOT

pytestmark = pytest.mark.slow


def run_train(*args, cwd):
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "train.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900)


def test_train_on_synthetic_twin_writes_every_artifact(tmp_path):
    empty = tmp_path / "no-kaggle"
    empty.mkdir()
    out = tmp_path / "model"
    result = run_train("--data-dir", str(empty), "--model-dir", str(out), "--applicants", "3000", "--folds", "3",
                       "--seed", "7", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "generating the synthetic twin" in result.stderr  # says where the data came from
    assert "cross-validation" in result.stderr  # progress
    for name in (*ARTIFACT_FILES, MANIFEST_FILE, "roc.png", "cost_threshold.png"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert all(sha256_of(out / name) == digest for name, digest in manifest["files"].items())
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data_source"]["kind"] == "synthetic"
    assert metrics["rows"]["train"] + metrics["rows"]["holdout"] == 3000
    assert 0.5 < metrics["auc"] <= 1 and 0.5 < metrics["oracle_auc"] <= 1
    artifacts = load_artifacts(out)
    assert set(UI_FEATURE_NAMES) <= set(artifacts.features)
    assert not {"SK_ID_CURR", "TARGET"} & set(artifacts.features)
    assert Predictor.from_dir(out).threshold == metrics["threshold"]


def test_train_is_deterministic_for_a_seed(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = run_train("--data-dir", str(tmp_path), "--model-dir", str(out), "--applicants", "1500",
                           "--folds", "2", "--seed", "3", "--quiet", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        outs.append(json.loads((out / "metrics.json").read_text()))
    assert outs[0]["auc"] == outs[1]["auc"] and outs[0]["threshold"] == outs[1]["threshold"]


def test_train_on_real_extract(homecredit_sample, tmp_path):
    data = tmp_path / "real"
    shutil.copytree(homecredit_sample, data)
    out = tmp_path / "model"
    result = run_train("--data-dir", str(data), "--model-dir", str(out), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data_source"]["kind"] == "kaggle"
    assert metrics["rows"]["train"] + metrics["rows"]["holdout"] == 1000
    assert metrics["baseline_ext_source_logreg_cv_auc"] > 0.5
    assert "oracle_auc" not in metrics


def test_train_rejects_bad_options_and_data(tmp_path):
    bad = run_train("--folds", "1", cwd=tmp_path)
    assert bad.returncode == 2 and "--folds" in bad.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "application_train.csv").write_text("SK_ID_CURR,AMT_CREDIT\n1,2\n")
    result = run_train("--data-dir", str(broken), "--model-dir", str(tmp_path / "m"), "--quiet", cwd=tmp_path)
    assert result.returncode == 2
    assert "TARGET" in result.stderr and "Traceback" not in result.stderr
