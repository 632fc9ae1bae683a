"""What drift detection compares live traffic to, and the serving template: `reference.json`.

Layout of the document (monitoring and the predictor read it):

    {
      "n_rows": int,                       # training rows it was measured on
      "features": {                        # the 11 UI features, plus the score under "score"
                                           # (the score as the service computes it for a form
                                           # request: see served_matrix, scoring.training.served_scores)
        name: {"kind": "binary", "n": int, "n_missing": int, "p1": float}
            | {"kind": "continuous", "n": int, "n_missing": int,
               "edges": [float, ...],      # inner bin edges: quantiles of the training values
               "proportions": [float, ...],# share of non-missing values per bin (len(edges) + 1)
               "sample": [float, ...],     # a random sample of values, for the KS test
               "mean": float, "std": float, "min": float, "max": float}
      },
      "template": {feature: median},       # every model feature: the training median (NaN -> null)
      "ranges": {feature: {"min": float, "max": float, "binary": bool}}  # seen in training
    }

Bins: value v falls in bin `searchsorted(edges, v, side="right")`, i.e. bins are
(-inf, e0), [e0, e1), ..., [e_last, +inf). A mass point v (see MASS_POINT_SHARE) has the edges v and
the next float after v, so its bin holds v alone; the other values are cut at their own quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from scoring.schema import SCORE_KEY, UI_FEATURE_NAMES

N_BINS = 10
SAMPLE_SIZE = 2000
# A value held by at least this share of the training values (e.g. 0 for an overdue amount that is
# zero for 98 % of applicants) gets a bin of its own, [v, next float after v): otherwise every
# quantile edge falls on it, the feature has one bin and its PSI is 0 whatever happens.
MASS_POINT_SHARE = 0.05


def _is_binary(values: np.ndarray) -> bool:
    present = values[~np.isnan(values)]
    return present.size > 0 and bool(np.isin(present, (0.0, 1.0)).all())


def finite_or_none(x: float | None) -> float | None:
    """A JSON-safe number: None for a missing, NaN or infinite value."""
    return None if x is None or not math.isfinite(x) else float(x)


def template_of(features: pd.DataFrame) -> dict[str, float | None]:
    """The serving template: each feature's training median (null when the feature is always missing)."""
    medians = features.astype(float).median()
    return {col: finite_or_none(medians[col]) for col in features.columns}


def template_row(template: Mapping[str, float | None], features: list[str]) -> np.ndarray:
    """The template in model column order, float32; null or absent -> NaN (missing, as XGBoost learnt it)."""
    return np.array([np.nan if template.get(f) is None else template[f] for f in features], dtype=np.float32)


def served_matrix(template: np.ndarray, positions: Mapping[str, int], given: pd.DataFrame) -> np.ndarray:
    """Rows as the service builds them: the float32 `template` row, then the `given` columns at their positions.

    The one way a request's row is made from the features it gives (the predictor for a batch,
    training for the scores drift monitoring compares with). Non-numeric values raise.
    """
    matrix = np.repeat(np.asarray(template, dtype=np.float32)[None, :], len(given), axis=0)
    if len(given.columns) and all(isinstance(d, np.dtype) and d.kind == "f" for d in given.dtypes):
        # numbers already (a batch's built features): one conversion of the block, the same float32 values
        matrix[:, [positions[name] for name in given.columns]] = given.to_numpy(dtype=np.float32)
        return matrix
    for name in given.columns:
        matrix[:, positions[name]] = pd.to_numeric(given[name], errors="raise").to_numpy(dtype=np.float32,
                                                                                      na_value=np.nan)
    return matrix


def bin_index(edges: list[float] | np.ndarray, values: np.ndarray) -> np.ndarray:
    """Bin of each value for the layout above (missing values must be removed first)."""
    return np.searchsorted(np.asarray(edges, dtype=float), values, side="right")


def bin_edges(present: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Inner bin edges of non-missing values: quantiles of the values off the mass points, plus a bin
    of its own for each mass point."""
    values, counts = np.unique(present, return_counts=True)
    mass = values[counts >= MASS_POINT_SHARE * present.size]
    rest = present[~np.isin(present, mass)]
    quantile_edges = (np.quantile(rest, np.linspace(0, 1, n_bins - mass.size + 1)[1:-1])
                      if rest.size and n_bins - mass.size > 1 else np.array([]))
    own = np.concatenate([mass, np.nextafter(mass, np.inf)])
    return np.unique(np.concatenate([quantile_edges, own]))


def distribution(values: Any, *, binary: bool | None = None, seed: int = 0) -> dict[str, Any]:
    """Summary of one feature's (or the score's) training distribution."""
    arr = np.asarray(values, dtype=float)
    present = arr[~np.isnan(arr)]
    n_missing = int(arr.size - present.size)
    if binary is None:
        binary = _is_binary(arr)
    if binary:
        p1 = float(present.mean()) if present.size else 0.0
        return {"kind": "binary", "n": int(present.size), "n_missing": n_missing, "p1": p1}
    if present.size == 0:
        return {"kind": "continuous", "n": 0, "n_missing": n_missing, "edges": [], "proportions": [1.0],
                "sample": [], "mean": None, "std": None, "min": None, "max": None}
    edges = bin_edges(present)
    counts = np.bincount(bin_index(edges, present), minlength=edges.size + 1)
    rng = np.random.default_rng(seed)
    sample = present if present.size <= SAMPLE_SIZE else rng.choice(present, SAMPLE_SIZE, replace=False)
    return {
        "kind": "continuous",
        "n": int(present.size),
        "n_missing": n_missing,
        "edges": [float(e) for e in edges],
        "proportions": [float(c) / present.size for c in counts],
        "sample": [float(v) for v in np.sort(sample)],
        "mean": float(present.mean()),
        "std": float(present.std()),
        "min": float(present.min()),
        "max": float(present.max()),
    }


def build_reference(features: pd.DataFrame, scores: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
    """The reference document from the training feature frame and the scores of the same rows."""
    dists = {name: distribution(features[name].to_numpy(dtype=float), seed=seed) for name in UI_FEATURE_NAMES}
    dists[SCORE_KEY] = distribution(scores, binary=False, seed=seed)
    numeric = features.astype(float)
    ranges = {}
    for col in numeric.columns:
        arr = numeric[col].to_numpy()
        present = arr[~np.isnan(arr)]
        ranges[col] = {
            "min": finite_or_none(present.min()) if present.size else None,
            "max": finite_or_none(present.max()) if present.size else None,
            "binary": _is_binary(arr),
        }
    return {
        "n_rows": int(len(features)),
        "features": dists,
        "template": template_of(numeric),
        "ranges": ranges,
    }
