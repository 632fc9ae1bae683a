"""Hyperparameters chosen by repeated stratified K-fold, with paired comparisons on the same folds.

Every candidate is fitted on the same folds. In each fold XGBoost records the validation AUC of
every round (early stopping with a generous patience); the number of rounds is the best round of the
*mean* curve over the folds (as `xgboost.cv` does), not each fold's own best, so that one noisy fold
that stops after a few rounds does not decide. The candidate of highest mean fold AUC wins; its
paired differences with the reference candidate (the first one) and with the EXT_SOURCE logistic
baseline, fold by fold, carry a corrected interval (`scoring.evaluation.corrected_diff`).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from scoring.evaluation import corrected_diff
from scoring.fold_fits import Fold, FoldFit, fit_fold, run_fits
from scoring.schema import EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3

log = logging.getLogger(__name__)

BASELINE_FEATURES = (EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3)

# The grid is small on purpose: each candidate costs a full repeated K-fold. Depth stays <= 4 and
# rounds <= MAX_ROUNDS because the service computes exact TreeSHAP reasons per request (its cost
# grows with trees x leaves). The first candidate is the reference the others are compared with.
CANDIDATES: tuple[dict[str, Any], ...] = (
    {"learning_rate": 0.1, "max_depth": 3, "min_child_weight": 5, "reg_lambda": 5.0, "colsample_bytree": 0.5},
    {"learning_rate": 0.05, "max_depth": 2, "min_child_weight": 10, "reg_lambda": 10.0, "colsample_bytree": 0.5},
    {"learning_rate": 0.05, "max_depth": 4, "min_child_weight": 20, "reg_lambda": 10.0, "colsample_bytree": 0.3},
    {"learning_rate": 0.03, "max_depth": 3, "min_child_weight": 20, "reg_lambda": 20.0, "colsample_bytree": 0.3},
)
MAX_ROUNDS = 500


@dataclass
class CandidateResult:
    params: dict[str, Any]
    n_rounds: int  # best round of the mean validation curve
    fold_auc: list[float]  # per fold (all repeats), at n_rounds
    fold_rounds: list[int]  # each fold's own early-stopped best round (diagnostic)
    oof: np.ndarray  # out-of-fold scores of the first repeat, at n_rounds
    oof_repeats: list[np.ndarray] = field(default_factory=list)

    @property
    def mean_auc(self) -> float:
        return float(np.mean(self.fold_auc))


@dataclass
class TuningResult:
    best: CandidateResult
    candidates: list[CandidateResult]
    folds: list[tuple[np.ndarray, np.ndarray]]
    n_splits: int
    baseline_fold_auc: list[float] | None
    baseline_oof: np.ndarray | None  # first repeat

    def summary(self) -> dict[str, Any]:
        share = 1 / (self.n_splits - 1)
        ref = self.candidates[0]
        rows = []
        for cand in self.candidates:
            row = {"params": cand.params, "n_rounds": cand.n_rounds, "mean_fold_auc": cand.mean_auc,
                   "sd_fold_auc": float(np.std(cand.fold_auc, ddof=1)) if len(cand.fold_auc) > 1 else 0.0}
            if cand is not ref:
                row["diff_vs_reference"] = corrected_diff(np.subtract(cand.fold_auc, ref.fold_auc), share)
            rows.append(row)
        return {"folds": len(self.folds), "n_splits": self.n_splits, "selected": self.candidates.index(self.best),
                "candidates": rows}


def baseline_scores(x_fit: pd.DataFrame, y_fit: np.ndarray, x_score: pd.DataFrame) -> np.ndarray | None:
    """Scores of a logistic regression on EXT_SOURCE_1/2/3 (training medians imputed)."""
    cols = [c for c in BASELINE_FEATURES if c in x_fit.columns]
    if not cols:
        return None
    medians = x_fit[cols].median().fillna(0.5)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    clf.fit(x_fit[cols].fillna(medians), y_fit)
    return clf.predict_proba(x_score[cols].fillna(medians))[:, 1]


def best_mean_round(curves: list[np.ndarray], max_rounds: int) -> int:
    """Rounds at the best *mean* validation AUC over the folds (a fold stopped early keeps its last value)."""
    padded = [np.pad(np.asarray(c, dtype=float), (0, max_rounds - len(c)), mode="edge") for c in curves]
    return int(np.argmax(np.mean(padded, axis=0))) + 1


def _summarise(params: dict[str, Any], fits: list[FoldFit], folds: list[Fold], x: pd.DataFrame, n: int,
               n_splits: int, max_rounds: int) -> CandidateResult:
    """A candidate's result from its fits on every fold: rounds of the best mean curve, fold AUCs, OOF scores."""
    curves = [np.pad(fit.curve, (0, max_rounds - fit.curve.size), mode="edge") for fit in fits]
    n_rounds = best_mean_round(curves, max_rounds)
    fold_auc, repeats = [], []
    for i, (fit, fold) in enumerate(zip(fits, folds, strict=True)):
        if i % n_splits == 0:
            repeats.append(np.zeros(n))
        # a fold that stopped before n_rounds (no gain for `patience` rounds) keeps its last tree
        repeats[-1][fold.valid_idx] = fit.scores(x.iloc[fold.valid_idx], n_rounds)
        fold_auc.append(float(curves[i][n_rounds - 1]))
    return CandidateResult(params=params, n_rounds=n_rounds, fold_auc=fold_auc,
                           fold_rounds=[fit.best_round for fit in fits], oof=repeats[0], oof_repeats=repeats)


