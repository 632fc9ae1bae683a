"""The numpy TreeSHAP equals XGBoost's `pred_contribs` on rows that probe every split."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from scoring.onnx_export import probing_rows
from scoring.trees import UnsupportedModel, read_trees, used_booster
from serving.predictor import Predictor
from serving.treeshap import TreeShap
from tests.helpers import VALID

TOLERANCE = 1e-5


def _data(n: int = 2000, n_features: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features)).astype(np.float32)
    x[:, 3] = rng.integers(0, 2, n)  # a binary column
    x[rng.random(x.shape) < 0.15] = np.nan  # missing values: the trees learn default directions
    logit = x[:, 0] - 0.7 * np.nan_to_num(x[:, 1]) + 0.5 * np.nan_to_num(x[:, 2]) * np.nan_to_num(x[:, 4]) + x[:, 3]
    y = (rng.random(n) < 1 / (1 + np.exp(-np.nan_to_num(logit)))).astype(int)
    return x, y


def _assert_exact(booster: xgb.Booster, n_rows: int = 600) -> TreeShap:
    trees = read_trees(booster)
    shap = TreeShap(trees)
    rows = probing_rows(trees, np.zeros(trees.n_features, dtype=np.float32), n_rows)
    expected = booster.predict(xgb.DMatrix(rows, missing=np.nan), pred_contribs=True, validate_features=False)
    got = np.array([shap(row) for row in rows])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(np.array([shap.numpy(row) for row in rows]), expected, atol=TOLERANCE, rtol=0)
    margin = booster.predict(xgb.DMatrix(rows, missing=np.nan), output_margin=True, validate_features=False)
    np.testing.assert_allclose(got.sum(axis=1), margin, atol=TOLERANCE)
    return shap


def test_the_serving_model_reasons_equal_pred_contribs(predictor: Predictor) -> None:
    booster = used_booster(predictor.artifacts.model)
    shap = _assert_exact(booster, n_rows=1500)
    row = predictor.row(VALID)
    np.testing.assert_allclose(predictor.contributions(row)[0], shap(row[0]))
    expected = booster.predict(xgb.DMatrix(row, missing=np.nan), pred_contribs=True, validate_features=False)[0]
    np.testing.assert_allclose(predictor.contributions(row)[0], expected, atol=TOLERANCE)


@pytest.mark.parametrize("depth", [1, 2, 4, 6])
def test_any_depth_with_repeated_features_missing_values_and_monotone_constraints(depth: int) -> None:
    x, y = _data(seed=depth)
    model = xgb.XGBClassifier(n_estimators=25, max_depth=depth, learning_rate=0.3, tree_method="hist",
                              monotone_constraints=(-1,) + (0,) * (x.shape[1] - 1), n_jobs=1, random_state=0)
    model.fit(x, y)
    shap = _assert_exact(model.get_booster())
    assert shap.depth == depth


def test_an_early_stopped_model_uses_its_best_iteration() -> None:
    x, y = _data(seed=3)
    model = xgb.XGBClassifier(n_estimators=300, max_depth=3, learning_rate=0.5, early_stopping_rounds=5,
                              eval_metric="logloss", n_jobs=1, random_state=0)
    model.fit(x[:1000], y[:1000], eval_set=[(x[1000:], y[1000:])], verbose=False)
    assert model.best_iteration + 1 < model.get_booster().num_boosted_rounds()  # it did stop early
    booster = used_booster(model)
    assert booster.num_boosted_rounds() == model.best_iteration + 1
    shap = _assert_exact(booster)
    probe = x[:50]
    margins = np.array([shap(r).sum() for r in probe])
    np.testing.assert_allclose(1 / (1 + np.exp(-margins)), model.predict_proba(probe)[:, 1], atol=1e-6)


def test_trees_without_a_split_give_only_the_bias() -> None:
    x, y = _data(seed=4)
    model = xgb.XGBClassifier(n_estimators=5, max_depth=3, min_child_weight=1e9, n_jobs=1).fit(x, y)
    shap = _assert_exact(model.get_booster(), n_rows=50)
    assert shap.depth == 0
    assert not shap(x[0])[:-1].any()


def test_unsupported_models_are_refused() -> None:
    x, y = _data(n=300, seed=5)
    dart = xgb.XGBClassifier(booster="dart", n_estimators=3, n_jobs=1).fit(x, y)
    with pytest.raises(UnsupportedModel, match="dart"):
        read_trees(dart.get_booster())
    three = xgb.XGBClassifier(n_estimators=3, n_jobs=1).fit(x, np.arange(len(y)) % 3)
    with pytest.raises(UnsupportedModel):
        read_trees(three.get_booster())
    regressor = xgb.XGBRegressor(n_estimators=3, n_jobs=1).fit(x, y.astype(float))
    with pytest.raises(UnsupportedModel, match="binary:logistic"):
        read_trees(regressor.get_booster())


def test_a_too_large_table_is_left_to_xgboost(monkeypatch: pytest.MonkeyPatch) -> None:
    import serving.treeshap

    x, y = _data(seed=6)
    model = xgb.XGBClassifier(n_estimators=5, max_depth=3, n_jobs=1).fit(x, y)
    monkeypatch.setattr(serving.treeshap, "MAX_TABLE_ENTRIES", 10)
    with pytest.raises(UnsupportedModel, match="too large"):
        TreeShap(read_trees(model.get_booster()))


def test_without_the_numpy_treeshap_xgboost_gives_the_same_reasons(predictor: Predictor,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fast = predictor.predict(VALID)
    monkeypatch.setattr(predictor, "_shap", None)
    slow = predictor.predict(VALID)
    assert predictor.backends["reasons"] == "xgboost"
    assert slow.score == fast.score
    assert [r.feature for r in slow.reasons_up] == [r.feature for r in fast.reasons_up]
    assert [r.feature for r in slow.reasons_down] == [r.feature for r in fast.reasons_down]
    for a, b in zip(slow.reasons_up + slow.reasons_down, fast.reasons_up + fast.reasons_down, strict=True):
        assert a.contribution == pytest.approx(b.contribution, abs=TOLERANCE)
