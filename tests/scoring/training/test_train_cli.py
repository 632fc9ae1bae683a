"""train.py end to end: the synthetic twin by default, the real extract when given.

Trainings run as real `python train.py` processes (not traced by coverage, which doubles the time of pure-Python
work such as the scorecard benchmark); the quick-path run is shared (`trained_twin`, tests/conftest.py: recorded in
its own MLflow store, with the feature store next to its artifacts); the refusals, which stop before any training,
call `train.main(argv)` in the test's process (no interpreter start-up).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import train
from scoring.artifacts import load_artifacts, sha256_of
from scoring.schema import ARTIFACT_FILES, MANIFEST_FILE, REPORT_FILE, UI_FEATURE_NAMES
from serving.predictor import Predictor
from tests.fixture_model import TWIN_TRAIN_ARGS
from tests.helpers import PROJECT_ROOT, run_main

pytestmark = pytest.mark.slow


def run_train(*args, cwd):
    """`python train.py` without MLflow (the default store is the project's mlruns/)."""
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "train.py"), *args, "--no-mlflow"], cwd=cwd,
                          capture_output=True, text=True, timeout=900)


def train_here(*args):
    """`train.main(argv)` in this process, without MLflow (for the refusals: no training, no start-up)."""
    return run_main(train.main, *args, "--no-mlflow")


