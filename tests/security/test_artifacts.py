"""A model folder cannot run code, and every value in it is checked for sense (issue 19, item 4;
issue 20, item 9: the served model read from XGBoost's own format)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest

from scoring.artifacts import ArtifactError, load_artifacts, sign_folder, write_artifacts
from scoring.config import MODELS_DIR
from scoring.schema import MANIFEST_FILE, MODEL_FILE, SERVED_MODEL_FILE, THRESHOLD_FILE
from serving.predictor import Predictor
from tests.security.conftest import rehash


class _Evil:
    """Unpickling this writes a marker file: proof that loading ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_the_committed_served_model_scores_as_the_pickle_does() -> None:
    served = load_artifacts(MODELS_DIR).model
    pickled = joblib.load(MODELS_DIR / MODEL_FILE)
    n = len(served.feature_names)
    rng = np.random.default_rng(0)
    rows = rng.normal(scale=3.0, size=(3000, n)).astype(np.float32)
    rows[rng.random(rows.shape) < 0.2] = np.nan
    assert np.array_equal(served.inplace_predict(rows), pickled.predict_proba(rows)[:, 1])  # the served booster


def test_a_re_hashed_evil_pickle_never_runs(model_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with open(model_copy / MODEL_FILE, "wb") as fh:
        pickle.dump(_Evil(marker), fh)
    rehash(model_copy, MODEL_FILE)
    predictor = Predictor.from_dir(model_copy)  # the pickle is checked, never read
    assert not marker.exists()
    assert 0.0 < predictor.score({}) < 1.0


def test_a_served_model_that_is_a_pickle_is_refused_without_running(model_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with open(model_copy / SERVED_MODEL_FILE, "wb") as fh:
        pickle.dump(_Evil(marker), fh)
    rehash(model_copy, SERVED_MODEL_FILE)
    with pytest.raises(ArtifactError, match="not an XGBoost model"):
        load_artifacts(model_copy)
    assert not marker.exists()


@pytest.mark.parametrize("value", ["NaN", "2.0", "-1", "0", "1", "Infinity", '"0.1"', "true", "null"])
def test_a_nonsense_threshold_is_refused(model_copy: Path, value: str) -> None:
    text = (model_copy / THRESHOLD_FILE).read_text()
    doc = json.loads(text)
    (model_copy / THRESHOLD_FILE).write_text(text.replace(json.dumps(doc["threshold"]), value, 1))
    rehash(model_copy, THRESHOLD_FILE)
    with pytest.raises(ArtifactError, match="threshold"):
        load_artifacts(model_copy)


@pytest.mark.parametrize("zone", [{"low": 0.2, "high": 0.1}, {"low": 0.1, "high": 0.2}, {"low": -0.5, "high": 0.1},
                                  {"low": 0.01, "high": 1.5}, {"low": "a", "high": 0.1}])
def test_a_grey_zone_out_of_order_is_refused(model_copy: Path, zone: dict) -> None:
    doc = json.loads((model_copy / THRESHOLD_FILE).read_text())
    (model_copy / THRESHOLD_FILE).write_text(json.dumps(doc | {"grey_zone": zone}))
    rehash(model_copy, THRESHOLD_FILE)
    with pytest.raises(ArtifactError, match="grey_zone"):
        load_artifacts(model_copy)


@pytest.mark.parametrize("name", ["../../../../etc/hostname", "/etc/hostname", "sub/../features.txt",
                                  "..\\..\\x", ".."])
def test_a_manifest_entry_outside_the_folder_is_refused(model_copy: Path, name: str) -> None:
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text())
    manifest["files"][name] = "0" * 64
    (model_copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="outside the model folder|not a file name"):
        load_artifacts(model_copy)


def test_a_feature_list_with_a_duplicate_is_refused(model_copy: Path) -> None:
    lines = (model_copy / "features.txt").read_text().splitlines()
    (model_copy / "features.txt").write_text("\n".join([*lines, lines[0]]) + "\n")
    rehash(model_copy, "features.txt")
    with pytest.raises(ArtifactError, match="twice|features"):
        load_artifacts(model_copy)


def test_a_template_value_that_is_not_finite_is_refused(model_copy: Path) -> None:
    text = (model_copy / "reference.json").read_text()
    doc = json.loads(text)
    name = next(iter(doc["template"]))
    doc["template"][name] = 1e999  # written as Infinity
    (model_copy / "reference.json").write_text(json.dumps(doc))
    rehash(model_copy, "reference.json")
    with pytest.raises(ArtifactError, match="reference.json"):
        load_artifacts(model_copy)


def test_a_signed_manifest_is_required_and_checked_when_a_key_is_set(model_copy: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "manifest.key"
    key_file.write_text("deploy-secret\n")
    monkeypatch.setenv("MANIFEST_KEY_FILE", str(key_file))
    with pytest.raises(ArtifactError, match="not signed"):
        load_artifacts(model_copy)
    sign_folder(model_copy)  # what the deployment does once to a folder it trusts
    assert load_artifacts(model_copy).model_version  # signed by the deployment: served
    doc = json.loads((model_copy / THRESHOLD_FILE).read_text())
    (model_copy / THRESHOLD_FILE).write_text(json.dumps(doc | {"threshold": 0.5}))
    rehash(model_copy, THRESHOLD_FILE)  # an attacker re-hashes, but cannot re-sign
    with pytest.raises(ArtifactError, match="wrongly signed"):
        load_artifacts(model_copy)
    monkeypatch.setenv("MANIFEST_KEY_FILE", str(tmp_path / "missing.key"))
    with pytest.raises(OSError):
        load_artifacts(model_copy)


def test_write_artifacts_signs_when_a_key_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = load_artifacts(MODELS_DIR)
    monkeypatch.setenv("MANIFEST_KEY", "k" * 32)
    manifest = write_artifacts(tmp_path / "m", model=source.model, features=source.features,
                               threshold=source.threshold, metrics=source.metrics, reference=source.reference)
    assert len(manifest["signature"]) == 64
    assert (tmp_path / "m" / SERVED_MODEL_FILE).is_file() and (tmp_path / "m" / MODEL_FILE).is_file()
    assert load_artifacts(tmp_path / "m").model_version == manifest["model_version"]
    monkeypatch.setenv("MANIFEST_KEY", "another key")
    with pytest.raises(ArtifactError, match="wrongly signed"):
        load_artifacts(tmp_path / "m")
