"""Applicants drawn like the training population described by `reference.json`, with model-free scores.

Continuous features are resampled from the reference sample, binary ones follow the reference share
of ones, and one-hot groups (gender, education) get at most one 1. The score is model-free but
consistent: a Gaussian copula ties it to the three `EXT_SOURCE_*` (lower external scores, higher risk)
and maps it through the reference score distribution, so without incidents the live scores follow
the reference and a shifted `EXT_SOURCE_*` moves the scores as a model would.

The reference itself comes from training, or for a stand-in model folder from the synthetic twin
(monitoring.demo draws it with `scoring.synthetic`): monitoring generates no applicant of its own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from scoring.schema import EXCLUSIVE_GROUPS, EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3, UI_FEATURE_NAMES

SCORE_LINK = 0.6  # correlation between the external-score risk index and the score's latent value


def draw_features(reference: dict[str, Any], n: int, rng: np.random.Generator,
                  drift: dict[str, float] | None = None) -> pd.DataFrame:
    """`n` applicants' 11 UI features drawn from the reference distributions, optionally shifted."""
    features = reference["features"]
    drift = drift or {}
    unknown = sorted(set(drift) - set(UI_FEATURE_NAMES))
    if unknown:
        raise ValueError(f"cannot drift {', '.join(unknown)}: not a UI feature ({', '.join(UI_FEATURE_NAMES)})")
    out: dict[str, np.ndarray] = {}
    grouped = {name for group in EXCLUSIVE_GROUPS for name in group.options.values() if name}
    for group in EXCLUSIVE_GROUPS:
        members = [name for name in group.options.values() if name]
        p = np.array([_shifted_p1(features[m], drift.get(m, 0.0)) for m in members])
        if any(m in drift for m in members):  # the drifted member keeps its share; the others fill the rest
            fixed = np.array([m in drift for m in members])
            rest = max(0.0, 1.0 - p[fixed].sum())
            free = p[~fixed].sum()
            if free > 0:
                p[~fixed] *= min(1.0, rest / free)
        p = p / p.sum() if p.sum() > 1.0 else p
        choice = rng.choice(len(members) + 1, size=n, p=[*p, max(0.0, 1.0 - p.sum())])
        for j, m in enumerate(members):
            out[m] = (choice == j).astype(np.int64)
    for name in UI_FEATURE_NAMES:
        if name in grouped:
            continue
        entry = features[name]
        if entry["kind"] == "binary":
            out[name] = (rng.random(n) < _shifted_p1(entry, drift.get(name, 0.0))).astype(np.int64)
            continue
        sample = np.asarray(entry.get("sample") or [], dtype=float)
        if sample.size == 0:
            raise ValueError(f"reference.json: {name} has no sample to draw from")
        values = rng.choice(sample, size=n, replace=True)
        if drift.get(name):
            spread = float(entry.get("std") or np.std(sample)) or 1.0
            values = np.clip(values + drift[name] * spread, entry.get("min", -np.inf), entry.get("max", np.inf))
        out[name] = values
    return pd.DataFrame({name: out[name] for name in UI_FEATURE_NAMES})


def _shifted_p1(entry: dict[str, Any], shift: float) -> float:
    return float(np.clip(float(entry["p1"]) + shift, 0.0, 1.0))


def scores_for(reference: dict[str, Any], inputs: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Model-free scores that follow the reference score distribution and rise as EXT_SOURCE_* fall."""
    features = reference["features"]
    z = np.zeros(len(inputs))
    for name in (EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3):
        sample = np.sort(np.asarray(features[name]["sample"], dtype=float))
        lo = np.searchsorted(sample, inputs[name].to_numpy(), side="left")
        hi = np.searchsorted(sample, inputs[name].to_numpy(), side="right")
        u = np.clip((lo + hi) / 2 / sample.size, 0.5 / sample.size, 1 - 0.5 / sample.size)
        z += special.ndtri(u)
    latent = -SCORE_LINK * z / math.sqrt(3) + math.sqrt(1 - SCORE_LINK**2) * rng.standard_normal(len(inputs))
    score_sample = np.sort(np.asarray(features["score"]["sample"], dtype=float))
    return np.quantile(score_sample, special.ndtr(latent))