def tune(x: pd.DataFrame, y: np.ndarray, base_params: dict[str, Any], *, n_splits: int, n_repeats: int,
         seed: int, candidates: tuple[dict[str, Any], ...] = CANDIDATES, max_rounds: int = MAX_ROUNDS,
         patience: int = 50, quiet: bool = False, workers: int | None = None) -> TuningResult:
    """Evaluate every candidate on the same repeated stratified folds; the best mean fold AUC wins.

    `workers` fits run at once on one thread each (default: the `n_jobs` of `base_params`), on each
    fold's matrices built once (`scoring.fold_fits`).
    """
    split = list(RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed).split(x, y))
    folds = [Fold(fit_idx, valid_idx) for fit_idx, valid_idx in split]
    params = [{**base_params, **cand} for cand in candidates]
    # a slower learning rate needs a longer patience to see past a plateau
    waits = [min(2 * patience, int(round(patience * 0.1 / p["learning_rate"]))) for p in params]
    workers = workers or int(base_params.get("n_jobs") or 1)
    slowest_first = sorted(range(len(params)), key=lambda i: params[i]["learning_rate"])
    bar = tqdm(total=len(candidates) * len(folds), desc="cross-validation", unit="fold", disable=quiet,
               file=sys.stderr)

    def progress(_: int, __: int, fit: FoldFit) -> None:
        bar.update(1)
        bar.set_postfix(auc=f"{fit.curve.max():.4f}", rounds=fit.best_round)

    fits = run_fits([(i, f) for i in slowest_first for f in range(len(folds))],
                    lambda i, f: fit_fold(x, y, folds[f], params[i], max_rounds=max_rounds, patience=waits[i]),
                    workers=workers, done=progress)
    bar.close()
    for fold in folds:
        fold.release()
    results = [_summarise(params[i], [fits[(i, f)] for f in range(len(folds))], folds, x, len(y), n_splits,
                          max_rounds) for i in range(len(params))]
    for cand, result in zip(candidates, results, strict=True):
        log.debug("candidate %s: mean fold AUC %.4f at %d rounds", cand, result.mean_auc, result.n_rounds)
    best = max(results, key=lambda r: r.mean_auc)  # ties: the earlier (reference first)
    base_auc, base_oof = None, None
    if any(c in x.columns for c in BASELINE_FEATURES):
        base_auc, base_oof = [], np.zeros(len(y))
        for i, (fit_idx, valid_idx) in enumerate(split):
            scores = baseline_scores(x.iloc[fit_idx], y[fit_idx], x.iloc[valid_idx])
            base_auc.append(float(roc_auc_score(y[valid_idx], scores)))
            if i < n_splits:
                base_oof[valid_idx] = scores
    return TuningResult(best=best, candidates=results, folds=split, n_splits=n_splits,
                        baseline_fold_auc=base_auc, baseline_oof=base_oof)
