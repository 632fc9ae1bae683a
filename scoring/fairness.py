"""Fairness of the decisions on the holdout, by gender and by age band (fairlearn's MetricFrame).

A refusal is `score >= threshold` (prediction 1 = high risk); an approval its opposite. Per group:
the approval rate, the false-negative rate (defaults approved: the lender's loss), the
false-positive rate (good clients refused: the applicants' loss) and the AUC. Rules, stated in the
verdict:
- four-fifths rule: the lowest approval rate is at least 80 % of the highest;
- equalised odds: the largest gap of true- or false-positive rates between groups is below
  EQUALISED_ODDS_LIMIT.
Groups smaller than MIN_GROUP (e.g. the handful of `CODE_GENDER = XNA`) are shown but not judged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
)

from scoring.evaluation import auc_or_nan

GENDER_F, GENDER_M = "CODE_GENDER_F", "CODE_GENDER_M"
GENDER_PATTERN = "CODE_GENDER_*"
AGE_BANDS = (0, 30, 40, 50, 60, 200)
AGE_LABELS = ("<30", "30-39", "40-49", "50-59", "60+")
FOUR_FIFTHS = 0.8
EQUALISED_ODDS_LIMIT = 0.1
MIN_GROUP = 50


def gender_groups(x: pd.DataFrame) -> pd.Series:
    """F / M / other, from the one-hot gender columns."""
    f = x[GENDER_F].fillna(0).to_numpy() == 1 if GENDER_F in x else np.zeros(len(x), bool)
    m = x[GENDER_M].fillna(0).to_numpy() == 1 if GENDER_M in x else np.zeros(len(x), bool)
    return pd.Series(np.where(f, "F", np.where(m, "M", "other")), index=x.index, name="gender")


def age_groups(x: pd.DataFrame) -> pd.Series:
    """Age bands in years, from DAYS_BIRTH (days before the application, negative)."""
    years = -x["DAYS_BIRTH"].to_numpy(dtype=float) / 365.25
    bands = pd.cut(years, AGE_BANDS, labels=AGE_LABELS, right=False)
    return pd.Series(np.asarray(bands.astype(str)), index=x.index, name="age")


def _approval_rate(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_pred) == 0))


def group_table(y: np.ndarray, scores: np.ndarray, threshold: float, groups: pd.Series) -> pd.DataFrame:
    """n, approval rate, FNR, FPR (decisions at the threshold) and AUC (scores) by group, via MetricFrame."""
    y = np.asarray(y)
    refused = (np.asarray(scores) >= threshold).astype(int)
    decisions = MetricFrame(
        metrics={"n": count, "approval_rate": _approval_rate, "fnr": false_negative_rate, "fpr": false_positive_rate},
        y_true=y, y_pred=refused, sensitive_features=groups.to_numpy())
    ranking = MetricFrame(metrics={"auc": auc_or_nan}, y_true=y, y_pred=np.asarray(scores, dtype=float),
                          sensitive_features=groups.to_numpy())
    return decisions.by_group.join(ranking.by_group)


def audit_groups(y: np.ndarray, scores: np.ndarray, threshold: float, groups: pd.Series,
                 order: tuple[str, ...] = ()) -> dict[str, Any]:
    """Per-group figures, gaps between judged groups, and the verdict against the two rules."""
    y = np.asarray(y).astype(int)
    scores = np.asarray(scores, dtype=float)
    table = group_table(y, scores, threshold, groups)
    table = table.loc[sorted(table.index, key=lambda g: (order.index(g) if g in order else len(order), str(g)))]
    judged = [g for g in table.index if table.loc[g, "n"] >= MIN_GROUP]
    keep = groups.isin(judged).to_numpy()
    part = table.loc[judged]
    approval = part["approval_rate"]
    ratio = float(approval.min() / approval.max()) if len(judged) > 1 and approval.max() > 0 else float("nan")
    eod = (float(equalized_odds_difference(y[keep], (scores[keep] >= threshold).astype(int),
                                           sensitive_features=groups.to_numpy()[keep]))
           if len(judged) > 1 else float("nan"))
    gaps = {name: float(part[name].max() - part[name].min()) if len(judged) > 1 else float("nan")
            for name in ("approval_rate", "fnr", "fpr", "auc")}
    four_fifths_ok = bool(ratio >= FOUR_FIFTHS) if np.isfinite(ratio) else None
    eod_ok = bool(eod <= EQUALISED_ODDS_LIMIT) if np.isfinite(eod) else None
    return {
        "groups": {str(g): {k: _num(v) for k, v in row.items()} for g, row in table.iterrows()},
        "judged_groups": [str(g) for g in judged],
        "gaps": {k: _num(v) for k, v in gaps.items()},  # None (JSON null) when not measurable
        "approval_ratio": _num(ratio),
        "equalised_odds_difference": _num(eod),
        "four_fifths_ok": four_fifths_ok,
        "equalised_odds_ok": eod_ok,
        "verdict": _verdict(ratio, four_fifths_ok, eod, eod_ok),
    }


def _num(value: Any) -> float | int | None:
    value = float(value)
    if not np.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) > 1 else value


def _verdict(ratio: float, ratio_ok: bool | None, eod: float, eod_ok: bool | None) -> str:
    if ratio_ok is None:
        return f"not judged: fewer than two groups of at least {MIN_GROUP} applicants"
    parts = [
        f"four-fifths rule {'met' if ratio_ok else 'NOT met'} (lowest / highest approval rate {ratio:.2f}, "
        f"rule >= {FOUR_FIFTHS})",
        f"equalised odds {'met' if eod_ok else 'NOT met'} (largest TPR/FPR gap {eod:.3f}, rule <= "
        f"{EQUALISED_ODDS_LIMIT})",
    ]
    return "; ".join(parts)


def gender_switch(model: Any, x: pd.DataFrame, threshold: float) -> dict[str, Any] | None:
    """Score change when only the gender input is switched (F <-> M) for the same applicants."""
    if GENDER_F not in x or GENDER_M not in x:
        return None
    rows = x[(x[GENDER_F] == 1) ^ (x[GENDER_M] == 1)]
    if rows.empty:
        return None
    switched = rows.copy()
    switched[GENDER_F], switched[GENDER_M] = rows[GENDER_M].to_numpy(), rows[GENDER_F].to_numpy()
    before = model.predict_proba(rows)[:, 1]
    after = model.predict_proba(switched)[:, 1]
    delta = after - before
    flipped = (before >= threshold) != (after >= threshold)
    women = rows[GENDER_F].to_numpy() == 1
    return {
        "applicants": int(len(rows)),
        "mean_change_f_to_m": float(delta[women].mean()) if women.any() else None,
        "mean_change_m_to_f": float(delta[~women].mean()) if (~women).any() else None,
        "mean_abs_change": float(np.abs(delta).mean()),
        "max_abs_change": float(np.abs(delta).max()),
        "decisions_flipped": int(flipped.sum()),
        "decisions_flipped_share": float(flipped.mean()),
    }


def fairness_audit(model: Any, x: pd.DataFrame, y: np.ndarray, scores: np.ndarray, threshold: float,
                   groups_from: pd.DataFrame | None = None) -> dict[str, Any]:
    """The whole fairness section of metrics.json and of the report.

    `x` is the model's input; groups come from `groups_from` (default `x`), so that a model trained
    without the gender columns is still judged by gender.
    """
    g = x if groups_from is None else groups_from
    out: dict[str, Any] = {
        "rules": {"four_fifths": FOUR_FIFTHS, "equalised_odds_limit": EQUALISED_ODDS_LIMIT, "min_group": MIN_GROUP},
    }
    if GENDER_F in g or GENDER_M in g:
        out["gender"] = audit_groups(y, scores, threshold, gender_groups(g))
    if "DAYS_BIRTH" in g:
        out["age"] = audit_groups(y, scores, threshold, age_groups(g), AGE_LABELS)
    out["gender_switch"] = gender_switch(model, x, threshold)
    return out
