"""Metrics with their uncertainty, and the warnings that say when they cannot be trusted (pure functions).

- `holdout_intervals`: stratified bootstrap of the holdout (positives and negatives resampled
  separately, so every replicate has both classes) for the AUC, the business cost, the recall and,
  when the baseline's holdout scores are given, the paired AUC difference on the same replicates.
- `corrected_diff`: mean of per-fold paired differences with the Nadeau-Bengio corrected variance,
  the usual interval for repeated K-fold (folds share training rows, so the naive standard error is
  too small).
- `audit_warnings`: the checks that `train.py` prints and `metrics.json` records.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score

BOOTSTRAP_REPLICATES = 1000
CONFIDENCE = 0.95

# Warning rules. Below MIN_DEFAULTS defaults in all, the holdout AUC's interval is wider than about
# ±0.03 and the cost-optimal threshold moves with a handful of applicants.
MIN_DEFAULTS = 1000
MIN_ROUNDS = 20  # a fold that stops earlier has learnt little more than a few splits
MIN_GREY_WIDTH = 0.01  # a grey zone narrower than this is a single point of the cost curve
NEAR_ACCEPT_ALL = 0.95  # the model's cost above this share of "accept everyone" saves almost nothing


def auc_or_nan(y: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC, or NaN when `y` holds one class only (a small group, a tiny replicate)."""
    y = np.asarray(y)
    if y.size == 0 or y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, scores))


def percentile_interval(values: np.ndarray, level: float = CONFIDENCE) -> dict[str, float]:
    values = values[np.isfinite(values)]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return {"low": float(low), "high": float(high)}


