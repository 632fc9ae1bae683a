"""`model_version` follows what decides an answer: the model, the feature list, the threshold."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from scoring.artifacts import model_version_of, sha256_of
from scoring.schema import MANIFEST_FILE, METRICS_FILE, MODEL_FILE, ONNX_FILE, THRESHOLD_FILE
from serving.predictor import Predictor


@pytest.fixture()
def copied(model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "copy"))


def _rewrite(folder: Path, name: str, edit: Callable[[str], str]) -> None:
    """Change one artifact and re-hash it in the manifest, as a hand edit of a deployment would."""
    path = folder / name
    path.write_text(edit(path.read_text()))
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["files"][name] = sha256_of(path)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


def _threshold(changes: dict) -> Callable[[str], str]:
    return lambda text: json.dumps(json.loads(text) | changes)


def test_the_written_manifest_states_the_version_the_loader_derives(model_dir: Path) -> None:
    manifest = json.loads((model_dir / MANIFEST_FILE).read_text())
    assert Predictor.from_dir(model_dir).model_version == manifest["model_version"]
    assert len(manifest["model_version"]) == 12


def test_a_new_threshold_gives_a_new_version(copied: Path) -> None:
    before = Predictor.from_dir(copied)
    _rewrite(copied, THRESHOLD_FILE, _threshold({"threshold": before.threshold + 0.01}))
    after = Predictor.from_dir(copied)
    assert after.threshold == pytest.approx(before.threshold + 0.01)
    assert after.model_version != before.model_version
    assert after.predict({}).model_version == after.model_version


def test_a_new_grey_zone_gives_a_new_version(copied: Path) -> None:
    before = Predictor.from_dir(copied).model_version
    _rewrite(copied, THRESHOLD_FILE, _threshold({"grey_zone": {"low": 0.01, "high": 0.9}}))
    assert Predictor.from_dir(copied).model_version != before


def test_what_does_not_decide_keeps_the_version(copied: Path) -> None:
    before = Predictor.from_dir(copied).model_version
    _rewrite(copied, THRESHOLD_FILE, _threshold({"cost_fn": 12.0}))  # shown, but decides nothing at serving
    _rewrite(copied, METRICS_FILE, _threshold({"auc": 0.5}))
    assert Predictor.from_dir(copied).model_version == before


def test_the_onnx_export_is_not_part_of_the_version(copied: Path) -> None:
    version = Predictor.from_dir(copied).model_version
    manifest = json.loads((copied / MANIFEST_FILE).read_text())
    del manifest["files"][ONNX_FILE], manifest["derived"]
    (copied / MANIFEST_FILE).write_text(json.dumps(manifest))
    (copied / ONNX_FILE).unlink()
    assert Predictor.from_dir(copied).model_version == version


def test_an_older_manifest_gets_the_derived_version(copied: Path) -> None:
    derived = Predictor.from_dir(copied).model_version
    manifest = json.loads((copied / MANIFEST_FILE).read_text())
    manifest["model_version"] = manifest["files"][MODEL_FILE][:12]  # how versions used to be made
    (copied / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert Predictor.from_dir(copied).model_version == derived


def test_the_version_depends_on_each_decisive_input() -> None:
    features = ["a", "b"]
    base = model_version_of("1" * 64, features, {"threshold": 0.1})
    assert model_version_of("1" * 64, features, {"threshold": 0.1, "cost_fp": 3}) == base
    variants = {
        model_version_of("2" * 64, features, {"threshold": 0.1}),
        model_version_of("1" * 64, ["b", "a"], {"threshold": 0.1}),
        model_version_of("1" * 64, features, {"threshold": 0.11}),
        model_version_of("1" * 64, features, {"threshold": 0.1, "grey_zone": {"low": 0.05, "high": 0.2}}),
    }
    assert base not in variants and len(variants) == 4


def test_a_threshold_file_without_a_number_is_refused(copied: Path) -> None:
    from scoring.artifacts import ArtifactError

    _rewrite(copied, THRESHOLD_FILE, lambda text: json.dumps({"threshold": "0.1"}))
    with pytest.raises(ArtifactError, match="must be a number strictly between 0 and 1"):
        Predictor.from_dir(copied)
