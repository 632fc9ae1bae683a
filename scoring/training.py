"""Training: stratified K-fold XGBoost, out-of-fold cost-optimal threshold, refit, holdout report.

`train_model` works on a feature frame and a target, whatever their source; `run_training` picks
the source (Kaggle files or the synthetic twin), trains, and writes the artifacts.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from scoring import config
from scoring.artifacts import write_artifacts
from scoring.cost import DEFAULT_GRID, best_threshold, confusion_at, cost_curve
from scoring.reference import build_reference
from scoring.schema import EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3, TARGET_COLUMN, UI_FEATURE_NAMES

# A higher external score never means a higher risk: constraining the model to that is what the
# advisers expect and what the behavioural tests check.
MONOTONE_DECREASING = (EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3)
BASELINE_FEATURES = (EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3)


@dataclass(frozen=True)
class TrainConfig:
    seed: int = config.DEFAULT_SEED
    n_splits: int = 5
    holdout_size: float = 0.2
    cost_fn: float = config.DEFAULT_COST_FN
    cost_fp: float = config.DEFAULT_COST_FP
    learning_rate: float = 0.1
    max_depth: int = 3
    max_bin: int = 128
    max_rounds: int = 2000
    early_stopping_rounds: int = 50
    # Imbalance: positives are reweighted by (neg/pos) ** balance_power. Measured on the twin,
    # reweighting did not raise the AUC but broke the calibration (and cost a little more); with
    # 0, scores stay probabilities and the 10:1 cost sets the threshold near 1/11
    # (docs/decisions.md). Stratified folds and the cost-optimal threshold handle the imbalance.
    balance_power: float = 0.0
    n_jobs: int = 2

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


def _log(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _baseline_auc(x: pd.DataFrame, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> float | None:
    """CV AUC of a logistic regression on EXT_SOURCE_1/2/3 (medians imputed), on the same folds."""
    cols = [c for c in BASELINE_FEATURES if c in x.columns]
    if not cols:
        return None
    oof = np.zeros(len(y))
    for train_idx, valid_idx in folds:
        part = x.iloc[train_idx][cols]
        medians = part.median().fillna(0.5)
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        clf.fit(part.fillna(medians), y[train_idx])
        oof[valid_idx] = clf.predict_proba(x.iloc[valid_idx][cols].fillna(medians))[:, 1]
    return float(roc_auc_score(y, oof))


def _calibration(y: np.ndarray, scores: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Brier score, expected calibration error and the reliability table over score deciles."""
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, n_bins + 1)))
    bins = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, max(edges.size - 2, 0))
    table = []
    ece = 0.0
    for b in np.unique(bins):
        mask = bins == b
        mean_score, rate = float(scores[mask].mean()), float(y[mask].mean())
        table.append({"mean_score": mean_score, "default_rate": rate, "n": int(mask.sum())})
        ece += mask.mean() * abs(mean_score - rate)
    return {"brier": float(brier_score_loss(y, scores)), "ece": float(ece), "bins": table}


def served_scores(model: xgb.XGBClassifier, x: pd.DataFrame) -> np.ndarray:
    """Scores of training rows as the service computes them for a form request.

    The service only receives the 11 form features and takes every other feature from the
    template of training medians, so its scores are not distributed like full-row scores. Drift
    monitoring compares live scores with these, not with full-row scores (which would flag
    stable traffic as drifting).
    """
    served = pd.DataFrame(np.repeat(x.median().to_numpy(dtype=np.float32)[None, :], len(x), axis=0),
                          columns=x.columns, index=x.index)
    ui = [name for name in UI_FEATURE_NAMES if name in x.columns]
    served[ui] = x[ui].to_numpy(dtype=np.float32)
    return model.predict_proba(served)[:, 1]


