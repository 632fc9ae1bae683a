"""Checks of a loaded model before it decides for real (the promotion gate and the live swap run them).

`Predictor.from_dir` already refuses a folder whose checksums or feature list do not match
(`scoring.artifacts.load_artifacts`); `verify` adds what only a loaded model can show:
- parity: the row backend (numba walk / ONNX Runtime) and, when the folder has one, the ONNX export
  against XGBoost's own scores; TreeSHAP's contributions against XGBoost's `pred_contribs`;
- features: the model's features must hold what the service requires (`required`, e.g. the form's).
`row_speed` times one row the way the API scores it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection
from typing import Any

import numpy as np

from scoring.schema import ONNX_FILE
from serving.backends import OnnxScorer
from serving.predictor import Predictor

PARITY_LIMIT = 1e-5  # probabilities and log-odds contributions, as the ONNX export's own check
SHAP_ROWS = 20  # TreeSHAP is compared on this many rows (a row costs ~10-40 µs, XGBoost's batch more)


class ModelRefused(RuntimeError):
    """A model that must not serve; the message says which check failed and by how much."""


def probe_rows(predictor: Predictor, n: int = 200, seed: int = 0) -> np.ndarray:
    """Rows around the template (each feature moved within its training range, some missing), float32."""
    rng = np.random.default_rng(seed)
    ranges = predictor.artifacts.reference.get("ranges", {})
    rows = np.repeat(predictor.template, n, axis=0)
    for j, name in enumerate(predictor.features):
        bounds = ranges.get(name) or {}
        low, high = bounds.get("min"), bounds.get("max")
        if isinstance(low, int | float) and isinstance(high, int | float) and high > low:
            rows[:, j] = rng.uniform(low, high, n)
    rows[rng.random(rows.shape) < 0.1] = np.nan
    return rows.astype(np.float32)


def parity(predictor: Predictor, rows: np.ndarray | None = None) -> dict[str, Any]:
    """Largest gaps to XGBoost of the row backend, the ONNX export (if any) and TreeSHAP (log-odds)."""
    rows = probe_rows(predictor) if rows is None else rows
    reference = predictor.margin(rows)
    reference = 1 / (1 + np.exp(-reference.astype(np.float64)))
    row_scores = np.array([predictor.score_row(rows[i:i + 1]) for i in range(len(rows))], dtype=np.float64)
    out: dict[str, Any] = {"rows": int(len(rows)), "row_backend": predictor.backends["row"],
                           "row_vs_xgboost": float(np.abs(row_scores - reference).max())}
    onnx_path = predictor.artifacts.derived_path(ONNX_FILE)
    out["onnx_vs_xgboost"] = None
    if onnx_path is not None:
        with contextlib.suppress(ImportError):
            out["onnx_vs_xgboost"] = float(np.abs(OnnxScorer(onnx_path)(rows).astype(np.float64) - reference).max())
    some = rows[:SHAP_ROWS]
    single = np.concatenate([predictor.contributions(some[i:i + 1]) for i in range(len(some))])
    batch = predictor.contributions(some) if len(some) > 1 else single
    out["treeshap_vs_xgboost"] = float(np.abs(single.astype(np.float64) - batch).max())
    out["treeshap_reader"] = predictor.backends["reasons"]
    out["max_gap"] = max(v for k, v in out.items() if k.endswith("_vs_xgboost") and v is not None)
    return out


def row_speed(predictor: Predictor, rows: np.ndarray, repeats: int = 3) -> float:
    """Median seconds to score one row (the API's path: `score_row`), best of `repeats` passes."""
    best = []
    for _ in range(repeats):
        times = np.empty(len(rows))
        for i in range(len(rows)):
            started = time.perf_counter()
            predictor.score_row(rows[i:i + 1])
            times[i] = time.perf_counter() - started
        best.append(float(np.median(times)))
    return min(best)


def verify(predictor: Predictor, *, required: Collection[str] = (), limit: float = PARITY_LIMIT) -> dict[str, Any]:
    """Parity figures of a loaded model; raises `ModelRefused` naming the failed check."""
    missing = [name for name in required if name not in predictor.index]
    if missing:
        raise ModelRefused(f"model {predictor.model_version} lacks required feature(s) {', '.join(missing[:5])}")
    figures = parity(predictor)
    if not figures["max_gap"] <= limit:
        worst = max((k for k, v in figures.items() if k.endswith("_vs_xgboost") and v is not None),
                    key=lambda k: figures[k])
        raise ModelRefused(f"model {predictor.model_version}: parity {worst} = {figures[worst]:.3g} "
                           f"above {limit:g}")
    return figures
