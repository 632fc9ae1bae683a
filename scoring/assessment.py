"""One assessment of a trained model for every way of training it (one process or the cluster):
the holdout figures of `metrics.json`, the audit warnings, and the report and charts written with
the artifacts.

A run hands over what it has (`Holdout`); what it cannot compute is named under `not_computed`
(for instance the cluster keeps no holdout features, so no fairness audit and no SHAP importance),
and the report says so in French.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from scoring.cost import ThresholdChoice, business_cost, confusion_at
from scoring.evaluation import audit_warnings, calibration, holdout_intervals, mean_interval, shap_importance
from scoring.fairness import fairness_audit
from scoring.feature_registry import feature_label
from scoring.master_scale import build_master_scale, grade_index
from scoring.plots import PLOT_FILES, chart_images
from scoring.publish import write_model
from scoring.report import build_report
from scoring.schema import REPORT_FILE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Holdout:
    """The holdout rows as a training run has them."""

    target: np.ndarray
    scores: np.ndarray
    features: pd.DataFrame | None = None  # None: not kept (the cluster); no fairness audit, no importance
    groups: pd.DataFrame | None = None  # the columns the fairness groups are read from (default: features)
    baseline_scores: np.ndarray | None = None  # the EXT_SOURCE logistic baseline on the same rows
    true_probability: np.ndarray | None = None  # the twin's true default probability


def holdout_metrics(model: xgb.XGBClassifier, holdout: Holdout, choice: ThresholdChoice, *, cost_fn: float,
                    cost_fp: float, fold_auc: list[float], n_splits: int, seed: int) -> dict[str, Any]:
    """The figures every run reports: holdout AUC, cost and confusion at the threshold with their
    bootstrap intervals, calibration, the cross-validated AUC with its interval, and (when the
    holdout features are kept) fairness and SHAP importance."""
    y, scores = holdout.target, holdout.scores
    tn, fp, fn, tp = confusion_at(y, scores, choice.threshold)
    cost = business_cost(y, scores, choice.threshold, cost_fn, cost_fp)
    auc = float(roc_auc_score(y, scores))
    metrics: dict[str, Any] = {
        "auc": auc,
        "cv_fold_auc": list(fold_auc),
        "cv_fold_auc_sd": float(np.std(fold_auc, ddof=1)) if len(fold_auc) > 1 else None,
        "cv_auc_interval": mean_interval(list(fold_auc), 1 / (n_splits - 1)),
        "threshold": choice.threshold,
        "grey_zone": {"low": choice.grey_low, "high": choice.grey_high},
        "business_cost": cost,
        "business_cost_per_applicant": cost / len(y),
        "oof_business_cost_per_applicant": choice.cost_per_applicant,
        "cost_fn": cost_fn,
        "cost_fp": cost_fp,
        "recall": tp / max(tp + fn, 1),
        "precision": tp / max(tp + fp, 1),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "intervals": holdout_intervals(y, scores, choice.threshold, cost_fn, cost_fp,
                                       baseline_scores=holdout.baseline_scores, seed=seed),
        "calibration": calibration(y, scores),
    }
    not_computed: dict[str, str] = {}
    if holdout.true_probability is not None and not np.isnan(holdout.true_probability).any():
        metrics["oracle_auc"] = float(roc_auc_score(y, holdout.true_probability))
        metrics["auc_to_oracle"] = auc / metrics["oracle_auc"]
    if holdout.features is not None:
        metrics["fairness"] = fairness_audit(model, holdout.features, y, scores, choice.threshold,
                                             groups_from=holdout.groups)
        metrics["importance"] = shap_importance(model, holdout.features, labels=feature_label)
    else:
        why = "the holdout features are not kept by this run (cluster training)"
        not_computed |= {"fairness": why, "importance": why}
    if holdout.baseline_scores is None:
        not_computed["baseline_ext_source_logreg_auc"] = "no baseline scores on the holdout in this run"
    metrics["not_computed"] = not_computed
    return metrics


def master_scale_of(y_oof: np.ndarray, oof_scores: np.ndarray, served: np.ndarray) -> dict[str, Any]:
    """The master scale chosen on the out-of-fold scores (`scoring.master_scale`), with the grade shares
    of `served`, the scores the service gives the training rows: what monitoring compares with."""
    scale = build_master_scale(y_oof, oof_scores)
    counts = np.bincount(grade_index(scale["edges"], served), minlength=scale["n_grades"])
    scale["served_shares"] = [float(v) for v in counts / len(served)]
    return scale


def finish_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The audit warnings, once every figure is in."""
    metrics["warnings"] = audit_warnings(metrics)
    return metrics


def publish_training(model_dir: Path, result: Any) -> dict[str, Any]:
    """Write the model (`scoring.publish.write_model`) with its report and charts; log the audit
    warnings; returns the manifest. `result` is a `scoring.training.TrainResult`."""
    images = chart_images(result)
    extra = {
        REPORT_FILE: lambda version: build_report(result.metrics, result.threshold, images, version).encode(),
        PLOT_FILES[0]: images["roc"],
        PLOT_FILES[1]: images["cost"],
    }
    manifest = write_model(Path(model_dir), model=result.model, features=result.features, threshold=result.threshold,
                           metrics=result.metrics, reference=result.reference, extra_files=extra)
    for warning in result.metrics["warnings"]:
        log.warning("[%s] %s", warning["code"], warning["message"])
    return manifest
