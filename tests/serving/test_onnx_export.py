"""ONNX export: parity before writing, refusal on a broken parity, the same decisions on every backend."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convert_to_onnx
import scoring.onnx_export as onnx_export
from scoring import config
from scoring.artifacts import ArtifactError, load_artifacts, record_derived_file, sha256_of
from scoring.schema import MANIFEST_FILE, ONNX_FILE
from scoring.trees import read_trees, used_booster
from serving.backends import NUMBA, ONNXRUNTIME, XGBOOST
from serving.predictor import SMALL_BATCH_ROWS, Predictor
from tests.helpers import VALID, run_main


@pytest.fixture()
def copied(model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "copy"))


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST_FILE).read_text())


def _check_rows(predictor: Predictor) -> np.ndarray:
    artifacts = predictor.artifacts
    trees = read_trees(used_booster(artifacts.model))
    template = artifacts.template_row()
    return np.concatenate([onnx_export.probing_rows(trees, template, 3000),
                           onnx_export.training_like_rows(artifacts, template, 1000)])


def test_training_writes_a_checked_onnx_file_in_the_manifest(model_dir: Path) -> None:
    manifest = _manifest(model_dir)
    assert manifest["files"][ONNX_FILE] == sha256_of(model_dir / ONNX_FILE)
    parity = manifest["derived"][ONNX_FILE]["parity"]
    assert parity["probing_rows"] >= 10_000 and parity["training_like_rows"] > 0
    assert parity["max_abs_diff"] <= 1e-5 and parity["decision_flips"] == 0
    assert manifest["derived"][ONNX_FILE]["source_sha256"] == manifest["files"]["best_model.pkl"]


def test_the_cli_writes_the_file_with_its_figures(copied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    version = Predictor.from_dir(copied).model_version
    (copied / ONNX_FILE).unlink()
    manifest = _manifest(copied)
    del manifest["files"][ONNX_FILE], manifest["derived"]
    (copied / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert Predictor.from_dir(copied, row_backend=ONNXRUNTIME).backends["row"] == XGBOOST  # no ONNX file yet

    assert convert_to_onnx.main(["--model-dir", str(copied), "--rows", "2000"]) == 0
    out = capsys.readouterr().out
    assert "max |Δp|" in out and "0 decision flip(s)" in out and str(copied / ONNX_FILE) in out
    predictor = Predictor.from_dir(copied, row_backend=ONNXRUNTIME)
    assert predictor.backends["row"] == ONNXRUNTIME
    assert predictor.model_version == version  # a derived file never changes the version
    assert _manifest(copied)["model_version"] == version
    before = {name: (copied / name).read_bytes() for name in (ONNX_FILE, MANIFEST_FILE)}
    stamp = (copied / ONNX_FILE).stat().st_mtime_ns
    assert convert_to_onnx.main(["--model-dir", str(copied), "--rows", "2000"]) == 0  # again, on the same model
    assert "up to date" in capsys.readouterr().out
    assert {name: (copied / name).read_bytes() for name in before} == before  # no tracked file rewritten
    assert (copied / ONNX_FILE).stat().st_mtime_ns == stamp
    assert Predictor.from_dir(copied, row_backend=ONNXRUNTIME).backends["row"] == ONNXRUNTIME


def test_a_broken_conversion_is_refused_and_nothing_is_written(copied: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    real = onnx_export.convert_model

    def misread_base_score(booster, trees):  # what a converter reading base_score as 0.5 produces
        onx = real(booster, trees)
        for attr in onx.graph.node[0].attribute:
            if attr.name == "base_values":
                attr.floats[:] = [0.0]
        return onx

    (copied / ONNX_FILE).unlink()
    manifest = _manifest(copied)
    del manifest["files"][ONNX_FILE], manifest["derived"]
    (copied / MANIFEST_FILE).write_text(json.dumps(manifest))
    before = (copied / MANIFEST_FILE).read_text()
    monkeypatch.setattr(onnx_export, "convert_model", misread_base_score)
    assert convert_to_onnx.main(["--model-dir", str(copied), "--rows", "2000"]) == 1
    err = capsys.readouterr().err
    assert "refused, nothing written" in err and "max |Δp|" in err and "decision flip" in err
    assert not (copied / ONNX_FILE).exists()
    assert (copied / MANIFEST_FILE).read_text() == before


def test_same_decisions_on_every_backend(predictor: Predictor) -> None:
    xgboost_rows = Predictor(predictor.artifacts, row_backend=XGBOOST)
    onnx = Predictor(predictor.artifacts, row_backend=ONNXRUNTIME, batch_backend=ONNXRUNTIME)
    numba_batch = Predictor(predictor.artifacts, batch_backend=NUMBA)
    assert (predictor.backends["row"], xgboost_rows.backends["row"], onnx.backends["row"], onnx.backends["batch"],
            numba_batch.backends["batch"]) == (NUMBA, XGBOOST, ONNXRUNTIME, ONNXRUNTIME, NUMBA)
    matrix = _check_rows(predictor)
    assert len(matrix) > SMALL_BATCH_ROWS
    scores = {
        "numba rows": np.array([predictor.score_row(matrix[i:i + 1]) for i in range(len(matrix))]),
        "onnx rows": np.array([onnx.score_row(matrix[i:i + 1]) for i in range(len(matrix))]),
        "xgboost rows": np.array([xgboost_rows.score_row(matrix[i:i + 1]) for i in range(len(matrix))]),
        "xgboost batch": predictor.score_matrix(matrix),
        "onnx batch": onnx.score_matrix(matrix),
        "numba batch": numba_batch.score_matrix(matrix),
    }
    reference = scores["xgboost batch"].astype(np.float64)
    for name, got in scores.items():
        np.testing.assert_allclose(got, reference, atol=1e-6, rtol=0, err_msg=name)
        assert ((got >= predictor.threshold) == (reference >= predictor.threshold)).all(), name
    assert 0 < (reference >= predictor.threshold).mean() < 1  # both decisions occur
    assert predictor.predict(VALID).label == xgboost_rows.predict(VALID).label


def test_a_tampered_onnx_file_is_refused(copied: Path) -> None:
    data = bytearray((copied / ONNX_FILE).read_bytes())
    data[-1] ^= 1
    (copied / ONNX_FILE).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="best_model.onnx does not match its checksum"):
        Predictor.from_dir(copied)
    (copied / ONNX_FILE).unlink()
    with pytest.raises(ArtifactError, match="best_model.onnx is missing"):
        Predictor.from_dir(copied)


def test_an_onnx_file_of_another_model_is_ignored(copied: Path, caplog: pytest.LogCaptureFixture) -> None:
    manifest = _manifest(copied)
    manifest["derived"][ONNX_FILE]["source_sha256"] = "0" * 64
    (copied / MANIFEST_FILE).write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING):
        predictor = Predictor.from_dir(copied, row_backend=ONNXRUNTIME)
    assert predictor.backends["row"] == XGBOOST
    assert "made from another model" in caplog.text


def test_an_onnx_file_that_disagrees_at_load_is_not_used(copied: Path, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    artifacts = load_artifacts(copied, with_derived=False)
    booster = used_booster(artifacts.model)
    onx = onnx_export.convert_model(booster, read_trees(booster))
    for attr in onx.graph.node[0].attribute:
        if attr.name == "base_values":
            attr.floats[:] = [attr.floats[0] + 0.5]
    (copied / ONNX_FILE).write_bytes(onx.SerializeToString())
    record_derived_file(copied, ONNX_FILE, {"source": "hand-made"}, model_version=artifacts.model_version)
    with caplog.at_level(logging.WARNING):
        predictor = Predictor.from_dir(copied, row_backend=ONNXRUNTIME)
    assert predictor.backends["row"] == XGBOOST and "disagrees with the XGBoost model" in caplog.text
    expected = artifacts.model.inplace_predict(predictor.row(VALID))[0]
    assert predictor.predict(VALID).score == pytest.approx(float(expected), abs=1e-6)


def test_cli_usage_errors(tmp_path: Path) -> None:
    run = [sys.executable, str(config.PROJECT_ROOT / "convert_to_onnx.py")]
    assert subprocess.run([*run, "--help"], capture_output=True, text=True).returncode == 0
    bad = run_main(convert_to_onnx.main, "--rows", "10")  # in process: the same checks, no start-up
    assert bad.returncode == 2 and "--rows" in bad.stderr
    missing = run_main(convert_to_onnx.main, "--model-dir", str(tmp_path / "none"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
