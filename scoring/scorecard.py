"""The benchmark scorecard: weight-of-evidence logistic regression built with optbinning.

The field's simple model beside the complex one (the ECB's validation instructions ask for a
benchmark). `optbinning.BinningProcess` bins each characteristic optimally (monotone default rate
where it helps, missing values in a bin of their own), `optbinning.Scorecard` fits a logistic
regression on the weights of evidence and scales it to points: PDO points double the odds of a good
applicant, and BASE_POINTS stand for odds of BASE_ODDS to 1. It is trained on the same training
rows, and cross-validated on the same folds, as XGBoost; XGBoost keeps serving.

Characteristics: the MAX_CHARACTERISTICS features of highest XGBoost gain on the training rows (the
holdout is never looked at), then the binning keeps those of information value ≥ MIN_IV.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

PDO, BASE_POINTS, BASE_ODDS = 20, 600, 50
MAX_CHARACTERISTICS = 25
MIN_IV = 0.02


@dataclass
class ScorecardFit:
    model: Any  # optbinning.Scorecard
    characteristics: list[str]


def characteristics_of(model: Any, x: pd.DataFrame, limit: int = MAX_CHARACTERISTICS) -> list[str]:
    """The `limit` features of highest total gain in the (training-rows) XGBoost model."""
    gains = model.get_booster().get_score(importance_type="total_gain")
    ranked = sorted(gains, key=gains.get, reverse=True)
    return [name for name in ranked if name in x.columns][:limit]


def fit_scorecard(x: pd.DataFrame, y: np.ndarray, characteristics: list[str]) -> ScorecardFit:
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    process = BinningProcess(characteristics, selection_criteria={"iv": {"min": MIN_IV}},
                             binning_fit_params={name: {"monotonic_trend": "auto_asc_desc"}
                                                 for name in characteristics})
    card = Scorecard(binning_process=process, estimator=LogisticRegression(max_iter=1000),
                     scaling_method="pdo_odds",
                     scaling_method_params={"pdo": PDO, "odds": BASE_ODDS, "scorecard_points": BASE_POINTS},
                     reverse_scorecard=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        card.fit(x[characteristics].astype(float), np.asarray(y).astype(int))
    return ScorecardFit(card, characteristics)


def scorecard_pd(fit: ScorecardFit, x: pd.DataFrame) -> np.ndarray:
    """Probability of default of each row (the logistic regression on the weights of evidence)."""
    return fit.model.predict_proba(x[fit.characteristics].astype(float))[:, 1]


def points_table(fit: ScorecardFit) -> list[dict[str, Any]]:
    """Points per characteristic and bin (higher points: a better applicant)."""
    table = fit.model.table(style="summary")
    return [{"characteristic": str(row["Variable"]), "bin": _bin_text(row["Bin"]),
             "points": round(float(row["Points"]), 1)} for _, row in table.iterrows()]


def _bin_text(value: Any) -> str:
    if isinstance(value, list | np.ndarray):
        return ", ".join(str(v) for v in value)
    return str(value)


def cv_scorecard(x: pd.DataFrame, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
                 characteristics: list[str]) -> tuple[list[float], np.ndarray]:
    """Fold AUCs of the scorecard on `folds` and its out-of-fold PDs (each row scored once)."""
    from sklearn.metrics import roc_auc_score

    oof = np.full(len(y), np.nan)
    aucs = []
    for fit_idx, val_idx in folds:
        fit = fit_scorecard(x.iloc[fit_idx], y[fit_idx], characteristics)
        oof[val_idx] = scorecard_pd(fit, x.iloc[val_idx])
        aucs.append(float(roc_auc_score(y[val_idx], oof[val_idx])))
    return aucs, oof
