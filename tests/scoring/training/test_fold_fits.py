"""Cross-validation on shared fold matrices, two fits at a time: the same curves, rounds and scores as
one `XGBClassifier.fit` per candidate and fold (the tuning before), whatever the number of workers."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold

from scoring.fold_fits import Fold, fit_fold, native_params, run_fits
from scoring.training import TrainConfig
from scoring.tuning import baseline_scores, best_mean_round, tune

from .conftest import make_frame

STUMP = {"learning_rate": 0.1, "max_depth": 1, "min_child_weight": 5, "reg_lambda": 5.0, "colsample_bytree": 0.5}
SLOW = {"learning_rate": 0.05, "max_depth": 3, "min_child_weight": 10, "reg_lambda": 10.0, "colsample_bytree": 0.3}


@pytest.fixture(scope="module")
def data():
    frame, y, _ = make_frame(1500, seed=11)
    frame.loc[frame.index[::7], "AMT_CREDIT"] = np.nan  # missing values take the default branch on both paths
    x = frame.astype("float32")
    # one thread for the fits made here: two OpenMP threads crawl on a busy machine (same trees, tested below)
    return x, y, TrainConfig(seed=5, n_jobs=1).xgb_params(1.0, list(x.columns))


def tuning_before(x, y, base, candidates, *, n_splits, n_repeats, seed, max_rounds, patience):
    """The tuning as it was: one scikit-learn fit per candidate and fold, its eval set binned by the wrapper."""
    folds = list(RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed).split(x, y))
    out = []
    for cand in candidates:
        params = {**base, **cand}
        wait = min(2 * patience, int(round(patience * 0.1 / params["learning_rate"])))
        models, curves = [], []
        for fit_idx, valid_idx in folds:
            model = xgb.XGBClassifier(n_estimators=max_rounds, early_stopping_rounds=wait, **params)
            model.fit(x.iloc[fit_idx], y[fit_idx], eval_set=[(x.iloc[valid_idx], y[valid_idx])], verbose=False)
            curve = np.asarray(model.evals_result()["validation_0"]["auc"])
            curves.append(np.pad(curve, (0, max_rounds - curve.size), mode="edge"))
            models.append(model)
        n_rounds = best_mean_round(curves, max_rounds)
        oof = np.zeros((n_repeats, len(y)))
        for i, (model, (_, valid_idx)) in enumerate(zip(models, folds, strict=True)):
            kept = min(n_rounds, model.get_booster().num_boosted_rounds())
            oof[i // n_splits, valid_idx] = model.predict_proba(x.iloc[valid_idx], iteration_range=(0, kept))[:, 1]
        out.append({"n_rounds": n_rounds, "fold_auc": [float(c[n_rounds - 1]) for c in curves], "oof": oof,
                    "fold_rounds": [int(m.best_iteration) + 1 for m in models]})
    base_auc, base_oof = [], np.zeros(len(y))  # the EXT_SOURCE baseline, fold by fold after the fits
    for i, (fit_idx, valid_idx) in enumerate(folds):
        scores = baseline_scores(x.iloc[fit_idx], y[fit_idx], x.iloc[valid_idx])
        base_auc.append(float(roc_auc_score(y[valid_idx], scores)))
        if i < n_splits:
            base_oof[valid_idx] = scores
    return out, base_auc, base_oof


@pytest.mark.parametrize("workers", [1, 2])
def test_tuning_equals_one_classifier_fit_per_fold(data, workers):
    x, y, base = data
    kwargs = {"n_splits": 3, "n_repeats": 2, "seed": 5, "max_rounds": 80, "patience": 10}
    before, base_auc, base_oof = tuning_before(x, y, base, (STUMP, SLOW), **kwargs)
    now = tune(x, y, base, candidates=(STUMP, SLOW), quiet=True, workers=workers, **kwargs)
    for was, cand in zip(before, now.candidates, strict=True):
        assert cand.n_rounds == was["n_rounds"]
        assert cand.fold_auc == was["fold_auc"]  # to the bit
        assert cand.fold_rounds == was["fold_rounds"]
        assert np.array_equal(np.vstack(cand.oof_repeats), was["oof"])
    assert now.best is max(now.candidates, key=lambda c: c.mean_auc)
    # the baseline, fitted beside the fits on its three columns, is the one fitted after them on the frame
    assert now.baseline_fold_auc == base_auc and np.array_equal(now.baseline_oof, base_oof)


def test_a_fold_fit_is_the_classifier_fit_whatever_the_threads(data):
    x, y, base = data
    fit_idx, valid_idx = next(iter(RepeatedStratifiedKFold(n_splits=4, n_repeats=1, random_state=0).split(x, y)))
    params = {**base, **SLOW, "n_jobs": 2}
    model = xgb.XGBClassifier(n_estimators=60, early_stopping_rounds=100, **params)
    model.fit(x.iloc[fit_idx], y[fit_idx], eval_set=[(x.iloc[valid_idx], y[valid_idx])], verbose=False)
    fold = Fold(fit_idx, valid_idx)
    first = fit_fold(x, y, fold, params, max_rounds=60, patience=100)  # on one thread
    again = fit_fold(x, y, fold, {**params, "colsample_bytree": 0.9}, max_rounds=60, patience=100)  # same matrices
    assert bytes(first.booster.save_raw("ubj")) == bytes(model.get_booster().save_raw("ubj"))
    assert np.array_equal(first.curve, model.evals_result()["validation_0"]["auc"])
    assert np.array_equal(first.scores(x.iloc[valid_idx], 25),
                          model.predict_proba(x.iloc[valid_idx], iteration_range=(0, 25))[:, 1])
    assert not np.array_equal(again.curve, first.curve)  # the shared matrices serve another candidate


def test_unnamed_fold_matrices_give_the_named_fit_with_constraints_by_position(data):
    """The fold's matrices carry no feature names (XGBoost would fetch and compare them twice a round); the
    monotone constraints, given by name, are set by position in the frame's column order, and the booster
    gets the names back: byte for byte the classifier's, with a constraint that binds (EXT_SOURCE_2 forced
    increasing against the data) on columns in another order than the frame's."""
    x, y, base = data
    x = x[list(reversed(x.columns))]
    fit_idx, valid_idx = next(iter(RepeatedStratifiedKFold(n_splits=4, n_repeats=1, random_state=1).split(x, y)))
    params = {**base, **SLOW, "monotone_constraints": {"EXT_SOURCE_2": 1, "AMT_CREDIT": -1}}
    model = xgb.XGBClassifier(n_estimators=40, early_stopping_rounds=100, **params)
    model.fit(x.iloc[fit_idx], y[fit_idx], eval_set=[(x.iloc[valid_idx], y[valid_idx])], verbose=False)
    fold = Fold(fit_idx, valid_idx)
    fitted = fit_fold(x, y, fold, params, max_rounds=40, patience=100)
    assert bytes(fitted.booster.save_raw("ubj")) == bytes(model.get_booster().save_raw("ubj"))
    assert fitted.booster.feature_names == list(x.columns)
    free = xgb.XGBClassifier(n_estimators=40, **{**params, "monotone_constraints": None})
    free.fit(x.iloc[fit_idx], y[fit_idx], verbose=False)
    assert bytes(free.get_booster().save_raw("ubj")) != bytes(model.get_booster().save_raw("ubj"))  # it binds
    with fold.lease(x, y, 64) as (train, valid):
        assert train.feature_names is None and valid.feature_names is None
    constraints = native_params(params, list(x.columns))["monotone_constraints"]
    assert constraints[list(x.columns).index("EXT_SOURCE_2")] == 1 and sum(map(abs, constraints)) == 2
    with pytest.raises(ValueError, match="not a subset"):
        native_params({**params, "monotone_constraints": {"NOT_A_FEATURE": 1}}, list(x.columns))