def stratified_bootstrap(y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Row indices of `n_boot` resamples that keep the number of positives and negatives."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    return np.hstack([rng.choice(pos, (n_boot, pos.size)), rng.choice(neg, (n_boot, neg.size))])


def bootstrap_auc(resampled: np.ndarray, n_pos: int) -> np.ndarray:
    """AUC of each row of resampled scores whose first `n_pos` columns are the positives (Mann-Whitney)."""
    ranks = stats.rankdata(resampled, axis=1)
    n_neg = resampled.shape[1] - n_pos
    return (ranks[:, :n_pos].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def holdout_intervals(y: np.ndarray, scores: np.ndarray, threshold: float, cost_fn: float, cost_fp: float,
                      *, baseline_scores: np.ndarray | None = None, n_boot: int = BOOTSTRAP_REPLICATES,
                      seed: int = 0, level: float = CONFIDENCE) -> dict[str, Any]:
    """Bootstrap intervals of the holdout AUC, cost per applicant, recall (and AUC gain on the baseline)."""
    y = np.asarray(y).astype(int)
    rows = stratified_bootstrap(y, n_boot, seed)  # positives first in every row
    n_pos = int((y == 1).sum())
    aucs = bootstrap_auc(np.asarray(scores, dtype=float)[rows], n_pos)
    refused = np.asarray(scores)[rows] >= threshold
    fn = (~refused[:, :n_pos]).sum(axis=1)
    fp = refused[:, n_pos:].sum(axis=1)
    costs = (cost_fn * fn + cost_fp * fp) / y.size
    recalls = (n_pos - fn) / max(n_pos, 1)
    if baseline_scores is not None:
        diffs = aucs - bootstrap_auc(np.asarray(baseline_scores, dtype=float)[rows], n_pos)
    out = {
        "method": f"stratified bootstrap of the holdout, {n_boot} replicates, {level:.0%} percentile interval",
        "auc": percentile_interval(aucs, level),
        "business_cost_per_applicant": percentile_interval(costs, level),
        "recall": percentile_interval(recalls, level),
    }
    if baseline_scores is not None:
        out["auc_minus_baseline"] = {"value": float(roc_auc_score(y, scores) - roc_auc_score(y, baseline_scores)),
                                     **percentile_interval(diffs, level)}
    return out


def corrected_diff(diffs: list[float] | np.ndarray, test_share: float, level: float = CONFIDENCE) -> dict[str, Any]:
    """Mean paired difference over repeated K-fold with the Nadeau-Bengio corrected t interval.

    `test_share` is n_test / n_train of one fold (1 / (k - 1) for K-fold).
    """
    d = np.asarray(diffs, dtype=float)
    mean = float(d.mean())
    if d.size < 2:
        return {"mean": mean, "low": float("nan"), "high": float("nan"), "folds": int(d.size)}
    var = d.var(ddof=1) * (1 / d.size + test_share)
    half = float(stats.t.ppf(0.5 + level / 2, d.size - 1) * np.sqrt(var))
    return {"mean": mean, "low": mean - half, "high": mean + half, "folds": int(d.size),
            "method": "Nadeau-Bengio corrected repeated K-fold t interval"}


def calibration(y: np.ndarray, scores: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Brier score, expected calibration error and the reliability table over score deciles."""
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, n_bins + 1)))
    bins = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, max(edges.size - 2, 0))
    table = []
    ece = 0.0
    for b in np.unique(bins):
        mask = bins == b
        mean_score, rate = float(scores[mask].mean()), float(y[mask].mean())
        table.append({"mean_score": mean_score, "default_rate": rate, "n": int(mask.sum())})
        ece += mask.mean() * abs(mean_score - rate)
    return {"brier": float(brier_score_loss(y, scores)), "ece": float(ece), "bins": table}


def _warning(code: str, message: str, french: str) -> dict[str, str]:
    """A warning: English for logs (`message`), French for the model report (`message_fr`)."""
    return {"code": code, "message": message, "message_fr": french}


def _fr(x: float, fmt: str = ".3f") -> str:
    return format(x, fmt).replace(".", ",").replace("-", "−")


def audit_warnings(metrics: dict[str, Any]) -> list[dict[str, str]]:
    """What makes these figures untrustworthy, from a `metrics.json` document (empty list: none)."""
    found = []
    defaults = metrics.get("rows", {}).get("defaults")
    if defaults is not None and defaults < MIN_DEFAULTS:
        found.append(_warning("few_defaults", (
            f"only {defaults} defaults in the data (fewer than {MIN_DEFAULTS}): the holdout AUC is known "
            f"to about ±{_half_width(metrics.get('intervals', {}).get('auc')):.3f} and the threshold is unstable"),
            f"seulement {defaults} défauts dans les données (moins de {MIN_DEFAULTS}) : l'AUC du holdout n'est connue "
            f"qu'à ±{_fr(_half_width(metrics.get('intervals', {}).get('auc')))} près et le seuil est instable"))
    gain = metrics.get("cv_vs_baseline")
    if gain is not None and not gain["low"] > 0:
        found.append(_warning("no_gain_over_baseline", (
            f"the model does not beat the EXT_SOURCE logistic baseline beyond the interval: CV AUC difference "
            f"{gain['mean']:+.3f} [{gain['low']:+.3f}, {gain['high']:+.3f}]"),
            "le modèle ne bat pas la régression logistique sur EXT_SOURCE au-delà de l'intervalle : écart d'AUC "
            f"{_fr(gain['mean'], '+.3f')} [{_fr(gain['low'], '+.3f')} ; {_fr(gain['high'], '+.3f')}]"))
    rounds = metrics.get("cv_fold_rounds") or []
    if rounds and min(rounds) < MIN_ROUNDS:
        found.append(_warning("early_stop", (
            f"a fold stopped after {min(rounds)} boosting rounds (fewer than {MIN_ROUNDS}): the trees learn "
            "noise-level patterns; the data are too small for this learning rate"),
            f"un pli s'est arrêté après {min(rounds)} arbres (moins de {MIN_ROUNDS}) : les arbres apprennent du "
            "bruit ; les données sont trop petites pour ce taux d'apprentissage"))
    zone = metrics.get("grey_zone")
    if zone is not None and zone["high"] - zone["low"] < MIN_GREY_WIDTH:
        found.append(_warning("degenerate_grey_zone", (
            f"the grey zone {zone['low']:.3f}-{zone['high']:.3f} is narrower than {MIN_GREY_WIDTH}: "
            "the cost curve has a sharp, noisy minimum"),
            f"la zone grise {_fr(zone['low'])} – {_fr(zone['high'])} est plus étroite que {_fr(MIN_GREY_WIDTH, 'g')} : "
            "le minimum de la courbe de coût est étroit et bruité"))
    accept_all = metrics.get("oof_cost_accept_all_per_applicant")
    oof_cost = metrics.get("oof_business_cost_per_applicant")
    if accept_all and oof_cost is not None and oof_cost >= NEAR_ACCEPT_ALL * accept_all:
        found.append(_warning("cost_near_accept_all", (
            f"the business cost {oof_cost:.3f} per applicant is within {1 - NEAR_ACCEPT_ALL:.0%} of accepting "
            f"everyone ({accept_all:.3f}): the model barely pays for itself"),
            f"le coût métier {_fr(oof_cost)} par dossier est à moins de {round(100 * (1 - NEAR_ACCEPT_ALL))} % de "
            f"celui de « tout accepter » ({_fr(accept_all)}) : le modèle se paie à peine"))
    return found


def _half_width(interval: dict[str, float] | None) -> float:
    return float("nan") if not interval else (interval["high"] - interval["low"]) / 2


def shap_importance(model: Any, x: Any, labels: Any = None, top: int = 15) -> list[dict[str, Any]]:
    """Global importance: mean |SHAP| (exact TreeSHAP, log-odds) of each feature over the rows of `x`."""
    import xgboost as xgb

    booster = model.get_booster()
    contribs = booster.predict(xgb.DMatrix(x, missing=np.nan), pred_contribs=True)[:, :-1]
    mean_abs = np.abs(contribs).mean(axis=0)
    order = np.argsort(mean_abs)[::-1][:top]
    names = list(x.columns)
    return [{"feature": names[i], "label": labels(names[i]) if labels else names[i],
             "mean_abs_shap": float(mean_abs[i])} for i in order]


def mean_interval(values: list[float], test_share: float) -> dict[str, float]:
    """Corrected t interval of the mean fold AUC (a difference with zero)."""
    out = corrected_diff(values, test_share)
    return {"low": out["low"], "high": out["high"]}


def variant_summary(m: dict[str, Any]) -> dict[str, Any]:
    """The figures of a variant (its metrics) that the report compares with the main model."""
    fair = m["fairness"]
    return {
        "excluded_features": m["excluded_features"],
        "auc": m["auc"], "auc_interval": m["intervals"]["auc"], "cv_auc": m["cv_auc"],
        "business_cost_per_applicant": m["business_cost_per_applicant"], "threshold": m["threshold"],
        "gaps": {k: fair[k]["gaps"] for k in ("gender", "age") if k in fair},
        "approval_ratio": {k: fair[k]["approval_ratio"] for k in ("gender", "age") if k in fair},
        "equalised_odds_difference": {k: fair[k]["equalised_odds_difference"] for k in ("gender", "age") if k in fair},
    }
