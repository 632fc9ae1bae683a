"""Credit-risk validation statistics (pure functions): what a model validator reads.

Discrimination: Gini (= 2·AUC − 1), the Kolmogorov–Smirnov statistic, the ROC and CAP curves, the
gains / lift table of score bands and its rank ordering. Calibration: the Jeffreys test (the
ECB's IRB validation instructions, 2019: one-sided, H0 "the PD is not underestimated"), the
one-sided binomial test, the Hosmer–Lemeshow and Spiegelhalter tests. Concentration: the
Herfindahl index. Change of discrimination: the z test of two independent AUCs (Hanley–McNeil
standard errors). `tests/scoring/training/test_validation_stats.py` checks them against scipy and optbinning.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score


def gini(y: np.ndarray, scores: np.ndarray) -> float:
    """Gini coefficient (accuracy ratio) = 2·AUC − 1; scores: higher = riskier."""
    return 2.0 * float(roc_auc_score(np.asarray(y).astype(int), scores)) - 1.0


def ks_statistic(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """(KS, score where it is reached): the largest gap between the defaults' and non-defaults' score CDFs."""
    y = np.asarray(y).astype(int)
    s = np.asarray(scores, dtype=float)
    order = np.argsort(s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    cum_bad = np.cumsum(y_sorted) / max(y.sum(), 1)
    cum_good = np.cumsum(1 - y_sorted) / max((1 - y).sum(), 1)
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # evaluate the CDFs after each distinct score
    gaps = np.abs(cum_good - cum_bad)[last]
    at = int(np.argmax(gaps))
    return float(gaps[at]), float(s_sorted[last][at])


def roc_points(y: np.ndarray, scores: np.ndarray, n_points: int = 101) -> dict[str, list[float]]:
    """The ROC curve on a grid of false-positive rates (a small, plottable summary)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(y).astype(int), scores)
    grid = np.linspace(0, 1, n_points)
    return {"fpr": grid.round(4).tolist(), "tpr": np.interp(grid, fpr, tpr).round(4).tolist()}


def cap_points(y: np.ndarray, scores: np.ndarray, n_points: int = 101) -> dict[str, list[float]]:
    """Cumulative accuracy profile: share of defaults captured by the riskiest share of applicants."""
    y = np.asarray(y).astype(int)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="mergesort")
    captured = np.r_[0.0, np.cumsum(y[order]) / max(y.sum(), 1)]
    population = np.linspace(0, 1, captured.size)
    grid = np.linspace(0, 1, n_points)
    return {"population": grid.round(4).tolist(), "captured": np.interp(grid, population, captured).round(4).tolist()}


