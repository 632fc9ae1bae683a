"""Business cost of decisions and the cost-optimal decision threshold (pure functions).

A missed default (false negative) costs `cost_fn`, a refused good client (false positive)
`cost_fp`; the default 10:1 (`scoring.config`) is the lender's estimate. A client is refused (predicted 1) when
`score >= threshold`, as in `scoring.schema.label_for`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.config import DEFAULT_COST_FN, DEFAULT_COST_FP

# Thresholds tried: a 0.001 grid, fine enough that the cost curve is flat between neighbours.
DEFAULT_GRID = np.round(np.arange(0.001, 1.0, 0.001), 3)
# Grey zone: thresholds whose cost is within this share of the minimum are "as good";
# scores between them are close calls that an adviser should study.
GREY_ZONE_TOLERANCE = 0.05


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    cost: float  # total cost at the threshold
    cost_per_applicant: float
    grey_low: float
    grey_high: float


def confusion_at(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    """(tn, fp, fn, tp) when refusing every score >= threshold."""
    y = np.asarray(y_true).astype(bool)
    refused = np.asarray(scores) >= threshold
    tp = int(np.sum(refused & y))
    fp = int(np.sum(refused & ~y))
    fn = int(np.sum(~refused & y))
    tn = int(y.size - tp - fp - fn)
    return tn, fp, fn, tp


def business_cost(y_true: np.ndarray, scores: np.ndarray, threshold: float,
                  cost_fn: float = DEFAULT_COST_FN, cost_fp: float = DEFAULT_COST_FP) -> float:
    """Total cost cost_fn·FN + cost_fp·FP at one threshold."""
    _, fp, fn, _ = confusion_at(y_true, scores, threshold)
    return float(cost_fn * fn + cost_fp * fp)


def cost_curve(y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray,
               cost_fn: float = DEFAULT_COST_FN, cost_fp: float = DEFAULT_COST_FP) -> np.ndarray:
    """Total cost at every threshold, in O((n + t) log n) rather than one pass per threshold."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    thresholds = np.asarray(thresholds, dtype=float)
    pos_scores = np.sort(s[y])
    neg_scores = np.sort(s[~y])
    # FN: positives accepted (score < t); FP: negatives refused (score >= t).
    fn = np.searchsorted(pos_scores, thresholds, side="left")
    fp = neg_scores.size - np.searchsorted(neg_scores, thresholds, side="left")
    return cost_fn * fn + cost_fp * fp


def best_threshold(y_true: np.ndarray, scores: np.ndarray,
                   cost_fn: float = DEFAULT_COST_FN, cost_fp: float = DEFAULT_COST_FP,
                   grid: np.ndarray = DEFAULT_GRID, tolerance: float = GREY_ZONE_TOLERANCE) -> ThresholdChoice:
    """The grid threshold of least total cost (the lowest one on ties) and its grey zone.

    The grey zone is the contiguous run of grid thresholds around the best whose cost stays within
    `tolerance` of the minimum.
    """
    costs = cost_curve(y_true, scores, grid, cost_fn, cost_fp)
    best = int(np.argmin(costs))
    limit = costs[best] * (1 + tolerance)
    low = best
    while low > 0 and costs[low - 1] <= limit:
        low -= 1
    high = best
    while high < grid.size - 1 and costs[high + 1] <= limit:
        high += 1
    return ThresholdChoice(
        threshold=float(grid[best]),
        cost=float(costs[best]),
        cost_per_applicant=float(costs[best]) / max(len(scores), 1),
        grey_low=float(grid[low]),
        grey_high=float(grid[high]),
    )