def test_train_on_synthetic_twin_writes_every_artifact(tmp_path):
    empty = tmp_path / "no-kaggle"
    empty.mkdir()
    out = tmp_path / "model"
    result = run_train("--data-dir", str(empty), "--model-dir", str(out), "--applicants", "3000", "--folds", "3",
                       "--seed", "7", "--no-tune", "--repeats", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "generating the synthetic twin" in result.stderr  # says where the data came from
    assert "cross-validation" in result.stderr  # progress
    for name in (*ARTIFACT_FILES, MANIFEST_FILE, REPORT_FILE, "roc.png", "cost_threshold.png"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert {REPORT_FILE, "roc.png", "cost_threshold.png"} <= set(manifest["files"])  # covered by the checksums
    report = (out / REPORT_FILE).read_text()
    assert manifest["model_version"] in report and "Par genre" in report  # fairness by gender still measured
    assert all(sha256_of(out / name) == digest for name, digest in manifest["files"].items())
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data_source"]["kind"] == "synthetic"
    assert metrics["rows"]["train"] + metrics["rows"]["holdout"] == 3000
    assert 0.5 < metrics["auc"] <= 1 and 0.5 < metrics["oracle_auc"] <= 1
    artifacts = load_artifacts(out)
    assert set(UI_FEATURE_NAMES) - {"CODE_GENDER_F", "CODE_GENDER_M"} <= set(artifacts.features)
    assert not [f for f in artifacts.features if f.startswith("CODE_GENDER_")]  # gender: never a model input
    assert metrics["excluded_features"] == ["CODE_GENDER_*"]
    summary = json.loads(result.stdout)  # stdout is the JSON summary only
    assert summary["auc"] == pytest.approx(metrics["auc"])
    assert not {"SK_ID_CURR", "TARGET"} & set(artifacts.features)
    assert Predictor.from_dir(out).threshold == metrics["threshold"]
    # the master scale and the validation section, with the optbinning scorecard beside XGBoost
    scale = json.loads((out / "threshold.json").read_text())["master_scale"]
    assert 5 <= scale["n_grades"] <= 10 and scale["monotone"]
    validation = metrics["validation"]
    assert validation["gini"] == pytest.approx(2 * metrics["auc"] - 1)
    assert validation["gini_interval"]["low"] < validation["gini"] < validation["gini_interval"]["high"]
    assert [r["grade"] for r in validation["calibration_grades"]] == [g["grade"] for g in scale["grades"]]
    bench = validation["benchmark"]
    assert 0.5 < bench["scorecard"]["auc"] < 1 and bench["points"] and bench["scaling"]["pdo"] == 20
    for text in ("Validation du risque de crédit", "Échelle de notation", "Kolmogorov", "Courbe CAP", "Jeffreys",
                 "Herfindahl", "20 points doublent la cote"):
        assert text in report, text


def test_train_is_deterministic_for_a_seed(trained_twin, tmp_path):
    """Two real runs with the same seed, in two processes (the session's shared run and this one), give the same
    model figures. (The shared run is recorded in MLflow, which records and does not train.)"""
    empty = tmp_path / "no-kaggle"
    empty.mkdir()
    result = run_train("--data-dir", str(empty), "--model-dir", str(tmp_path / "b"), *TWIN_TRAIN_ARGS, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    outs = [json.loads((folder / "metrics.json").read_text()) for folder in (trained_twin.model_dir, tmp_path / "b")]
    assert outs[0]["auc"] == outs[1]["auc"] and outs[0]["threshold"] == outs[1]["threshold"]


def test_train_on_real_extract(homecredit_sample, tmp_path):
    data = tmp_path / "real"
    shutil.copytree(homecredit_sample, data)
    out = tmp_path / "model"
    result = run_train("--data-dir", str(data), "--model-dir", str(out), "--quiet", "--no-tune", "--no-variant",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    # 70 defaults: the audit says the figures cannot be trusted, on stderr and in metrics.json
    codes = {w["code"] for w in metrics["warnings"]}
    assert "few_defaults" in codes and "WARNING: [few_defaults]" in result.stderr
    assert metrics["rows"]["defaults"] < 100
    assert metrics["intervals"]["auc"]["high"] - metrics["intervals"]["auc"]["low"] > 0.1
    assert metrics["data_source"]["kind"] == "kaggle"
    assert metrics["rows"]["train"] + metrics["rows"]["holdout"] == 1000
    assert metrics["baseline_ext_source_logreg_cv_auc"] > 0.5
    assert "oracle_auc" not in metrics


def test_train_rejects_bad_options_and_data(tmp_path):
    bad = train_here("--folds", "1")
    assert bad.returncode == 2 and "--folds" in bad.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "application_train.csv").write_text("SK_ID_CURR,AMT_CREDIT\n1,2\n")
    result = train_here("--data-dir", str(broken), "--model-dir", str(tmp_path / "m"), "--quiet")
    assert result.returncode == 2
    assert "TARGET" in result.stderr and "Traceback" not in result.stderr


def test_exclude_features_trains_without_them(trained_twin, tmp_path):
    seed_model = tmp_path / "with-gender"
    kept = run_train("--data-dir", str(tmp_path), "--model-dir", str(seed_model), "--applicants", "1500", "--folds",
                     "2", "--quiet", "--no-tune", "--repeats", "1", "--no-benchmark", "--include-gender", cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert {"CODE_GENDER_F", "CODE_GENDER_M"} <= set(load_artifacts(seed_model).features)  # the seed's model
    assert "Sans CODE_GENDER_*" in (seed_model / REPORT_FILE).read_text()  # compared with the variant without
    assert TWIN_TRAIN_ARGS[-3:-1] == ("--exclude-features", "CODE_GENDER_*")  # how the shared run was trained
    artifacts = load_artifacts(trained_twin.model_dir)
    assert not [f for f in artifacts.features if f.startswith("CODE_GENDER_")]
    assert artifacts.metrics["excluded_features"] == ["CODE_GENDER_*"]
    assert "gender" in artifacts.metrics["fairness"]  # still judged by gender
    assert artifacts.metrics["fairness"]["gender_switch"] is None
    bad = train_here("--data-dir", str(tmp_path), "--model-dir", str(tmp_path / "m2"), "--applicants", "300",
                     "--quiet", "--exclude-features", "NO_SUCH_*")
    assert bad.returncode == 2 and "NO_SUCH_*" in bad.stderr and "Traceback" not in bad.stderr


def test_mlflow_run_holds_metrics_artifacts_and_model(trained_twin, monkeypatch):
    pytest.importorskip("mlflow")
    uri = trained_twin.mlflow_uri  # the shared run's own SQLite store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    out = trained_twin.model_dir
    summary = trained_twin.summary
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(summary["mlflow"]["run_id"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert run.data.metrics["auc"] == pytest.approx(metrics["auc"])
    assert run.data.metrics["intervals.auc.low"] == pytest.approx(metrics["intervals"]["auc"]["low"])
    assert run.data.params["chosen.max_depth"] == str(metrics["hyperparameters"]["max_depth"])
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "artifacts")}
    assert {f"artifacts/{REPORT_FILE}", "artifacts/metrics.json", "artifacts/best_model.pkl"} <= logged
    version = client.get_model_version("credit-scoring", str(summary["mlflow"]["registered_version"]))
    assert version.run_id == run.info.run_id
    import mlflow

    mlflow.set_tracking_uri(uri)
    info = mlflow.models.get_model_info(f"models:/credit-scoring/{version.version}")
    assert [c.name for c in info.signature.inputs.inputs] == load_artifacts(out).features