def test_a_fold_fit_on_mixed_column_types_is_the_classifier_fit(data):
    """float64, int and bool columns (a frame `scoring.feature_trials` may hand over): the unnamed float32
    matrices give the classifier's booster, feature types included, and its scores."""
    x, y, base = data
    x = x.astype({"AMT_CREDIT": "float64", "FLAG_DOCUMENT_3": "int64", "CODE_GENDER_M": "bool"})
    fit_idx, valid_idx = next(iter(RepeatedStratifiedKFold(n_splits=4, n_repeats=1, random_state=2).split(x, y)))
    model = xgb.XGBClassifier(n_estimators=30, early_stopping_rounds=100, **base)
    model.fit(x.iloc[fit_idx], y[fit_idx], eval_set=[(x.iloc[valid_idx], y[valid_idx])], verbose=False)
    fitted = fit_fold(x, y, Fold(fit_idx, valid_idx), base, max_rounds=30, patience=100)
    assert bytes(fitted.booster.save_raw("ubj")) == bytes(model.get_booster().save_raw("ubj"))
    assert {"int", "i"} <= set(fitted.booster.feature_types)
    expected = model.predict_proba(x.iloc[valid_idx], iteration_range=(0, 20))[:, 1]
    assert np.array_equal(fitted.scores(x.iloc[valid_idx].to_numpy(np.float32), 20), expected)


