"""Stability and back-testing in the risk validator's terms (pure functions over the read log).

- Stability per time window (daily, weekly, any pandas offset): the score's PSI and each model
  characteristic's CSI (the same index over the characteristic's reference bins, `monitoring.drift`)
  against the development sample, in the conventional bands (< 0.10 stable, 0.10–0.25 to watch,
  ≥ 0.25 unstable), the top movers named in French, and the grade distribution of the window.
  The characteristics are those the log carries (the form's features; the others come from the
  training medians, so they cannot move).
- Back-testing on the joined outcomes: per grade of the master scale, observed default rate against
  the grade's PD with the Jeffreys and binomial tests (`scoring.validation.grade_backtest`), and the
  AUC now against the AUC at development with the z test of their difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitoring.drift import binned_shares
from scoring.feature_registry import feature_label
from scoring.master_scale import grade_index, grade_names
from scoring.schema import SCORE_KEY, UI_FEATURE_NAMES
from scoring.stability import psi
from scoring.validation import grade_backtest
from scoring.validation_stats import auc_change_test

BANDS_FR = {"stable": "stable", "watch": "à surveiller", "unstable": "instable"}


@dataclass(frozen=True)
class BacktestConfig:
    window: str = "1D"  # the stability windows: a pandas offset (1D daily, 7D or W weekly)
    psi_watch: float = 0.10
    psi_unstable: float = 0.25
    min_window: int = 100  # fewer calls in a window: its indices are not computed
    top_movers: int = 3
    # A grade fails when its Jeffreys p-value is below alpha / (grades judged): Bonferroni, so that the chance
    # of a false alarm over the whole scale stays at alpha (9 grades at 1 % each would cry wolf 1 time in 11).
    alpha: float = 0.05
    auc_alpha: float = 0.01  # the one-sided p-value of "the AUC fell" below this raises an alert
    min_grade_outcomes: int = 30  # a grade with fewer joined outcomes is shown, not judged


def band(value: float | None, config: BacktestConfig = BacktestConfig()) -> str | None:
    if value is None:
        return None
    return "unstable" if value >= config.psi_unstable else "watch" if value >= config.psi_watch else "stable"


def _index(entry: dict[str, Any], values: np.ndarray) -> float | None:
    present = values[np.isfinite(values)]
    if present.size == 0:
        return None
    expected, counts = binned_shares(entry, present)
    return round(psi(expected, counts), 6)


def window_stability(reference: dict[str, Any], columns: dict[str, np.ndarray], scale: dict[str, Any] | None,
                     config: BacktestConfig = BacktestConfig()) -> dict[str, Any]:
    """Score PSI, characteristic CSIs (with bands), top movers and grade shares of one set of calls."""
    features = reference["features"]
    score_psi = _index(features[SCORE_KEY], columns[SCORE_KEY]) if SCORE_KEY in features else None
    csi = {}
    for name in UI_FEATURE_NAMES:
        if name in features and name in columns:
            value = _index(features[name], np.asarray(columns[name], dtype=float))
            csi[name] = {"csi": value, "band": band(value, config), "label": feature_label(name)}
    movers = sorted((n for n in csi if csi[n]["csi"] is not None), key=lambda n: -csi[n]["csi"])[:config.top_movers]
    out = {"score_psi": score_psi, "score_band": band(score_psi, config), "csi": csi,
           "top_movers": [{"feature": n, "label": csi[n]["label"], "csi": csi[n]["csi"], "band": csi[n]["band"]}
                          for n in movers]}
    if scale:
        scores = np.asarray(columns[SCORE_KEY], dtype=float)
        scores = scores[np.isfinite(scores)]
        counts = np.bincount(grade_index(scale["edges"], scores), minlength=scale["n_grades"])
        shares = counts / max(scores.size, 1)
        out["grades"] = dict(zip(grade_names(scale), [round(float(s), 6) for s in shares], strict=True))
        if scale.get("served_shares") and scores.size:
            out["grade_psi"] = round(psi(scale["served_shares"], counts), 6)
    return out


def stability(times: pd.Series, reference: dict[str, Any], columns: dict[str, np.ndarray],
              scale: dict[str, Any] | None, config: BacktestConfig = BacktestConfig()) -> dict[str, Any]:
    """The whole log's stability and the same per window (`config.window`), oldest first. Like a window, the
    whole log's indices are computed only from `config.min_window` calls on (`judged` says which)."""
    judged = len(times) >= config.min_window
    overall = window_stability(reference, columns if judged else {k: v[:0] for k, v in columns.items()},
                               scale if judged else None, config)
    overall |= {"n": int(len(times)), "judged": judged, "min_window": config.min_window}
    windows = []
    buckets = pd.Series(np.arange(len(times)), index=pd.DatetimeIndex(times)).groupby(
        pd.Grouper(freq=config.window))
    for start, rows in buckets:
        idx = rows.to_numpy()
        entry: dict[str, Any] = {"start": pd.Timestamp(start).isoformat(), "n": int(idx.size)}
        if idx.size >= config.min_window:
            entry |= window_stability(reference, {k: v[idx] for k, v in columns.items()}, scale, config)
        windows.append(entry)
    reference_grades = (dict(zip(grade_names(scale), scale["served_shares"], strict=True))
                        if scale and scale.get("served_shares") else None)
    return {"window": config.window, "bands": {"watch": config.psi_watch, "unstable": config.psi_unstable},
            "overall": overall, "windows": windows, "reference_grades": reference_grades}


def backtest(joined: pd.DataFrame, scale: dict[str, Any] | None, metrics: dict[str, Any] | None,
             config: BacktestConfig = BacktestConfig()) -> dict[str, Any] | None:
    """Per-grade back-test and the AUC change test on the joined outcomes (None without a scale or outcomes)."""
    if scale is None or joined.empty:
        return None
    y = joined["defaulted"].to_numpy(dtype=int)
    scores = joined["score"].to_numpy(dtype=float)
    grades = grade_backtest(y, scores, scale)
    for g in grades:
        g["judged"] = g["n"] >= config.min_grade_outcomes
    per_grade = config.alpha / max(sum(g["judged"] for g in grades), 1)
    for g in grades:
        g["failed"] = bool(g["judged"] and g["jeffreys_p"] is not None and g["jeffreys_p"] < per_grade)
    out: dict[str, Any] = {"grades": grades, "edges": list(scale["edges"]), "alpha": config.alpha,
                           "alpha_per_grade": per_grade, "auc_change": None}
    rows = (metrics or {}).get("rows") or {}
    dev_auc, dev_pos = (metrics or {}).get("auc"), rows.get("holdout_defaults")
    if 0 < y.sum() < y.size and isinstance(dev_auc, int | float) and dev_pos:
        from sklearn.metrics import roc_auc_score

        now = float(roc_auc_score(y, scores))
        test = auc_change_test(now, int(y.sum()), int(y.size - y.sum()), float(dev_auc), int(dev_pos),
                               int(rows["holdout"] - dev_pos))
        out["auc_change"] = {"auc_now": now, "auc_development": float(dev_auc), **test,
                             "fell": test["p_value_fell"] < config.auc_alpha, "method": "Hanley–McNeil z test"}
    return out
