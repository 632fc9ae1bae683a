"""The promotion gate's figures and rule: a candidate and the champion scored on the same holdout applicants.

Pure functions of the holdout's targets and the two models' scores (no model, no file):
- the paired AUC difference (candidate - champion) with a stratified bootstrap interval, the same
  resampled applicants for both models (the pairing removes most of the holdout's own noise);
- the business cost per applicant of each, at its own threshold, and the paired difference with its interval;
- calibration (Brier score, expected calibration error, mean score against the default rate);
- the fairness rules of `scoring.fairness` (four-fifths, equalised odds) for each, by gender and age;
- the decisions that flip, by direction (accepted -> refused, refused -> accepted).

`GateRule` is the configurable rule; `judge` lists each check with its figure, its limit and whether it
passed, so that a refusal names the figure that failed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring.evaluation import (
    BOOTSTRAP_REPLICATES,
    CONFIDENCE,
    auc_or_nan,
    bootstrap_auc,
    percentile_interval,
    stratified_bootstrap,
)
from scoring.evaluation import calibration as calibration_of
from scoring.fairness import AGE_LABELS, audit_groups


@dataclass(frozen=True)
class GateRule:
    """What a candidate must show to replace the champion (written into the decision's metrics.json)."""

    # Worse AUC beyond noise: refused when the upper end of the interval of AUC(candidate) - AUC(champion)
    # is below this (0: only a difference the bootstrap cannot explain refuses).
    min_auc_diff_high: float = 0.0
    # Lower or equal cost: candidate - champion cost per applicant (point figure) at most this.
    max_cost_increase: float = 0.0
    # No fairness rule (four-fifths, equalised odds) broken by the candidate that the champion met.
    no_new_fairness_breach: bool = True
    # ONNX / row backend against XGBoost, and TreeSHAP's sum against the margin: at most this apart.
    max_parity_gap: float = 1e-5
    # One row: the candidate at most this many times slower than the champion (same run).
    max_row_slowdown: float = 3.0
    # Optional: at most this share of decisions flipped (None: not judged; the flips are reported anyway).
    max_flip_share: float | None = None

    @classmethod
    def from_file(cls, path: Path | None) -> GateRule:
        """The default rule, with the keys of a JSON file (`--rule FILE`) replacing its values."""
        if path is None:
            return cls()
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ValueError(f"{path}: unknown rule key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**doc)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_figures(y: np.ndarray, champion: np.ndarray, candidate: np.ndarray, *, champion_threshold: float,
                   candidate_threshold: float, cost_fn: float, cost_fp: float, n_boot: int = BOOTSTRAP_REPLICATES,
                   seed: int = 0, level: float = CONFIDENCE) -> dict[str, Any]:
    """AUC, cost per applicant and their paired differences, with bootstrap intervals."""
    y = np.asarray(y).astype(int)
    rows = stratified_bootstrap(y, n_boot, seed)  # positives first in every row
    n_pos = int(y.sum())
    out: dict[str, Any] = {"method": f"paired stratified bootstrap of the holdout, {n_boot} replicates, "
                                     f"{level:.0%} percentile interval", "applicants": int(y.size),
                           "defaults": n_pos}
    aucs, costs = {}, {}
    for name, scores, threshold in (("champion", champion, champion_threshold),
                                    ("candidate", candidate, candidate_threshold)):
        resampled = np.asarray(scores, dtype=float)[rows]
        aucs[name] = bootstrap_auc(resampled, n_pos)
        refused = resampled >= threshold
        costs[name] = (cost_fn * (~refused[:, :n_pos]).sum(axis=1) + cost_fp * refused[:, n_pos:].sum(axis=1)) / y.size
        point_refused = np.asarray(scores) >= threshold
        point_cost = (cost_fn * np.sum(~point_refused & (y == 1)) + cost_fp * np.sum(point_refused & (y == 0))) / y.size
        out.setdefault("auc", {})[name] = {"value": auc_or_nan(y, scores), **percentile_interval(aucs[name], level)}
        out.setdefault("cost_per_applicant", {})[name] = {"value": float(point_cost),
                                                          **percentile_interval(costs[name], level)}
    for key, boot in (("auc", aucs), ("cost_per_applicant", costs)):
        doc = out[key]
        doc["difference"] = {"value": doc["candidate"]["value"] - doc["champion"]["value"],
                             **percentile_interval(boot["candidate"] - boot["champion"], level)}
    out["cost_per_applicant"]["costs"] = {"missed_default": cost_fn, "refused_good_client": cost_fp}
    return out


def calibration_figures(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    doc = calibration_of(np.asarray(y).astype(int), np.asarray(scores, dtype=float))
    return {"brier": doc["brier"], "ece": doc["ece"], "mean_score": float(np.mean(scores)),
            "default_rate": float(np.mean(y))}


def flips(champion_refused: np.ndarray, candidate_refused: np.ndarray) -> dict[str, Any]:
    """Decisions that change from the champion to the candidate, by direction."""
    a, b = np.asarray(champion_refused, bool), np.asarray(candidate_refused, bool)
    to_refused, to_accepted = int(np.sum(~a & b)), int(np.sum(a & ~b))
    return {"accepted_to_refused": to_refused, "refused_to_accepted": to_accepted,
            "total": to_refused + to_accepted, "share": (to_refused + to_accepted) / max(a.size, 1)}


def fairness_figures(y: np.ndarray, scores: np.ndarray, threshold: float,
                     groups: dict[str, pd.Series]) -> dict[str, Any]:
    """The rules of `scoring.fairness` for one model: per dimension, the two ratios and whether each is met."""
    out = {}
    for dim, series in groups.items():
        doc = audit_groups(np.asarray(y), np.asarray(scores, float), threshold, series,
                           AGE_LABELS if dim == "age" else ())
        out[dim] = {k: doc[k] for k in ("approval_ratio", "equalised_odds_difference", "four_fifths_ok",
                                        "equalised_odds_ok", "gaps")}
    return out


def judge(figures: dict[str, Any], rule: GateRule) -> list[dict[str, Any]]:
    """Each check of the rule: {check, figure, value, limit, passed}; a refusal names the failed ones."""
    checks = []

    def check(name: str, figure: str, value: Any, limit: Any, passed: bool) -> None:
        checks.append({"check": name, "figure": figure, "value": value, "limit": limit, "passed": bool(passed)})

    if "paired" in figures:  # a first champion has nothing to be compared with
        auc_high = figures["paired"]["auc"]["difference"]["high"]
        check("AUC not worse beyond noise", "auc.difference.high", auc_high, rule.min_auc_diff_high,
              auc_high >= rule.min_auc_diff_high)
        cost = figures["paired"]["cost_per_applicant"]["difference"]["value"]
        check("cost per applicant lower or equal", "cost_per_applicant.difference", cost, rule.max_cost_increase,
              cost <= rule.max_cost_increase + 1e-12)
    if rule.no_new_fairness_breach:
        for dim, doc in figures["fairness"]["candidate"].items():
            before = figures["fairness"].get("champion", {}).get(dim, {})
            for key in ("four_fifths_ok", "equalised_odds_ok"):
                broken = doc.get(key) is False and before.get(key) is not False
                check(f"fairness rule not newly broken ({dim})", f"fairness.{dim}.{key}", doc.get(key),
                      before.get(key), not broken)
    parity = figures["parity"]["candidate"]["max_gap"]
    check("ONNX / TreeSHAP parity", "parity.candidate.max_gap", parity, rule.max_parity_gap,
          parity <= rule.max_parity_gap)
    slowdown = figures["speed"].get("slowdown")
    if slowdown is not None:
        check("one-row speed", "speed.slowdown", slowdown, rule.max_row_slowdown, slowdown <= rule.max_row_slowdown)
    if rule.max_flip_share is not None and "flips" in figures:
        share = figures["flips"]["share"]
        check("decisions flipped", "flips.share", share, rule.max_flip_share, share <= rule.max_flip_share)
    return checks