def test_run_fits_never_shares_a_fold_between_two_running_fits():
    running: dict[int, int] = {}
    overlaps, lock = [], threading.Lock()
    other_started = threading.Event()

    def fit(key, fold):
        with lock:
            running[fold] = running.get(fold, 0) + 1
            overlaps.append(running[fold])
            both = sum(running.values())
        if (key, fold) == ("a", 0):  # the first fit holds on until another one runs (none does if run_fits
            other_started.wait(10)  # runs one at a time): two at once does not hang on the machine's load
        else:
            other_started.set()
        time.sleep(0.01)
        with lock:
            running[fold] -= 1
        return key, fold, both

    done = []
    tasks = [(k, f) for k in "abc" for f in range(3)] + [("d", 0)]
    out = run_fits(tasks, fit, workers=2, done=lambda k, f, r: done.append((k, f)))
    assert set(out) == set(tasks) and sorted(done) == sorted(tasks)
    assert max(overlaps) == 1  # never two fits on one fold
    assert max(r[2] for r in out.values()) == 2  # but two fits at once


def test_run_fits_raises_the_first_error_and_starts_nothing_after_it():
    started = []

    def fit(key, fold):
        started.append(key)
        if key == 1:
            raise RuntimeError("fold fit failed")
        return key

    with pytest.raises(RuntimeError, match="fold fit failed"):
        run_fits([(i, i) for i in range(6)], fit, workers=1)
    assert started == [0, 1]


def test_run_fits_shares_a_fold_only_when_a_worker_would_wait():
    running: dict[int, int] = {}
    overlaps, lock = [], threading.Lock()

    def fit(key, fold):
        with lock:
            running[fold] = running.get(fold, 0) + 1
            overlaps.append((key, running[fold]))
        time.sleep(0.02)
        with lock:
            running[fold] -= 1
        return key

    # two folds: while a free fold has work, no sharing; the last fold's tasks then run two at a time
    tasks = [("a", 0), ("b", 1), ("c", 0), ("d", 1), ("e", 1), ("f", 1)]
    out = run_fits(tasks, fit, workers=2, share_when_idle=True)
    assert set(out) == set(tasks)
    shared = [key for key, n in overlaps if n > 1]
    assert shared and set(shared) <= {"d", "e", "f"}
    assert max(n for key, n in overlaps if key in "abc") == 1


def test_a_fold_leases_a_copy_of_its_matrices_only_to_a_second_fit_at_once(data):
    x, y, _ = data
    fit_idx, valid_idx = next(iter(RepeatedStratifiedKFold(n_splits=4, n_repeats=1, random_state=0).split(x, y)))
    fold = Fold(fit_idx, valid_idx)
    with fold.lease(x, y, 64) as first, fold.lease(x, y, 64) as second:
        assert second[0] is not first[0] and fold.copies == 2
    with fold.lease(x, y, 64) as again:
        assert again[0] in (first[0], second[0]) and fold.copies == 2  # reused, not rebuilt
    assert first[0].num_row() == second[0].num_row() == len(fit_idx)
    fold.release()