def train_model(
    features: pd.DataFrame,
    target: pd.Series | np.ndarray,
    cfg: TrainConfig = TrainConfig(),
    *,
    true_probability: np.ndarray | None = None,
    quiet: bool = False,
) -> TrainResult:
    """Cross-validate, choose the threshold on out-of-fold scores, refit, evaluate on a holdout."""
    y_all = np.asarray(target).astype(int)
    if set(np.unique(y_all)) != {0, 1}:
        raise ValueError(f"{TARGET_COLUMN} must hold both 0 and 1; found {sorted(set(np.unique(y_all)))}")
    names = list(features.columns)
    x_all = features.astype(np.float32)
    idx = np.arange(len(y_all))
    train_idx, hold_idx = train_test_split(idx, test_size=cfg.holdout_size, stratify=y_all, random_state=cfg.seed)
    x, y = x_all.iloc[train_idx], y_all[train_idx]
    x_hold, y_hold = x_all.iloc[hold_idx], y_all[hold_idx]
    pos_weight = float(((y == 0).sum() / max((y == 1).sum(), 1)) ** cfg.balance_power)
    params = cfg.xgb_params(pos_weight, names)

    folds = list(StratifiedKFold(cfg.n_splits, shuffle=True, random_state=cfg.seed).split(x, y))
    oof = np.zeros(len(y))
    best_rounds, fold_aucs = [], []
    started = time.perf_counter()
    bar = tqdm(folds, desc="cross-validation", unit="fold", disable=quiet, file=sys.stderr)
    for fit_idx, valid_idx in bar:
        model = xgb.XGBClassifier(
            n_estimators=cfg.max_rounds, early_stopping_rounds=cfg.early_stopping_rounds, **params
        )
        model.fit(x.iloc[fit_idx], y[fit_idx], eval_set=[(x.iloc[valid_idx], y[valid_idx])], verbose=False)
        oof[valid_idx] = model.predict_proba(x.iloc[valid_idx])[:, 1]
        best_rounds.append(int(model.best_iteration) + 1)
        fold_aucs.append(float(roc_auc_score(y[valid_idx], oof[valid_idx])))
        bar.set_postfix(auc=f"{fold_aucs[-1]:.4f}", rounds=best_rounds[-1])
    cv_auc = float(roc_auc_score(y, oof))
    choice = best_threshold(y, oof, cfg.cost_fn, cfg.cost_fp)
    _log(f"CV AUC {cv_auc:.4f}; OOF cost-optimal threshold {choice.threshold:.3f} "
         f"(grey zone {choice.grey_low:.3f}-{choice.grey_high:.3f})", quiet)

    # Refit on every training row, for the mean early-stopped round count scaled to the larger set.
    n_rounds = max(1, int(round(np.mean(best_rounds) * cfg.n_splits / (cfg.n_splits - 1))))
    _log(f"refitting on {len(y)} rows for {n_rounds} rounds", quiet)
    final = xgb.XGBClassifier(n_estimators=n_rounds, **params)
    final.fit(x, y, verbose=False)
    cv_seconds = time.perf_counter() - started

    hold_scores = final.predict_proba(x_hold)[:, 1]
    tn, fp, fn, tp = confusion_at(y_hold, hold_scores, choice.threshold)
    hold_auc = float(roc_auc_score(y_hold, hold_scores))
    metrics: dict[str, Any] = {
        "auc": hold_auc,
        "cv_auc": cv_auc,
        "cv_fold_auc": fold_aucs,
        "baseline_ext_source_logreg_cv_auc": _baseline_auc(x, y, folds),
        "threshold": choice.threshold,
        "business_cost": float(cfg.cost_fn * fn + cfg.cost_fp * fp),
        "business_cost_per_applicant": float((cfg.cost_fn * fn + cfg.cost_fp * fp) / len(y_hold)),
        "oof_business_cost_per_applicant": choice.cost_per_applicant,
        "cost_fn": cfg.cost_fn,
        "cost_fp": cfg.cost_fp,
        "recall": tp / max(tp + fn, 1),
        "precision": tp / max(tp + fp, 1),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "calibration": _calibration(y_hold, hold_scores),
        "n_rounds": n_rounds,
        "scale_pos_weight": pos_weight,
        "n_features": len(names),
        "rows": {"train": int(len(y)), "holdout": int(len(y_hold)), "positives_rate": float(y_all.mean())},
        "train_seconds": round(cv_seconds, 1),
        "seed": cfg.seed,
    }
    if true_probability is not None:
        oracle = float(roc_auc_score(y_hold, np.asarray(true_probability)[hold_idx]))
        metrics["oracle_auc"] = oracle
        metrics["auc_to_oracle"] = hold_auc / oracle
    threshold_doc = {
        "threshold": choice.threshold,
        "cost_fn": cfg.cost_fn,
        "cost_fp": cfg.cost_fp,
        "grey_zone": {"low": choice.grey_low, "high": choice.grey_high},
        "selected_on": "out-of-fold",
    }
    train_scores = served_scores(final, x)
    return TrainResult(
        model=final,
        features=names,
        threshold=threshold_doc,
        metrics=metrics,
        reference=build_reference(x, train_scores, seed=cfg.seed),
        oof_scores=oof,
        holdout_target=y_hold,
        holdout_scores=hold_scores,
        oof_target=y,
    )


