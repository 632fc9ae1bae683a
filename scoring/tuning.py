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
from concurrent.futures import ThreadPoolExecutor
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
from scoring.fold_fits import Fold, FoldFit, feature_info, fit_fold, run_fits
from scoring.racing import RacingRule, decide
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
    oof: np.ndarray | None  # out-of-fold scores of the first repeat, at n_rounds (None: stopped by racing)
    oof_repeats: list[np.ndarray] = field(default_factory=list)
    folds: list[int] = field(default_factory=list)  # the folds fitted (all of them unless stopped by racing)
    stopped: dict[str, Any] | None = None  # racing: after how many folds, with what catch-up probability

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
    racing: RacingRule | None = None

    def summary(self) -> dict[str, Any]:
        share = 1 / (self.n_splits - 1)
        ref = self.candidates[0]
        rows = []
        for cand in self.candidates:
            row = {"params": cand.params, "n_rounds": cand.n_rounds, "mean_fold_auc": cand.mean_auc,
                   "sd_fold_auc": float(np.std(cand.fold_auc, ddof=1)) if len(cand.fold_auc) > 1 else 0.0,
                   "folds": len(cand.fold_auc)}
            if cand.stopped is not None:
                row["stopped_by_racing"] = cand.stopped
            if cand is not ref:  # paired on the folds both have (a candidate stopped by racing has fewer)
                common = sorted(set(cand.folds) & set(ref.folds))
                row["diff_vs_reference"] = corrected_diff(
                    [cand.fold_auc[cand.folds.index(f)] - ref.fold_auc[ref.folds.index(f)] for f in common], share)
            rows.append(row)
        out = {"folds": len(self.folds), "n_splits": self.n_splits, "selected": self.candidates.index(self.best),
               "candidates": rows}
        if self.racing is not None:
            out["racing"] = self.racing.describe()
        return out


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


def _baseline_folds(x: pd.DataFrame, y: np.ndarray, split: list[tuple[np.ndarray, np.ndarray]],
                    n_splits: int) -> tuple[list[float] | None, np.ndarray | None]:
    """The EXT_SOURCE logistic baseline's AUC on each fold and its out-of-fold scores (first repeat)."""
    cols = [c for c in BASELINE_FEATURES if c in x.columns]
    if not cols:
        return None, None
    x = x[cols]  # the baseline reads these only: the folds' rows are taken from 3 columns, not all of them
    base_auc, base_oof = [], np.zeros(len(y))
    for i, (fit_idx, valid_idx) in enumerate(split):
        scores = baseline_scores(x.iloc[fit_idx], y[fit_idx], x.iloc[valid_idx])
        base_auc.append(float(roc_auc_score(y[valid_idx], scores)))
        if i < n_splits:
            base_oof[valid_idx] = scores
    return base_auc, base_oof


