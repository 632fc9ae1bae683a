"""The model's figures expected from the logged scores alone, before any outcome is known.

Confidence-based performance estimation (CBPE), as NannyML does it (docs.nannyml.com, "Estimation of
Performance of the Monitored Model"): if the scores are calibrated, an applicant with score p defaults
with probability p, so every confusion-matrix count has an expected value (a flagged applicant is an
expected p true positive and 1 - p false positive). The expected ROC curve takes, at each score
threshold, TPR = Σ p over the scores at or above it / Σ p and FPR = Σ (1 - p) over them / Σ (1 - p); the
expected AUC is the area under it. The expected default rate is the mean score, by decision too; the
expected Brier score the mean of p (1 - p).

It sees what a shift of the inputs does to the figures (a population with fewer clear cases has a
lower expected AUC), never a change of the link between inputs and default (concept drift), nor a
model that was never calibrated: outcomes (monitoring.outcomes) are the check of both.

Not the `nannyml` package itself: it would pull about forty packages (cloud storage clients, plotly,
LightGBM) and pin xgboost 2.1, below the project's 3.2; the estimate is these few lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def expected_auc(scores: np.ndarray) -> float | None:
    """The ROC AUC expected when each applicant defaults with probability its score (None when undefined:
    no score, or every score 0 or every score 1)."""
    p = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    p = p[np.isfinite(p)]
    positives, negatives = p.sum(), (1.0 - p).sum()
    if p.size == 0 or positives <= 0 or negatives <= 0:
        return None
    order = np.argsort(-p, kind="stable")
    ordered = p[order]
    tp, fp = np.cumsum(ordered), np.cumsum(1.0 - ordered)
    last_of_tie = np.r_[ordered[1:] != ordered[:-1], True]  # one ROC point per distinct score
    tpr = np.r_[0.0, tp[last_of_tie] / positives]
    fpr = np.r_[0.0, fp[last_of_tie] / negatives]
    return float(np.trapezoid(tpr, fpr))


@dataclass(frozen=True)
class Estimate:
    """What the logged scores let expect, assuming they are calibrated."""

    n: int
    auc: float | None
    default_rate: float | None
    by_decision: dict[str, Any]  # "0" (low risk) and "1" (high risk): n and expected default rate
    recall: float | None  # expected share of the defaulters flagged high risk
    precision: float | None  # expected share of the high-risk decisions that default
    brier: float | None  # expected Brier score: mean of p (1 - p)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def estimate(scores: np.ndarray, decisions: np.ndarray) -> Estimate:
    """The expected figures of scored calls (`decisions`: 1 high risk, 0 low risk, NaN unknown)."""
    p = np.asarray(scores, dtype=float)
    decisions = np.asarray(decisions, dtype=float)
    flagged = p[decisions == 1]
    by_decision = {str(d): {"n": int((decisions == d).sum()),
                            "default_rate": float(p[decisions == d].mean()) if (decisions == d).any() else None}
                   for d in (0, 1)}
    return Estimate(int(p.size), expected_auc(p), float(p.mean()) if p.size else None, by_decision,
                    float(flagged.sum() / p.sum()) if p.sum() > 0 else None,
                    float(flagged.mean()) if flagged.size else None, float(np.mean(p * (1 - p))) if p.size else None)
