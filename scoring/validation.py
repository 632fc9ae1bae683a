"""The validation section of `metrics.json` (and of the model report), on the holdout.

Composes the pure statistics of `scoring.validation_stats` over the master scale of
`scoring.master_scale`: discrimination (Gini, KS with bootstrap intervals, ROC and CAP curves),
gains / lift by decile and by grade with the rank ordering, calibration per grade (Jeffreys and
binomial tests against the grade's PD), overall Hosmer–Lemeshow and Spiegelhalter, Herfindahl of
the grades; and the benchmark scorecard beside XGBoost (`benchmark`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from scoring import validation_stats as vs
from scoring.cost import best_threshold, business_cost
from scoring.evaluation import corrected_diff, stratified_bootstrap
from scoring.master_scale import grade_index, grade_names
from scoring.scorecard import (
    BASE_ODDS,
    BASE_POINTS,
    PDO,
    characteristics_of,
    cv_scorecard,
    fit_scorecard,
    points_table,
    scorecard_pd,
)

log = logging.getLogger(__name__)

REPLICATES = 300  # bootstrap replicates of Gini and KS (their interval moves by < 0.002 past this)
ALPHA = 0.05  # a grade fails its back-test when the Jeffreys p-value is below this


def grade_backtest(y: np.ndarray, scores: np.ndarray, scale: dict[str, Any]) -> list[dict[str, Any]]:
    """Per grade: applicants, defaults, observed rate, the grade's PD and the mean PD, Jeffreys and binomial."""
    idx = grade_index(scale["edges"], scores)
    rows = []
    for i, grade in enumerate(scale["grades"]):
        mask = idx == i
        n, d = int(mask.sum()), int(np.asarray(y)[mask].sum())
        p_j = vs.jeffreys_pvalue(n, d, grade["pd"])
        rows.append({"grade": grade["grade"], "pd": grade["pd"], "n": n, "defaults": d,
                     "default_rate": d / n if n else None,
                     "mean_pd": float(np.mean(scores[mask])) if n else None,
                     "jeffreys_p": None if n == 0 else p_j,
                     "binomial_p": None if n == 0 else vs.binomial_pvalue(n, d, grade["pd"]),
                     "passed": n == 0 or p_j >= ALPHA})
    return rows


def validation_section(y: np.ndarray, scores: np.ndarray, scale: dict[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """Every holdout figure of the validation section (see the module docstring)."""
    y = np.asarray(y).astype(int)
    s = np.asarray(scores, dtype=float)
    ks, ks_at = vs.ks_statistic(y, s)
    intervals = vs.ks_gini_intervals(y, s, stratified_bootstrap(y, REPLICATES, seed))
    dec_bands, dec_names = vs.decile_bands(s)
    deciles = vs.gains_table(y, s, dec_bands, dec_names)
    grade_rows = vs.gains_table(y, s, grade_index(scale["edges"], s), grade_names(scale))
    counts = [r["n"] for r in grade_rows]
    return {
        "auc": float(roc_auc_score(y, s)),
        "gini": vs.gini(y, s), "gini_interval": intervals["gini"],
        "ks": ks, "ks_score": ks_at, "ks_interval": intervals["ks"],
        "interval_method": f"stratified bootstrap of the holdout, {REPLICATES} replicates, 95 % percentile",
        "roc": vs.roc_points(y, s), "cap": vs.cap_points(y, s),
        "gains_deciles": deciles, "rank_ordering_deciles": vs.rank_ordering(deciles),
        "gains_grades": grade_rows, "rank_ordering_grades": vs.rank_ordering(grade_rows),
        "calibration_grades": grade_backtest(y, s, scale),
        "hosmer_lemeshow": vs.hosmer_lemeshow(y, s), "spiegelhalter": vs.spiegelhalter(y, s),
        "herfindahl": vs.herfindahl(counts) if sum(counts) else None,
        "herfindahl_training": vs.herfindahl([g["n"] for g in scale["grades"]]),
    }


def benchmark(x: pd.DataFrame, y: np.ndarray, x_hold: pd.DataFrame, y_hold: np.ndarray, *, xgb_model: Any,
              xgb_fold_auc: list[float], xgb_hold: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
              cost_fn: float, cost_fp: float, xgb_threshold: float) -> dict[str, Any]:
    """The optbinning scorecard beside XGBoost: paired CV on the same folds; holdout AUC/Gini/KS, cost, calibration."""
    chars = characteristics_of(xgb_model, x)
    fold_auc, oof = cv_scorecard(x, y, folds, chars)
    choice = best_threshold(y, oof, cost_fn, cost_fp)
    fit = fit_scorecard(x, y, chars)
    hold = scorecard_pd(fit, x_hold)

    def figures(p: np.ndarray, threshold: float) -> dict[str, Any]:
        return {"auc": float(roc_auc_score(y_hold, p)), "gini": vs.gini(y_hold, p), "ks": vs.ks_statistic(y_hold, p)[0],
                "threshold": threshold,
                "business_cost_per_applicant": business_cost(y_hold, p, threshold, cost_fn, cost_fp) / len(y_hold),
                "brier": float(brier_score_loss(y_hold, p)), "hosmer_lemeshow": vs.hosmer_lemeshow(y_hold, p),
                "spiegelhalter": vs.spiegelhalter(y_hold, p)}

    table = points_table(fit)
    used = sorted({row["characteristic"] for row in table})
    return {
        "method": "optbinning BinningProcess + Scorecard (WoE logistic regression), same training rows and folds",
        "scaling": {"pdo": PDO, "base_points": BASE_POINTS, "base_odds": BASE_ODDS,
                    "meaning": f"{PDO} points double the odds good:bad; {BASE_POINTS} points = odds {BASE_ODDS}:1"},
        "candidates": chars, "characteristics": used,
        "cv_fold_auc": fold_auc,
        "cv_xgboost_minus_scorecard": corrected_diff(np.subtract(xgb_fold_auc[:len(fold_auc)], fold_auc),
                                                      1 / (len(folds) - 1)),
        "scorecard": figures(hold, choice.threshold),
        "xgboost": figures(np.asarray(xgb_hold, dtype=float), xgb_threshold),
        "points": table,
    }
