"""train.py never ignores what it was given: a features table with TARGET is trained on, any other data
file stops it with a clear message (exit 2) instead of a silent fall-back to the synthetic twin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from api.predictor import Predictor
from scoring import features, synthetic
from scoring.schema import ID_COLUMN, TARGET_COLUMN, UI_FEATURE_NAMES
from tests.helpers import PROJECT_ROOT


def run_train(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "train.py"), *args, "--folds", "2", "--quiet"],
                          cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def features_table() -> pd.DataFrame:
    """What the seed's train_final.csv is: engineered features and TARGET, one row per applicant."""
    twin = synthetic.generate(1500, 5, progress=False)
    frame = features.build_features(twin.tables, progress=False).copy()
    target = twin.tables.application.set_index(ID_COLUMN).loc[frame.index, TARGET_COLUMN]
    return frame.assign(**{TARGET_COLUMN: target.to_numpy()}).reset_index()


@pytest.mark.slow
def test_a_features_table_in_the_data_dir_is_trained_on(tmp_path, features_table):
    data = tmp_path / "datasets"
    data.mkdir()
    features_table.drop(columns=[ID_COLUMN]).to_csv(data / "train_final.csv", index=False)  # the seed's form
    out = tmp_path / "model"
    result = run_train("--data-dir", str(data), "--model-dir", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "line numbers" in result.stderr  # no SK_ID_CURR: said, not hidden
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data_source"]["kind"] == "features"
    assert metrics["data_source"]["file"].endswith("train_final.csv")
    assert metrics["rows"]["train"] + metrics["rows"]["holdout"] == len(features_table)
    predictor = Predictor.from_dir(out)
    assert set(UI_FEATURE_NAMES) <= set(predictor.features) and TARGET_COLUMN not in predictor.features


@pytest.mark.slow
def test_features_option_takes_a_parquet_table(tmp_path, features_table):
    table = tmp_path / "features.parquet"
    features_table.to_parquet(table, index=False)
    out = tmp_path / "model"
    result = run_train("--features", str(table), "--model-dir", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "metrics.json").read_text())["data_source"]["kind"] == "features"


def _refused(tmp_path: Path, *args: str) -> str:
    result = run_train(*args, "--model-dir", str(tmp_path / "model"), cwd=tmp_path)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and not (tmp_path / "model").exists()
    return result.stderr


def test_files_it_cannot_use_stop_training(tmp_path, features_table):
    only_test = tmp_path / "only-test"
    only_test.mkdir()
    features_table.drop(columns=[TARGET_COLUMN]).head(5).to_csv(only_test / "application_test.csv", index=False)
    assert "no application_train" in _refused(tmp_path, "--data-dir", str(only_test))

    no_target = tmp_path / "no-target"
    no_target.mkdir()
    features_table.drop(columns=[TARGET_COLUMN]).head(5).to_csv(no_target / "test_final.csv", index=False)
    assert "cannot train on test_final.csv" in _refused(tmp_path, "--data-dir", str(no_target))

    beside = tmp_path / "beside"
    beside.mkdir()
    features_table.head(50).to_csv(beside / "train_final.csv", index=False)
    features_table.drop(columns=[TARGET_COLUMN]).head(5).to_csv(beside / "test_final.csv", index=False)
    assert "--features FILE" in _refused(tmp_path, "--data-dir", str(beside))

    assert "no such file or folder" in _refused(tmp_path, "--data-dir", str(tmp_path / "typo"))


def test_a_features_table_must_hold_what_the_model_needs(tmp_path, features_table):
    missing = tmp_path / "missing.csv"
    features_table.drop(columns=[UI_FEATURE_NAMES[0]]).head(50).to_csv(missing, index=False)
    assert UI_FEATURE_NAMES[0] in _refused(tmp_path, "--features", str(missing))

    bad_target = tmp_path / "bad-target.csv"
    features_table.head(50).assign(**{TARGET_COLUMN: 2}).to_csv(bad_target, index=False)
    assert "must be 0 or 1" in _refused(tmp_path, "--features", str(bad_target))

    text = tmp_path / "text.csv"
    features_table.head(50).assign(EXT_SOURCE_1="high").to_csv(text, index=False)
    assert "must be numbers" in _refused(tmp_path, "--features", str(text))

    assert "give one" in _refused(tmp_path, "--features", str(text), "--data-dir", str(tmp_path))