def _summarise(params: dict[str, Any], fits: dict[int, FoldFit], folds: list[Fold], values: np.ndarray, n: int,
               n_splits: int, max_rounds: int) -> CandidateResult:
    """A candidate's result from its fits: rounds of the best mean curve, fold AUCs and (when every fold was
    fitted) the out-of-fold scores of each repeat (`values`: the rows' features, without their names)."""
    order = sorted(fits)
    curves = [np.pad(fits[f].curve, (0, max_rounds - fits[f].curve.size), mode="edge") for f in order]
    n_rounds = best_mean_round(curves, max_rounds)
    complete = len(order) == len(folds)
    repeats = [np.zeros(n) for _ in range(len(folds) // n_splits)] if complete else []
    for f in order if complete else ():
        # a fold that stopped before n_rounds (no gain for `patience` rounds) keeps its last tree
        repeats[f // n_splits][folds[f].valid_idx] = fits[f].scores(values[folds[f].valid_idx], n_rounds)
    return CandidateResult(params=params, n_rounds=n_rounds, fold_auc=[float(c[n_rounds - 1]) for c in curves],
                           fold_rounds=[fits[f].best_round for f in order], oof=repeats[0] if complete else None,
                           oof_repeats=repeats, folds=order)


class _Race:
    """Which candidates still run: after each finished fit, the racing rule looks at the folds every running
    candidate has finished (the same first folds for all, since the tasks go fold by fold).

    The decisions do not depend on the order in which parallel fits happen to finish: the rule is asked at
    every count of folds in turn (3, 4, ...), on those first folds only, and a candidate stopped after `k`
    folds keeps exactly its first `k` fits (one that ran ahead of the others drops the later ones).
    """

    def __init__(self, n_candidates: int, n_folds: int, rule: RacingRule | None, max_rounds: int) -> None:
        self.rule, self.n_folds, self.max_rounds = rule, n_folds, max_rounds
        self.fits: dict[int, dict[int, FoldFit]] = {i: {} for i in range(n_candidates)}
        self.stopped: dict[int, dict[str, Any]] = {}
        self.decided_at = 0

    def running(self, i: int) -> bool:
        return i not in self.stopped

    def _complete(self) -> int:
        """The number of first folds every running candidate has finished."""
        alive = [c for c in self.fits if self.running(c)]
        m = 0
        while m < self.n_folds and all(m in self.fits[c] for c in alive):
            m += 1
        return m

    def record(self, i: int, f: int, fit: FoldFit) -> list[int]:
        """Keep a finished fit (a stopped candidate's unfinished one is dropped); the candidates stopped now."""
        if not self.running(i):
            return []
        self.fits[i][f] = fit
        if self.rule is None:
            return []
        dropped: list[int] = []
        while self.decided_at < self._complete():
            self.decided_at += 1
            dropped += self._decide(self.decided_at)
        return dropped

    def _decide(self, m: int) -> list[int]:
        """The rule on the first `m` folds of the running candidates."""
        seen = {}
        for c in (c for c in self.fits if self.running(c)):  # each fold's AUC at the best round of the mean curve
            curves = [self.fits[c][k].curve for k in range(m)]
            n = best_mean_round(curves, self.max_rounds)
            seen[c] = [float(curve[min(n, curve.size) - 1]) for curve in curves]  # a short curve keeps its last
        drop = decide(seen, self.n_folds, self.rule)
        for c, p in drop.items():
            self.stopped[c] = {"after_folds": m, "catch_up_probability": p}
            self.fits[c] = {k: self.fits[c][k] for k in range(m)}
            log.info("racing: candidate %d stopped after %d of %d folds (probability %.4f of ending above the "
                     "leader)", c, m, self.n_folds, p)
        return list(drop)


def tune(x: pd.DataFrame, y: np.ndarray, base_params: dict[str, Any], *, n_splits: int, n_repeats: int,
         seed: int, candidates: tuple[dict[str, Any], ...] = CANDIDATES, max_rounds: int = MAX_ROUNDS,
         patience: int = 50, quiet: bool = False, workers: int | None = None,
         racing: RacingRule | None = None) -> TuningResult:
    """Evaluate the candidates on the same repeated stratified folds; the best mean fold AUC wins.

    `workers` fits run at once on one thread each (default: the `n_jobs` of `base_params`), on each
    fold's matrices built once (`scoring.fold_fits`). The fits go fold by fold (the slowest candidate
    first in each); with `racing`, a candidate the remaining folds would very probably not make the
    winner stops (`scoring.racing`), its running fit included, and is reported with the folds it had.
    """
    split = list(RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed).split(x, y))
    folds = [Fold(fit_idx, valid_idx) for fit_idx, valid_idx in split]
    params = [{**base_params, **cand} for cand in candidates]
    # a slower learning rate needs a longer patience to see past a plateau
    waits = [min(2 * patience, int(round(patience * 0.1 / p["learning_rate"]))) for p in params]
    workers = workers or int(base_params.get("n_jobs") or 1)
    slowest_first = sorted(range(len(params)), key=lambda i: params[i]["learning_rate"])
    race = _Race(len(params), len(folds), racing, max_rounds)
    info = feature_info(x)
    bar = tqdm(total=len(candidates) * len(folds), desc="cross-validation", unit="fold", disable=quiet,
               file=sys.stderr)

    def fit(i: int, f: int) -> FoldFit | None:
        if not race.running(i):
            return None
        return fit_fold(x, y, folds[f], params[i], max_rounds=max_rounds, patience=waits[i],
                        stop=(lambda: not race.running(i)) if racing is not None else None, info=info)

    def progress(i: int, f: int, result: FoldFit | None) -> None:
        if result is None or not race.running(i):  # skipped, or cut short by racing
            return
        counted = {c: len(race.fits[c]) + (c == i) for c in race.fits}  # fits the bar has counted
        stopped = race.record(i, f, result)
        bar.update(1)
        for c in stopped:
            bar.total -= len(folds) - counted[c]
        bar.set_postfix(auc=f"{result.curve.max():.4f}", rounds=result.best_round)

    # fold by fold, so that racing decides early; at the end a worker with no free fold shares one (a copy
    # of its matrices) rather than wait for the last fold's fits to run one after the other. The baseline's
    # logistic fits run beside them (a thread of their own: they fill the gaps, mostly the last fits' tail).
    with ThreadPoolExecutor(1, thread_name_prefix="baseline") as pool:
        baseline = pool.submit(_baseline_folds, x, y, split, n_splits)
        run_fits([(i, f) for f in range(len(folds)) for i in slowest_first], fit, workers=workers, done=progress,
                 share_when_idle=True)
        base_auc, base_oof = baseline.result()
    bar.close()
    for fold in folds:
        fold.release()
    values = x.to_numpy(np.float32)  # what XGBoost reads of any numeric column
    results = [_summarise(params[i], race.fits[i], folds, values, len(y), n_splits, max_rounds)
               for i in range(len(params))]
    for i, stopped in race.stopped.items():
        results[i].stopped = stopped
    for cand, result in zip(candidates, results, strict=True):
        log.debug("candidate %s: mean fold AUC %.4f at %d rounds", cand, result.mean_auc, result.n_rounds)
    # ties: the earlier (reference first)
    best = max((r for r in results if r.stopped is None), key=lambda r: r.mean_auc)
    return TuningResult(best=best, candidates=results, folds=split, n_splits=n_splits,
                        baseline_fold_auc=base_auc, baseline_oof=base_oof, racing=racing)
