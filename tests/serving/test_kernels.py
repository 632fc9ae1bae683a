"""The numba walk of the trees scores as XGBoost does; the predictor falls back when it cannot."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
import xgboost as xgb

import serving.backends
from scoring.onnx_export import probing_rows
from scoring.trees import read_trees, used_booster
from serving import kernels
from serving.backends import NUMBA, ONNXRUNTIME, XGBOOST
from serving.kernels import CompiledTrees
from serving.predictor import Predictor
from tests.helpers import VALID
from tests.serving.test_treeshap import _data


def _xgboost_scores(booster: xgb.Booster, rows: np.ndarray) -> np.ndarray:
    return booster.inplace_predict(rows, validate_features=False)


@pytest.mark.parametrize("depth", [1, 2, 4, 6])
def test_the_walk_is_xgboost_on_split_probing_rows(depth: int) -> None:
    x, y = _data(seed=10 + depth)
    model = xgb.XGBClassifier(n_estimators=40, max_depth=depth, learning_rate=0.3, tree_method="hist",
                              base_score=0.3, n_jobs=1, random_state=0).fit(x, y)
    booster = model.get_booster()
    trees = read_trees(booster)
    rows = probing_rows(trees, np.zeros(trees.n_features, dtype=np.float32), 3000)
    rows[np.random.default_rng(depth).random(rows.shape) < 0.1] = np.nan
    walk = CompiledTrees(trees)
    expected = _xgboost_scores(booster, rows)
    got = walk(rows)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
    assert np.array_equal(np.array([walk.one(rows[i:i + 1]) for i in range(len(rows))], dtype=np.float32), got)
    assert (got != got[0]).any()  # the rows do reach different leaves


def test_the_serving_model_is_scored_bit_for_bit(predictor: Predictor) -> None:
    booster = used_booster(predictor.artifacts.model)
    rows = probing_rows(read_trees(booster), predictor.template[0], 4000)
    rows[np.random.default_rng(1).random(rows.shape) < 0.1] = np.nan
    got = np.array([predictor.score_row(rows[i:i + 1]) for i in range(len(rows))])
    expected = _xgboost_scores(booster, rows).astype(np.float64)
    assert np.abs(got - expected).max() <= 1e-6
    assert ((got >= predictor.threshold) == (expected >= predictor.threshold)).all()


def test_a_walk_that_disagrees_at_load_is_not_used(predictor: Predictor, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    real = kernels.CompiledTrees.__init__

    def shifted(self: CompiledTrees, trees: object) -> None:  # a walk that misreads the base margin
        real(self, trees)
        self._args = (*self._args[:-1], np.float32(self._args[-1] + 0.5))

    monkeypatch.setattr(kernels.CompiledTrees, "__init__", shifted)
    with caplog.at_level(logging.WARNING):
        fallback = Predictor(predictor.artifacts)
    assert "the compiled tree walk disagrees with the XGBoost model" in caplog.text
    assert fallback.backends["row"] == ONNXRUNTIME  # the next fastest: the verified ONNX file
    assert fallback.predict(VALID).score == pytest.approx(predictor.predict(VALID).score, abs=1e-6)


def test_without_numba_onnx_runtime_and_numpy_serve(predictor: Predictor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    without = Predictor(predictor.artifacts)
    assert without.backends == {"row": ONNXRUNTIME, "batch": XGBOOST, "reasons": "treeshap-numpy"}
    fast, slow = predictor.predict(VALID), without.predict(VALID)
    assert slow.score == pytest.approx(fast.score, abs=1e-6)
    assert [(r.feature, round(r.contribution, 9)) for r in slow.reasons_up + slow.reasons_down] == \
        [(r.feature, round(r.contribution, 9)) for r in fast.reasons_up + fast.reasons_down]


def test_the_numba_batch_backend_matches_the_row_backend(predictor: Predictor) -> None:
    batch = Predictor(predictor.artifacts, batch_backend=NUMBA)
    rows = np.repeat(predictor.template, 600, axis=0)
    rows *= np.random.default_rng(2).lognormal(0, 1, size=rows.shape).astype(np.float32)
    assert batch.backends["batch"] == NUMBA and serving.backends.ROW_BACKEND == NUMBA
    assert np.array_equal(batch.score_matrix(rows),
                          np.array([predictor.score_row(rows[i:i + 1]) for i in range(600)], dtype=np.float32))


def test_a_numba_that_fails_to_import_leaves_onnx_runtime_and_numpy(predictor: Predictor,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(kernels, "AVAILABLE", True)  # installed...
    monkeypatch.setattr(kernels, "_jitted", False)
    monkeypatch.setitem(sys.modules, "numba", None)  # ...but `import numba` fails
    with caplog.at_level(logging.WARNING):
        broken = Predictor(predictor.artifacts)
    assert "numba cannot be imported" in caplog.text
    assert broken.backends == {"row": ONNXRUNTIME, "batch": XGBOOST, "reasons": "treeshap-numpy"}
    assert broken.predict(VALID).score == pytest.approx(predictor.predict(VALID).score, abs=1e-6)
