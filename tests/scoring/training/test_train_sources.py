"""train.py never ignores what it was given: a features table with TARGET is trained on, any other data
file stops it with a clear message (exit 2) instead of a silent fall-back to the synthetic twin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import train
from scoring import features, synthetic
from scoring.schema import ID_COLUMN, TARGET_COLUMN, UI_FEATURE_NAMES
from serving.predictor import Predictor
from tests.helpers import PROJECT_ROOT, run_main


def run_train(*args, cwd: Path) -> subprocess.CompletedProcess:
    """`python train.py` without MLflow (its default store is the project's mlruns/, outside tmp_path)."""
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "train.py"), *args, "--folds", "2", "--quiet",
                           "--no-mlflow"],
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
    # tuned with racing by default: the rule is recorded, the chosen candidate ran every fold
    tuning = metrics["tuning"]
    assert tuning["racing"]["alpha"] == 0.02 and len(tuning["candidates"]) == 4
    chosen = tuning["candidates"][tuning["selected"]]
    assert chosen["folds"] == tuning["folds"] and "stopped_by_racing" not in chosen
    for row in tuning["candidates"]:
        assert ("stopped_by_racing" in row) == (row["folds"] < tuning["folds"])
    predictor = Predictor.from_dir(out)
    used = {n for n in UI_FEATURE_NAMES if not n.startswith("CODE_GENDER_")}  # gender: recorded, not scored
    assert used <= set(predictor.features) and TARGET_COLUMN not in predictor.features
    assert not any(n.startswith("CODE_GENDER_") for n in predictor.features)


@pytest.mark.slow
def test_features_option_takes_a_parquet_table(tmp_path, features_table):
    table = tmp_path / "features.parquet"
    features_table.to_parquet(table, index=False)
    out = tmp_path / "model"
    # the quick path: the tuned default is trained on a features table by the test above
    result = run_train("--features", str(table), "--model-dir", str(out), "--no-tune", "--repeats", "1",
                       "--no-variant", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "metrics.json").read_text())["data_source"]["kind"] == "features"


def _refused(tmp_path: Path, *args: str) -> str:
    """train.main(argv) in this process (the refusals happen before any training): exit 2, a message, no model."""
    result = run_main(train.main, *args, "--model-dir", str(tmp_path / "model"), "--folds", "2", "--quiet")
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


def test_what_a_data_folder_holds(tmp_path, features_table):
    """scoring.datadir in process: the source chosen, or the refusal, for each kind of folder."""
    from scoring.data import DataError
    from scoring.datadir import FEATURES, KAGGLE, SYNTHETIC, load_features_table, training_source

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("not data")
    assert training_source(empty).kind == SYNTHETIC
    assert training_source(tmp_path / "absent").kind == SYNTHETIC  # the default datasets/ not created yet
    with pytest.raises(DataError, match="no such file"):
        training_source(tmp_path / "absent", explicit=True)

    kaggle = tmp_path / "kaggle"
    kaggle.mkdir()
    (kaggle / "application_train.csv").write_text("SK_ID_CURR,TARGET\n1,0\n")
    features_table.head(5).to_csv(kaggle / "train_final.csv", index=False)
    assert training_source(kaggle).kind == KAGGLE  # the Kaggle tables win; the other file is named in a warning

    table = tmp_path / "features.parquet"
    features_table.to_parquet(table, index=False)
    source = training_source(table)
    assert source.kind == FEATURES and source.path == table
    frame, target, described = load_features_table(table)
    assert len(frame) == len(target) == len(features_table) and frame.index.name == ID_COLUMN
    assert TARGET_COLUMN not in frame and set(target) <= {0, 1} and described["kind"] == FEATURES

    two = tmp_path / "two"
    two.mkdir()
    features_table.head(20).to_csv(two / "a.csv", index=False)
    features_table.head(20).to_csv(two / "b.csv.gz", index=False)
    with pytest.raises(DataError, match="several tables"):
        training_source(two)

    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot be read"):
        training_source(broken)
    infinite = tmp_path / "inf.csv"
    features_table.head(20).assign(EXT_SOURCE_2=float("inf")).to_csv(infinite, index=False)
    with pytest.raises(DataError, match="infinite"):
        load_features_table(infinite)
