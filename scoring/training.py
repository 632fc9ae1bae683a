"""Training: repeated K-fold XGBoost tuning, out-of-fold cost-optimal threshold, refit, holdout audit.

`train_model` works on a feature frame and a target, whatever their source; `run_training` picks
the source (Kaggle files or the synthetic twin), trains, audits, and writes the artifacts, the
report and (unless turned off) the MLflow run.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

from scoring import config, data, datadir, features, synthetic
from scoring.assessment import Holdout, finish_metrics, holdout_metrics, master_scale_of, publish_training
from scoring.config import FEATURE_STORE_FILE
from scoring.cost import best_threshold
from scoring.evaluation import (
    MIN_DEFAULTS,
    corrected_diff,
    variant_summary,
)
from scoring.fairness import GENDER_PATTERN
from scoring.racing import RacingRule
from scoring.reference import build_reference, served_matrix, template_of, template_row
from scoring.schema import (
    APPLICATION_TEST,
    EXT_SOURCE_1,
    EXT_SOURCE_2,
    EXT_SOURCE_3,
    TARGET_COLUMN,
    UI_FEATURE_NAMES,
)
from scoring.store_build import build_store, with_test_applicants
from scoring.tracking import log_training_run
from scoring.tuning import CANDIDATES, baseline_scores, tune
from scoring.validation import benchmark, validation_section

log = logging.getLogger(__name__)

# A higher external score never means a higher risk: constraining the model to that is what the
# advisers expect and what the behavioural tests check.
MONOTONE_DECREASING = (EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3)


@dataclass(frozen=True)
class TrainConfig:
    seed: int = config.DEFAULT_SEED
    n_splits: int = 5
    # Repeated K-fold; None: 3 repeats below MIN_DEFAULTS defaults (one split's AUC moves by ±0.015
    # with 386 defaults), 1 above (the twin's 2,400 defaults give steady folds, and time counts).
    n_repeats: int | None = None
    holdout_size: float = 0.2
    cost_fn: float = config.DEFAULT_COST_FN
    cost_fp: float = config.DEFAULT_COST_FP
    # The reference hyperparameters (the first tuning candidate); `tune` tries the others too.
    learning_rate: float = 0.1
    max_depth: int = 3
    max_bin: int = 128
    max_rounds: int = 500
    early_stopping_rounds: int = 50  # at learning rate 0.1; scaled for slower rates
    tune: bool = True
    # Racing: a candidate stops when the folds still to come would very probably not make it the winner
    # (scoring.racing; docs/decisions.md, "Racing the candidates"). False: every candidate on every fold.
    racing: bool = True
    fixed_params: tuple[tuple[str, Any], ...] = ()  # without tuning: these over the reference candidate
    exclude_features: tuple[str, ...] = ()  # fnmatch patterns of features left out
    # Imbalance: positives are reweighted by (neg/pos) ** balance_power. Measured on the twin,
    # reweighting did not raise the AUC but broke the calibration (and cost a little more); with
    # 0, scores stay probabilities and the 10:1 cost sets the threshold near 1/11
    # (docs/decisions.md). Stratified folds and the cost-optimal threshold handle the imbalance.
    balance_power: float = 0.0
    n_jobs: int = 2
    benchmark: bool = False  # also train the optbinning scorecard beside XGBoost (train.py does)

    def xgb_params(self, pos_weight: float, features: list[str]) -> dict[str, Any]:
        return {
            "tree_method": "hist",
            "max_bin": self.max_bin,
            "learning_rate": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": 5,
            "subsample": 0.8,
            "colsample_bytree": 0.5,
            "reg_lambda": 5.0,
            "scale_pos_weight": pos_weight,
            "eval_metric": "auc",
            "random_state": self.seed,
            "n_jobs": self.n_jobs,
            "monotone_constraints": {f: -1 for f in MONOTONE_DECREASING if f in features},
        }

    def candidates(self) -> tuple[dict[str, Any], ...]:
        reference = {**CANDIDATES[0], "learning_rate": self.learning_rate, "max_depth": self.max_depth}
        return (reference, *CANDIDATES[1:]) if self.tune else ({**reference, **dict(self.fixed_params)},)


@dataclass
class TrainResult:
    model: xgb.XGBClassifier
    features: list[str]
    threshold: dict[str, Any]
    metrics: dict[str, Any]
    reference: dict[str, Any]
    oof_scores: np.ndarray
    holdout_target: np.ndarray
    holdout_scores: np.ndarray
    oof_target: np.ndarray  # the target of the out-of-fold scores (the training rows)
    holdout_features: pd.DataFrame
    baseline_holdout_scores: np.ndarray | None


def _log(message: str, quiet: bool) -> None:
    """Progress of the job (INFO), unless this part is run quietly (e.g. the report's variant)."""
    if not quiet:
        log.info(message)


def served_scores(model: xgb.XGBClassifier, x: pd.DataFrame,
                  template: dict[str, float | None] | None = None) -> np.ndarray:
    """Scores of training rows as the service computes them for a form request.

    The service only receives the 11 form features and takes every other feature from the
    template of training medians, so its scores are not distributed like full-row scores. Drift
    monitoring compares live scores with these, not with full-row scores (which would flag
    stable traffic as drifting). `template`: the reference's (default: the medians of `x`).
    """
    names = list(x.columns)
    row = template_row(template_of(x) if template is None else template, names)
    ui = [name for name in UI_FEATURE_NAMES if name in x.columns]
    served = served_matrix(row, {name: i for i, name in enumerate(names)}, x[ui])
    return model.predict_proba(pd.DataFrame(served, columns=x.columns, index=x.index))[:, 1]


def drop_features(frame: pd.DataFrame, patterns: tuple[str, ...]) -> pd.DataFrame:
    """The frame without the columns matching any fnmatch pattern; a pattern matching nothing is an error."""
    dropped = []
    for pattern in patterns:
        hits = [c for c in frame.columns if fnmatch.fnmatchcase(c, pattern)]
        if not hits:
            raise ValueError(f"--exclude-features {pattern!r} matches no feature")
        dropped += hits
    if len(set(dropped)) == frame.shape[1]:
        raise ValueError(f"--exclude-features {' '.join(patterns)} leaves no feature to train on")
    return frame.drop(columns=sorted(set(dropped)))


def train_model(
    features: pd.DataFrame,
    target: pd.Series | np.ndarray,
    cfg: TrainConfig = TrainConfig(),
    *,
    true_probability: np.ndarray | None = None,
    groups_from: pd.DataFrame | None = None,
    quiet: bool = False,
) -> TrainResult:
    """Tune by repeated K-fold, choose the threshold on out-of-fold scores, refit, audit on a holdout.

    `groups_from` (default `features`) holds the columns the fairness groups are read from, for a
    model trained without them.
    """
    y_all = np.asarray(target).astype(int)
    if set(np.unique(y_all)) != {0, 1}:
        raise ValueError(f"{TARGET_COLUMN} must hold both 0 and 1; found {sorted(set(np.unique(y_all)))}")
    x_all = drop_features(features, cfg.exclude_features).astype(np.float32)
    names = list(x_all.columns)
    idx = np.arange(len(y_all))
    train_idx, hold_idx = train_test_split(idx, test_size=cfg.holdout_size, stratify=y_all, random_state=cfg.seed)
    x, y = x_all.iloc[train_idx], y_all[train_idx]
    x_hold, y_hold = x_all.iloc[hold_idx], y_all[hold_idx]
    pos_weight = float(((y == 0).sum() / max((y == 1).sum(), 1)) ** cfg.balance_power)
    base_params = cfg.xgb_params(pos_weight, names)

    n_repeats = cfg.n_repeats or (3 if y_all.sum() < MIN_DEFAULTS else 1)
    started = time.perf_counter()
    tuning = tune(x, y, base_params, n_splits=cfg.n_splits, n_repeats=n_repeats, seed=cfg.seed,
                  candidates=cfg.candidates(), max_rounds=cfg.max_rounds, patience=cfg.early_stopping_rounds,
                  quiet=quiet, racing=RacingRule() if cfg.racing else None)
    best = tuning.best
    oof = best.oof
    cv_auc = float(np.mean([roc_auc_score(y, scores) for scores in best.oof_repeats]))
    # threshold on the OOF scores of every repeat: more applicants, a steadier cost minimum
    y_stack, oof_stack = np.tile(y, len(best.oof_repeats)), np.concatenate(best.oof_repeats)
    choice = best_threshold(y_stack, oof_stack, cfg.cost_fn, cfg.cost_fp)
    chosen = {k: best.params[k] for k in CANDIDATES[0] if k in best.params}
    _log(f"chosen {chosen} at {best.n_rounds} rounds; CV AUC {cv_auc:.4f}; OOF cost-optimal threshold "
         f"{choice.threshold:.3f} (grey zone {choice.grey_low:.3f}-{choice.grey_high:.3f})", quiet)

    # Refit on every training row, for the chosen round count scaled to the larger set.
    n_rounds = max(1, int(round(best.n_rounds * cfg.n_splits / (cfg.n_splits - 1))))
    _log(f"refitting on {len(y)} rows for {n_rounds} rounds", quiet)
    params = {**base_params, **best.params}
    final = xgb.XGBClassifier(n_estimators=n_rounds, **params)
    final.fit(x, y, verbose=False)
    cv_seconds = time.perf_counter() - started

    hold_scores = final.predict_proba(x_hold)[:, 1]
    base_hold = baseline_scores(x, y, x_hold)
    holdout = Holdout(y_hold, hold_scores, features=x_hold,
                      groups=None if groups_from is None else groups_from.iloc[hold_idx], baseline_scores=base_hold,
                      true_probability=None if true_probability is None else np.asarray(true_probability)[hold_idx])
    metrics = holdout_metrics(final, holdout, choice, cost_fn=cfg.cost_fn, cost_fp=cfg.cost_fp,
                              fold_auc=best.fold_auc, n_splits=cfg.n_splits, seed=cfg.seed)
    metrics |= {
        "cv_auc": cv_auc,
        "cv_fold_rounds": best.fold_rounds,
        "baseline_ext_source_logreg_cv_auc": (float(roc_auc_score(y, tuning.baseline_oof))
                                              if tuning.baseline_oof is not None else None),
        "baseline_ext_source_logreg_auc": float(roc_auc_score(y_hold, base_hold)) if base_hold is not None else None,
        "cv_vs_baseline": (corrected_diff(np.subtract(best.fold_auc, tuning.baseline_fold_auc), 1 / (cfg.n_splits - 1))
                           if tuning.baseline_fold_auc is not None else None),
        "oof_cost_accept_all_per_applicant": float(cfg.cost_fn * y.mean()),
        "hyperparameters": {**chosen, "n_rounds": n_rounds},
        "tuning": tuning.summary(),
        "n_rounds": n_rounds,
        "scale_pos_weight": pos_weight,
        "n_features": len(names),
        "excluded_features": list(cfg.exclude_features),
        "rows": {"train": int(len(y)), "holdout": int(len(y_hold)), "positives_rate": float(y_all.mean()),
                 "defaults": int(y_all.sum()), "holdout_defaults": int(y_hold.sum())},
        "train_seconds": round(cv_seconds, 1),
        "seed": cfg.seed,
        "engine": {"kind": "single process"},
    }
    train_scores = served_scores(final, x)
    scale = master_scale_of(y, oof, train_scores)
    metrics["validation"] = _validation(cfg, scale, x, y, x_hold, y_hold, final, best, hold_scores, choice.threshold)
    finish_metrics(metrics)
    threshold_doc = {
        "threshold": choice.threshold,
        "cost_fn": cfg.cost_fn,
        "cost_fp": cfg.cost_fp,
        "grey_zone": {"low": choice.grey_low, "high": choice.grey_high},
        "selected_on": "out-of-fold",
        "master_scale": scale,
    }
    # a model without some form features (--exclude-features) still describes them for drift
    described = features if groups_from is None else groups_from  # the frame the excluded columns are read from
    missing_ui = [n for n in UI_FEATURE_NAMES if n not in x.columns and n in described]
    ref_frame = pd.concat([x, described.iloc[train_idx][missing_ui].astype(np.float32)], axis=1) if missing_ui else x
    return TrainResult(
        model=final,
        features=names,
        threshold=threshold_doc,
        metrics=metrics,
        reference=build_reference(ref_frame, train_scores, seed=cfg.seed),
        oof_scores=oof,
        holdout_target=y_hold,
        holdout_scores=hold_scores,
        oof_target=y,
        holdout_features=x_hold,
        baseline_holdout_scores=base_hold,
    )


def _validation(cfg: TrainConfig, scale: dict[str, Any], x: pd.DataFrame, y: np.ndarray, x_hold: pd.DataFrame,
                y_hold: np.ndarray, final: xgb.XGBClassifier, best: Any, hold_scores: np.ndarray,
                threshold: float) -> dict[str, Any]:
    """The holdout validation section, with (cfg.benchmark) the scorecard on the first repeat's folds."""
    section = validation_section(y_hold, hold_scores, scale, seed=cfg.seed)
    if cfg.benchmark:
        folds = list(RepeatedStratifiedKFold(n_splits=cfg.n_splits, n_repeats=1, random_state=cfg.seed).split(x, y))
        section["benchmark"] = benchmark(x, y, x_hold, y_hold, xgb_model=final, xgb_fold_auc=best.fold_auc,
                                         xgb_hold=hold_scores, folds=folds, cost_fn=cfg.cost_fn, cost_fp=cfg.cost_fp,
                                         xgb_threshold=threshold)
    return section


def load_training_frame(data_dir: Path, *, seed: int, applicants: int, quiet: bool = False):
    """Features, target, true probability (synthetic only), a description of the source, and the tables
    of the feature store (the training applicants and the application_test ones; None for a features table)."""

    given = datadir.training_source(data_dir)  # a features table with TARGET, the Kaggle tables, or nothing
    if given.kind == datadir.FEATURES:
        _log(f"using the features table {given.path}", quiet)
        frame, target, source = datadir.load_features_table(given.path)
        return frame, target, None, source, None
    if given.kind == datadir.KAGGLE:
        _log(f"using the Kaggle files in {data_dir}", quiet)
        tables = data.load_tables(data_dir, progress=not quiet)
        test_path = data.find_table(data_dir, APPLICATION_TEST)
        test_application = data.read_application_file(test_path) if test_path is not None else None
        true_probability = None
        source = {"kind": "kaggle", "data_dir": str(data_dir)}
    else:
        _log(f"no application_train file in {data_dir}: generating the synthetic twin "
             f"({applicants} applicants, seed {seed})", quiet)
        # Its application_test applicants (an independent stream: the training part is the same) are
        # not trained on; their child rows are in the child tables, as in the Kaggle files.
        twin = synthetic.generate(applicants, seed, progress=not quiet,
                                  test_applicants=synthetic.DEFAULT_TEST_APPLICANTS)
        tables = twin.tables
        test_application = twin.test_application
        true_probability = twin.true_probability
        source = {"kind": "synthetic", "applicants": applicants, "seed": seed}
    frame = features.build_features(tables, progress=not quiet)
    app = tables.application.set_index("SK_ID_CURR")
    target = app.loc[frame.index, TARGET_COLUMN].to_numpy()
    if true_probability is not None:
        true_probability = true_probability.loc[frame.index].to_numpy()
    source["row_counts"] = {name: len(frame) for name, frame in tables.items() if frame is not None}
    return frame, target, true_probability, source, with_test_applicants(tables, test_application)


def run_training(data_dir: Path, model_dir: Path, cfg: TrainConfig, *, applicants: int,
                 quiet: bool = False, compare_variant: bool = True, tracking: bool = True,
                 feature_store: bool = True) -> dict[str, Any]:
    """The whole `train.py` job; returns the metrics written to metrics.json.

    With `feature_store`, the feature store of the applicants of the tables (training and application_test
    ones) is written next to the artifacts (`scoring.store_build.build_store`).

    With `compare_variant`, a model without the gender features (same hyperparameters) is trained
    too, for the report's comparison. With `tracking`, the run is recorded with MLflow.
    """

    started = time.perf_counter()
    frame, target, true_probability, source, store_tables = load_training_frame(
        Path(data_dir), seed=cfg.seed, applicants=applicants, quiet=quiet)
    _log(f"{frame.shape[0]} applicants, {frame.shape[1]} features, default rate {target.mean():.3f}", quiet)
    result = train_model(frame, target, cfg, true_probability=true_probability, groups_from=frame, quiet=quiet)
    result.metrics["data_source"] = source
    if compare_variant and not cfg.exclude_features and any(
            fnmatch.fnmatchcase(c, GENDER_PATTERN) for c in result.features):
        _log(f"training the variant without {GENDER_PATTERN} for the report's comparison", quiet)
        chosen = tuple((k, v) for k, v in result.metrics["hyperparameters"].items() if k != "n_rounds")
        variant_cfg = replace(cfg, tune=False, n_repeats=1, exclude_features=(GENDER_PATTERN,), fixed_params=chosen,
                              benchmark=False)
        variant = train_model(frame, target, variant_cfg, groups_from=frame, quiet=True)
        result.metrics["variant_without_gender"] = variant_summary(variant.metrics)
    result.metrics["total_seconds"] = round(time.perf_counter() - started, 1)
    model_dir = Path(model_dir)
    manifest = publish_training(model_dir, result)

    store_path = model_dir / FEATURE_STORE_FILE
    store_path.unlink(missing_ok=True)  # the previous model's: neither logged to MLflow nor kept stale
    if tracking:
        run = log_training_run(model_dir, result, cfg, manifest, quiet=quiet)
        result.metrics["mlflow"] = run
    if feature_store and store_tables is not None:
        _log(f"writing the feature store of the known applicants to {store_path}", quiet)
        build_store(store_tables, frame, result.features, manifest["model_version"], store_path,
                    progress=not quiet, info={"source": {k: v for k, v in source.items() if k != "row_counts"}})
    return result.metrics
