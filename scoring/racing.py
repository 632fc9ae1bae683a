"""Racing the tuning's candidates: a candidate stops when the complete cross-validation would very
probably not choose it (a futility rule on the paired fold differences; pure functions).

The question asked after each fold is not "is this candidate worse than the leader?" (with candidates
within 0.003 of AUC no test answers that on five folds) but "could the folds still to come lift it above
the leader?". With `m` of the `K` folds seen and `d` the paired differences candidate - leader of fold
AUC, the complete run chooses the candidate only if the mean of all `K` differences ends above 0, that
is if the mean of the `K - m` folds to come exceeds `-m * mean(d) / (K - m)`. Under the usual model of
exchangeable, normal fold differences with unknown mean and variance (flat prior), the predictive
distribution of that future mean is `mean(d) + s * sqrt(1/(K-m) + 1/m) * t(m-1)`, so

    P(catch up) = P(t(m-1) > -mean(d) * sqrt(K*m / (K-m)) / s)

and the candidate stops when this is below `alpha / (K - min_folds)`: the risk budget `alpha` shared by
the decisions a candidate goes through (one after each fold from `min_folds` to `K - 1`). The leader never
stops, and neither does a candidate with fewer than `min_folds` folds seen (the t with one degree of
freedom has no usable tail). Simulated under that model, the candidate that the complete run would have
chosen is stopped in less than 1 % of runs with `alpha` = 0.02, for 5 or 15 folds (docs/decisions.md,
"Racing the candidates"; tests/scoring/training/test_racing.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class RacingRule:
    alpha: float = 0.02  # risk budget over a candidate's decisions (each decision: alpha / (K - min_folds))
    min_folds: int = 3  # folds seen by every running candidate before any decision

    def threshold(self, total_folds: int) -> float:
        """The catch-up probability under which a candidate stops, at each decision of a `total_folds` run."""
        return self.alpha / max(1, total_folds - self.min_folds)

    def describe(self) -> dict[str, object]:
        return {"rule": "futility: predictive probability that the remaining folds lift the candidate above "
                        "the leader (paired fold AUC differences, Student t) below alpha / (folds - min_folds)",
                "alpha": self.alpha, "min_folds": self.min_folds}


def catch_up_probability(diffs: np.ndarray | list[float], total_folds: int) -> float:
    """Predictive probability that, after `total_folds` folds, the mean of the paired differences
    (candidate - leader) is above 0, given the differences of the folds seen so far."""
    d = np.asarray(diffs, dtype=float)
    m = d.size
    if m >= total_folds:
        return 1.0 if d.mean() > 0 else 0.0
    if m < 2:
        return 1.0
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0.0:
        return 1.0 if mean >= 0 else 0.0
    q = -mean * np.sqrt(total_folds * m / (total_folds - m)) / sd
    return float(stats.t.sf(q, m - 1))


def decide(fold_auc: dict[int, np.ndarray | list[float]], total_folds: int, rule: RacingRule) -> dict[int, float]:
    """The candidates to stop, with their catch-up probability.

    `fold_auc[c]` is candidate c's AUC on each of the same first folds (the same folds for every running
    candidate; the tuning takes each fold's AUC at the best round of the mean curve of the folds seen). The
    leader is the best mean fold AUC (ties: the lower index, as the tuning's choice).
    """
    if len(fold_auc) < 2:
        return {}
    seen = {len(v) for v in fold_auc.values()}
    if len(seen) != 1:
        raise ValueError("racing compares candidates on the same folds")
    m = seen.pop()
    if m < max(rule.min_folds, 2) or m >= total_folds:
        return {}
    scores = {c: np.asarray(v, dtype=float) for c, v in fold_auc.items()}
    leader = max(sorted(scores), key=lambda c: scores[c].mean())
    out = {}
    for c, s in scores.items():
        if c != leader:
            p = catch_up_probability(s - scores[leader], total_folds)
            if p < rule.threshold(total_folds):
                out[c] = p
    return out