def save_plots(result: TrainResult, model_dir: Path) -> list[Path]:
    """ROC of the holdout and cost against threshold on the OOF scores, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    paths = []
    fpr, tpr, _ = roc_curve(result.holdout_target, result.holdout_scores)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label=f"XGBoost (AUC {result.metrics['auc']:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="hasard")
    ax.set(xlabel="Taux de faux positifs", ylabel="Taux de vrais positifs", title="ROC (holdout)")
    ax.legend(loc="lower right")
    paths.append(model_dir / "roc.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    plt.close(fig)

    grid = DEFAULT_GRID
    costs = cost_curve(result.oof_target, result.oof_scores, grid,
                       result.threshold["cost_fn"], result.threshold["cost_fp"])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(grid, costs / len(result.oof_scores))
    ax.axvline(result.threshold["threshold"], color="red", linestyle="--",
               label=f"seuil {result.threshold['threshold']:.3f}")
    zone = result.threshold["grey_zone"]
    ax.axvspan(zone["low"], zone["high"], color="orange", alpha=0.2, label="zone à étudier")
    ax.set(xlabel="Seuil", ylabel="Coût par dossier (10·FN + FP)", title="Coût métier (out-of-fold)")
    ax.legend()
    paths.append(model_dir / "cost_threshold.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    plt.close(fig)
    return paths


def load_training_frame(data_dir: Path, *, seed: int, applicants: int, quiet: bool = False):
    """Features, target, true probability (synthetic only) and a description of the source."""
    from scoring import data, datadir, features, synthetic

    given = datadir.training_source(data_dir)  # a features table with TARGET, the Kaggle tables, or nothing
    if given.kind == datadir.FEATURES:
        _log(f"using the features table {given.path}", quiet)
        frame, target, source = datadir.load_features_table(given.path)
        return frame, target, None, source
    if given.kind == datadir.KAGGLE:
        _log(f"using the Kaggle files in {data_dir}", quiet)
        tables = data.load_tables(data_dir, progress=not quiet)
        true_probability = None
        source = {"kind": "kaggle", "data_dir": str(data_dir)}
    else:
        _log(f"no application_train file in {data_dir}: generating the synthetic twin "
             f"({applicants} applicants, seed {seed})", quiet)
        twin = synthetic.generate(applicants, seed, progress=not quiet)
        tables = twin.tables
        true_probability = twin.true_probability
        source = {"kind": "synthetic", "applicants": applicants, "seed": seed}
    frame = features.build_features(tables, progress=not quiet)
    app = tables.application.set_index("SK_ID_CURR")
    target = app.loc[frame.index, TARGET_COLUMN].to_numpy()
    if true_probability is not None:
        true_probability = true_probability.loc[frame.index].to_numpy()
    source["row_counts"] = {name: len(frame) for name, frame in tables.items() if frame is not None}
    return frame, target, true_probability, source


def run_training(data_dir: Path, model_dir: Path, cfg: TrainConfig, *, applicants: int,
                 quiet: bool = False) -> dict[str, Any]:
    """The whole `train.py` job; returns the metrics written to metrics.json."""
    started = time.perf_counter()
    frame, target, true_probability, source = load_training_frame(
        Path(data_dir), seed=cfg.seed, applicants=applicants, quiet=quiet)
    _log(f"{frame.shape[0]} applicants, {frame.shape[1]} features, default rate {target.mean():.3f}", quiet)
    result = train_model(frame, target, cfg, true_probability=true_probability, quiet=quiet)
    result.metrics["data_source"] = source
    result.metrics["total_seconds"] = round(time.perf_counter() - started, 1)
    model_dir = Path(model_dir)
    write_artifacts(model_dir, model=result.model, features=result.features, threshold=result.threshold,
                    metrics=result.metrics, reference=result.reference)
    save_plots(result, model_dir)
    return result.metrics
