"""A candidate and the champion side by side on the same holdout applicants (the gate's figures)."""

from __future__ import annotations

import numpy as np

from lifecycle.holdout import Holdout
from scoring import config
from scoring.gate import GateRule, calibration_figures, fairness_figures, flips, judge, paired_figures
from serving.model_checks import parity, row_speed
from serving.predictor import Predictor

SPEED_ROWS = 300  # holdout rows timed one at a time, per model and pass


def scores_on(predictor: Predictor, holdout: Holdout) -> np.ndarray:
    """The model's scores of the holdout: the columns it knows; those the holdout lacks take its template."""
    known = [c for c in holdout.frame.columns if c in predictor.index]
    return predictor.predict_many(holdout.frame[known]).astype(np.float64)


def _rows(predictor: Predictor, holdout: Holdout) -> np.ndarray:
    known = [c for c in holdout.frame.columns if c in predictor.index]
    return predictor.frame_to_matrix(holdout.frame[known].head(SPEED_ROWS))


def compare(candidate: Predictor, champion: Predictor | None, holdout: Holdout, rule: GateRule, *,
            n_boot: int = 1000, seed: int = 0) -> tuple[dict, list[dict]]:
    """(figures, checks) of the candidate against the champion (None: a first champion, judged alone)."""
    y = holdout.target
    groups = holdout.groups()
    models = {"candidate": candidate} | ({"champion": champion} if champion is not None else {})
    scores = {name: scores_on(p, holdout) for name, p in models.items()}
    figures: dict = {
        "holdout": {**{k: v for k, v in holdout.source.items() if k != "row_counts"}, "applicants": int(y.size),
                    "defaults": int(y.sum())},
        "thresholds": {name: p.threshold for name, p in models.items()},
        "calibration": {name: calibration_figures(y, s) for name, s in scores.items()},
        "fairness": {name: fairness_figures(y, scores[name], p.threshold, groups) for name, p in models.items()},
        "parity": {name: parity(p) for name, p in models.items()},
    }
    rows = {name: _rows(p, holdout) for name, p in models.items()}
    best: dict[str, float] = {}
    for _ in range(3):  # the two models in turn, best of three: the machine's load hits both alike
        for name, p in models.items():
            best[name] = min(best.get(name, np.inf), row_speed(p, rows[name], repeats=1))
    figures["speed"] = {f"{name}_row_us": round(seconds * 1e6, 2) for name, seconds in best.items()}
    if champion is not None:
        costs = champion.artifacts.threshold
        figures["paired"] = paired_figures(
            y, scores["champion"], scores["candidate"], champion_threshold=champion.threshold,
            candidate_threshold=candidate.threshold, cost_fn=float(costs.get("cost_fn") or config.DEFAULT_COST_FN),
            cost_fp=float(costs.get("cost_fp") or config.DEFAULT_COST_FP), n_boot=n_boot, seed=seed)
        figures["flips"] = flips(scores["champion"] >= champion.threshold, scores["candidate"] >= candidate.threshold)
        figures["score_shift"] = float(np.mean(scores["candidate"] - scores["champion"]))
        figures["speed"]["slowdown"] = best["candidate"] / best["champion"]
    return figures, judge(figures, rule)