def gains_table(y: np.ndarray, scores: np.ndarray, bands: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """Gains / lift per band (`bands`: each row's band index into `names`, 0 = best), best band first.

    Cumulative capture runs from the riskiest band down (the share of defaults refused if everything
    from that band up is refused); lift = band default rate / overall default rate.
    """
    y = np.asarray(y).astype(int)
    s = np.asarray(scores, dtype=float)
    total_bad, rate_all = max(int(y.sum()), 1), float(y.mean()) if y.size else 0.0
    rows = []
    for b, name in enumerate(names):
        mask = bands == b
        n, bad = int(mask.sum()), int(y[mask].sum())
        rows.append({"band": name, "n": n, "share": n / max(y.size, 1), "defaults": bad,
                     "default_rate": bad / n if n else None, "mean_pd": float(s[mask].mean()) if n else None,
                     "lift": (bad / n) / rate_all if n and rate_all else None})
    captured = 0
    for row in reversed(rows):
        captured += row["defaults"]
        row["cum_defaults_share"] = captured / total_bad
    return rows


def decile_bands(scores: np.ndarray, n_bands: int = 10) -> tuple[np.ndarray, list[str]]:
    """Band index of each score by quantile (0 = lowest scores, the best), and the band names D1…Dn."""
    s = np.asarray(scores, dtype=float)
    edges = np.unique(np.quantile(s, np.linspace(0, 1, n_bands + 1)[1:-1]))
    bands = np.searchsorted(edges, s, side="right")
    return bands, [f"D{i + 1}" for i in range(edges.size + 1)]


def rank_ordering(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether observed default rates rise strictly from band to band; the inverted pairs if not."""
    rated = [(r["band"], r["default_rate"]) for r in rows if r["default_rate"] is not None]
    inversions = [[a, b] for (a, ra), (b, rb) in zip(rated, rated[1:], strict=False) if rb <= ra]
    return {"monotone": not inversions, "inversions": inversions}


def jeffreys_pvalue(n: int, defaults: int, pd: float) -> float:
    """One-sided Jeffreys test p-value of H0 "the PD is not underestimated": Beta(D + ½, N − D + ½) CDF at PD.

    Small (< 5 %) when the observed defaults are too many for the PD (ECB IRB validation instructions).
    """
    if n <= 0:
        return float("nan")
    return float(stats.beta.cdf(pd, defaults + 0.5, n - defaults + 0.5))


def binomial_pvalue(n: int, defaults: int, pd: float) -> float:
    """One-sided exact binomial test p-value of defaults ≥ observed when the true rate is `pd`."""
    if n <= 0:
        return float("nan")
    return float(stats.binomtest(int(defaults), int(n), float(pd), alternative="greater").pvalue)


def hosmer_lemeshow(y: np.ndarray, pd: np.ndarray, n_groups: int = 10) -> dict[str, float]:
    """Hosmer–Lemeshow χ² over PD deciles (df = groups − 2)."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(pd, dtype=float), 1e-12, 1 - 1e-12)
    bands, _ = decile_bands(p, n_groups)
    statistic, groups = 0.0, 0
    for b in np.unique(bands):
        mask = bands == b
        n, observed, expected = mask.sum(), y[mask].sum(), p[mask].sum()
        mean = expected / n
        statistic += (observed - expected) ** 2 / (n * mean * (1 - mean))
        groups += 1
    df = max(groups - 2, 1)
    return {"statistic": float(statistic), "df": df, "p_value": float(stats.chi2.sf(statistic, df))}


def spiegelhalter(y: np.ndarray, pd: np.ndarray) -> dict[str, float]:
    """Spiegelhalter's z test of the Brier score (H0: the PDs are the true probabilities), two-sided."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(pd, dtype=float), 1e-12, 1 - 1e-12)
    num = np.sum((y - p) * (1 - 2 * p))
    den = math.sqrt(np.sum((1 - 2 * p) ** 2 * p * (1 - p)))
    z = float(num / den) if den > 0 else float("nan")
    return {"z": z, "p_value": float(2 * stats.norm.sf(abs(z)))}


def herfindahl(counts: list[int] | np.ndarray) -> dict[str, float]:
    """Herfindahl index Σ share² of a grade distribution, and its normalised form (0 even, 1 one grade)."""
    c = np.asarray(counts, dtype=float)
    share = c / c.sum()
    h = float(np.sum(share**2))
    k = c.size
    return {"hhi": h, "normalised": (h - 1 / k) / (1 - 1 / k) if k > 1 else 1.0}


def auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley–McNeil (1982) standard error of an AUC."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def auc_change_test(auc_now: float, n_pos_now: int, n_neg_now: int,
                    auc_dev: float, n_pos_dev: int, n_neg_dev: int) -> dict[str, float]:
    """One-sided z test that the AUC fell since development (independent samples, Hanley–McNeil SEs)."""
    se = math.hypot(auc_standard_error(auc_now, n_pos_now, n_neg_now), auc_standard_error(auc_dev, n_pos_dev,
                                                                                           n_neg_dev))
    z = (auc_now - auc_dev) / se if se > 0 else float("nan")
    return {"difference": auc_now - auc_dev, "se": se, "z": z, "p_value_fell": float(stats.norm.cdf(z))}


def bootstrap_interval(values: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Percentile interval of bootstrap replicates."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.asarray(values)[np.isfinite(values)], [tail, 100 - tail])
    return {"low": float(low), "high": float(high)}


def ks_gini_intervals(y: np.ndarray, scores: np.ndarray, rows: np.ndarray) -> dict[str, dict[str, float]]:
    """Bootstrap intervals of Gini and KS over resampled row indices `rows` (one replicate a row)."""
    y, s = np.asarray(y).astype(int), np.asarray(scores, dtype=float)
    ginis = np.array([gini(y[r], s[r]) for r in rows])
    kss = np.array([ks_statistic(y[r], s[r])[0] for r in rows])
    return {"gini": bootstrap_interval(ginis), "ks": bootstrap_interval(kss)}
