"""Statistics of the prediction log (pure functions over the reader's frame)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitoring.records import (
    ADVISER,
    ADVISER_FINAL,
    ADVISER_MODEL,
    CPU,
    DURATION,
    ERROR,
    HIGH_RISK,
    MEMORY,
    OUT_OF_RANGE,
    OUT_OF_RANGE_SEP,
    OVERRIDE,
    REPLICA,
    SCORE,
    SOURCE,
    TIME,
    VERSION,
)
from scoring.schema import ADVISER_ACCEPT, ADVISER_REFUSE, MODEL_REVIEW

SCORE_BINS = 20  # histogram of the score over [0, 1]
# The values of an adviser-decision line (scoring.schema): the final decision and the model's.
ACCEPT, REFUSE, REVIEW = ADVISER_ACCEPT, ADVISER_REFUSE, MODEL_REVIEW
MODEL_DECISIONS = (ACCEPT, REFUSE, REVIEW)


def _finite(values: pd.Series | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[np.isfinite(arr)]


def summary(values: pd.Series | np.ndarray, percentiles: tuple[int, ...] = (50, 95, 99)) -> dict[str, Any]:
    """Count, mean, min, max and percentiles of the finite values (None when there are none)."""
    arr = _finite(values)
    if arr.size == 0:
        return {"count": 0, "mean": None, "min": None, "max": None} | {f"p{p}": None for p in percentiles}
    qs = np.percentile(arr, percentiles)
    return {"count": int(arr.size), "mean": float(arr.mean()), "min": float(arr.min()), "max": float(arr.max())} | {
        f"p{p}": float(q) for p, q in zip(percentiles, qs, strict=True)
    }


def score_histogram(scores: pd.Series | np.ndarray, bins: int = SCORE_BINS) -> dict[str, list[float]]:
    """Counts of the scores over `bins` equal bins of [0, 1]."""
    counts, edges = np.histogram(np.clip(_finite(scores), 0.0, 1.0), bins=bins, range=(0.0, 1.0))
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def compute_stats(frame: pd.DataFrame) -> dict[str, Any]:
    """The report's `stats` section: counts, latency figures, resources, score and label shares."""
    n = len(frame)
    n_errors = int(frame[ERROR].sum()) if n else 0
    high = _finite(frame[HIGH_RISK])
    first = frame[TIME].min() if n else None
    last = frame[TIME].max() if n else None
    return {
        "count": n,
        "errors": n_errors,
        "error_rate": n_errors / n if n else None,
        "first": first.isoformat() if first is not None else None,
        "last": last.isoformat() if last is not None else None,
        "latency_s": summary(frame[DURATION]),
        "cpu_percent": summary(frame[CPU]),
        "memory_MB": summary(frame[MEMORY]),
        "score": summary(frame[SCORE]) | {"histogram": score_histogram(frame[SCORE])},
        "high_risk_share": float(high.mean()) if high.size else None,
        "model_versions": {str(k): int(v) for k, v in frame[VERSION].value_counts().items()} if n else {},
        "replicas": replica_stats(frame),
        "sources": source_stats(frame),
        "out_of_range": out_of_range_stats(frame),
    }


def out_of_range_stats(frame: pd.DataFrame) -> dict[str, Any]:
    """Scored calls with a value past the training range (serving.rules: scored and flagged): how many,
    their share of the scored calls, and per feature how many calls it was flagged on (most first)."""
    scored = np.isfinite(frame[SCORE].to_numpy(dtype=np.float64))
    flagged = frame[OUT_OF_RANGE].astype(object).to_numpy()[scored]
    flagged = flagged[pd.notna(flagged)]
    per_feature = pd.Series([name for names in flagged for name in str(names).split(OUT_OF_RANGE_SEP)],
                            dtype=object).value_counts()
    n_scored = int(scored.sum())
    return {"scored": n_scored, "calls": int(flagged.size), "share": flagged.size / n_scored if n_scored else None,
            "features": {str(name): int(count) for name, count in per_feature.items()}}


UNKNOWN_REPLICA = "unknown"  # records written before the replica was logged
UNKNOWN_SOURCE = "unknown"  # records written before the source was logged


def source_stats(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per source of the calls (form, api, batch, dossier, what-if; `unknown` for older records): count and
    share of the calls."""
    if frame.empty:
        return {}
    counts = frame[SOURCE].astype(object).where(frame[SOURCE].notna(), UNKNOWN_SOURCE).value_counts(sort=False)
    return {str(name): {"count": int(count), "share": int(count) / len(frame)}
            for name, count in sorted(counts.items())}


def replica_stats(frame: pd.DataFrame) -> dict[str, Any]:
    """Per app replica: calls, errors, error rate and latency figures."""
    if frame.empty:
        return {}
    names = frame[REPLICA].astype(object).where(frame[REPLICA].notna(), UNKNOWN_REPLICA)
    out = {}
    for name, part in frame.groupby(names, sort=True):
        errors = int(part[ERROR].sum())
        out[str(name)] = {"count": len(part), "errors": errors, "error_rate": errors / len(part),
                          "latency_s": summary(part[DURATION])}
    return out


def _decision_counts(part: pd.DataFrame) -> dict[str, Any]:
    n = len(part)
    overrides = int((part[OVERRIDE] == 1.0).sum())
    return {"decisions": n, "accepted": int((part[ADVISER_FINAL] == ACCEPT).sum()),
            "refused": int((part[ADVISER_FINAL] == REFUSE).sum()), "overrides": overrides,
            "override_rate": overrides / n if n else None}


def adviser_stats(decisions: pd.DataFrame) -> dict[str, Any]:
    """The advisers' final decisions (the rows with `ADVISER` set): how many, accepted, refused, overrides
    and their rate, overall and by the model's decision (accept, refuse, review: in review the adviser
    decides, so its `accepted` / `refused` say what they chose)."""
    decisions = decisions[decisions[ADVISER].notna()]
    model = decisions[ADVISER_MODEL].astype(object)
    return _decision_counts(decisions) | {
        "by_model_decision": {name: _decision_counts(decisions[(model == name).to_numpy()])
                              for name in MODEL_DECISIONS}}
