"""Stability statistics shared by training (twin realism) and monitoring (drift): the Population
Stability Index over a common set of bins."""

from __future__ import annotations

import numpy as np


def psi(expected: np.ndarray | list[float], actual: np.ndarray | list[float], epsilon: float = 1e-4) -> float:
    """Population Stability Index between two distributions over the same bins (shares or counts)."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.shape != a.shape or e.size == 0:
        raise ValueError(f"expected and actual need the same non-empty bins, got {e.shape} and {a.shape}")
    e = np.maximum(e / e.sum(), epsilon)
    a = np.maximum(a / a.sum(), epsilon) if a.sum() > 0 else np.full_like(a, epsilon)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))
